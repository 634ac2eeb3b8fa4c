/**
 * Gradients of the training graphs against central finite differences of an independent
 * float64 reference (test/nn/reference.ts).
 *
 * Tolerance: each gradient must match the float64 finite differences within 1e-4 of the
 * largest reference gradient element (relativeError). The graphs compute in float32, and the
 * errors measured are 1e-10 to 6e-7. A wrong rule gives errors of order 1.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
// Sets the environment (telemetry off) before onnxruntime-node loads.
import '../../src/nn/ort-environment.js'
import * as ort from 'onnxruntime-node'
import { Tape } from '../../src/nn/autodiff.js'
import { attr, GraphBuilder, serializeModel } from '../../src/nn/graph.js'
import { describeHighResNet, resolveHighResNetOptions } from '../../src/nn/highresnet.js'
import { SeededRandom } from '../../src/nn/random.js'
import { buildTrainingModel, emitDiceLoss, emitSegmentationLoss, TRAINING_NAMES } from '../../src/nn/training-graph.js'
import { initialiseWeights } from '../../src/nn/weights.js'
import {
  batchNormTraining, conv2d, crossEntropy, diceLoss, elementwise, finiteDifferences, leakyRelu, padChannels,
  referenceForward, relativeError, softmax, tensor64, type Tensor64,
} from './reference.js'

const TOLERANCE = 1e-4

interface TapeInput {
  name: string
  shape: number[]
  data: Float32Array
  requiresGradient: boolean
}

function randomData(length: number, random: SeededRandom, scale = 1): Float32Array {
  return Float32Array.from({ length }, () => random.normal() * scale)
}

function input(name: string, shape: number[], random: SeededRandom, requiresGradient = true, scale = 1): TapeInput {
  return { name, shape, data: randomData(shape.reduce((a, b) => a * b, 1), random, scale), requiresGradient }
}

/**
 * Builds `op` on a tape, differentiates loss = Σ y·r (r random) and returns the loss and the
 * gradients of the inputs that require one, computed by onnxruntime-node.
 */
async function runOnTape(inputs: TapeInput[], outputShape: number[], op: (tape: Tape, names: string[]) => string, random: SeededRandom) {
  const graph = new GraphBuilder('op_test')
  const tape = new Tape(graph)
  const names = inputs.map((i) => tape.value(graph.addInput(i.name, 'float32', i.shape), i.shape, i.requiresGradient))
  const weights = randomData(outputShape.reduce((a, b) => a * b, 1), random)
  const r = tape.value(graph.addInput('r', 'float32', outputShape), outputShape)
  const y = op(tape, names)
  const loss = tape.reduceSum(tape.mul(y, r), outputShape.map((_, i) => i))
  tape.backward(loss)

  graph.node('Identity', [loss], ['loss'])
  graph.addOutput('loss', 'float32', outputShape.map(() => 1))
  for (const i of inputs.filter((i) => i.requiresGradient)) {
    graph.node('Identity', [tape.gradientOf(i.name)!], [`gradient.${i.name}`])
    graph.addOutput(`gradient.${i.name}`, 'float32', i.shape)
  }
  const session = await ort.InferenceSession.create(serializeModel(graph), { intraOpNumThreads: 1 })
  const feeds: Record<string, ort.Tensor> = { r: new ort.Tensor('float32', weights, outputShape) }
  for (const i of inputs) feeds[i.name] = new ort.Tensor('float32', i.data, i.shape)
  const results = await session.run(feeds)
  await session.release()
  const gradients = new Map(inputs.filter((i) => i.requiresGradient).map((i) => [i.name, results[`gradient.${i.name}`]!.data as Float32Array]))
  return { loss: (results['loss']!.data as Float32Array)[0]!, gradients, r: tensor64(weights, outputShape) }
}

