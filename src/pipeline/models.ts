import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SegmentationSession } from '../nn/session.js'
import type { SegmentationModel } from './model.js'

/** Folder of the models that ship with colinet (`models/` at the package root). */
export const BUILT_IN_MODEL_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models')

export const DEFAULT_LUNG_MODEL = join(BUILT_IN_MODEL_FOLDER, 'lung.onnx')
export const DEFAULT_LESION_MODEL = join(BUILT_IN_MODEL_FOLDER, 'lesion.onnx')

export interface LoadModelOptions {
  /** Threads for each network run; default the number of cores. */
  threads?: number
}

/**
 * Loads an ONNX segmentation model with onnxruntime-node and checks its input/output contract.
 * Throws InputError for a missing file or a model that breaks the contract.
 */
export async function loadSegmentationModel(path: string | Uint8Array, name: string, options: LoadModelOptions = {}): Promise<SegmentationModel> {
  const session = await SegmentationSession.load(path, { threads: options.threads })
  const { metadata } = session
  const height = session.fixedHeight ?? metadata.inputHeight
  const width = session.fixedWidth ?? metadata.inputWidth
  return {
    name,
    version: `${metadata.task} model, ${metadata.trained ? 'trained' : 'UNTRAINED'}${metadata.trainingData ? ` on ${metadata.trainingData}` : ''}`,
    trained: metadata.trained,
    inputHeight: height,
    inputWidth: width,
    classCount: session.classes,
    run: (batch, count) => session.run(batch, count, height, width),
    dispose: () => session.release(),
  }
}
