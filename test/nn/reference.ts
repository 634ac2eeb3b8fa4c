/**
 * A float64 reference of the network's operations in plain loops, written from the formulas
 * and independent of the ONNX graphs, for finite-difference checks of the gradients.
 * Tensors are NCHW (or any rank for the element-wise helpers), row-major.
 */
import type { ConvSpec, HighResNetOptions, LayerContext } from '../../src/nn/highresnet.js'
import { buildHighResNet } from '../../src/nn/highresnet.js'

export interface Tensor64 {
  data: Float64Array
  shape: number[]
}

export function tensor64(data: ArrayLike<number>, shape: number[]): Tensor64 {
  return { data: Float64Array.from(data), shape }
}

export function conv2d(x: Tensor64, weight: Tensor64, bias: Tensor64 | undefined, dilation: number): Tensor64 {
  const [n, cin, h, w] = x.shape as [number, number, number, number]
  const [cout, , k] = weight.shape as [number, number, number, number]
  const half = (k - 1) / 2
  const out = new Float64Array(n * cout * h * w)
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          let sum = bias ? bias.data[co]! : 0
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < k; ky++) {
              const sy = y + (ky - half) * dilation
              if (sy < 0 || sy >= h) continue
              for (let kx = 0; kx < k; kx++) {
                const sx = xx + (kx - half) * dilation
                if (sx < 0 || sx >= w) continue
                sum += weight.data[((co * cin + ci) * k + ky) * k + kx]! * x.data[((b * cin + ci) * h + sy) * w + sx]!
              }
            }
          }
          out[((b * cout + co) * h + y) * w + xx] = sum
        }
      }
    }
  }
  return { data: out, shape: [n, cout, h, w] }
}

/** BN with batch statistics (biased variance) over n, h, w. */
export function batchNormTraining(x: Tensor64, scale: Tensor64, bias: Tensor64, epsilon: number): Tensor64 {
  const [n, c, h, w] = x.shape as [number, number, number, number]
  const out = new Float64Array(x.data.length)
  const count = n * h * w
  for (let ch = 0; ch < c; ch++) {
    let mean = 0
    for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) mean += x.data[(b * c + ch) * h * w + p]!
    mean /= count
    let variance = 0
    for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) variance += (x.data[(b * c + ch) * h * w + p]! - mean) ** 2
    variance /= count
    const inverseStd = 1 / Math.sqrt(variance + epsilon)
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < h * w; p++) {
        const i = (b * c + ch) * h * w + p
        out[i] = scale.data[ch]! * (x.data[i]! - mean) * inverseStd + bias.data[ch]!
      }
    }
  }
  return { data: out, shape: x.shape }
}

export function leakyRelu(x: Tensor64, slope: number): Tensor64 {
  return { data: x.data.map((v) => (v > 0 ? v : slope * v)), shape: x.shape }
}

export function padChannels(x: Tensor64, toChannels: number): Tensor64 {
  const [n, c, h, w] = x.shape as [number, number, number, number]
  const out = new Float64Array(n * toChannels * h * w)
  for (let b = 0; b < n; b++) out.set(x.data.subarray(b * c * h * w, (b + 1) * c * h * w), b * toChannels * h * w)
  return { data: out, shape: [n, toChannels, h, w] }
}

export function softmax(x: Tensor64): Tensor64 {
  const [n, c, h, w] = x.shape as [number, number, number, number]
  const out = new Float64Array(x.data.length)
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      let max = -Infinity
      for (let ch = 0; ch < c; ch++) max = Math.max(max, x.data[(b * c + ch) * h * w + p]!)
      let sum = 0
      for (let ch = 0; ch < c; ch++) sum += Math.exp(x.data[(b * c + ch) * h * w + p]! - max)
      for (let ch = 0; ch < c; ch++) out[(b * c + ch) * h * w + p] = Math.exp(x.data[(b * c + ch) * h * w + p]! - max) / sum
    }
  }
  return { data: out, shape: x.shape }
}