/** Finite differences of Σ reference(inputs)·r for every input that requires a gradient. */
function referenceGradients(inputs: TapeInput[], r: Tensor64, reference: (values: Tensor64[]) => Tensor64) {
  const values = inputs.map((i) => tensor64(i.data, i.shape))
  const objective = () => {
    const y = reference(values)
    let sum = 0
    for (let k = 0; k < y.data.length; k++) sum += y.data[k]! * r.data[k]!
    return sum
  }
  const gradients = new Map<string, Float64Array>()
  inputs.forEach((i, k) => {
    if (i.requiresGradient) gradients.set(i.name, finiteDifferences(values[k]!.data, objective))
  })
  return { loss: objective(), gradients }
}

async function checkOperator(
  inputs: TapeInput[],
  outputShape: number[],
  op: (tape: Tape, names: string[]) => string,
  reference: (values: Tensor64[]) => Tensor64,
  random: SeededRandom,
): Promise<void> {
  const actual = await runOnTape(inputs, outputShape, op, random)
  const expected = referenceGradients(inputs, actual.r, reference)
  assert.ok(Math.abs(actual.loss - expected.loss) <= 1e-4 * Math.max(1, Math.abs(expected.loss)), `loss ${actual.loss} vs reference ${expected.loss}`)
  for (const [name, gradient] of expected.gradients) {
    const error = relativeError(actual.gradients.get(name)!, gradient)
    assert.ok(error < TOLERANCE, `gradient of ${name}: relative error ${error}`)
  }
}

test('Conv 3x3 gradient, dilation 1', async () => {
  const random = new SeededRandom(1)
  const inputs = [input('x', [2, 3, 6, 5], random), input('w', [4, 3, 3, 3], random, true, 0.3)]
  await checkOperator(inputs, [2, 4, 6, 5],
    (tape, [x, w]) => tape.conv(x!, w!, undefined, { kernel: 3, dilation: 1 }),
    ([x, w]) => conv2d(x!, w!, undefined, 1), random)
})

test('Conv 3x3 gradient, dilation 2', async () => {
  const random = new SeededRandom(2)
  const inputs = [input('x', [2, 2, 7, 6], random), input('w', [3, 2, 3, 3], random, true, 0.3)]
  await checkOperator(inputs, [2, 3, 7, 6],
    (tape, [x, w]) => tape.conv(x!, w!, undefined, { kernel: 3, dilation: 2 }),
    ([x, w]) => conv2d(x!, w!, undefined, 2), random)
})

test('Conv 3x3 gradient, dilation 4', async () => {
  const random = new SeededRandom(3)
  const inputs = [input('x', [1, 2, 9, 10], random), input('w', [2, 2, 3, 3], random, true, 0.3)]
  await checkOperator(inputs, [1, 2, 9, 10],
    (tape, [x, w]) => tape.conv(x!, w!, undefined, { kernel: 3, dilation: 4 }),
    ([x, w]) => conv2d(x!, w!, undefined, 4), random)
})

test('Conv 1x1 gradient with bias', async () => {
  const random = new SeededRandom(4)
  const inputs = [input('x', [2, 3, 4, 4], random), input('w', [2, 3, 1, 1], random), input('b', [2], random)]
  await checkOperator(inputs, [2, 2, 4, 4],
    (tape, [x, w, b]) => tape.conv(x!, w!, b!, { kernel: 1, dilation: 1 }),
    ([x, w, b]) => conv2d(x!, w!, b!, 1), random)
})

test('BatchNormalization training gradient', async () => {
  const random = new SeededRandom(5)
  const inputs = [input('x', [3, 2, 4, 3], random, true, 2), input('scale', [2], random), input('bias', [2], random)]
  const graphStatistics = (tape: Tape) => [
    tape.graph.constantFloat([0, 0]), tape.graph.constantFloat([1, 1]),
  ]
  await checkOperator(inputs, [3, 2, 4, 3],
    (tape, [x, scale, bias]) => {
      const [mean, variance] = graphStatistics(tape)
      return tape.batchNormTraining(x!, scale!, bias!, mean!, variance!, 1e-5, 0.1).y
    },
    ([x, scale, bias]) => batchNormTraining(x!, scale!, bias!, 1e-5), random)
})

