import { SeededRandom } from '../nn/random.js'
import type { TrainingBatch } from '../nn/trainer.js'
import type { NetworkInputSpec } from '../pipeline/preprocess.js'
import { drawTransform, transformSlice, type AugmentationRanges } from './augment.js'
import type { TrainingCase } from './dataset.js'
import type { SliceRef } from './sampler.js'

/**
 * Copies the referenced slices into one training batch, each augmented with its own transform
 * when `augmentation` is given. `seed` fixes the transforms and noise, so a batch is the same
 * on every run with the same seed.
 */
export function assembleBatch(
  cases: readonly TrainingCase[],
  refs: readonly SliceRef[],
  spec: NetworkInputSpec,
  augmentation: AugmentationRanges | undefined,
  seed: number,
): TrainingBatch {
  const { width, height } = spec
  const plane = width * height
  const images = new Float32Array(refs.length * plane)
  const labels = new Uint8Array(refs.length * plane)
  const random = new SeededRandom(seed)

  refs.forEach((ref, s) => {
    const source = cases[ref.caseIndex]!
    const offset = ref.slice * plane
    const input = { image: source.images.subarray(offset, offset + plane), labels: source.labels.subarray(offset, offset + plane) }
    const output = { image: images.subarray(s * plane, (s + 1) * plane), labels: labels.subarray(s * plane, (s + 1) * plane) }
    if (augmentation === undefined) {
      output.image.set(input.image)
      output.labels.set(input.labels)
    } else {
      transformSlice(input, output, width, height, drawTransform(random, augmentation), spec, random)
    }
  })
  return { images, labels, batch: refs.length, height, width }
}

/** Splits a batch into `parts` micro-batches of near-equal size (for gradient accumulation). */
export function splitBatch(batch: TrainingBatch, parts: number): TrainingBatch[] {
  const plane = batch.height * batch.width
  const count = Math.min(parts, batch.batch)
  const result: TrainingBatch[] = []
  let start = 0
  for (let part = 0; part < count; part++) {
    const size = Math.floor(batch.batch / count) + (part < batch.batch % count ? 1 : 0)
    result.push({
      images: batch.images.slice(start * plane, (start + size) * plane),
      labels: batch.labels.slice(start * plane, (start + size) * plane),
      batch: size,
      height: batch.height,
      width: batch.width,
    })
    start += size
  }
  return result
}
