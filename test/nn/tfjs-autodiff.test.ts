/**
 * An independent autodiff check: the same network definition (highresnet.ts) run through
 * TensorFlow.js (CPU backend, float32) gives the loss and gradients that the ONNX training
 * graph gives. TensorFlow.js is a test-only dependency.
 *
 * Tolerance: both compute in float32 with different summation orders, so gradients must agree
 * within 1e-4 of the largest gradient element and the loss within 1e-5.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { register } from 'node:module'
import type * as TensorFlow from '@tensorflow/tfjs-core'
// Sets the environment (telemetry off) before onnxruntime-node loads.
import '../../src/nn/ort-environment.js'
import * as ort from 'onnxruntime-node'
import { buildHighResNet, describeHighResNet, resolveHighResNetOptions, type ConvSpec, type LayerContext } from '../../src/nn/highresnet.js'
import { SeededRandom } from '../../src/nn/random.js'
import { buildTrainingModel, TRAINING_NAMES } from '../../src/nn/training-graph.js'
import { initialiseWeights } from '../../src/nn/weights.js'
import { relativeError } from './reference.js'

const TOLERANCE = 1e-4

// tfjs-core 4.22 registers its gradient functions only in its ES-module files, which import
// without file extensions, which Node's ES-module resolver rejects. This hook retries such
// imports with '.js' or '/index.js'. Kernel and gradient registries live on globalThis, so
// the ES-module files and the CommonJS bundle share them.
const RESOLVE_WITHOUT_EXTENSIONS = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const code = error.code
    if (!specifier.startsWith('.') || (code !== 'ERR_UNSUPPORTED_DIR_IMPORT' && code !== 'ERR_MODULE_NOT_FOUND')) throw error
    try {
      return await next(specifier + '.js', context)
    } catch {
      return next(specifier + '/index.js', context)
    }
  }
}`
register(`data:text/javascript,${encodeURIComponent(RESOLVE_WITHOUT_EXTENSIONS)}`)
const tf: typeof TensorFlow = await import('@tensorflow/tfjs-core')
await import('@tensorflow/tfjs-backend-cpu')
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js')

/** Runs the network on TensorFlow.js tensors in NHWC layout, with BN in training mode. */
function tensorflowForward(
  options: ReturnType<typeof resolveHighResNetOptions>,
  parameters: Map<string, TensorFlow.Tensor>,
  image: TensorFlow.Tensor4D,
  mask: TensorFlow.Tensor4D,
): TensorFlow.Tensor4D {
  const values = new Map<string, TensorFlow.Tensor4D>([['image', image]])
  let counter = 0
  const put = (t: TensorFlow.Tensor4D) => {
    const name = `v${counter++}`
    values.set(name, t)
    return name
  }
  const get = (name: string) => values.get(name)!

  const context: LayerContext = {
    conv(x: string, spec: ConvSpec) {
      // ONNX weights are [out, in, kh, kw]; TensorFlow.js filters are [kh, kw, in, out].
      const filter = tf.transpose(parameters.get(`${spec.name}.weight`)!, [2, 3, 1, 0]) as TensorFlow.Tensor4D
      const pad = spec.dilation * ((spec.kernel - 1) / 2)
      let y = tf.conv2d(get(x), dilateFilter(filter, spec.dilation), 1, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'NHWC')
      if (spec.bias) y = tf.add(y, parameters.get(`${spec.name}.bias`)!)
      return put(y)
    },
    batchNorm(x, name) {
      const { mean, variance } = tf.moments(get(x), [0, 1, 2])
      const normalised = tf.div(tf.sub(get(x), mean), tf.sqrt(tf.add(variance, options.batchNormEpsilon)))
      return put(tf.add(tf.mul(normalised, parameters.get(`${name}.scale`)!), parameters.get(`${name}.bias`)!))
    },
    leakyRelu: (x, slope) => put(tf.leakyRelu(get(x), slope)),
    add: (a, b) => put(tf.add(get(a), get(b))),
    padChannels: (x, from, to) => put(tf.pad(get(x), [[0, 0], [0, 0], [0, 0], [0, to - from]])),
    dropout: (x) => put(tf.mul(get(x), mask)),
    softmax: (x) => put(tf.softmax(get(x))),
  }
  return get(buildHighResNet(context, 'image', options))
}

/**
 * Expands the filter of a dilated convolution into an ordinary one with d - 1 zeros between
 * taps, because TensorFlow.js 4.22 has no conv2d gradient for dilation > 1. It uses pad,
 * reshape and slice, so TensorFlow.js differentiates it.
 */
