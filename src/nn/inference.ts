/**
 * The inference graph of the network: BN uses the running statistics, dropout is removed, and
 * a BN that directly follows a convolution is folded into that convolution's weights and bias.
 *
 * Contract of the model: input `image` float32 [batch, 1, height, width] (preprocessed
 * slices), output `probabilities` float32 [batch, C, height, width], softmax over C.
 * Batch, height and width are symbolic, so one model runs at any slice size.
 */
import { attr, GraphBuilder, serializeModel } from './graph.js'
import { buildHighResNet, type ConvSpec, type LayerContext } from './highresnet.js'
import { toMetadataProps, type ModelMetadata } from './metadata.js'
import type { NetworkWeights } from './weights.js'

export const INPUT_NAME = 'image'
export const OUTPUT_NAME = 'probabilities'

export interface InferenceGraphOptions {
  /** Fold each BN that follows a convolution into it. Default true. */
  foldBatchNorm?: boolean
}

/** Builds the inference model of `weights` and returns its ONNX bytes. */
export function buildInferenceModel(weights: NetworkWeights, metadata: ModelMetadata, options: InferenceGraphOptions = {}): Uint8Array {
  const fold = options.foldBatchNorm ?? true
  const graph = new GraphBuilder('colinet_highresnet')
  const image = graph.addInput(INPUT_NAME, 'float32', ['batch', 1, 'height', 'width'])
  const probabilities = buildHighResNet(new InferenceContext(graph, weights), image, weights.options)
  graph.node('Identity', [probabilities], [OUTPUT_NAME])
  graph.addOutput(OUTPUT_NAME, 'float32', ['batch', weights.options.classes, 'height', 'width'])
  if (fold) foldBatchNorms(graph)

  const props = toMetadataProps({ ...metadata, architecture: weights.options, batchNormFolded: fold })
  return serializeModel(graph, { metadata: props, docString: 'colinet HighResNet-style 2D segmentation network' })
}

class InferenceContext implements LayerContext {
  constructor(
    private readonly graph: GraphBuilder,
    private readonly weights: NetworkWeights,
  ) {}

  conv(x: string, spec: ConvSpec): string {
    const inputs = [x, this.parameterInitializer(`${spec.name}.weight`, [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel])]
    if (spec.bias) inputs.push(this.parameterInitializer(`${spec.name}.bias`, [spec.outChannels]))
    const pad = spec.dilation * ((spec.kernel - 1) / 2)
    return this.graph.op('Conv', inputs, {
      kernel_shape: attr.ints([spec.kernel, spec.kernel]),
      dilations: attr.ints([spec.dilation, spec.dilation]),
      pads: attr.ints([pad, pad, pad, pad]),
    })
  }

  batchNorm(x: string, name: string, channels: number): string {
    const inputs = [
      x,
      this.parameterInitializer(`${name}.scale`, [channels]),
      this.parameterInitializer(`${name}.bias`, [channels]),
      this.statisticInitializer(`${name}.runningMean`, [channels]),
      this.statisticInitializer(`${name}.runningVar`, [channels]),
    ]
    return this.graph.op('BatchNormalization', inputs, { epsilon: attr.float(this.weights.options.batchNormEpsilon) })
  }

  leakyRelu(x: string, slope: number): string {
    return this.graph.op('LeakyRelu', [x], { alpha: attr.float(slope) })
  }

  add(a: string, b: string): string {
    return this.graph.op('Add', [a, b])
  }

  padChannels(x: string, fromChannels: number, toChannels: number): string {
    const pads = this.graph.constantInt64([0, 0, 0, 0, 0, toChannels - fromChannels, 0, 0])
    return this.graph.op('Pad', [x, pads], { mode: attr.string('constant') })
  }

  dropout(x: string): string {
    return x
  }

  softmax(x: string): string {
    return this.graph.op('Softmax', [x], { axis: attr.int(1) })
  }

  /** Adds a copy of a parameter as an initializer (a copy, because folding rescales it). */
  private parameterInitializer(name: string, dims: number[]): string {
    const value = this.weights.parameters.get(name)
    if (value === undefined) throw new Error(`network weights have no parameter ${name}`)
    return this.graph.addInitializer(name, dims, value.slice())
  }

  private statisticInitializer(name: string, dims: number[]): string {
    const value = this.weights.statistics.get(name)
    if (value === undefined) throw new Error(`network weights have no BN statistic ${name}`)
    return this.graph.addInitializer(name, dims, value.slice())
  }
}

/**
 * Folds every BatchNormalization whose input is a Conv output used by nothing else:
 *   y = scale·(Wx + b - mean)/sqrt(var + eps) + bias = (W·f)x + (b - mean)·f + bias,
 * with f = scale/sqrt(var + eps) per output channel. The BN node is removed and the Conv
 * writes the BN's output name.
 */
export function foldBatchNorms(graph: GraphBuilder): number {
  const consumers = new Map<string, number>()
  for (const node of graph.nodes) for (const input of node.inputs) consumers.set(input, (consumers.get(input) ?? 0) + 1)
  const producers = new Map(graph.nodes.map((node) => [node.outputs[0]!, node]))
  const graphOutputs = new Set(graph.outputs.map((o) => o.name))
  let folded = 0

  for (const bn of [...graph.nodes]) {
    if (bn.opType !== 'BatchNormalization') continue
    const x = bn.inputs[0]!
    const conv = producers.get(x)
    if (conv === undefined || conv.opType !== 'Conv' || consumers.get(x) !== 1 || graphOutputs.has(x)) continue

    const [scale, bias, mean, variance] = bn.inputs.slice(1).map((name) => graph.initializers.get(name)!.data as Float32Array)
    const eps = bn.attributes['epsilon']?.kind === 'float' ? bn.attributes['epsilon'].value : 1e-5
    const weight = graph.initializers.get(conv.inputs[1]!)!.data as Float32Array
    const channels = scale!.length
    const perChannel = weight.length / channels
    const convBias = conv.inputs[2] ? (graph.initializers.get(conv.inputs[2])!.data as Float32Array) : new Float32Array(channels)
    const foldedBias = new Float32Array(channels)
    for (let c = 0; c < channels; c++) {
      const factor = scale![c]! / Math.sqrt(variance![c]! + eps)
      for (let i = 0; i < perChannel; i++) weight[c * perChannel + i]! *= factor
      foldedBias[c] = (convBias[c]! - mean![c]!) * factor + bias![c]!
    }

    const biasName = graph.addInitializer(graph.uniqueName(`${conv.inputs[1]!.replace(/\.weight$/, '')}.folded_bias`), [channels], foldedBias)
    conv.inputs[2] = biasName
    conv.outputs[0] = bn.outputs[0]!
    graph.nodes.splice(graph.nodes.indexOf(bn), 1)
    for (const name of bn.inputs.slice(1)) graph.initializers.delete(name)
    folded++
  }
  return folded
}
