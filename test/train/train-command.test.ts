import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { loadCheckpoint } from '../../src/nn/checkpoint.js'
import { SegmentationSession } from '../../src/nn/session.js'
import { loadSegmentationModel } from '../../src/pipeline/models.js'
import { runTrainCommand } from '../../src/cli/train.js'
import type { RunRecord } from '../../src/train/run-folder.js'
import { writeTinyDataset } from './support.js'

let root: string
let lungManifest: string
let lesionManifest: string

// A 20-layer network with 4 channels on 48 x 32 slices: seconds per run on two cores.
const TINY = ['--channels', '4,4,4', '--input-size', '48x32', '--batch-size', '4', '--steps-per-epoch', '2', '--threads', '1', '-q']
/** TINY with one training step per epoch (an option may be given only once). */
const TINY_ONE_STEP = TINY.map((value, i) => (TINY[i - 1] === '--steps-per-epoch' ? '1' : value))

before(async () => {
  root = mkdtempSync(join(os.tmpdir(), 'colinet-train-'))
  lungManifest = await writeTinyDataset(join(root, 'lung-data'), 4, 'lungs')
  lesionManifest = await writeTinyDataset(join(root, 'lesion-data'), 4, 'lesion')
})

after(() => rmSync(root, { recursive: true, force: true }))

function runRecord(folder: string): RunRecord {
  return JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as RunRecord
}

function metricsRows(folder: string): string[][] {
  return readFileSync(join(folder, 'metrics.csv'), 'utf8').trim().split('\n').map((line) => line.split(','))
}

test('train writes a complete run folder', async () => {
  const run = join(root, 'lung-run')
  const status = await runTrainCommand(['--task', 'lung', '--data', lungManifest, '-o', run, '--epochs', '2', ...TINY])
  assert.equal(status, 0)
  for (const name of ['run.json', 'metrics.csv', 'training-curves.svg', 'training-curves.png', 'last.ckpt', 'best.ckpt', 'best.onnx']) {
    assert.ok(existsSync(join(run, name)), `${name} missing`)
  }
  const rows = metricsRows(run)
  assert.deepEqual(rows[0]!.slice(0, 7), ['epoch', 'steps', 'train_loss', 'train_dice_loss', 'train_l2', 'val_dice_mean', 'val_dice_lung'])
  assert.deepEqual(rows.slice(1).map((r) => r[0]), ['1', '2'])
  assert.equal(rows[1]![3], rows[1]![2], 'without cross-entropy the loss is its Dice part')
  assert.ok(Number(rows[1]![5]) >= 0, `validation Dice ${rows[1]![5]}`)
  assert.ok(Number(rows[1]![5]) <= 1, `validation Dice ${rows[1]![5]}`)

  const record = runRecord(run)
  assert.equal(record.progress.epochsCompleted, 2)
  assert.equal(record.split.training.length, 3)
  assert.equal(record.split.validation.length, 1)
  assert.ok(readFileSync(join(run, 'training-curves.svg'), 'utf8').startsWith('<svg'))
})

test('exported model loads for segment', async () => {
  const model = join(root, 'lung-run', 'best.onnx')
  const session = await SegmentationSession.load(model, { threads: 1 })
  assert.equal(session.metadata.task, 'lung')
  assert.deepEqual(session.metadata.classes, ['background', 'lung'])
  assert.equal(session.metadata.inputWidth, 48)
  assert.equal(session.metadata.inputHeight, 32)
  assert.equal(session.metadata.trained, true)
  assert.match(session.metadata.trainingData ?? '', /4 patients from 2 centre\(s\) \(centre A, centre B\), 3 for training and 1 for validation/)
  const probabilities = await session.run(new Float32Array(2 * 32 * 48), 2, 32, 48)
  assert.equal(probabilities.length, 2 * 2 * 32 * 48)
  await session.release()

  const segmentationModel = await loadSegmentationModel(model, 'lung', { threads: 1 })
  assert.equal(segmentationModel.inputWidth, 48)
  assert.equal(segmentationModel.inputHeight, 32)
  await segmentationModel.dispose()
})

test('resume continues the epoch count', async () => {
  const run = join(root, 'lung-run')
  const status = await runTrainCommand(['--resume', run, '--epochs', '3', '--threads', '1', '-q'])
  assert.equal(status, 0)
  assert.deepEqual(metricsRows(run).slice(1).map((r) => r[0]), ['1', '2', '3'])
  assert.equal(runRecord(run).progress.epochsCompleted, 3)
  assert.equal(runRecord(run).settings.epochs, 3)
  // Three epochs of two steps each.
  assert.equal((await loadCheckpoint(join(run, 'last.ckpt'))).optimizer.step, 6)
})