/** Element-wise a op b where b is either the same shape or [1, C, 1, 1]. */
export function elementwise(a: Tensor64, b: Tensor64, op: (x: number, y: number) => number): Tensor64 {
  const [n, c, h, w] = a.shape as [number, number, number, number]
  const perChannel = b.data.length === c && b.data.length !== a.data.length
  const out = new Float64Array(a.data.length)
  for (let i = 0; i < out.length; i++) {
    const channel = Math.floor(i / (h * w)) % c
    out[i] = op(a.data[i]!, perChannel ? b.data[channel]! : b.data[i]!)
  }
  void n
  return { data: out, shape: a.shape }
}

/** Non-square soft Dice loss, the formula of training-graph.ts, computed directly. */
export function diceLoss(probabilities: Tensor64, oneHot: Tensor64, epsilon: number, includeBackground: boolean): number {
  const [n, c, h, w] = probabilities.shape as [number, number, number, number]
  let total = 0
  let counted = 0
  for (let ch = 0; ch < c; ch++) {
    if (ch === 0 && !includeBackground) continue
    let intersection = 0
    let sumP = 0
    let sumG = 0
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < h * w; p++) {
        const i = (b * c + ch) * h * w + p
        intersection += probabilities.data[i]! * oneHot.data[i]!
        sumP += probabilities.data[i]!
        sumG += oneHot.data[i]!
      }
    }
    total += (2 * intersection + epsilon) / (sumP + sumG + epsilon)
    counted++
  }
  return 1 - total / counted
}

/** Pixel-mean cross-entropy -Σ g·log(p + δ) / (n·h·w), the optional term of training-graph.ts, computed directly. */
export function crossEntropy(probabilities: Tensor64, oneHot: Tensor64, delta: number): number {
  const [n, , h, w] = probabilities.shape as [number, number, number, number]
  let sum = 0
  for (let i = 0; i < probabilities.data.length; i++) sum += oneHot.data[i]! * Math.log(probabilities.data[i]! + delta)
  return -sum / (n * h * w)
}

/** Runs the network definition eagerly in float64 (training mode: batch statistics, the given dropout mask). */
export function referenceForward(
  options: HighResNetOptions,
  parameters: Map<string, Float64Array>,
  image: Tensor64,
  dropoutMask: Tensor64 | undefined,
): Tensor64 {
  const values = new Map<string, Tensor64>([['image', image]])
  let counter = 0
  const put = (t: Tensor64) => {
    const name = `v${counter++}`
    values.set(name, t)
    return name
  }
  const get = (name: string) => values.get(name)!
  const parameter = (name: string, shape: number[]) => ({ data: parameters.get(name)!, shape })

  const context: LayerContext = {
    conv: (x: string, spec: ConvSpec) => put(conv2d(
      get(x),
      parameter(`${spec.name}.weight`, [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel]),
      spec.bias ? parameter(`${spec.name}.bias`, [spec.outChannels]) : undefined,
      spec.dilation,
    )),
    batchNorm: (x, name, channels) => put(batchNormTraining(get(x), parameter(`${name}.scale`, [channels]), parameter(`${name}.bias`, [channels]), options.batchNormEpsilon)),
    leakyRelu: (x, slope) => put(leakyRelu(get(x), slope)),
    add: (a, b) => put(elementwise(get(a), get(b), (p, q) => p + q)),
    padChannels: (x, _from, to) => put(padChannels(get(x), to)),
    dropout: (x, rate) => (rate === 0 || dropoutMask === undefined ? x : put(elementwise(get(x), dropoutMask, (p, q) => p * q))),
    softmax: (x) => put(softmax(get(x))),
  }
  return get(buildHighResNet(context, 'image', options))
}

/**
 * Central finite differences of f with respect to every element of `values` (changed in
 * place and restored): (f(v + h) - f(v - h)) / 2h.
 */
export function finiteDifferences(values: Float64Array, f: () => number, h = 1e-5): Float64Array {
  const gradient = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const original = values[i]!
    values[i] = original + h
    const plus = f()
    values[i] = original - h
    const minus = f()
    values[i] = original
    gradient[i] = (plus - minus) / (2 * h)
  }
  return gradient
}

/** max |a - b| / max(max |b|, floor): the error relative to the size of the reference gradient. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  let maxDifference = 0
  let maxExpected = floor
  for (let i = 0; i < expected.length; i++) {
    maxDifference = Math.max(maxDifference, Math.abs(actual[i]! - expected[i]!))
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]!))
  }
  return maxDifference / maxExpected
}
