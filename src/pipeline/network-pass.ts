import type { SegmentationModel } from './model.js'

export interface NetworkPassOptions {
  /** Slices per network run; larger batches use more memory. Default 8. */
  batchSize?: number
  /**
   * Also run each slice mirrored left to right and average the two foreground probabilities
   * (the mirrored one mirrored back). This takes twice the network time and reduces the errors
   * that differ between a slice and its mirror image.
   */
  mirrorAverage?: boolean
  /** Called after each batch with the slices done and the total. */
  onProgress?: (done: number, total: number) => void
}

/**
 * Runs a network over the given slices of the preprocessed input (`count · height · width`
 * values, the width index fastest) in batches and returns the foreground probability
 * (1 - P(background)) of each, in the order of `slices`.
 */
export async function runNetworkOnSlices(
  model: SegmentationModel,
  networkInput: Float32Array,
  slices: readonly number[],
  options: NetworkPassOptions = {},
): Promise<Float32Array> {
  const width = model.inputWidth
  const plane = model.inputHeight * width
  const batchSize = Math.max(1, options.batchSize ?? 8)
  const foreground = new Float32Array(slices.length * plane)
  const batch = new Float32Array(batchSize * plane)
  const mirrored = options.mirrorAverage === true ? new Float32Array(batchSize * plane) : undefined

  for (let start = 0; start < slices.length; start += batchSize) {
    const count = Math.min(batchSize, slices.length - start)
    for (let s = 0; s < count; s++) {
      const k = slices[start + s]
      batch.set(networkInput.subarray(k * plane, (k + 1) * plane), s * plane)
    }
    const probabilities = await model.run(count === batchSize ? batch : batch.subarray(0, count * plane), count)
    for (let s = 0; s < count; s++) {
      const background = s * model.classCount * plane
      const out = (start + s) * plane
      for (let p = 0; p < plane; p++) foreground[out + p] = 1 - probabilities[background + p]
    }

    if (mirrored !== undefined) {
      mirrorRows(batch, mirrored, count * plane, width)
      const mirroredProbabilities = await model.run(count === batchSize ? mirrored : mirrored.subarray(0, count * plane), count)
      for (let s = 0; s < count; s++) {
        const background = s * model.classCount * plane
        const out = (start + s) * plane
        for (let rowStart = 0; rowStart < plane; rowStart += width) {
          for (let x = 0; x < width; x++) {
            const other = 1 - mirroredProbabilities[background + rowStart + width - 1 - x]
            foreground[out + rowStart + x] = 0.5 * (foreground[out + rowStart + x] + other)
          }
        }
      }
    }
    options.onProgress?.(start + count, slices.length)
  }
  return foreground
}

/** Writes the first `length` values of `source`, rows of `width` values, into `target` with each row reversed. */
function mirrorRows(source: Float32Array, target: Float32Array, length: number, width: number): void {
  for (let rowStart = 0; rowStart < length; rowStart += width) {
    for (let x = 0; x < width; x++) target[rowStart + x] = source[rowStart + width - 1 - x]
  }
}
