/**
 * The values of a network: trainable parameters and BN running statistics, keyed by the
 * names that highresnet.ts gives them.
 */
import { describeHighResNet, type HighResNetOptions } from './highresnet.js'
import { SeededRandom } from './random.js'

export interface NetworkWeights {
  options: HighResNetOptions
  /** Trainable parameters, e.g. 'stage1.block1.conv1.weight', 'final.bn.scale'. */
  parameters: Map<string, Float32Array>
  /** BN running statistics, '<bn name>.runningMean' and '<bn name>.runningVar'. */
  statistics: Map<string, Float32Array>
}

/**
 * Initialises a network. Convolution weights follow He initialisation for leaky ReLU: normal
 * with standard deviation sqrt(2 / ((1 + slope²) · fanIn)). Biases are 0, BN scales 1, BN
 * biases 0, running means 0 and running variances 1.
 */
export function initialiseWeights(options: HighResNetOptions, seed: number): NetworkWeights {
  const summary = describeHighResNet(options)
  const random = new SeededRandom(seed)
  const parameters = new Map<string, Float32Array>()

  for (const spec of summary.parameters) {
    const values = new Float32Array(spec.dims.reduce((a, b) => a * b, 1))
    if (spec.role === 'conv-weight') {
      const std = Math.sqrt(2 / ((1 + options.leakySlope ** 2) * spec.fanIn))
      for (let i = 0; i < values.length; i++) values[i] = std * random.normal()
    } else if (spec.role === 'bn-scale') {
      values.fill(1)
    }
    parameters.set(spec.name, values)
  }

  const statistics = new Map<string, Float32Array>()
  for (const bn of summary.batchNorms) {
    statistics.set(`${bn.name}.runningMean`, new Float32Array(bn.channels))
    statistics.set(`${bn.name}.runningVar`, new Float32Array(bn.channels).fill(1))
  }
  return { options, parameters, statistics }
}

/** Deep copy, so that training one copy leaves the other unchanged. */
export function cloneWeights(weights: NetworkWeights): NetworkWeights {
  const copy = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, v.slice()]))
  return { options: { ...weights.options, channels: [...weights.options.channels] }, parameters: copy(weights.parameters), statistics: copy(weights.statistics) }
}
