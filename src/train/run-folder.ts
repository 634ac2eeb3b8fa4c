/**
 * The run folder of a training run and its run.json: the settings the run was started with
 * (so --resume continues with the same ones), the patient split, and how far training got.
 *
 * Files in a run folder:
 *   run.json              settings, split, data summary and progress (this module)
 *   metrics.csv           one row per finished epoch (metrics-log.ts)
 *   training-curves.svg   loss and validation Dice per epoch, also as training-curves.png
 *   last.ckpt             weights and optimiser state after the last saved step
 *   best.ckpt             weights of the epoch with the highest mean validation Dice
 *   best.onnx             best.ckpt as an inference model for `colinet segment`
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError } from '../errors.js'
import type { AugmentationRanges } from './augment.js'
import type { Task } from './labels.js'

export const RUN_FILES = {
  run: 'run.json',
  metrics: 'metrics.csv',
  curvesSvg: 'training-curves.svg',
  curvesPng: 'training-curves.png',
  last: 'last.ckpt',
  best: 'best.ckpt',
  model: 'best.onnx',
} as const

/** Everything that defines a run; stored in run.json and reused on --resume. */
export interface TrainSettings {
  task: Task
  /** 2 (background, lung) or 3 (background, right lung, left lung); 2 for lesion. */
  lungClasses: 2 | 3
  /** Label values that count as the target (--label-value), or undefined for the task's default. */
  labelValues?: number[]
  /** Absolute path of the manifest. */
  manifest: string
  epochs: number
  batchSize: number
  /** Micro-batches per optimiser step. */
  accumulate: number
  learningRate: number
  decay: number
  l2: number
  /** Weight of the cross-entropy term added to the Dice loss. Absent or 0 trains on Dice alone. */
  crossEntropyWeight?: number
  dropout: number
  seed: number
  /** Cap on optimiser steps per epoch, or undefined for one pass over the training slices. */
  stepsPerEpoch?: number
  channels: [number, number, number]
  inputWidth: number
  inputHeight: number
  /** Fraction of each batch drawn from slices that hold the target. */
  targetFraction: number
  validationFraction: number
  validationPatients?: string[]
  /** Validate after every n-th epoch and after the last; 1 validates every epoch. */
  validateEvery: number
  /** Augmentation ranges, or null when augmentation is off. */
  augmentation: AugmentationRanges | null
  /** Absolute path of the initial weights (--init), if any. */
  init?: string
  skipInvalid: boolean
}

/** Progress of a run, updated at every checkpoint. */
export interface RunProgress {
  /** Epochs whose training and validation are done. */
  epochsCompleted: number
  /** Steps already taken in epoch epochsCompleted + 1, when a run stopped inside it. */
  stepsIntoEpoch: number
  /** Loss sums of those steps, so the resumed epoch's mean covers all its steps. */
  partialLossSum: number
  /** The Dice part of partialLossSum; absent in run folders written before it was recorded. */
  partialDiceLossSum?: number
  partialL2Sum: number
  partialSeconds: number
  bestEpoch?: number
  bestMeanDice?: number
  /** Wall-clock seconds of training and validation over all sessions of the run. */
  totalSeconds: number
}

export interface RunRecord {
  colinetVersion: string
  createdAt: string
  updatedAt: string
  settings: TrainSettings
  split: { training: string[]; validation: string[] }
  data: { patients: number; centres: string[]; cases: number; slices: number; slicesWithTarget: number; skippedRows: number[] }
  /** Image path and patient of each manifest row used, to detect a changed manifest on resume. */
  rows: { image: string; patient: string }[]
  progress: RunProgress
}

export function initialProgress(): RunProgress {
  return { epochsCompleted: 0, stepsIntoEpoch: 0, partialLossSum: 0, partialDiceLossSum: 0, partialL2Sum: 0, partialSeconds: 0, totalSeconds: 0 }
}

/** Reads run.json of a run folder; throws InputError when the folder is not a run folder. */
export function readRunRecord(folder: string): RunRecord {
  const path = join(folder, RUN_FILES.run)
  if (!existsSync(path)) {
    throw new InputError(`${folder} is not a training run folder: ${RUN_FILES.run} not found; pass the -o folder of an earlier colinet train`)
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunRecord
  } catch (error) {
    throw new InputError(`${path} is not valid JSON (${(error as Error).message}); the run folder is damaged`)
  }
}

/** Writes run.json through a temporary file and a rename, so a crash leaves the previous one. */
export function writeRunRecord(folder: string, record: RunRecord): void {
  writeFileAtomic(join(folder, RUN_FILES.run), `${JSON.stringify(record, null, 2)}\n`)
}

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temporary, content)
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}