test('LeakyRelu gradient', async () => {
  const random = new SeededRandom(6)
  await checkOperator([input('x', [2, 3, 4, 4], random)], [2, 3, 4, 4],
    (tape, [x]) => tape.leakyRelu(x!, 0.1),
    ([x]) => leakyRelu(x!, 0.1), random)
})

test('Softmax gradient', async () => {
  const random = new SeededRandom(7)
  await checkOperator([input('x', [2, 3, 3, 4], random)], [2, 3, 3, 4],
    (tape, [x]) => tape.softmax(x!),
    ([x]) => softmax(x!), random)
})

test('Log gradient', async () => {
  const random = new SeededRandom(15)
  const x = input('x', [2, 3, 3, 4], random)
  x.data.forEach((v, i) => { x.data[i] = 0.2 + Math.abs(v) })
  await checkOperator([x], [2, 3, 3, 4],
    (tape, [name]) => tape.log(name!),
    ([value]) => ({ data: value!.data.map(Math.log), shape: value!.shape }), random)
})

test('Pad channels gradient', async () => {
  const random = new SeededRandom(8)
  await checkOperator([input('x', [2, 2, 3, 3], random)], [2, 5, 3, 3],
    (tape, [x]) => tape.padChannels(x!, 5),
    ([x]) => padChannels(x!, 5), random)
})

test('Add, Sub, Mul, Div broadcast gradients', async () => {
  const cases: [string, (tape: Tape, a: string, b: string) => string, (p: number, q: number) => number][] = [
    ['Add', (tape, a, b) => tape.add(a, b), (p, q) => p + q],
    ['Sub', (tape, a, b) => tape.sub(a, b), (p, q) => p - q],
    ['Mul', (tape, a, b) => tape.mul(a, b), (p, q) => p * q],
    ['Div', (tape, a, b) => tape.div(a, b), (p, q) => p / q],
  ]
  for (const [name, op, reference] of cases) {
    const random = new SeededRandom(9)
    const a = input('a', [2, 3, 2, 2], random)
    const b = input('b', [1, 3, 1, 1], random)
    b.data.forEach((v, i) => { b.data[i] = 1.5 + Math.abs(v) })
    const actual = await runOnTape([a, b], [2, 3, 2, 2], (tape, [x, y]) => op(tape, x!, y!), random)
    const expected = referenceGradients([a, b], actual.r, ([x, y]) => elementwise(x!, y!, reference))
    for (const inputName of ['a', 'b']) {
      const error = relativeError(actual.gradients.get(inputName)!, expected.gradients.get(inputName)!)
      assert.ok(error < TOLERANCE, `${name}: gradient of ${inputName}: relative error ${error}`)
    }
  }
})

/** Random probabilities in [0.05, 0.95] and one-hot labels of 3 classes, shaped [2, 3, 4, 4]. */
function lossInputs(seed: number): { shape: number[]; p: Float32Array; labels: Float32Array } {
  const random = new SeededRandom(seed)
  const shape = [2, 3, 4, 4]
  const p = input('p', shape, random).data
  p.forEach((v, i) => { p[i] = 0.05 + 0.9 * (0.5 + 0.5 * Math.tanh(v)) })
  const labels = new Float32Array(p.length)
  for (let s = 0; s < 2; s++) for (let q = 0; q < 16; q++) labels[(s * 3 + Math.floor(random.uniform() * 3)) * 16 + q] = 1
  return { shape, p, labels }
}

/** Builds a loss on a tape from probabilities p and labels g and returns its value and dLoss/dp from onnxruntime-node. */
async function runLoss(shape: number[], p: Float32Array, labels: Float32Array, emit: (tape: Tape) => string): Promise<{ loss: number; gradient: Float32Array }> {
  const graph = new GraphBuilder('loss_test')
  const tape = new Tape(graph)
  tape.value(graph.addInput('p', 'float32', shape), shape, true)
  tape.value(graph.addInput('g', 'float32', shape), shape)
  const loss = emit(tape)
  tape.backward(loss)
  graph.node('Identity', [loss], ['loss'])
  graph.addOutput('loss', 'float32', [1, 1, 1, 1])
  graph.node('Identity', [tape.gradientOf('p')!], ['dp'])
  graph.addOutput('dp', 'float32', shape)
  const session = await ort.InferenceSession.create(serializeModel(graph), { intraOpNumThreads: 1 })
  const results = await session.run({ p: new ort.Tensor('float32', p, shape), g: new ort.Tensor('float32', labels, shape) })
  await session.release()
  return { loss: (results['loss']!.data as Float32Array)[0]!, gradient: results['dp']!.data as Float32Array }
}

