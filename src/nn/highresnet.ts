/**
 * The COLI-Net segmentation network, defined once: a 2D residual network in the style of
 * HighResNet (Li et al., 2017) with 20 convolution layers.
 *
 * Counting the convolution layers (default options):
 *   1   initial 3x3 convolution, 1 -> 16 channels
 *   18  three stages x three residual blocks x two 3x3 convolutions; stage s has dilation
 *       1, 2, 4 and 16, 32, 64 channels
 *   1   1x1 output convolution to C classes
 *   = 20. Channel changes between stages use zero-padding of the shortcut, which adds no
 *   convolution layer.
 *
 * Each residual block is pre-activation (He et al. 2016, as HighResNet): BN -> leaky ReLU ->
 * conv -> BN -> leaky ReLU -> conv, plus the block input. After the last block come BN, leaky
 * ReLU, dropout (training only), the 1x1 output convolution and a softmax over classes.
 * The initial convolution feeds the first block directly, because that block starts with its
 * own BN and leaky ReLU.
 *
 * Receptive field: a 3x3 convolution with dilation d widens it by 2d, so it is
 * 3 + 6·2·1 + 6·2·2 + 6·2·4 = 87 pixels square (the 1x1 convolution adds nothing).
 *
 * Only the output convolution has a bias. Every path from another convolution passes a BN
 * before the output, and BN removes a per-channel constant, so a bias there would be inert.
 */

import { InputError } from '../errors.js'

/** Options of the architecture; each has a default that gives the COLI-Net network. */
export interface HighResNetOptions {
  /** Channels of the three stages (dilation 1, 2, 4). Default [16, 32, 64]. */
  channels: [number, number, number]
  /** Residual blocks per stage, two convolutions each. Default 3 (the 20-layer network). */
  blocksPerStage: number
  /** Output classes, class 0 = background. Default 2. */
  classes: number
  /** Negative slope of the leaky ReLU. Default 0.01. */
  leakySlope: number
  /** Dropout rate before the output convolution, training only. Default 0.5. */
  dropoutRate: number
  /** BN epsilon added to the variance. Default 1e-5. */
  batchNormEpsilon: number
  /** Weight of the current batch in the running BN statistics: running = (1-m)·running + m·batch. Default 0.1. */
  batchNormMomentum: number
}

export const DEFAULT_HIGHRESNET_OPTIONS: HighResNetOptions = {
  channels: [16, 32, 64],
  blocksPerStage: 3,
  classes: 2,
  leakySlope: 0.01,
  dropoutRate: 0.5,
  batchNormEpsilon: 1e-5,
  batchNormMomentum: 0.1,
}

export const STAGE_DILATIONS = [1, 2, 4] as const

export function resolveHighResNetOptions(options: Partial<HighResNetOptions> = {}): HighResNetOptions {
  const resolved = { ...DEFAULT_HIGHRESNET_OPTIONS, ...options }
  if (resolved.channels.length !== 3 || resolved.channels.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new InputError(`channels must be three positive integers, got [${resolved.channels}]`)
  }
  if (resolved.channels[0] > resolved.channels[1] || resolved.channels[1] > resolved.channels[2]) {
    throw new InputError(`channels must not decrease from stage to stage (the shortcut zero-pads), got [${resolved.channels}]`)
  }
  if (!Number.isInteger(resolved.classes) || resolved.classes < 2) {
    throw new InputError(`classes must be an integer >= 2, got ${resolved.classes}`)
  }
  if (!Number.isInteger(resolved.blocksPerStage) || resolved.blocksPerStage < 1) {
    throw new InputError(`blocksPerStage must be a positive integer, got ${resolved.blocksPerStage}`)
  }
  if (!(resolved.dropoutRate >= 0 && resolved.dropoutRate < 1)) {
    throw new InputError(`dropoutRate must be in [0, 1), got ${resolved.dropoutRate}`)
  }
  return resolved
}

/** Role of a parameter, which decides its initialisation, L2 regularisation and folding. */
export type ParameterRole = 'conv-weight' | 'conv-bias' | 'bn-scale' | 'bn-bias'

export interface ConvSpec {
  /** Parameter prefix, e.g. 'stage2.block1.conv1'; the weight is `<name>.weight`. */
  name: string
  inChannels: number
  outChannels: number
  kernel: 1 | 3
  dilation: number
  bias: boolean
}

