/**
 * Widening a trained network to k times its channels while it computes the same function, as
 * Net2WiderNet does (Chen, Goodfellow and Shlens, "Net2Net", ICLR 2016, arXiv:1511.05641).
 * Each channel of the narrow network becomes k channels of the wide one with the same values.
 * Every weight that reads a copied channel is divided by k, so the sum over the k copies equals
 * the narrow network's term. Training then goes on from the narrow network's result with more
 * capacity instead of from random weights.
 *
 * The channel order must agree with the zero-padded shortcut between stages: a stage's first
 * channels carry the previous stage's values, the rest start at zero. So wide channel j of a
 * stage is narrow channel `previousMap[j]` for j below k times the previous stage's width, and
 * one of the stage's own new channels after that.
 */
import { InputError } from '../errors.js'
import { describeHighResNet, resolveHighResNetOptions } from './highresnet.js'
import { SeededRandom } from './random.js'
import type { NetworkWeights } from './weights.js'

/** Returns the integer k with target = k x source for all three stages, or undefined when there is none. */
export function widthFactor(source: readonly number[], target: readonly number[]): number | undefined {
  const k = target[0]! / source[0]!
  if (!Number.isInteger(k) || k < 2) return undefined
  return source.every((c, i) => c * k === target[i]) ? k : undefined
}

/**
 * Lists for each stage the narrow channel that each wide channel copies. Each narrow channel
 * appears exactly k times, which is what makes dividing the reading weights by k exact.
 */
export function wideChannelMaps(narrow: readonly number[], k: number): number[][] {
  const maps: number[][] = []
  let previous: number[] = []
  let previousNarrow = 0
  for (const width of narrow) {
    const own = width - previousNarrow
    const map = [...previous]
    for (let j = 0; j < k * own; j++) map.push(previousNarrow + (j % own))
    maps.push(map)
    previous = map
    previousNarrow = width
  }
  return maps
}

export interface WidenOptions {
  /** Standard deviation of the noise added to each widened convolution weight, as a fraction of that layer's root mean square weight. Default 0.01. */
  noise?: number
  seed?: number
}

/**
 * Returns `source` widened to `channels` (each k times the source's, for one integer k >= 2).
 * Without noise the wide network's output equals the narrow one's up to rounding. The small
 * default noise makes the copies of a channel differ, so that training can pull them apart
 * (dropout alone would too, but only through the last layer).
 */
export function widenWeights(source: NetworkWeights, channels: [number, number, number], options: WidenOptions = {}): NetworkWeights {
  const k = widthFactor(source.options.channels, channels)
  if (k === undefined) {
    throw new InputError(`cannot widen channels ${source.options.channels.join(',')} to ${channels.join(',')}: each stage must grow by the same whole factor (2 or more)`)
  }
  const wideOptions = resolveHighResNetOptions({ ...source.options, channels })
  const random = new SeededRandom(options.seed ?? 1)
  const noise = options.noise ?? 0.01
  const stageMaps = wideChannelMaps(source.options.channels, k)
  const identity = (n: number) => Array.from({ length: n }, (_, i) => i)
  /** Finds the channel map of a tensor with `wide` channels: the image's single channel, a stage's channels, or the classes. */
  const mapFor = (wide: number, role: 'in' | 'out', name: string): { map: number[]; copies: number } => {
    if (name === 'conv0.weight' && role === 'in') return { map: [0], copies: 1 }
    if (name.startsWith('output.') && role === 'out') return { map: identity(wide), copies: 1 }
    const map = stageMaps.find((m) => m.length === wide)
    if (map === undefined) throw new Error(`no channel map of width ${wide} for ${name}`)
    return { map, copies: k }
  }

  const parameters = new Map<string, Float32Array>()
  for (const spec of describeHighResNet(wideOptions).parameters) {
    const from = source.parameters.get(spec.name)
    if (from === undefined) throw new InputError(`cannot widen: the source network has no parameter ${spec.name}`)
    const values = new Float32Array(spec.dims.reduce((a, b) => a * b, 1))
    if (spec.role === 'conv-weight') {
      const [outWide, inWide, kh, kw] = spec.dims as [number, number, number, number]
      const outputMap = mapFor(outWide, 'out', spec.name)
      const inputMap = mapFor(inWide, 'in', spec.name)
      const narrowInChannels = source.options.channels.find((c, s) => stageMaps[s]!.length === inWide) ?? 1
      const area = kh * kw
      let sumSquares = 0
      for (let i = 0; i < from.length; i++) sumSquares += from[i]! * from[i]!
      const spread = noise * Math.sqrt(sumSquares / from.length) / inputMap.copies
      for (let o = 0; o < outWide; o++) {
        for (let i = 0; i < inWide; i++) {
          const narrowStart = (outputMap.map[o]! * narrowInChannels + inputMap.map[i]!) * area
          const wideStart = (o * inWide + i) * area
          for (let a = 0; a < area; a++) values[wideStart + a] = from[narrowStart + a]! / inputMap.copies + (spread > 0 ? spread * random.normal() : 0)
        }
      }
    } else {
      const { map } = mapFor(values.length, 'out', spec.name)
      for (let c = 0; c < values.length; c++) values[c] = from[map[c]!]!
    }
    parameters.set(spec.name, values)
  }

  const statistics = new Map<string, Float32Array>()
  for (const bn of describeHighResNet(wideOptions).batchNorms) {
    const { map } = mapFor(bn.channels, 'out', bn.name)
    for (const suffix of ['runningMean', 'runningVar']) {
      const from = source.statistics.get(`${bn.name}.${suffix}`)
      if (from === undefined) throw new InputError(`cannot widen: the source network has no statistic ${bn.name}.${suffix}`)
      statistics.set(`${bn.name}.${suffix}`, Float32Array.from(map, (c) => from[c]!))
    }
  }
  return { options: wideOptions, parameters, statistics }
}
