/**
 * The training graphs of the network, derived from the one definition in highresnet.ts by the
 * tape in autodiff.ts:
 *   - 'step': batch + labels + weights + Adam state + step size -> loss, updated weights,
 *     updated Adam state, updated BN running statistics (one run per training step);
 *   - 'gradients': batch + labels + weights -> loss, gradients, updated BN running statistics
 *     (for gradient accumulation over micro-batches);
 *   - the Adam update alone (buildAdamModel), applied to accumulated gradients.
 *
 * Loss: non-square soft Dice (Σp + Σg in the denominator, not Σp² + Σg²), per class c over
 * all pixels of the batch,
 *   D_c = (2·Σ p_c·g_c + ε) / (Σ p_c + Σ g_c + ε),   loss = 1 - Σ_c w_c·D_c / Σ_c w_c
 * with w_c = 1 for every class, or w_0 = 0 when the background is excluded.
 * An optional cross-entropy term (not in COLI-Net, off by default) adds
 *   λ_CE · (-Σ g·log(p + δ)) / (n·h·w),   δ = 1e-7,
 * which penalises each wrongly labelled pixel alike, however much target the batch holds.
 * The objective that is differentiated adds the L2 penalty (λ/2)·Σ W² over convolution
 * weights (not biases or BN parameters), so each weight gradient gets + λ·W.
 *
 * Adam (Kingma & Ba 2015) with the bias corrections folded into the step size:
 *   m' = β1·m + (1-β1)·g,  v' = β2·v + (1-β2)·g²,  W' = W - α_t·m' / (√v' + ε)
 * where α_t is a graph input computed per step by adamStepSize().
 */
import { Tape } from './autodiff.js'
import { attr, GraphBuilder, serializeModel, type Dim } from './graph.js'
import { buildHighResNet, describeHighResNet, type ConvSpec, type HighResNetOptions, type LayerContext } from './highresnet.js'

export interface LossOptions {
  /** Include class 0 in the Dice average. Default true, which keeps a gradient on batches without foreground. */
  includeBackground: boolean
  /** ε of the Dice ratio. Default 1e-5. */
  diceEpsilon: number
  /** L2 coefficient λ of the penalty (λ/2)·Σ W² on convolution weights. Default 1e-4. */
  l2: number
  /** Weight λ_CE of the pixel-mean cross-entropy added to the Dice loss. Default 0 (Dice alone, as COLI-Net). */
  crossEntropyWeight?: number
}

export interface AdamOptions {
  beta1: number
  beta2: number
  epsilon: number
}

export const DEFAULT_LOSS_OPTIONS: LossOptions = { includeBackground: true, diceEpsilon: 1e-5, l2: 1e-4 }
export const DEFAULT_ADAM_OPTIONS: AdamOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }

/** Names of the graph inputs and outputs, shared by the graphs and the trainer. */
export const TRAINING_NAMES = {
  image: 'image',
  labels: 'labels',
  dropoutMask: 'dropoutMask',
  stepSize: 'stepSize',
  loss: 'loss',
  diceLoss: 'diceLoss',
  l2Penalty: 'l2Penalty',
  adamM: (parameter: string) => `adam.m.${parameter}`,
  adamV: (parameter: string) => `adam.v.${parameter}`,
  gradient: (parameter: string) => `gradient.${parameter}`,
  updated: (name: string) => `updated.${name}`,
}

export type TrainingGraphMode = 'step' | 'gradients'

/** Builds the ONNX bytes of a training graph of the network (see the file comment). */
export function buildTrainingModel(
  network: HighResNetOptions,
  mode: TrainingGraphMode,
  loss: LossOptions = DEFAULT_LOSS_OPTIONS,
  adam: AdamOptions = DEFAULT_ADAM_OPTIONS,
): Uint8Array {
  const graph = new GraphBuilder(`colinet_training_${mode}`)
  const tape = new Tape(graph)
  const summary = describeHighResNet(network)
  const batchDims: Dim[] = ['batch', 1, 'height', 'width']
  const image = tape.value(graph.addInput(TRAINING_NAMES.image, 'float32', batchDims), batchDims)
  const labelDims: Dim[] = ['batch', network.classes, 'height', 'width']
  const labels = tape.value(graph.addInput(TRAINING_NAMES.labels, 'float32', labelDims), labelDims)

  const context = new TrainingContext(tape, network)
  const probabilities = buildHighResNet(context, image, network)
  const dice = emitDiceLoss(tape, probabilities, labels, network.classes, loss)
  const objective = addCrossEntropy(tape, dice, probabilities, labels, loss)
  graph.node('Reshape', [objective, graph.constantInt64([])], [TRAINING_NAMES.loss])
  graph.addOutput(TRAINING_NAMES.loss, 'float32', [])
  graph.node('Reshape', [dice, graph.constantInt64([])], [TRAINING_NAMES.diceLoss])
  graph.addOutput(TRAINING_NAMES.diceLoss, 'float32', [])
  tape.backward(objective)

  const convWeights = summary.parameters.filter((p) => p.role === 'conv-weight').map((p) => p.name)
  emitL2Penalty(graph, convWeights, loss.l2)

  for (const { name: bn } of summary.batchNorms) {
    for (const statistic of ['runningMean', 'runningVar'] as const) {
      const name = `${bn}.${statistic}`
      graph.node('Identity', [context.updatedStatistics.get(name)!], [TRAINING_NAMES.updated(name)])
      graph.addOutput(TRAINING_NAMES.updated(name), 'float32', [context.channelsOf(bn)])
    }
  }

  const stepSize = mode === 'step' ? graph.addInput(TRAINING_NAMES.stepSize, 'float32', []) : ''
  for (const parameter of summary.parameters) {
    const gradient = tape.gradientOf(parameter.name)
    if (gradient === undefined) throw new Error(`training graph: no gradient reached ${parameter.name}`)
    const total = parameter.role === 'conv-weight' && loss.l2 > 0
      ? graph.op('Add', [gradient, graph.op('Mul', [parameter.name, graph.constantFloat(loss.l2)])])
      : gradient
    if (mode === 'gradients') {
      graph.node('Identity', [total], [TRAINING_NAMES.gradient(parameter.name)])
      graph.addOutput(TRAINING_NAMES.gradient(parameter.name), 'float32', parameter.dims)
    } else {
      emitAdamUpdate(graph, parameter.name, parameter.dims, total, stepSize, adam)
    }
  }
  return serializeModel(graph, { docString: `colinet training graph (${mode})` })
}