/**
 * The operations the network is written in. Each engine implements it: the inference graph
 * builder, the training tape (which differentiates it) and the parameter lister.
 */
export interface LayerContext {
  conv(x: string, spec: ConvSpec): string
  /** BN over the channels of x; `<name>.scale`, `.bias`, `.runningMean`, `.runningVar`. */
  batchNorm(x: string, name: string, channels: number): string
  leakyRelu(x: string, slope: number): string
  add(a: string, b: string): string
  /** Appends zero channels so that x has `toChannels` channels. */
  padChannels(x: string, fromChannels: number, toChannels: number): string
  /** Inverted dropout (kept values scaled by 1/(1-rate)); the identity at inference. */
  dropout(x: string, rate: number, channels: number): string
  /** Softmax over the channel axis. */
  softmax(x: string): string
}

/** Builds the network on `ctx` from the image value and returns the probabilities value. */
export function buildHighResNet(ctx: LayerContext, image: string, options: HighResNetOptions): string {
  const slope = options.leakySlope
  const [c1] = options.channels
  let x = ctx.conv(image, { name: 'conv0', inChannels: 1, outChannels: c1, kernel: 3, dilation: 1, bias: false })
  let channels = c1

  for (let stage = 0; stage < 3; stage++) {
    const width = options.channels[stage]!
    const dilation = STAGE_DILATIONS[stage]!
    for (let block = 0; block < options.blocksPerStage; block++) {
      const prefix = `stage${stage + 1}.block${block + 1}`
      let h = ctx.leakyRelu(ctx.batchNorm(x, `${prefix}.bn1`, channels), slope)
      h = ctx.conv(h, { name: `${prefix}.conv1`, inChannels: channels, outChannels: width, kernel: 3, dilation, bias: false })
      h = ctx.leakyRelu(ctx.batchNorm(h, `${prefix}.bn2`, width), slope)
      h = ctx.conv(h, { name: `${prefix}.conv2`, inChannels: width, outChannels: width, kernel: 3, dilation, bias: false })
      const shortcut = channels === width ? x : ctx.padChannels(x, channels, width)
      x = ctx.add(h, shortcut)
      channels = width
    }
  }

  let h = ctx.leakyRelu(ctx.batchNorm(x, 'final.bn', channels), slope)
  h = ctx.dropout(h, options.dropoutRate, channels)
  const logits = ctx.conv(h, { name: 'output', inChannels: channels, outChannels: options.classes, kernel: 1, dilation: 1, bias: true })
  return ctx.softmax(logits)
}

export interface ParameterSpec {
  name: string
  dims: number[]
  role: ParameterRole
  /** Inputs per output value (in-channels x kernel area) for convolution weights, else 0. */
  fanIn: number
}

export interface BatchNormSpec {
  name: string
  channels: number
}

export interface ArchitectureSummary {
  parameters: ParameterSpec[]
  batchNorms: BatchNormSpec[]
  convolutionLayers: number
  /** Analytic receptive field in pixels (square). */
  receptiveField: number
}

/** Lists the trainable parameters and BN layers of the network by running it on a recording context. */
export function describeHighResNet(options: HighResNetOptions): ArchitectureSummary {
  const parameters: ParameterSpec[] = []
  const batchNorms: BatchNormSpec[] = []
  let convolutionLayers = 0
  let receptiveField = 1
  const recorder: LayerContext = {
    conv(x, spec) {
      convolutionLayers++
      receptiveField += (spec.kernel - 1) * spec.dilation
      const fanIn = spec.inChannels * spec.kernel * spec.kernel
      parameters.push({ name: `${spec.name}.weight`, dims: [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel], role: 'conv-weight', fanIn })
      if (spec.bias) parameters.push({ name: `${spec.name}.bias`, dims: [spec.outChannels], role: 'conv-bias', fanIn: 0 })
      return x
    },
    batchNorm(x, name, channels) {
      batchNorms.push({ name, channels })
      parameters.push({ name: `${name}.scale`, dims: [channels], role: 'bn-scale', fanIn: 0 })
      parameters.push({ name: `${name}.bias`, dims: [channels], role: 'bn-bias', fanIn: 0 })
      return x
    },
    leakyRelu: (x) => x,
    add: (a) => a,
    padChannels: (x) => x,
    dropout: (x) => x,
    softmax: (x) => x,
  }
  buildHighResNet(recorder, 'image', options)
  return { parameters, batchNorms, convolutionLayers, receptiveField }
}
