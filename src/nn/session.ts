/**
 * Runs a segmentation model (colinet's own or a user's ONNX file that follows the same
 * contract) on batches of preprocessed slices with onnxruntime-node.
 *
 * Contract: one float32 input of shape [N, 1, H, W] and a float32 output of shape
 * [N, C, H, W] with C >= 2 holding per-class probabilities (class 0 = background). The output
 * named `probabilities` is used when present, else the first output.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
// Sets the environment (telemetry off) before onnxruntime-node loads.
import './ort-environment.js'
import * as ort from 'onnxruntime-node'
import { InputError } from '../errors.js'
import { parseModel } from './graph.js'
import { OUTPUT_NAME } from './inference.js'
import { parseMetadataProps, type ModelMetadata } from './metadata.js'

export interface SessionOptions {
  /** Threads for the operators of one run. Default os.availableParallelism(). */
  threads?: number
}

/** A loaded model; call release() when done. */
export class SegmentationSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Model path, or 'model bytes', for error messages. */
    readonly source: string,
    readonly metadata: ModelMetadata,
    /** Number of output classes C. */
    readonly classes: number,
    private readonly outputName: string,
    /** Fixed input height and width of the model, or undefined where symbolic. */
    readonly fixedHeight: number | undefined,
    readonly fixedWidth: number | undefined,
  ) {}

  /** Loads a model from a file path or from ONNX bytes; throws InputError if it breaks the contract. */
  static async load(model: string | Uint8Array, options: SessionOptions = {}): Promise<SegmentationSession> {
    const source = typeof model === 'string' ? model : 'model bytes'
    const bytes = typeof model === 'string' ? await readModelFile(model) : model

    let proto
    try {
      proto = parseModel(bytes)
    } catch (error) {
      throw new InputError(`${source}: not an ONNX model (${(error as Error).message}); pass a .onnx file exported by colinet or another ONNX tool`)
    }

    let session: ort.InferenceSession
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: options.threads ?? os.availableParallelism(),
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      })
    } catch (error) {
      throw new InputError(`${source}: ONNX Runtime could not load the model: ${(error as Error).message}`)
    }

    try {
      const { classes, outputName, height, width } = checkContract(session, source)
      const props: Record<string, string> = {}
      for (const entry of proto.metadataProps) if (entry.key) props[entry.key] = entry.value ?? ''
      const metadata = parseMetadataProps(props, classes, source)
      if (metadata.classes.length !== classes) {
        throw new InputError(`${source}: metadata lists ${metadata.classes.length} classes (${metadata.classes.join(', ')}) but the output has ${classes} channels`)
      }
      return new SegmentationSession(session, source, metadata, classes, outputName, height, width)
    } catch (error) {
      await session.release()
      throw error
    }
  }

  /**
   * Runs `batch` slices of `height` x `width` pixels, stored slice after slice, row-major
   * (N·H·W values). Returns the probabilities as N·C·H·W values, class-major within a slice.
   */
  async run(slices: Float32Array, batch: number, height: number, width: number): Promise<Float32Array> {
    if (slices.length !== batch * height * width) {
      throw new Error(`run: expected ${batch}x${height}x${width} = ${batch * height * width} values, got ${slices.length}`)
    }
    if ((this.fixedHeight !== undefined && this.fixedHeight !== height) || (this.fixedWidth !== undefined && this.fixedWidth !== width)) {
      throw new InputError(`${this.source}: the model takes slices of ${this.fixedHeight ?? 'any'} x ${this.fixedWidth ?? 'any'} pixels (rows x columns), got ${height} x ${width}; resample the slices to the model's size`)
    }

    const input = new ort.Tensor('float32', slices, [batch, 1, height, width])
    const results = await this.session.run({ [this.session.inputNames[0]!]: input }, [this.outputName])
    const output = results[this.outputName]!
    const expected = batch * this.classes * height * width
    if (output.type !== 'float32' || output.data.length !== expected) {
      throw new InputError(`${this.source}: expected output ${batch}x${this.classes}x${height}x${width} float32, got ${output.dims.join('x')} ${output.type}`)
    }
    return output.data as Float32Array
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(`cannot read model ${path}: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}; pass the path of an .onnx model`)
  }
}

function checkContract(session: ort.InferenceSession, source: string) {
  const fix = 'colinet needs one float32 input [N, 1, H, W] and a float32 output [N, C, H, W] of class probabilities with C >= 2'
  if (session.inputMetadata.length !== 1) {
    throw new InputError(`${source}: expected one input, found ${session.inputMetadata.length} (${session.inputNames.join(', ')}); ${fix}`)
  }
  const input = session.inputMetadata[0]!
  if (!input.isTensor || input.type !== 'float32') {
    throw new InputError(`${source}: input ${input.name} should be a float32 tensor, found ${input.isTensor ? input.type : 'a non-tensor value'}; ${fix}`)
  }
  if (input.shape.length !== 4) {
    throw new InputError(`${source}: input ${input.name} should have rank 4 [N, 1, H, W], found rank ${input.shape.length} [${input.shape.join(', ')}]; ${fix}`)
  }
  if (typeof input.shape[1] === 'number' && input.shape[1] !== 1) {
    throw new InputError(`${source}: input ${input.name} should have 1 channel, found ${input.shape[1]}; ${fix}`)
  }

  const output = session.outputMetadata.find((o) => o.name === OUTPUT_NAME) ?? session.outputMetadata[0]
  if (output === undefined || !output.isTensor || output.type !== 'float32') {
    throw new InputError(`${source}: found no float32 tensor output; ${fix}`)
  }
  if (output.shape.length !== 4) {
    throw new InputError(`${source}: output ${output.name} should have rank 4 [N, C, H, W], found rank ${output.shape.length}; ${fix}`)
  }
  const classes = output.shape[1]
  if (typeof classes !== 'number' || classes < 2) {
    throw new InputError(`${source}: output ${output.name} should have a fixed class count C >= 2 on axis 1, found ${String(classes)}; ${fix}`)
  }
  const fixed = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : undefined)
  return { classes, outputName: output.name, height: fixed(input.shape[2]), width: fixed(input.shape[3]) }
}
