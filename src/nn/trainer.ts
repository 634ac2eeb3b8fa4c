/**
 * Training of the network with onnxruntime-node: one session runs the training-step graph,
 * and for gradient accumulation a second runs the gradient graph and a third the Adam update.
 * Weights, Adam moments and BN statistics stay in ort.Tensor objects between steps: the
 * tensors a run returns are fed unchanged to the next run.
 */
import os from 'node:os'
// Sets the environment (telemetry off) before onnxruntime-node loads.
import './ort-environment.js'
import * as ort from 'onnxruntime-node'
import { describeHighResNet, type HighResNetOptions, type ParameterSpec } from './highresnet.js'
import { SeededRandom } from './random.js'
import {
  adamStepSize,
  buildAdamModel,
  buildTrainingModel,
  DEFAULT_ADAM_OPTIONS,
  DEFAULT_LOSS_OPTIONS,
  TRAINING_NAMES,
  type AdamOptions,
  type LossOptions,
  type TrainingGraphMode,
} from './training-graph.js'
import type { NetworkWeights } from './weights.js'

export interface TrainerOptions {
  /** Initial learning rate lr0. Default 0.001. */
  learningRate: number
  /** Learning-rate decay per step: lr_t = lr0 / (1 + decay·(t - 1)). Default 0.0001. */
  decay: number
  loss: LossOptions
  adam: AdamOptions
  /** Seed of the dropout masks; each step's masks depend on the seed and the step number. Default 1. */
  seed: number
  /** Threads of each ONNX Runtime session. Default os.availableParallelism(). */
  threads: number
}

export const DEFAULT_TRAINER_OPTIONS: TrainerOptions = {
  learningRate: 0.001,
  decay: 0.0001,
  loss: DEFAULT_LOSS_OPTIONS,
  adam: DEFAULT_ADAM_OPTIONS,
  seed: 1,
  threads: 0,
}

/** A batch of preprocessed slices and their label maps. */
export interface TrainingBatch {
  /** N·H·W preprocessed pixel values, slice after slice, row-major. */
  images: Float32Array
  /** N·H·W class indices in [0, classes). */
  labels: Uint8Array
  batch: number
  height: number
  width: number
}

export interface StepResult {
  /** Loss of the batch (Dice, plus the cross-entropy term when set; without the L2 penalty), before the update. */
  loss: number
  /** The Dice part of `loss`: equal to it unless the cross-entropy term is set. */
  diceLoss: number
  /** (λ/2)·Σ W² over convolution weights, before the update. */
  l2Penalty: number
}

/** Adam moments and step count; saved in checkpoints so that training can resume. */
export interface OptimizerState {
  /** Number of updates applied so far. */
  step: number
  m: Map<string, Float32Array>
  v: Map<string, Float32Array>
}

export class Trainer {
  readonly options: TrainerOptions
  private readonly specs: ParameterSpec[]
  private readonly tensors = new Map<string, ort.Tensor>()
  private readonly sessions = new Map<string, ort.InferenceSession>()
  private accumulated: Map<string, Float32Array> | undefined
  private accumulatedBatches = 0
  private step: number

  /** Starts training from `weights` (copied) and, when resuming, the saved optimiser state. */
  constructor(readonly network: HighResNetOptions, weights: NetworkWeights, options: Partial<TrainerOptions> = {}, state?: OptimizerState) {
    this.options = { ...DEFAULT_TRAINER_OPTIONS, ...options }
    if (this.options.threads <= 0) this.options.threads = os.availableParallelism()
    this.specs = describeHighResNet(network).parameters
    this.step = state?.step ?? 0

    for (const spec of this.specs) {
      const value = weights.parameters.get(spec.name)
      if (value === undefined) throw new Error(`trainer: weights have no parameter ${spec.name}`)
      const expected = spec.dims.reduce((a, b) => a * b, 1)
      if (value.length !== expected) {
        throw new Error(`trainer: parameter ${spec.name} has ${value.length} values, the network needs ${expected} ([${spec.dims}]); the weights belong to another architecture`)
      }
      this.tensors.set(spec.name, new ort.Tensor('float32', value.slice(), spec.dims))
      const size = value.length
      this.tensors.set(TRAINING_NAMES.adamM(spec.name), new ort.Tensor('float32', state?.m.get(spec.name)?.slice() ?? new Float32Array(size), spec.dims))
      this.tensors.set(TRAINING_NAMES.adamV(spec.name), new ort.Tensor('float32', state?.v.get(spec.name)?.slice() ?? new Float32Array(size), spec.dims))
    }
    for (const [name, value] of weights.statistics) this.tensors.set(name, new ort.Tensor('float32', value.slice(), [value.length]))
  }

