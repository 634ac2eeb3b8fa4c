/**
 * Export of a training checkpoint as an inference model for `colinet segment`.
 *
 * BN is left unfolded in the exported graph, so the file also serves as `--init` for another
 * training run (a folded convolution no longer separates the weights from the BN scale).
 * ONNX Runtime's basic graph optimisations include Conv + BatchNormalization fusion, so
 * inference should run as fast as with a folded model. NOTE: that speed was not measured here.
 */
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { InputError } from '../errors.js'
import { checkOutputLocation, checkOutputsDistinct, createFolder } from '../io/write.js'
import { loadCheckpoint } from '../nn/checkpoint.js'
import { buildInferenceModel } from '../nn/inference.js'
import { DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH, DEFAULT_PREPROCESSING, type ModelMetadata } from '../nn/metadata.js'
import { writeFileAtomic } from './run-folder.js'

/** Builds the model metadata a checkpoint stores, with defaults for fields it lacks. */
export function completeMetadata(partial: Partial<ModelMetadata> | undefined, classCount: number): ModelMetadata {
  return {
    task: partial?.task ?? 'unknown',
    classes: partial?.classes ?? Array.from({ length: classCount }, (_, c) => (c === 0 ? 'background' : `class${c}`)),
    inputHeight: partial?.inputHeight ?? DEFAULT_INPUT_HEIGHT,
    inputWidth: partial?.inputWidth ?? DEFAULT_INPUT_WIDTH,
    preprocessing: partial?.preprocessing ?? DEFAULT_PREPROCESSING,
    trained: partial?.trained ?? true,
    ...(partial?.trainingData !== undefined ? { trainingData: partial.trainingData } : {}),
  }
}

export interface ExportOptions {
  /** Overwrite an existing output file. */
  force?: boolean
  /** Probability threshold segment applies to the model's output; stored in its metadata. */
  threshold?: number
}

/**
 * Writes the checkpoint at `checkpointPath` as an ONNX inference model at `outputPath`
 * (through a temporary file and a rename). Throws InputError when the output exists and
 * `force` is off, or when the checkpoint cannot be read.
 */
export async function exportCheckpoint(checkpointPath: string, outputPath: string, options: ExportOptions = {}): Promise<ModelMetadata> {
  if (existsSync(outputPath) && statSync(outputPath).isDirectory()) {
    throw new InputError(`${outputPath} is a folder; expected the path of the model file to write, such as ${join(outputPath, 'model.onnx')}`)
  }
  if (existsSync(outputPath) && options.force !== true) {
    throw new InputError(`${outputPath} already exists; use --force to overwrite it, or choose another path with -o`)
  }
  checkOutputLocation(outputPath)
  checkOutputsDistinct([{ option: '-o', path: outputPath }], [{ option: 'the checkpoint', path: checkpointPath }])
  const checkpoint = await loadCheckpoint(checkpointPath)
  const metadata = completeMetadata(checkpoint.model, checkpoint.weights.options.classes)
  if (options.threshold !== undefined) metadata.threshold = options.threshold
  const bytes = buildInferenceModel(checkpoint.weights, metadata, { foldBatchNorm: false })
  createFolder(dirname(outputPath))
  writeFileAtomic(outputPath, bytes)
  return metadata
}
