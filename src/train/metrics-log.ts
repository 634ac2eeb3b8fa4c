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
  /** The soft-Dice part of trainLoss; NaN for epochs recorded before it was kept. */
  trainDiceLoss: number
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
  return [
    'epoch', 'steps', 'train_loss', 'train_dice_loss', 'train_l2', 'val_dice_mean', ...classColumns(classNames),
    'learning_rate', 'train_seconds', 'train_slices_per_second', 'validation_seconds',
  ]
}

function classColumns(classNames: readonly string[]): string[] {
  return classNames.slice(1).map((name) => `val_dice_${name.replace(/\W+/g, '_')}`)
}

function formatRecord(record: EpochRecord, classCount: number): string[] {
  const number = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '')
  const dice = Array.from({ length: classCount - 1 }, (_, k) => number(record.validationDice[k] ?? NaN, 6))
  return [
    String(record.epoch),
    String(record.steps),
    number(record.trainLoss, 6),
    number(record.trainDiceLoss, 6),
    number(record.trainL2, 6),
    number(record.validationMeanDice, 6),
    ...dice,
    record.learningRate.toExponential(6),
    number(record.trainSeconds, 2),
    number(record.trainSlicesPerSecond, 3),
    number(record.validationSeconds, 2),
  ]
}

/**
 * Appends one epoch to metrics.csv, writing the header first when the file is new. A file with
 * other columns (written by an earlier version) is rewritten with the current ones first, and
 * the values it lacks stay empty.
 */
export function appendEpochRecord(path: string, classNames: readonly string[], record: EpochRecord): void {
  const header = metricsHeader(classNames)
  const line = (r: EpochRecord) => `${formatRecord(r, classNames.length).join(',')}\n`
  if (existsSync(path) && readFileSync(path, 'utf8').split('\n', 1)[0] === header.join(',')) {
    appendFileSync(path, line(record))
    return
  }
  const earlier = readEpochRecords(path, classNames)
  writeFileSync(path, `${header.join(',')}\n${[...earlier, record].map(line).join('')}`)
}

/** Reads the epochs recorded so far, by column name; an absent file gives none. */
export function readEpochRecords(path: string, classNames: readonly string[]): EpochRecord[] {
  if (!existsSync(path)) return []
  const [header = [], ...rows] = parseCsv(readFileSync(path, 'utf8'), path)
  const value = (fields: string[], name: string) => {
    const index = header.indexOf(name)
    const text = index >= 0 ? fields[index] : undefined
    return text === undefined || text === '' ? NaN : Number(text)
  }
  return rows.map((fields) => ({
    epoch: value(fields, 'epoch'),
    steps: value(fields, 'steps'),
    trainLoss: value(fields, 'train_loss'),
    trainDiceLoss: value(fields, 'train_dice_loss'),
    trainL2: value(fields, 'train_l2'),
    validationMeanDice: value(fields, 'val_dice_mean'),
    validationDice: classColumns(classNames).map((name) => value(fields, name)),
    learningRate: value(fields, 'learning_rate'),
    trainSeconds: value(fields, 'train_seconds'),
    trainSlicesPerSecond: value(fields, 'train_slices_per_second'),
    validationSeconds: value(fields, 'validation_seconds'),
  }))
}
