/**
 * The description colinet stores in a model's ONNX metadata_props, so that a model file records
 * what it segments, what input it expects and whether its weights were trained.
 */
import { InputError } from '../errors.js'
import type { HighResNetOptions } from './highresnet.js'

/** Version of the metadata layout below; `colinet.version` in every model. */
export const MODEL_METADATA_VERSION = '1'

/** Default slice matrix of the networks: 216 rows by 296 columns. */
export const DEFAULT_INPUT_HEIGHT = 216
export const DEFAULT_INPUT_WIDTH = 296

export interface Preprocessing {
  /** HU window applied before scaling, [min, max]. */
  clipHu: [number, number]
  /** Factor applied after clipping. */
  scale: number
}

export const DEFAULT_PREPROCESSING: Preprocessing = { clipHu: [-1024, 300], scale: 1 / 1000 }

export interface ModelMetadata {
  /** Segmentation target, e.g. 'lung' or 'lesion'. */
  task: string
  /** Class names in output-channel order; class 0 is the background. */
  classes: string[]
  inputHeight: number
  inputWidth: number
  preprocessing: Preprocessing
  trained: boolean
  /** Free text describing the training data; present when trained. */
  trainingData?: string
  /** Architecture options, so that training can resume from or transfer this model. */
  architecture?: HighResNetOptions
  /** True when BN layers that follow a convolution are folded into it. */
  batchNormFolded?: boolean
  /**
   * Probability of the structure (1 - P(background)) above which a pixel is counted as the
   * structure. Segment uses 0.5 when the model does not set it.
   */
  threshold?: number
}

/** Threshold of a model that does not set one. */
export const DEFAULT_THRESHOLD = 0.5

const KEY = {
  task: 'colinet.task',
  classes: 'colinet.classes',
  inputHeight: 'colinet.inputHeight',
  inputWidth: 'colinet.inputWidth',
  preprocessing: 'colinet.preprocessing',
  trained: 'colinet.trained',
  version: 'colinet.version',
  trainingData: 'colinet.trainingData',
  architecture: 'colinet.architecture',
  batchNormFolded: 'colinet.batchNormFolded',
  threshold: 'colinet.threshold',
} as const

export function toMetadataProps(metadata: ModelMetadata): Record<string, string> {
  const props: Record<string, string> = {
    [KEY.task]: metadata.task,
    [KEY.classes]: JSON.stringify(metadata.classes),
    [KEY.inputHeight]: String(metadata.inputHeight),
    [KEY.inputWidth]: String(metadata.inputWidth),
    [KEY.preprocessing]: JSON.stringify(metadata.preprocessing),
    [KEY.trained]: String(metadata.trained),
    [KEY.version]: MODEL_METADATA_VERSION,
  }
  if (metadata.trainingData !== undefined) props[KEY.trainingData] = metadata.trainingData
  if (metadata.architecture !== undefined) props[KEY.architecture] = JSON.stringify(metadata.architecture)
  if (metadata.batchNormFolded !== undefined) props[KEY.batchNormFolded] = String(metadata.batchNormFolded)
  if (metadata.threshold !== undefined) props[KEY.threshold] = String(metadata.threshold)
  return props
}

/**
 * Reads colinet metadata from metadata_props. Models without it (a user's own ONNX file) get
 * defaults: task 'unknown', classes 'class0'..'class<C-1>', the default input size and
 * preprocessing, trained = true. Throws InputError when a colinet key is present but malformed.
 */
export function parseMetadataProps(props: Record<string, string>, classCount: number, source: string): ModelMetadata {
  const json = <T>(key: string, fallback: T): T => {
    const text = props[key]
    if (text === undefined) return fallback
    try {
      return JSON.parse(text) as T
    } catch {
      throw new InputError(`${source}: metadata ${key} should be JSON, found ${JSON.stringify(text)}; re-export the model with colinet`)
    }
  }
  const integer = (key: string, fallback: number): number => {
    const text = props[key]
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < 1) {
      throw new InputError(`${source}: metadata ${key} should be a positive integer, found ${JSON.stringify(text)}`)
    }
    return value
  }

  const classes = json<string[]>(KEY.classes, Array.from({ length: classCount }, (_, i) => `class${i}`))
  const metadata: ModelMetadata = {
    task: props[KEY.task] ?? 'unknown',
    classes,
    inputHeight: integer(KEY.inputHeight, DEFAULT_INPUT_HEIGHT),
    inputWidth: integer(KEY.inputWidth, DEFAULT_INPUT_WIDTH),
    preprocessing: json<Preprocessing>(KEY.preprocessing, DEFAULT_PREPROCESSING),
    trained: props[KEY.trained] !== 'false',
  }
  if (props[KEY.trainingData] !== undefined) metadata.trainingData = props[KEY.trainingData]
  if (props[KEY.architecture] !== undefined) metadata.architecture = json<HighResNetOptions>(KEY.architecture, undefined as never)
  if (props[KEY.batchNormFolded] !== undefined) metadata.batchNormFolded = props[KEY.batchNormFolded] === 'true'
  const threshold = props[KEY.threshold]
  if (threshold !== undefined) {
    const value = Number(threshold)
    if (!isProbabilityThreshold(value)) {
      throw new InputError(`${source}: metadata ${KEY.threshold} should be a number between 0 and 1 (exclusive), found ${JSON.stringify(threshold)}`)
    }
    metadata.threshold = value
  }
  return metadata
}

/** True for a usable probability threshold: a number strictly between 0 and 1. */
export function isProbabilityThreshold(value: number): boolean {
  return Number.isFinite(value) && value > 0 && value < 1
}
