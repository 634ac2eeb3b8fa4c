import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { attr, GraphBuilder, parseModel, serializeModel } from '../../src/nn/graph.js'
import { describeHighResNet, resolveHighResNetOptions } from '../../src/nn/highresnet.js'
import { buildInferenceModel } from '../../src/nn/inference.js'
import { DEFAULT_PREPROCESSING, type ModelMetadata } from '../../src/nn/metadata.js'
import { SegmentationSession } from '../../src/nn/session.js'
import { SeededRandom } from '../../src/nn/random.js'
import { initialiseWeights, type NetworkWeights } from '../../src/nn/weights.js'

const METADATA: ModelMetadata = {
  task: 'lung',
  classes: ['background', 'lung'],
  inputHeight: 216,
  inputWidth: 296,
  preprocessing: DEFAULT_PREPROCESSING,
  trained: false,
}

function randomImage(length: number, seed: number): Float32Array {
  const random = new SeededRandom(seed)
  return Float32Array.from({ length }, () => random.normal())
}

/** Gives every BN non-trivial statistics and affine parameters, so folding has work to do. */
function perturbBatchNorms(weights: NetworkWeights, seed: number): void {
  const random = new SeededRandom(seed)
  for (const [name, values] of weights.statistics) {
    for (let i = 0; i < values.length; i++) values[i] = name.endsWith('runningVar') ? 0.5 + random.uniform() : random.normal() * 0.3
  }
  for (const [name, values] of weights.parameters) {
    if (name.endsWith('.scale')) for (let i = 0; i < values.length; i++) values[i] = 0.5 + random.uniform()
    if (name.endsWith('bn.bias') || /bn\d\.bias$/.test(name)) for (let i = 0; i < values.length; i++) values[i] = random.normal() * 0.2
  }
}

test('architecture has 20 convolution layers', () => {
  const summary = describeHighResNet(resolveHighResNetOptions())
  assert.equal(summary.convolutionLayers, 20)
})

test('architecture receptive field is 87 pixels', () => {
  // 3 (initial conv) + 6 convs x 2·dilation for dilations 1, 2, 4 = 3 + 12 + 24 + 48.
  const summary = describeHighResNet(resolveHighResNetOptions())
  assert.equal(summary.receptiveField, 87)
})

test('inference model contains 20 Conv nodes', () => {
  const weights = initialiseWeights(resolveHighResNetOptions(), 1)
  const model = parseModel(buildInferenceModel(weights, METADATA))
  const convs = model.graph!.node!.filter((n) => n.opType === 'Conv')
  assert.equal(convs.length, 20)
})

test('session output shape and softmax sum', async () => {
  const weights = initialiseWeights(resolveHighResNetOptions(), 3)
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA), { threads: 1 })
  const [n, h, w] = [2, 24, 20]
  const probabilities = await session.run(randomImage(n * h * w, 4), n, h, w)
  await session.release()

  assert.equal(probabilities.length, n * 2 * h * w)
  let worst = 0
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < h * w; p++) {
      const sum = probabilities[s * 2 * h * w + p]! + probabilities[s * 2 * h * w + h * w + p]!
      worst = Math.max(worst, Math.abs(sum - 1))
    }
  }
  assert.ok(worst < 1e-5, `max |sum - 1| = ${worst}`)
})

test('session output equals softmax of output bias', async () => {
  // With every convolution weight zero the logits are the output bias everywhere, so the
  // probabilities are softmax([0, ln 3]) = [0.25, 0.75] (hand computation).
  const weights = initialiseWeights(resolveHighResNetOptions(), 5)
  for (const [name, values] of weights.parameters) if (name.endsWith('.weight')) values.fill(0)
  weights.parameters.get('output.bias')!.set([0, Math.log(3)])
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA), { threads: 1 })
  const probabilities = await session.run(randomImage(6 * 5, 6), 1, 6, 5)
  await session.release()

  assert.ok(Math.abs(probabilities[0]! - 0.25) < 1e-6, `background ${probabilities[0]}`)
  assert.ok(Math.abs(probabilities[30]! - 0.75) < 1e-6, `foreground ${probabilities[30]}`)
})