test('Dice loss gradient', async () => {
  for (const includeBackground of [true, false]) {
    const { shape, p, labels } = lossInputs(10)
    const actual = await runLoss(shape, p, labels, (tape) => emitDiceLoss(tape, 'p', 'g', 3, { includeBackground, diceEpsilon: 1e-5, l2: 0 }))

    const probabilities = tensor64(p, shape)
    const oneHot = tensor64(labels, shape)
    const objective = () => diceLoss(probabilities, oneHot, 1e-5, includeBackground)
    const expectedLoss = objective()
    assert.ok(Math.abs(actual.loss - expectedLoss) < 1e-6, `background ${includeBackground}: loss ${actual.loss} vs ${expectedLoss}`)
    const error = relativeError(actual.gradient, finiteDifferences(probabilities.data, objective))
    assert.ok(error < TOLERANCE, `background ${includeBackground}: relative error ${error}`)
  }
})

test('Dice plus cross-entropy loss gradient', async () => {
  const { shape, p, labels } = lossInputs(16)
  const options = { includeBackground: true, diceEpsilon: 1e-5, l2: 0, crossEntropyWeight: 0.5 }
  const actual = await runLoss(shape, p, labels, (tape) => emitSegmentationLoss(tape, 'p', 'g', 3, options))

  const probabilities = tensor64(p, shape)
  const oneHot = tensor64(labels, shape)
  const objective = () => diceLoss(probabilities, oneHot, 1e-5, true) + 0.5 * crossEntropy(probabilities, oneHot, 1e-7)
  const expectedLoss = objective()
  assert.ok(Math.abs(actual.loss - expectedLoss) < 1e-5, `loss ${actual.loss} vs ${expectedLoss}`)
  const error = relativeError(actual.gradient, finiteDifferences(probabilities.data, objective))
  assert.ok(error < TOLERANCE, `relative error ${error}`)
})

test('BN running statistics update', async () => {
  // running' = 0.9·running + 0.1·batch, batch variance biased (ONNX BatchNormalization convention).
  const x = Float32Array.from([1, 2, 3, 4, 10, 10, 10, 14])
  const graph = new GraphBuilder('bn_stats')
  const tape = new Tape(graph)
  tape.value(graph.addInput('x', 'float32', [2, 2, 1, 2]), [2, 2, 1, 2], true)
  const scale = tape.value(graph.constantFloat([1, 1]), [2], true)
  const result = tape.batchNormTraining('x', scale, graph.constantFloat([0, 0]), graph.constantFloat([1, 2]), graph.constantFloat([1, 1]), 1e-5, 0.1)
  graph.node('Identity', [result.runningMean], ['mean'])
  graph.node('Identity', [result.runningVar], ['var'])
  graph.addOutput('mean', 'float32', [2])
  graph.addOutput('var', 'float32', [2])
  const session = await ort.InferenceSession.create(serializeModel(graph), { intraOpNumThreads: 1 })
  const results = await session.run({ x: new ort.Tensor('float32', x, [2, 2, 1, 2]) })
  await session.release()
  // Channel 0 contains 1, 2, 10, 10: mean 5.75, variance 18.1875. Channel 1 contains 3, 4, 10, 14: mean 7.75, variance 20.1875.
  const mean = results['mean']!.data as Float32Array
  const variance = results['var']!.data as Float32Array
  assert.ok(Math.abs(mean[0]! - (0.9 * 1 + 0.1 * 5.75)) < 1e-5, `mean[0] ${mean[0]}`)
  assert.ok(Math.abs(mean[1]! - (0.9 * 2 + 0.1 * 7.75)) < 1e-5, `mean[1] ${mean[1]}`)
  assert.ok(Math.abs(variance[0]! - (0.9 + 0.1 * 18.1875)) < 1e-5, `var[0] ${variance[0]}`)
  assert.ok(Math.abs(variance[1]! - (0.9 + 0.1 * 20.1875)) < 1e-5, `var[1] ${variance[1]}`)
})