function dilateFilter(filter: TensorFlow.Tensor4D, dilation: number): TensorFlow.Tensor4D {
  if (dilation === 1) return filter
  const [k, , inChannels, outChannels] = filter.shape
  const size = (k - 1) * dilation + 1
  // Rows: [k, k, in, out] -> [k, d, k, in, out] with zeros in the new axis -> [k·d, k, in, out] -> first `size` rows.
  let rows = tf.pad(tf.expandDims(filter, 1), [[0, 0], [0, dilation - 1], [0, 0], [0, 0], [0, 0]])
  rows = tf.slice(tf.reshape(rows, [k * dilation, k, inChannels, outChannels]), [0, 0, 0, 0], [size, k, inChannels, outChannels])
  // Columns, the same on axis 1.
  let columns = tf.pad(tf.expandDims(rows, 2), [[0, 0], [0, 0], [0, dilation - 1], [0, 0], [0, 0]])
  columns = tf.slice(tf.reshape(columns, [size, k * dilation, inChannels, outChannels]), [0, 0, 0, 0], [size, size, inChannels, outChannels])
  return columns as TensorFlow.Tensor4D
}

function tensorflowDice(probabilities: TensorFlow.Tensor4D, labels: TensorFlow.Tensor4D, epsilon: number): TensorFlow.Scalar {
  const intersection = tf.sum(tf.mul(probabilities, labels), [0, 1, 2])
  const denominator = tf.add(tf.sum(probabilities, [0, 1, 2]), tf.sum(labels, [0, 1, 2]))
  const ratio = tf.div(tf.add(tf.mul(intersection, 2), epsilon), tf.add(denominator, epsilon))
  return tf.sub(1, tf.mean(ratio)) as TensorFlow.Scalar
}

test('TensorFlow.js autodiff gives ONNX loss and gradients', async () => {
  await tf.setBackend('cpu')
  const options = resolveHighResNetOptions({ channels: [3, 4, 6], blocksPerStage: 1, classes: 2, leakySlope: 0.2 })
  const weights = initialiseWeights(options, 31)
  const summary = describeHighResNet(options)
  const random = new SeededRandom(32)
  const [n, h, w] = [2, 12, 10]
  const image = Float32Array.from({ length: n * h * w }, () => random.normal())
  const classIndex = Uint8Array.from({ length: n * h * w }, () => (random.uniform() < 0.3 ? 1 : 0))
  const labelsNchw = new Float32Array(n * 2 * h * w)
  for (let s = 0; s < n; s++) for (let p = 0; p < h * w; p++) labelsNchw[(s * 2 + classIndex[s * h * w + p]!) * h * w + p] = 1
  const maskNchw = Float32Array.from({ length: n * 6 * h * w }, () => (random.uniform() < 0.5 ? 0 : 2))

  // ONNX Runtime, training graph without L2 so that both sides compute the Dice loss alone.
  const session = await ort.InferenceSession.create(buildTrainingModel(options, 'gradients', { includeBackground: true, diceEpsilon: 1e-5, l2: 0 }), { intraOpNumThreads: 1 })
  const feeds: Record<string, ort.Tensor> = {
    [TRAINING_NAMES.image]: new ort.Tensor('float32', image, [n, 1, h, w]),
    [TRAINING_NAMES.labels]: new ort.Tensor('float32', labelsNchw, [n, 2, h, w]),
    [TRAINING_NAMES.dropoutMask]: new ort.Tensor('float32', maskNchw, [n, 6, h, w]),
  }
  for (const spec of summary.parameters) feeds[spec.name] = new ort.Tensor('float32', weights.parameters.get(spec.name)!, spec.dims)
  for (const [name, values] of weights.statistics) feeds[name] = new ort.Tensor('float32', values, [values.length])
  const results = await session.run(feeds)
  await session.release()

  // TensorFlow.js on the same values, NHWC.
  const toNhwc = (data: Float32Array, channels: number) => tf.transpose(tf.tensor4d(data, [n, channels, h, w]), [0, 2, 3, 1]) as TensorFlow.Tensor4D
  const names = summary.parameters.map((s) => s.name)
  const variables = names.map((name) => tf.tensor(weights.parameters.get(name)!, summary.parameters.find((s) => s.name === name)!.dims))
  const imageNhwc = toNhwc(image, 1)
  const labelsNhwc = toNhwc(labelsNchw, 2)
  const maskNhwc = toNhwc(maskNchw, 6)
  const lossOf = (...tensors: TensorFlow.Tensor[]) => {
    const parameters = new Map(names.map((name, i) => [name, tensors[i]!]))
    return tensorflowDice(tensorflowForward(options, parameters, imageNhwc, maskNhwc), labelsNhwc, 1e-5)
  }
  const { value, grads } = tf.valueAndGrads(lossOf)(variables)

  const onnxLoss = (results[TRAINING_NAMES.loss]!.data as Float32Array)[0]!
  const tfLoss = value.dataSync()[0]!
  assert.ok(Math.abs(onnxLoss - tfLoss) < 1e-5, `loss: ONNX ${onnxLoss}, TensorFlow.js ${tfLoss}`)
  names.forEach((name, i) => {
    const error = relativeError(results[TRAINING_NAMES.gradient(name)]!.data as Float32Array, grads[i]!.dataSync())
    assert.ok(error < TOLERANCE, `gradient of ${name}: relative error ${error}`)
  })
})