  /** Number of updates applied so far. */
  get stepCount(): number {
    return this.step
  }

  /** Runs one training step on `batch`: forward, backward and Adam update in one graph. */
  async trainStep(batch: TrainingBatch): Promise<StepResult> {
    if (this.accumulatedBatches > 0) throw new Error('trainStep: apply or discard the accumulated gradients first')
    const session = await this.session('step')
    const feeds = this.batchFeeds(batch)
    feeds[TRAINING_NAMES.stepSize] = this.stepSizeTensor(this.step + 1)
    for (const name of session.inputNames) if (feeds[name] === undefined) feeds[name] = this.tensor(name)

    const results = await session.run(feeds)
    this.takeUpdated(results)
    this.step++
    return stepResult(results)
  }

  /**
   * Computes the gradients of one micro-batch and adds them to the running sum; BN running
   * statistics are updated as in a training step. applyAccumulatedGradients() then applies
   * their mean. NOTE: Dice is computed per micro-batch, so the mean of micro-batch gradients
   * differs from the gradient of one Dice over the whole batch; BN also normalises each
   * micro-batch with its own statistics.
   */
  async accumulateGradients(batch: TrainingBatch): Promise<StepResult> {
    const session = await this.session('gradients')
    const feeds = this.batchFeeds(batch)
    for (const name of session.inputNames) if (feeds[name] === undefined) feeds[name] = this.tensor(name)
    const results = await session.run(feeds)

    const sums = this.accumulated ?? new Map(this.specs.map((s) => [s.name, new Float32Array(s.dims.reduce((a, b) => a * b, 1))]))
    for (const spec of this.specs) {
      const gradient = results[TRAINING_NAMES.gradient(spec.name)]!.data as Float32Array
      const sum = sums.get(spec.name)!
      for (let i = 0; i < sum.length; i++) sum[i]! += gradient[i]!
    }
    this.accumulated = sums
    this.accumulatedBatches++
    this.takeUpdated(results)
    return stepResult(results)
  }

  /** Applies one Adam update with the mean of the accumulated gradients. */
  async applyAccumulatedGradients(): Promise<void> {
    if (this.accumulated === undefined) throw new Error('applyAccumulatedGradients: no gradients were accumulated')
    const session = await this.session('adam')
    const feeds: Record<string, ort.Tensor> = { [TRAINING_NAMES.stepSize]: this.stepSizeTensor(this.step + 1) }
    for (const spec of this.specs) {
      const mean = this.accumulated.get(spec.name)!
      for (let i = 0; i < mean.length; i++) mean[i]! /= this.accumulatedBatches
      feeds[TRAINING_NAMES.gradient(spec.name)] = new ort.Tensor('float32', mean, spec.dims)
    }
    for (const name of session.inputNames) if (feeds[name] === undefined) feeds[name] = this.tensor(name)

    this.takeUpdated(await session.run(feeds))
    this.accumulated = undefined
    this.accumulatedBatches = 0
    this.step++
  }

  /** Copies out the current parameters and BN statistics. */
  weights(): NetworkWeights {
    const parameters = new Map(this.specs.map((s) => [s.name, (this.tensor(s.name).data as Float32Array).slice()]))
    const statistics = new Map<string, Float32Array>()
    for (const [name, tensor] of this.tensors) {
      if (name.endsWith('.runningMean') || name.endsWith('.runningVar')) statistics.set(name, (tensor.data as Float32Array).slice())
    }
    return { options: this.network, parameters, statistics }
  }

  /** Copies out the Adam moments and step count. */
  optimizerState(): OptimizerState {
    const copy = (key: (name: string) => string) => new Map(this.specs.map((s) => [s.name, (this.tensor(key(s.name)).data as Float32Array).slice()]))
    return { step: this.step, m: copy(TRAINING_NAMES.adamM), v: copy(TRAINING_NAMES.adamV) }
  }