/** Builds the ONNX bytes of the Adam update alone: weights, gradients, m, v, step size -> updated weights, m, v. */
export function buildAdamModel(network: HighResNetOptions, adam: AdamOptions = DEFAULT_ADAM_OPTIONS): Uint8Array {
  const graph = new GraphBuilder('colinet_adam')
  const stepSize = graph.addInput(TRAINING_NAMES.stepSize, 'float32', [])
  for (const parameter of describeHighResNet(network).parameters) {
    graph.addInput(parameter.name, 'float32', parameter.dims)
    const gradient = graph.addInput(TRAINING_NAMES.gradient(parameter.name), 'float32', parameter.dims)
    emitAdamUpdate(graph, parameter.name, parameter.dims, gradient, stepSize, adam)
  }
  return serializeModel(graph, { docString: 'colinet Adam update' })
}

/**
 * Computes the step size α_t of Adam step t (t = 1 for the first update) with the learning rate decayed
 * as Keras' legacy `decay` option does: lr_t = lr0 / (1 + decay·(t - 1)), and the bias
 * corrections folded in: α_t = lr_t · √(1 - β2^t) / (1 - β1^t).
 */
export function adamStepSize(step: number, learningRate: number, decay: number, adam: AdamOptions = DEFAULT_ADAM_OPTIONS): number {
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamStepSize: step must be an integer >= 1, got ${step}`)
  const rate = learningRate / (1 + decay * (step - 1))
  return rate * Math.sqrt(1 - adam.beta2 ** step) / (1 - adam.beta1 ** step)
}

function emitAdamUpdate(graph: GraphBuilder, name: string, dims: number[], gradient: string, stepSize: string, adam: AdamOptions): void {
  const m = graph.addInput(TRAINING_NAMES.adamM(name), 'float32', dims)
  const v = graph.addInput(TRAINING_NAMES.adamV(name), 'float32', dims)
  const scaled = (value: string, factor: number) => graph.op('Mul', [value, graph.constantFloat(factor)])
  const newM = graph.op('Add', [scaled(m, adam.beta1), scaled(gradient, 1 - adam.beta1)])
  const newV = graph.op('Add', [scaled(v, adam.beta2), scaled(graph.op('Mul', [gradient, gradient]), 1 - adam.beta2)])
  const denominator = graph.op('Add', [graph.op('Sqrt', [newV]), graph.constantFloat(adam.epsilon)])
  const change = graph.op('Mul', [graph.op('Div', [newM, denominator]), stepSize])

  graph.node('Sub', [name, change], [TRAINING_NAMES.updated(name)])
  graph.node('Identity', [newM], [TRAINING_NAMES.updated(TRAINING_NAMES.adamM(name))])
  graph.node('Identity', [newV], [TRAINING_NAMES.updated(TRAINING_NAMES.adamV(name))])
  for (const output of [name, TRAINING_NAMES.adamM(name), TRAINING_NAMES.adamV(name)]) {
    graph.addOutput(TRAINING_NAMES.updated(output), 'float32', dims)
  }
}

/** Emits the Dice loss plus the optional cross-entropy term of the file comment; returns a [1, 1, 1, 1] value. */
export function emitSegmentationLoss(tape: Tape, probabilities: string, labels: string, classes: number, options: LossOptions): string {
  return addCrossEntropy(tape, emitDiceLoss(tape, probabilities, labels, classes, options), probabilities, labels, options)
}

/** Adds the weighted cross-entropy term to the Dice loss `dice`; returns `dice` itself when the weight is 0. */
function addCrossEntropy(tape: Tape, dice: string, probabilities: string, labels: string, options: LossOptions): string {
  const weight = options.crossEntropyWeight ?? 0
  if (weight === 0) return dice
  const logP = tape.log(tape.add(probabilities, tape.constant(CROSS_ENTROPY_DELTA)))
  const sum = tape.reduceSum(tape.mul(labels, logP), [0, 1, 2, 3])
  const scale = tape.div(tape.constant(-weight), tape.pixelCount(probabilities))
  return tape.add(dice, tape.mul(sum, scale))
}

/** δ of the cross-entropy term: keeps log(p + δ) finite where the softmax gives 0. */
const CROSS_ENTROPY_DELTA = 1e-7

/** Emits the Dice loss of the file comment; returns a [1, 1, 1, 1] value. */
export function emitDiceLoss(tape: Tape, probabilities: string, labels: string, classes: number, options: LossOptions): string {
  const axes = [0, 2, 3]
  const intersection = tape.reduceSum(tape.mul(probabilities, labels), axes)
  const sumP = tape.reduceSum(probabilities, axes)
  const sumG = tape.reduceSum(labels, axes)
  const epsilon = tape.constant(options.diceEpsilon)
  const numerator = tape.add(tape.mul(intersection, tape.constant(2)), epsilon)
  const denominator = tape.add(tape.add(sumP, sumG), epsilon)
  const ratio = tape.div(numerator, denominator)

  const weights = Array.from({ length: classes }, (_, c): number => (c === 0 && !options.includeBackground ? 0 : 1))
  const weighted = tape.mul(ratio, tape.constant(weights, [1, classes, 1, 1]))
  const meanDice = tape.mul(tape.reduceSum(weighted, [1]), tape.constant(1 / weights.reduce((a, b) => a + b, 0)))
  return tape.sub(tape.constant(1, [1, 1, 1, 1]), meanDice)
}

function emitL2Penalty(graph: GraphBuilder, weights: string[], l2: number): void {
  const sums = weights.map((w) => graph.op('ReduceSumSquare', [w], { keepdims: attr.int(0) }))
  const total = sums.length === 1 ? sums[0]! : graph.op('Sum', sums)
  graph.node('Mul', [total, graph.constantFloat(l2 / 2)], [TRAINING_NAMES.l2Penalty])
  graph.addOutput(TRAINING_NAMES.l2Penalty, 'float32', [])
}

/** Implements the network's layers on the tape, with parameters and BN statistics as graph inputs. */
class TrainingContext implements LayerContext {
  readonly updatedStatistics = new Map<string, string>()
  private readonly bnChannels = new Map<string, number>()

  constructor(
    private readonly tape: Tape,
    private readonly network: HighResNetOptions,
  ) {}

  channelsOf(bn: string): number {
    return this.bnChannels.get(bn)!
  }

  conv(x: string, spec: ConvSpec): string {
    const weight = this.parameter(`${spec.name}.weight`, [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel])
    const bias = spec.bias ? this.parameter(`${spec.name}.bias`, [spec.outChannels]) : undefined
    return this.tape.conv(x, weight, bias, { kernel: spec.kernel, dilation: spec.dilation })
  }

  batchNorm(x: string, name: string, channels: number): string {
    this.bnChannels.set(name, channels)
    const graph = this.tape.graph
    const scale = this.parameter(`${name}.scale`, [channels])
    const bias = this.parameter(`${name}.bias`, [channels])
    const runningMean = graph.addInput(`${name}.runningMean`, 'float32', [channels])
    const runningVar = graph.addInput(`${name}.runningVar`, 'float32', [channels])
    const result = this.tape.batchNormTraining(x, scale, bias, runningMean, runningVar, this.network.batchNormEpsilon, this.network.batchNormMomentum)
    this.updatedStatistics.set(`${name}.runningMean`, result.runningMean)
    this.updatedStatistics.set(`${name}.runningVar`, result.runningVar)
    return result.y
  }

  leakyRelu(x: string, slope: number): string {
    return this.tape.leakyRelu(x, slope)
  }

  add(a: string, b: string): string {
    return this.tape.add(a, b)
  }

  padChannels(x: string, _fromChannels: number, toChannels: number): string {
    return this.tape.padChannels(x, toChannels)
  }

  /** Multiplies by the `dropoutMask` input: 0 for dropped values, 1/(1 - rate) for kept ones. */
  dropout(x: string, rate: number, channels: number): string {
    if (rate === 0) return x
    const dims: Dim[] = ['batch', channels, 'height', 'width']
    const mask = this.tape.value(this.tape.graph.addInput(TRAINING_NAMES.dropoutMask, 'float32', dims), dims)
    return this.tape.mul(x, mask)
  }

  softmax(x: string): string {
    return this.tape.softmax(x)
  }

  private parameter(name: string, dims: number[]): string {
    return this.tape.value(this.tape.graph.addInput(name, 'float32', dims), dims, true)
  }
}
