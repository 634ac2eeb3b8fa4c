/**
 * A 2D segmentation network as the pipeline uses it: a batch of preprocessed slices in, class
 * probabilities out. Class 0 is background; the pipeline takes 1 - P(background) as the
 * probability of the structure the network finds (lung or lesion).
 */
/** Origin of a model's threshold: its metadata, the 0.5 default, or an option of the command. */
export type ThresholdSource = 'model metadata' | 'default' | `--${string}`

export interface SegmentationModel {
  /** File name or label used in reports. */
  name: string
  /** Task and training data, from the model's metadata. */
  description: string
  /** SHA-256 of the model file (hexadecimal), which names the exact weights in a report. */
  sha256: string
  /** False for freshly initialised weights: the output then means nothing. */
  trained: boolean
  inputHeight: number
  inputWidth: number
  classCount: number
  /** Probability of the structure above which a pixel is counted as the structure. */
  threshold: number
  /** Origin of the threshold, for the report. */
  thresholdSource: ThresholdSource
  /** Threshold the model sets itself (its metadata, else 0.5), kept when an option overrides `threshold`. */
  modelThreshold: number
  /**
   * Runs `count` slices of `inputHeight · inputWidth` values and returns probabilities as
   * `count · classCount · inputHeight · inputWidth` values (NCHW).
   */
  run(batch: Float32Array, count: number): Promise<Float32Array>
  dispose(): Promise<void>
}
