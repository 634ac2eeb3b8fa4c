/**
 * Chooses the slices of each training batch. A chest CT has many slices without lesion (and
 * some without lung), so drawing slices uniformly would show the network mostly empty slices.
 * The sampler instead draws a set fraction of each batch from slices that contain the target.
 *
 * An epoch is ceil(training slices / batch size) batches, optionally capped. Within an epoch
 * each pool (slices with target, slices without) is walked in a shuffled order and reshuffled
 * when used up, so every slice of the smaller pool is seen before any repeats. The order
 * depends only on the seed and the epoch number, so a resumed run draws the same batches.
 */
import { SeededRandom } from '../nn/random.js'
import type { TrainingCase } from './dataset.js'
import { shuffle } from './split.js'

/** One slice of one case. */
export interface SliceRef {
  caseIndex: number
  slice: number
}

export interface SamplerOptions {
  /** Fraction of each batch drawn from slices that hold the target, in [0, 1]. Default 0.5. */
  targetFraction: number
  seed: number
}

export const DEFAULT_TARGET_FRACTION = 0.5

export class SliceSampler {
  private readonly withTarget: SliceRef[] = []
  private readonly withoutTarget: SliceRef[] = []

  constructor(
    cases: readonly TrainingCase[],
    private readonly options: SamplerOptions,
  ) {
    if (!(options.targetFraction >= 0 && options.targetFraction <= 1)) {
      throw new Error(`targetFraction must be in [0, 1], got ${options.targetFraction}`)
    }
    cases.forEach((c, caseIndex) => {
      for (let slice = 0; slice < c.sliceCount; slice++) {
        ;(c.hasTarget[slice] ? this.withTarget : this.withoutTarget).push({ caseIndex, slice })
      }
    })
  }

  get sliceCount(): number {
    return this.withTarget.length + this.withoutTarget.length
  }

  get targetSliceCount(): number {
    return this.withTarget.length
  }

  /** Batches per epoch: every slice once on average, capped by `maxSteps` when given. */
  stepsPerEpoch(batchSize: number, maxSteps?: number): number {
    const steps = Math.max(1, Math.ceil(this.sliceCount / batchSize))
    return maxSteps !== undefined ? Math.min(steps, maxSteps) : steps
  }

  /**
   * Returns the batches of one epoch (0-based). Each batch has round(fraction · size) slices
   * with target and the rest without, in shuffled order. When one pool is empty the other
   * fills the batch.
   */
  epochBatches(epoch: number, batchSize: number, steps: number): SliceRef[][] {
    const random = new SeededRandom(mixSeed(this.options.seed, epoch))
    const positives = new PoolCursor(this.withTarget, random)
    const negatives = new PoolCursor(this.withoutTarget, random)
    const batches: SliceRef[][] = []
    for (let step = 0; step < steps; step++) {
      let positiveCount = Math.round(this.options.targetFraction * batchSize)
      if (this.withTarget.length === 0) positiveCount = 0
      if (this.withoutTarget.length === 0) positiveCount = batchSize
      const batch = [...positives.take(positiveCount), ...negatives.take(batchSize - positiveCount)]
      batches.push(shuffle(batch, Math.floor(random.uniform() * 0x7fffffff)))
    }
    return batches
  }
}

/** Walks a pool in shuffled order, reshuffling each time it reaches the end. */
class PoolCursor {
  private order: SliceRef[] = []
  private next = 0

  constructor(
    private readonly pool: readonly SliceRef[],
    private readonly random: SeededRandom,
  ) {}

  take(count: number): SliceRef[] {
    const taken: SliceRef[] = []
    if (this.pool.length === 0) return taken
    for (let n = 0; n < count; n++) {
      if (this.next >= this.order.length) {
        this.order = shuffle(this.pool, Math.floor(this.random.uniform() * 0x7fffffff))
        this.next = 0
      }
      taken.push(this.order[this.next++]!)
    }
    return taken
  }
}

/** Combines a run seed and a counter (epoch, step) into one 32-bit seed. */
export function mixSeed(seed: number, counter: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(counter + 1, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  return h >>> 0
}