test('resume of a finished run asks for epochs', async () => {
  const run = join(root, 'lung-run')
  await assert.rejects(
    () => runTrainCommand(['--resume', run, '--threads', '1', '-q']),
    (error: unknown) => error instanceof InputError && /has already trained 3 of 3 epochs; to train on, pass --epochs with more than 3/.test(error.message),
  )
  assert.equal(runRecord(run).progress.epochsCompleted, 3)
})

test('resumed run equals an uninterrupted one', async () => {
  const straight = join(root, 'straight')
  const split = join(root, 'split')
  const common = ['--task', 'lung', '--data', lungManifest, '--seed', '4', ...TINY]
  await runTrainCommand([...common, '-o', straight, '--epochs', '2'])
  await runTrainCommand([...common, '-o', split, '--epochs', '1'])
  await runTrainCommand(['--resume', split, '--epochs', '2', '--threads', '1', '-q'])

  const a = (await loadCheckpoint(join(straight, 'last.ckpt'))).weights.parameters
  const b = (await loadCheckpoint(join(split, 'last.ckpt'))).weights.parameters
  let worst = 0
  for (const [name, values] of a) {
    const other = b.get(name)!
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - other[i]!))
  }
  assert.ok(worst < 1e-5, `largest weight difference ${worst}`)
})

test('time budget stops and resume finishes', async () => {
  const run = join(root, 'budget')
  // 0.36 ms of budget: the first step always runs, then the loop stops with a checkpoint.
  await runTrainCommand(['--task', 'lung', '--data', lungManifest, '-o', run, '--epochs', '1', '--max-hours', '0.0000001', ...TINY])
  const stopped = runRecord(run)
  assert.equal(stopped.progress.epochsCompleted, 0)
  assert.equal(stopped.progress.stepsIntoEpoch, 1)
  assert.ok(existsSync(join(run, 'best.onnx')), 'the last weights are exported when no epoch was validated')
  assert.equal(existsSync(join(run, 'metrics.csv')), false)

  await runTrainCommand(['--resume', run, '--threads', '1', '-q'])
  const finished = runRecord(run)
  assert.equal(finished.progress.epochsCompleted, 1)
  assert.deepEqual(metricsRows(run).slice(1).map((r) => r.slice(0, 2)), [['1', '2']])
})

test('validate every second epoch', async () => {
  const run = join(root, 'every')
  await runTrainCommand(['--task', 'lung', '--data', lungManifest, '-o', run, '--epochs', '3', '--validate-every', '2', ...TINY])
  const rows = metricsRows(run).slice(1)
  // Epoch 1 is not validated, epoch 2 is (every second), epoch 3 is the last.
  assert.equal(rows[0]![5], '')
  assert.notEqual(rows[1]![5], '')
  assert.notEqual(rows[2]![5], '')
})

test('lesion fine-tuning from the lung model', async () => {
  const run = join(root, 'lesion-run')
  const status = await runTrainCommand(['--task', 'lesion', '--data', lesionManifest, '--init', join(root, 'lung-run', 'best.onnx'), '-o', run, '--epochs', '1', '--blur', '0.5', '--lung-shift', '60', ...TINY])
  assert.equal(status, 0)
  assert.equal(runRecord(run).settings.augmentation?.blurSigmaPixels, 0.5)
  assert.equal(runRecord(run).settings.augmentation?.lungShiftHu, 60)
  const session = await SegmentationSession.load(join(run, 'best.onnx'), { threads: 1 })
  assert.equal(session.metadata.task, 'lesion')
  assert.deepEqual(session.metadata.classes, ['background', 'lesion'])
  await session.release()
  assert.equal(metricsRows(run)[0]![6], 'val_dice_lesion')
})

test('init keeps its channels unless a whole multiple asks to widen it', async () => {
  const init = join(root, 'lung-run', 'best.onnx')
  const withoutChannels = TINY_ONE_STEP.filter((_, i) => TINY_ONE_STEP[i] !== '--channels' && TINY_ONE_STEP[i - 1] !== '--channels')
  const common = ['--task', 'lesion', '--data', lesionManifest, '--init', init, '--epochs', '1', ...withoutChannels]
  assert.equal(await runTrainCommand([...common, '-o', join(root, 'init-channels')]), 0)
  assert.deepEqual(runRecord(join(root, 'init-channels')).settings.channels, [4, 4, 4])

  assert.equal(await runTrainCommand([...common, '-o', join(root, 'widened'), '--channels', '8,8,8']), 0)
  assert.deepEqual(runRecord(join(root, 'widened')).settings.channels, [8, 8, 8])
  const widened = await loadCheckpoint(join(root, 'widened', 'last.ckpt'))
  assert.deepEqual(widened.weights.options.channels, [8, 8, 8])
  assert.equal(widened.weights.parameters.get('stage2.block1.conv1.weight')!.length, 8 * 8 * 9)

  await assert.rejects(
    () => runTrainCommand([...common, '-o', join(root, 'not-a-multiple'), '--channels', '6,6,6']),
    (error: Error) => error instanceof InputError && /has channels 4,4,4 but this run asks for 6,6,6/.test(error.message),
  )
  assert.equal(existsSync(join(root, 'not-a-multiple', 'run.json')), false)
})