test('whole network gradient matches finite differences', async () => {
  const options = resolveHighResNetOptions({ channels: [2, 3, 4], blocksPerStage: 1, classes: 3, leakySlope: 0.1 })
  const l2 = 0.01
  const weights = initialiseWeights(options, 21)
  const random = new SeededRandom(22)
  for (const [name, values] of weights.parameters) {
    if (name.endsWith('.scale') || name.endsWith('.bias')) values.forEach((_, i) => { values[i] = (name.endsWith('.scale') ? 1 : 0) + 0.3 * random.normal() })
  }
  const [n, h, w] = [2, 7, 6]
  const image = randomData(n * h * w, random)
  const labels = new Float32Array(n * 3 * h * w)
  for (let s = 0; s < n; s++) for (let p = 0; p < h * w; p++) labels[(s * 3 + Math.floor(random.uniform() * 3)) * h * w + p] = 1
  const mask = Float32Array.from({ length: n * 4 * h * w }, () => (random.uniform() < 0.5 ? 0 : 2))

  const bytes = buildTrainingModel(options, 'gradients', { includeBackground: true, diceEpsilon: 1e-5, l2 })
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 })
  const summary = describeHighResNet(options)
  const feeds: Record<string, ort.Tensor> = {
    [TRAINING_NAMES.image]: new ort.Tensor('float32', image, [n, 1, h, w]),
    [TRAINING_NAMES.labels]: new ort.Tensor('float32', labels, [n, 3, h, w]),
    [TRAINING_NAMES.dropoutMask]: new ort.Tensor('float32', mask, [n, 4, h, w]),
  }
  for (const spec of summary.parameters) feeds[spec.name] = new ort.Tensor('float32', weights.parameters.get(spec.name)!, spec.dims)
  for (const [name, values] of weights.statistics) feeds[name] = new ort.Tensor('float32', values, [values.length])
  const results = await session.run(feeds)
  await session.release()

  const parameters64 = new Map([...weights.parameters].map(([k, v]) => [k, Float64Array.from(v)]))
  const objective = () => {
    const probabilities = referenceForward(options, parameters64, tensor64(image, [n, 1, h, w]), tensor64(mask, [n, 4, h, w]))
    let penalty = 0
    for (const spec of summary.parameters) if (spec.role === 'conv-weight') for (const v of parameters64.get(spec.name)!) penalty += v * v
    return diceLoss(probabilities, tensor64(labels, [n, 3, h, w]), 1e-5, true) + (l2 / 2) * penalty
  }
  const expectedObjective = objective()
  const actualObjective = (results[TRAINING_NAMES.loss]!.data as Float32Array)[0]! + (results[TRAINING_NAMES.l2Penalty]!.data as Float32Array)[0]!
  assert.ok(Math.abs(actualObjective - expectedObjective) < 1e-5, `objective ${actualObjective} vs reference ${expectedObjective}`)

  for (const spec of summary.parameters) {
    const expected = finiteDifferences(parameters64.get(spec.name)!, objective)
    const actual = results[TRAINING_NAMES.gradient(spec.name)]!.data as Float32Array
    const error = relativeError(actual, expected)
    assert.ok(error < TOLERANCE, `gradient of ${spec.name}: relative error ${error}`)
  }
})

test('tape rejects LeakyRelu slope 0', () => {
  const graph = new GraphBuilder('t')
  const tape = new Tape(graph)
  tape.value(graph.addInput('x', 'float32', [1, 1, 1, 1]), [1, 1, 1, 1], true)
  assert.throws(() => tape.leakyRelu('x', 0), /needs slope > 0/)
  void attr
})
