import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InputError } from '../errors.js'
import { DEFAULT_THRESHOLD } from '../nn/metadata.js'
import { SegmentationSession } from '../nn/session.js'
import { MIN_LESION_REGION_ML } from './cleanup.js'
import type { SegmentationModel } from './model.js'

/** Folder of the models that ship with colinet (`models/` at the package root). */
export const BUILT_IN_MODEL_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models')

export const DEFAULT_LUNG_MODEL = join(BUILT_IN_MODEL_FOLDER, 'lung.onnx')
export const DEFAULT_LESION_MODEL = join(BUILT_IN_MODEL_FOLDER, 'lesion.onnx')

/** Name under which the built-in lesion model appears in reports. */
export const BUILT_IN_LESION_MODEL_NAME = 'models/lesion.onnx'

/**
 * Largest lesion volume in mL that the built-in lesion model marked on the lesion-free scans of
 * its model card (models/lesion.md: 16.93 mL on CIP ct-64), rounded up to 0.1 mL.
 */
export const BUILT_IN_LESION_FALSE_POSITIVE_ML = 17

/**
 * Line of the printed report on the built-in lesion model's training data and its held-out Dice
 * on simulated pneumonia at 5 and 35 % of the lung (models/lesion.md).
 */
export const BUILT_IN_LESION_MODEL_NOTE =
  'the built-in lesion model learned from simulated pneumonia only (Dice on simulated lesions in a held-out scan: 0.74 at 5 % ' +
  'of the lung to 0.85 at 35 %; models/lesion.md): treat lesion volume and % affected as provisional'

/**
 * Returns a caution when a lesion mask of the built-in model is no larger than what that model
 * marks in lungs without pneumonia, or undefined when it is larger or empty.
 */
export function describeLesionWithinFalsePositiveRange(lesionMl: number, lungMl: number): string | undefined {
  if (!(lesionMl > 0) || lesionMl > BUILT_IN_LESION_FALSE_POSITIVE_ML) return undefined
  const percent = lungMl > 0 ? ` (${((100 * lesionMl) / lungMl).toFixed(1)} % of the lung)` : ''
  return (
    `the lesion mask is ${lesionMl.toFixed(1)} mL${percent}, within what the built-in lesion model marks in lungs ` +
    `without pneumonia (up to ${BUILT_IN_LESION_FALSE_POSITIVE_ML} mL, models/lesion.md): it may contain no pneumonia; check it in the overview`
  )
}

/**
 * Returns the caution for a run of the built-in lesion model with a lower threshold, a smaller
 * minimum lesion region or without mirror averaging, where its false positives were not measured
 * and may be larger.
 */
export function describeLooserLesionSettings(
  threshold: number,
  modelThreshold: number,
  settings: { minRegionMl: number; mirrorAveraged: boolean },
): string {
  const { minRegionMl } = settings
  const looser = [
    ...(threshold < modelThreshold ? [`the lesion threshold ${threshold} is below the built-in lesion model's ${modelThreshold}`] : []),
    ...(minRegionMl === 0
      ? [`every lesion region is kept (--min-lesion-ml 0), also those under ${MIN_LESION_REGION_ML} mL and one-slice slivers on the lung's top or bottom surface`]
      : minRegionMl < MIN_LESION_REGION_ML ? [`lesion regions from ${minRegionMl} mL are kept instead of from ${MIN_LESION_REGION_ML} mL`] : []),
    ...(settings.mirrorAveraged ? [] : ['the lesion network ran without mirror averaging (--no-mirror-average)']),
  ]
  return (
    `${looser.join(' and ')}; with its own settings the model marks up to ${BUILT_IN_LESION_FALSE_POSITIVE_ML} mL of lesion in lungs without ` +
    'pneumonia (models/lesion.md), and with these settings its false positives were not measured and may be larger; check the lesion mask in the overview'
  )
}

export interface LoadModelOptions {
  /** Threads for each network run; default the number of cores. */
  threads?: number
  /**
   * The task the model is loaded for, with the option that named it. A model whose metadata
   * names the other task is rejected; a model without a task in its metadata is accepted.
   */
  expect?: { task: 'lung' | 'lesion'; option: string }
}

/**
 * Loads an ONNX segmentation model with onnxruntime-node and checks its input/output contract.
 * Throws InputError for a missing file or a model that breaks the contract.
 */
export async function loadSegmentationModel(path: string | Uint8Array, name: string, options: LoadModelOptions = {}): Promise<SegmentationModel> {
  const session = await SegmentationSession.load(path, { threads: options.threads })
  const sha256 = createHash('sha256').update(typeof path === 'string' ? readFileSync(path) : path).digest('hex')
  const { metadata } = session
  const expect = options.expect
  if (expect !== undefined && (metadata.task === 'lung' || metadata.task === 'lesion') && metadata.task !== expect.task) {
    await session.release()
    throw new InputError(
      `${name} is a ${metadata.task} model (its metadata task is "${metadata.task}"); ${expect.option} expects a ${expect.task} model, ` +
        `such as one written by colinet train --task ${expect.task}`,
    )
  }
  const height = session.fixedHeight ?? metadata.inputHeight
  const width = session.fixedWidth ?? metadata.inputWidth
  return {
    name,
    description: `${metadata.task} model, ${metadata.trained ? 'trained' : 'UNTRAINED'}${metadata.trainingData ? ` on ${metadata.trainingData}` : ''}`,
    sha256,
    trained: metadata.trained,
    inputHeight: height,
    inputWidth: width,
    classCount: session.classes,
    threshold: metadata.threshold ?? DEFAULT_THRESHOLD,
    thresholdSource: metadata.threshold === undefined ? 'default' : 'model metadata',
    modelThreshold: metadata.threshold ?? DEFAULT_THRESHOLD,
    run: (batch, count) => session.run(batch, count, height, width),
    dispose: () => session.release(),
  }
}