test('folded BN gives unfolded probabilities', async () => {
  const weights = initialiseWeights(resolveHighResNetOptions({ channels: [4, 6, 8] }), 7)
  perturbBatchNorms(weights, 8)
  const image = randomImage(2 * 16 * 12, 9)
  const folded = await SegmentationSession.load(buildInferenceModel(weights, METADATA, { foldBatchNorm: true }), { threads: 1 })
  const unfolded = await SegmentationSession.load(buildInferenceModel(weights, METADATA, { foldBatchNorm: false }), { threads: 1 })
  const a = await folded.run(image, 2, 16, 12)
  const b = await unfolded.run(image, 2, 16, 12)
  await folded.release()
  await unfolded.release()

  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  assert.ok(worst < 1e-5, `max difference ${worst}`)
})

test('folding removes the BN after each block conv1', () => {
  const weights = initialiseWeights(resolveHighResNetOptions(), 1)
  const model = parseModel(buildInferenceModel(weights, METADATA))
  const batchNorms = model.graph!.node!.filter((n) => n.opType === 'BatchNormalization')
  // 19 BN layers: bn1 and bn2 of 9 blocks plus final.bn; the 9 bn2 follow a conv and fold.
  assert.equal(batchNorms.length, 10)
})

test('impulse influence matches receptive field', async () => {
  // Output pixels whose probabilities change when one input pixel changes lie within the
  // receptive field, 87 x 87 centred on it (analytic; see highresnet.ts).
  const weights = initialiseWeights(resolveHighResNetOptions({ channels: [4, 4, 4] }), 11)
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA), { threads: 2 })
  const [h, w] = [101, 99]
  const [row, col] = [50, 47]
  const base = new Float32Array(h * w)
  const impulse = base.slice()
  impulse[row * w + col] = 50
  const a = await session.run(base, 1, h, w)
  const b = await session.run(impulse, 1, h, w)
  await session.release()

  let [top, bottom, left, right] = [h, -1, w, -1]
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (a[h * w + y * w + x] !== b[h * w + y * w + x]) {
        top = Math.min(top, y); bottom = Math.max(bottom, y)
        left = Math.min(left, x); right = Math.max(right, x)
      }
    }
  }
  assert.equal(top, row - 43)
  assert.equal(bottom, row + 43)
  assert.equal(left, col - 43)
  assert.equal(right, col + 43)
})

test('session reads colinet metadata', async () => {
  const weights = initialiseWeights(resolveHighResNetOptions(), 1)
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA), { threads: 1 })
  await session.release()
  assert.equal(session.metadata.task, 'lung')
  assert.deepEqual(session.metadata.classes, ['background', 'lung'])
  assert.equal(session.metadata.trained, false)
  assert.deepEqual(session.metadata.preprocessing.clipHu, [-1024, 300])
  assert.equal(session.classes, 2)
})

test('user model with rank-3 input is rejected', async () => {
  const graph = new GraphBuilder('user')
  graph.addInput('x', 'float32', ['batch', 'height', 'width'])
  const y = graph.op('Unsqueeze', ['x', graph.constantInt64([1])])
  const z = graph.op('Concat', [y, y], { axis: attr.int(1) })
  graph.addOutput(z, 'float32', ['batch', 2, 'height', 'width'])
  await assert.rejects(SegmentationSession.load(serializeModel(graph)), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /should have rank 4 \[N, 1, H, W\], found rank 3/)
    return true
  })
})

test('user model with one output class is rejected', async () => {
  const graph = new GraphBuilder('user')
  graph.addInput('x', 'float32', ['batch', 1, 'height', 'width'])
  const y = graph.op('Sigmoid', ['x'])
  graph.addOutput(y, 'float32', ['batch', 1, 'height', 'width'])
  await assert.rejects(SegmentationSession.load(serializeModel(graph)), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /C >= 2 on axis 1, found 1/)
    return true
  })
})

test('missing model file is rejected', async () => {
  await assert.rejects(SegmentationSession.load('/nonexistent/lung.onnx'), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /file not found/)
    return true
  })
})

test('wrong slice size for fixed model is rejected', async () => {
  const graph = new GraphBuilder('user')
  graph.addInput('x', 'float32', ['batch', 1, 8, 8])
  const z = graph.op('Concat', ['x', 'x'], { axis: attr.int(1) })
  graph.addOutput(z, 'float32', ['batch', 2, 8, 8])
  const session = await SegmentationSession.load(serializeModel(graph), { threads: 1 })
  await assert.rejects(session.run(new Float32Array(4 * 4), 1, 4, 4), /slices of 8 x 8 pixels .* got 4 x 4/)
  await session.release()
})