  async release(): Promise<void> {
    for (const session of this.sessions.values()) await session.release()
    this.sessions.clear()
  }

  private async session(kind: TrainingGraphMode | 'adam'): Promise<ort.InferenceSession> {
    const existing = this.sessions.get(kind)
    if (existing !== undefined) return existing
    const bytes = kind === 'adam'
      ? buildAdamModel(this.network, this.options.adam)
      : buildTrainingModel(this.network, kind, this.options.loss, this.options.adam)
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: this.options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // With the memory pattern on, the second run of a batch size allocated a planned block
      // while the arena still held the first run's buffers: peak RSS for batch 8 at 216 x 296
      // was 7.4 GB with it and 4.4 GB without, at the same speed (onnxruntime-node 1.31).
      enableMemPattern: false,
    })
    this.sessions.set(kind, session)
    return session
  }

  private batchFeeds(batch: TrainingBatch): Record<string, ort.Tensor> {
    const { batch: n, height: h, width: w } = batch
    const pixels = h * w
    if (batch.images.length !== n * pixels || batch.labels.length !== n * pixels) {
      throw new Error(`training batch: expected ${n}x${h}x${w} = ${n * pixels} images and labels, got ${batch.images.length} and ${batch.labels.length}`)
    }
    const classes = this.network.classes
    const oneHot = new Float32Array(n * classes * pixels)
    for (let s = 0; s < n; s++) {
      for (let p = 0; p < pixels; p++) {
        const label = batch.labels[s * pixels + p]!
        if (label >= classes) throw new Error(`training batch: label ${label} at slice ${s}, pixel ${p} is not below the class count ${classes}`)
        oneHot[(s * classes + label) * pixels + p] = 1
      }
    }

    const feeds: Record<string, ort.Tensor> = {
      [TRAINING_NAMES.image]: new ort.Tensor('float32', batch.images, [n, 1, h, w]),
      [TRAINING_NAMES.labels]: new ort.Tensor('float32', oneHot, [n, classes, h, w]),
    }
    const rate = this.network.dropoutRate
    if (rate > 0) {
      const channels = this.network.channels[2]
      const keep = 1 / (1 - rate)
      // Seeded by step and micro-batch, so a resumed run draws the masks the original run would have.
      const random = new SeededRandom(Math.imul(this.options.seed, 0x01000193) ^ Math.imul(this.step + 1, 0x9e3779b1) ^ this.accumulatedBatches)
      const mask = new Float32Array(n * channels * pixels)
      for (let i = 0; i < mask.length; i++) mask[i] = random.uniform() < rate ? 0 : keep
      feeds[TRAINING_NAMES.dropoutMask] = new ort.Tensor('float32', mask, [n, channels, h, w])
    }
    return feeds
  }

  private stepSizeTensor(step: number): ort.Tensor {
    const size = adamStepSize(step, this.options.learningRate, this.options.decay, this.options.adam)
    return new ort.Tensor('float32', Float32Array.of(size), [])
  }

  private tensor(name: string): ort.Tensor {
    const tensor = this.tensors.get(name)
    if (tensor === undefined) throw new Error(`trainer: no tensor for graph input ${name}`)
    return tensor
  }

  /** Keeps every `updated.<name>` output as the new value of `<name>`. */
  private takeUpdated(results: ort.InferenceSession.OnnxValueMapType): void {
    const prefix = TRAINING_NAMES.updated('')
    for (const [name, value] of Object.entries(results)) {
      if (name.startsWith(prefix)) this.tensors.set(name.slice(prefix.length), value as ort.Tensor)
    }
  }
}

function scalar(tensor: ort.Tensor): number {
  return (tensor.data as Float32Array)[0]!
}

function stepResult(results: ort.InferenceSession.OnnxValueMapType): StepResult {
  return {
    loss: scalar(results[TRAINING_NAMES.loss]!),
    diceLoss: scalar(results[TRAINING_NAMES.diceLoss]!),
    l2Penalty: scalar(results[TRAINING_NAMES.l2Penalty]!),
  }
}
