/**
 * The per-epoch training record: metrics.csv in the run folder, one row per finished epoch,
 * appended as training goes, and read back when a run resumes. An epoch interrupted by a stop
 * gets its row when the resumed run finishes it, with the steps of both sessions.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { parseCsv } from '../report/csv.js'

export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number
  /** Optimiser steps taken in this epoch. */
  steps: number
  /** Mean loss of the epoch's batches (soft Dice, plus the cross-entropy term when set), without the L2 penalty. */
  trainLoss: number
  /** Mean L2 penalty (λ/2)·Σ W² of the epoch's batches. */
  trainL2: number
  /** Validation Dice of classes 1..C-1; empty when validation did not run. */
  validationDice: number[]
  validationMeanDice: number
  /** Learning rate of the epoch's last step: lr0 / (1 + decay · (step - 1)). */
  learningRate: number
  trainSeconds: number
  trainSlicesPerSecond: number
  validationSeconds: number
}

/** CSV column names; the class columns are named after the classes, e.g. val_dice_left_lung. */
export function metricsHeader(classNames: readonly string[]): string[] {
  const classColumns = classNames.slice(1).map((name) => `val_dice_${name.replace(/\W+/g, '_')}`)
  return [
    'epoch', 'steps', 'train_loss', 'train_l2', 'val_dice_mean', ...classColumns,
    'learning_rate', 'train_seconds', 'train_slices_per_second', 'validation_seconds',
  ]
}

function formatRecord(record: EpochRecord): string[] {
  const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '')
  return [
    String(record.epoch),
    String(record.steps),
    number(record.trainLoss, 6),
    number(record.trainL2, 6),
    number(record.validationMeanDice, 6),
    ...record.validationDice.map((dice) => number(dice, 6)),
    record.learningRate.toExponential(6),
    number(record.trainSeconds, 2),
    number(record.trainSlicesPerSecond, 3),
    number(record.validationSeconds, 2),
  ]
}

/** Appends one epoch to metrics.csv, writing the header first when the file is new. */
export function appendEpochRecord(path: string, classNames: readonly string[], record: EpochRecord): void {
  if (record.validationDice.length === 0) record = { ...record, validationDice: classNames.slice(1).map(() => NaN) }
  const line = `${formatRecord(record).join(',')}\n`
  if (!existsSync(path)) writeFileSync(path, `${metricsHeader(classNames).join(',')}\n${line}`)
  else appendFileSync(path, line)
}

/** Reads the epochs recorded so far; an absent file gives none. */
export function readEpochRecords(path: string, classCount: number): EpochRecord[] {
  if (!existsSync(path)) return []
  const rows = parseCsv(readFileSync(path, 'utf8'), path).slice(1)
  const value = (text: string | undefined) => (text === undefined || text === '' ? NaN : Number(text))
  return rows.map((fields) => {
    const dice = fields.slice(5, 5 + classCount - 1).map(value)
    const rest = fields.slice(5 + classCount - 1)
    return {
      epoch: value(fields[0]),
      steps: value(fields[1]),
      trainLoss: value(fields[2]),
      trainL2: value(fields[3]),
      validationMeanDice: value(fields[4]),
      validationDice: dice,
      learningRate: value(rest[0]),
      trainSeconds: value(rest[1]),
      trainSlicesPerSecond: value(rest[2]),
      validationSeconds: value(rest[3]),
    }
  })
}