test('a new run does not replace its own initial weights', async () => {
  // --force on the run folder that --init points into would delete best.ckpt before it is read.
  const run = join(root, 'lung-run')
  const before = readFileSync(join(run, 'best.ckpt'))
  for (const init of [run, join(run, 'best.ckpt')]) {
    await assert.rejects(
      () => runTrainCommand(['--task', 'lesion', '--data', lesionManifest, '--init', init, '-o', run, '--force', '--epochs', '1', ...TINY]),
      (error: Error) => error instanceof InputError && /is a file of the run folder .*, which a new run there replaces/.test(error.message),
    )
  }
  assert.ok(readFileSync(join(run, 'best.ckpt')).equals(before))
  assert.equal(runRecord(run).settings.task, 'lung')
})

test('cross-entropy term adds to the loss', async () => {
  const init = join(root, 'lung-run', 'best.onnx')
  const common = ['--task', 'lesion', '--data', lesionManifest, '--init', init, '--epochs', '1', ...TINY_ONE_STEP]
  await runTrainCommand([...common, '-o', join(root, 'dice-only')])
  await runTrainCommand([...common, '-o', join(root, 'dice-ce'), '--cross-entropy', '1'])
  assert.equal(runRecord(join(root, 'dice-ce')).settings.crossEntropyWeight, 1)
  assert.equal(runRecord(join(root, 'dice-only')).settings.crossEntropyWeight, undefined)
  assert.equal(runRecord(join(root, 'dice-only')).settings.augmentation?.blurSigmaPixels, 0, 'no blur unless --blur is given')
  assert.equal(runRecord(join(root, 'dice-only')).settings.augmentation?.lungShiftHu, 0, 'no lung shift unless --lung-shift is given')
  // Same weights, batch and dropout in the one step, so the difference is the cross-entropy, which is positive.
  const diceOnly = Number(metricsRows(join(root, 'dice-only'))[1]![2])
  const withCrossEntropy = Number(metricsRows(join(root, 'dice-ce'))[1]![2])
  assert.ok(withCrossEntropy > diceOnly + 0.01, `loss with cross-entropy ${withCrossEntropy}, Dice alone ${diceOnly}`)
  const dicePart = Number(metricsRows(join(root, 'dice-ce'))[1]![3])
  assert.ok(Math.abs(dicePart - diceOnly) < 1e-5, `Dice part ${dicePart}, loss of the Dice-only run ${diceOnly}`)
  const curves = readFileSync(join(root, 'dice-ce', 'training-curves.svg'), 'utf8')
  assert.match(curves, /Training loss \(soft Dice \+ 1 x cross-entropy\)/)
  assert.match(curves, /its soft-Dice part/)
})

test('export command writes a model', async () => {
  const output = join(root, 'exported.onnx')
  const status = await runTrainCommand(['--export', join(root, 'lung-run'), '-o', output, '--checkpoint', 'last'])
  assert.equal(status, 0)
  const session = await SegmentationSession.load(output, { threads: 1 })
  assert.equal(session.classes, 2)
  await session.release()
  await assert.rejects(() => runTrainCommand(['--export', join(root, 'lung-run'), '-o', output]), /already exists; use --force/)
})

test('export creates missing folders', async () => {
  const output = join(root, 'new', 'models', 'lung.onnx')
  assert.equal(await runTrainCommand(['--export', join(root, 'lung-run'), '-o', output, '--checkpoint', 'last', '--quiet']), 0)
  assert.equal(readFileSync(output).length > 1000, true)
})

test('export refuses a folder or checkpoint as output', async () => {
  const checkpoint = join(root, 'lung-run', 'last.ckpt')
  const before = readFileSync(checkpoint)
  await assert.rejects(
    () => runTrainCommand(['--export', join(root, 'lung-run'), '-o', checkpoint, '--checkpoint', 'last', '--force']),
    /-o .*last\.ckpt is the input .*last\.ckpt \(the checkpoint\), which writing would destroy/,
  )
  assert.deepEqual(readFileSync(checkpoint), before)
  await assert.rejects(
    () => runTrainCommand(['--export', join(root, 'lung-run'), '-o', root, '--checkpoint', 'last', '--force']),
    /is a folder; expected the path of the model file to write, such as .*model\.onnx/,
  )
})

