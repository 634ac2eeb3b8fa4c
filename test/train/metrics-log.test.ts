import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { appendEpochRecord, readEpochRecords, type EpochRecord } from '../../src/train/metrics-log.js'

const folder = mkdtempSync(join(os.tmpdir(), 'colinet-metrics-log-'))
after(() => rmSync(folder, { recursive: true, force: true }))

const CLASSES = ['background', 'lesion']

const EPOCH_2: EpochRecord = {
  epoch: 2,
  steps: 20,
  trainLoss: 0.25,
  trainDiceLoss: 0.125,
  trainL2: 0.5,
  validationDice: [0.75],
  validationMeanDice: 0.75,
  learningRate: 0.001,
  trainSeconds: 40,
  trainSlicesPerSecond: 8,
  validationSeconds: 3,
}

test('metrics round trip by column', () => {
  const path = join(folder, 'round-trip.csv')
  appendEpochRecord(path, CLASSES, { ...EPOCH_2, epoch: 1, validationDice: [], validationMeanDice: NaN })
  appendEpochRecord(path, CLASSES, EPOCH_2)
  const records = readEpochRecords(path, CLASSES)
  assert.equal(records.length, 2)
  assert.deepEqual(records[1], EPOCH_2)
  assert.ok(Number.isNaN(records[0]!.validationDice[0]), 'an epoch without validation has an empty Dice field')
})

test('older metrics file gains Dice column', () => {
  // The columns of an earlier version, without train_dice_loss.
  const path = join(folder, 'older.csv')
  writeFileSync(path, [
    'epoch,steps,train_loss,train_l2,val_dice_mean,val_dice_lesion,learning_rate,train_seconds,train_slices_per_second,validation_seconds',
    '1,20,0.300000,0.600000,0.700000,0.700000,1.000000e-3,41.00,7.800,2.50',
    '',
  ].join('\n'))
  appendEpochRecord(path, CLASSES, EPOCH_2)

  const lines = readFileSync(path, 'utf8').trim().split('\n')
  assert.equal(lines[0], 'epoch,steps,train_loss,train_dice_loss,train_l2,val_dice_mean,val_dice_lesion,learning_rate,train_seconds,train_slices_per_second,validation_seconds')
  assert.equal(lines[1], '1,20,0.300000,,0.600000,0.700000,0.700000,1.000000e-3,41.00,7.800,2.50')
  assert.equal(lines.length, 3)
  const records = readEpochRecords(path, CLASSES)
  assert.equal(records[0]!.trainLoss, 0.3)
  assert.ok(Number.isNaN(records[0]!.trainDiceLoss))
  assert.equal(records[0]!.validationDice[0], 0.7)
  assert.deepEqual(records[1], EPOCH_2)
})
