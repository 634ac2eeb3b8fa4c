/**
 * Training checkpoints: unfolded parameters, BN running statistics, Adam moments and the step
 * count, in one binary file, so that training resumes exactly and transfer learning starts from
 * the unfolded trained parameters.
 *
 * File layout (little-endian):
 *   8 bytes   magic "COLICKPT"
 *   4 bytes   uint32 length L of the JSON header
 *   L bytes   UTF-8 JSON header (CheckpointHeader)
 *   padding   zeros up to a multiple of 4 bytes
 *   float32 tensors, one after another, in the header's order
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { resolveHighResNetOptions, type HighResNetOptions } from './highresnet.js'
import type { ModelMetadata } from './metadata.js'
import type { OptimizerState, TrainerOptions } from './trainer.js'
import type { NetworkWeights } from './weights.js'

const MAGIC = 'COLICKPT'
const FORMAT_VERSION = 1

export interface Checkpoint {
  weights: NetworkWeights
  optimizer: OptimizerState
  /** Trainer options the run used (learning rate, decay, loss, Adam, seed). */
  trainer?: Partial<TrainerOptions>
  /** Task description (task, classes) used when the network is exported. */
  model?: Partial<ModelMetadata>
  /** Free-form training notes (epochs done, best validation Dice, data description). */
  notes?: Record<string, unknown>
}

type TensorGroup = 'parameter' | 'statistic' | 'adam.m' | 'adam.v'

interface CheckpointHeader {
  format: number
  architecture: HighResNetOptions
  step: number
  trainer?: Partial<TrainerOptions>
  model?: Partial<ModelMetadata>
  notes?: Record<string, unknown>
  tensors: { name: string; group: TensorGroup; length: number }[]
}

/** Writes a checkpoint to `path` through a temporary file and a rename, so a crash leaves no half-written file. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const entries: { name: string; group: TensorGroup; data: Float32Array }[] = []
  for (const [name, data] of checkpoint.weights.parameters) entries.push({ name, group: 'parameter', data })
  for (const [name, data] of checkpoint.weights.statistics) entries.push({ name, group: 'statistic', data })
  for (const [name, data] of checkpoint.optimizer.m) entries.push({ name, group: 'adam.m', data })
  for (const [name, data] of checkpoint.optimizer.v) entries.push({ name, group: 'adam.v', data })

  const header: CheckpointHeader = {
    format: FORMAT_VERSION,
    architecture: checkpoint.weights.options,
    step: checkpoint.optimizer.step,
    trainer: checkpoint.trainer,
    model: checkpoint.model,
    notes: checkpoint.notes,
    tensors: entries.map((e) => ({ name: e.name, group: e.group, length: e.data.length })),
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const headerEnd = 12 + json.length
  const dataStart = Math.ceil(headerEnd / 4) * 4
  const totalValues = entries.reduce((sum, e) => sum + e.data.length, 0)
  const bytes = Buffer.alloc(dataStart + totalValues * 4)
  bytes.write(MAGIC, 0, 'latin1')
  bytes.writeUInt32LE(json.length, 8)
  json.copy(bytes, 12)
  const values = new Float32Array(bytes.buffer, bytes.byteOffset + dataStart, totalValues)
  let offset = 0
  for (const entry of entries) {
    values.set(entry.data, offset)
    offset += entry.data.length
  }

  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temporary, bytes)
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** Reads a checkpoint; throws InputError when the file is missing or not a colinet checkpoint. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new InputError(`cannot read checkpoint ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`)
  }
  return parseCheckpoint(bytes, path)
}

export function isCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === MAGIC
}

export function parseCheckpoint(bytes: Buffer, source: string): Checkpoint {
  if (!isCheckpoint(bytes)) {
    throw new InputError(`${source}: not a colinet checkpoint (expected the bytes "${MAGIC}" at the start); pass a file written by colinet training`)
  }
  const headerLength = bytes.readUInt32LE(8)
  let header: CheckpointHeader
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as CheckpointHeader
  } catch {
    throw new InputError(`${source}: the checkpoint header is not valid JSON; the file is damaged`)
  }
  if (header.format !== FORMAT_VERSION) {
    throw new InputError(`${source}: checkpoint format ${header.format} is not supported (expected ${FORMAT_VERSION})`)
  }

  const dataStart = Math.ceil((12 + headerLength) / 4) * 4
  const totalValues = header.tensors.reduce((sum, t) => sum + t.length, 0)
  if (bytes.length < dataStart + totalValues * 4) {
    throw new InputError(`${source}: the checkpoint is truncated (${bytes.length} bytes, expected ${dataStart + totalValues * 4})`)
  }
  const aligned = new Uint8Array(totalValues * 4)
  aligned.set(bytes.subarray(dataStart, dataStart + totalValues * 4))
  const values = new Float32Array(aligned.buffer)

  const groups: Record<TensorGroup, Map<string, Float32Array>> = {
    parameter: new Map(), statistic: new Map(), 'adam.m': new Map(), 'adam.v': new Map(),
  }
  let offset = 0
  for (const tensor of header.tensors) {
    groups[tensor.group].set(tensor.name, values.subarray(offset, offset + tensor.length))
    offset += tensor.length
  }
  return {
    weights: { options: resolveHighResNetOptions(header.architecture), parameters: groups.parameter, statistics: groups.statistic },
    optimizer: { step: header.step, m: groups['adam.m'], v: groups['adam.v'] },
    trainer: header.trainer,
    model: header.model,
    notes: header.notes,
  }
}