test('export stores a threshold for segment', async () => {
  const output = join(root, 'exported-0.8.onnx')
  assert.equal(await runTrainCommand(['--export', join(root, 'lung-run'), '-o', output, '--checkpoint', 'last', '--threshold', '0.8', '--quiet']), 0)
  const model = await loadSegmentationModel(output, 'exported-0.8.onnx')
  assert.equal(model.threshold, 0.8)
  assert.equal(model.thresholdSource, 'model metadata')
  await model.dispose()
  for (const text of ['1', '0', '-0.2', 'half']) {
    await assert.rejects(
      () => runTrainCommand(['--export', join(root, 'lung-run'), '-o', join(root, 'unused.onnx'), `--threshold=${text}`]),
      new RegExp(`--threshold expects a number > 0 and < 1, got "${text}"`),
    )
  }
  assert.equal(existsSync(join(root, 'unused.onnx')), false)
  await assert.rejects(
    () => runTrainCommand(['--task', 'lung', '--data', lungManifest, '-o', join(root, 'unused-run'), '--threshold', '0.8']),
    /--threshold is an option of --export/,
  )
})

test('new run refuses an existing run folder', async () => {
  await assert.rejects(
    () => runTrainCommand(['--task', 'lung', '--data', lungManifest, '-o', join(root, 'lung-run'), ...TINY]),
    (error: unknown) => error instanceof InputError && /already contains a training run/.test(error.message),
  )
})

test('resume rejects changed settings', async () => {
  await assert.rejects(
    () => runTrainCommand(['--resume', join(root, 'lung-run'), '--lr', '0.01']),
    (error: unknown) => error instanceof InputError && /--lr cannot be changed/.test(error.message),
  )
})

test('train option errors', async () => {
  const base = ['--data', lungManifest, '-o', join(root, 'unused')]
  await assert.rejects(() => runTrainCommand(['--task', 'liver', ...base]), /--task expects lung or lesion, got "liver"/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--input-size', '296by216']), /--input-size expects columns x rows/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--channels', '16,32']), /--channels expects three positive integers/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--batch-size', '4', '--accumulate', '8']), /--accumulate 8 exceeds --batch-size 4/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', '--lung-classes', '3', '--label-value', '1', ...base]), /--label-value selects one target class/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--cross-entropy=-1']), /--cross-entropy expects a number .*got "-1"/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--cross-entropy', '1e9']), /--cross-entropy expects a number .*got "1e9"/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--blur', '6']), /--blur expects a number .*got "6"/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', ...base, '--lung-shift', '150']), /--lung-shift expects a number .*got "150"/)
  await assert.rejects(() => runTrainCommand(['--task', 'lung', '--lung-classes', '3', '--mirror', ...base]), /--mirror cannot train --lung-classes 3/)
  assert.equal(existsSync(join(root, 'unused')), false)
})

test('bad manifest exits 2 without output', async () => {
  const { runColinet } = await import('../support/cli.js')
  const manifest = join(root, 'bad.csv')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(manifest, 'image,label,patient,centre\nlung-data/ct0.nii.gz,lung-data/missing.nii.gz,p1,A\n')
  const run = join(root, 'bad-run')
  const result = runColinet(['train', '--task', 'lung', '--data', manifest, '-o', run])
  assert.equal(result.status, 2)
  assert.match(result.stderr, /row 2: label not found: .*missing\.nii\.gz/)
  assert.equal(existsSync(run), false)
})

test('train help names defaults', async () => {
  const { runColinet } = await import('../support/cli.js')
  const result = runColinet(['train', '--help'])
  assert.equal(result.status, 0)
  assert.match(result.stdout, /--batch-size <n> +slices per optimiser step \(default 32\)/)
  assert.match(result.stdout, /--lr <rate> +initial learning rate of Adam \(default 0\.001\)/)
})

test('skip-invalid leaves out rows with missing files', async () => {
  // The tiny lung manifest plus a row whose CT does not exist.
  const manifest = join(root, 'lung-data', 'with-missing.csv')
  const lines = readFileSync(lungManifest, 'utf8').trimEnd().split('\n')
  writeFileSync(manifest, [...lines, `${join(root, 'lung-data', 'absent.nii.gz')},${lines[1]!.split(',')[1]},absent-patient,A`].join('\n') + '\n')
  await assert.rejects(
    () => runTrainCommand(['--task', 'lung', '--data', manifest, '-o', join(root, 'missing-stop'), '--epochs', '1', ...TINY]),
    /row 6: image not found: .*absent\.nii\.gz/,
  )
  const run = join(root, 'missing-skip')
  assert.equal(await runTrainCommand(['--task', 'lung', '--data', manifest, '-o', run, '--epochs', '1', '--skip-invalid', ...TINY]), 0)
  assert.equal(runRecord(run).rows.length, lines.length - 1)
  assert.ok(runRecord(run).rows.every((row) => row.patient !== 'absent-patient'))
})
