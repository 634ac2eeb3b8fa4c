import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { loadCheckpoint, saveCheckpoint } from '../../src/nn/checkpoint.js'
import { resolveHighResNetOptions, type HighResNetOptions } from '../../src/nn/highresnet.js'
import { buildInferenceModel } from '../../src/nn/inference.js'
import { DEFAULT_PREPROCESSING, type ModelMetadata } from '../../src/nn/metadata.js'
import { SeededRandom } from '../../src/nn/random.js'
import { SegmentationSession } from '../../src/nn/session.js'
import { Trainer, type TrainingBatch } from '../../src/nn/trainer.js'
import { adamStepSize } from '../../src/nn/training-graph.js'
import { loadInitialWeights, transferWeights } from '../../src/nn/transfer.js'
import { initialiseWeights } from '../../src/nn/weights.js'

const SMALL: Partial<HighResNetOptions> = { channels: [4, 8, 8], blocksPerStage: 1 }

const METADATA: ModelMetadata = {
  task: 'disc',
  classes: ['background', 'disc'],
  inputHeight: 32,
  inputWidth: 32,
  preprocessing: DEFAULT_PREPROCESSING,
  trained: true,
  trainingData: 'generated discs on Gaussian noise, 32 x 32',
}

/** Discs of radius 4..10 at random centres; disc pixels 1, background 0, plus noise of SD 0.5. */
function discBatch(n: number, random: SeededRandom, size = 32): TrainingBatch {
  const images = new Float32Array(n * size * size)
  const labels = new Uint8Array(n * size * size)
  for (let s = 0; s < n; s++) {
    const cy = 8 + random.uniform() * 16
    const cx = 8 + random.uniform() * 16
    const radius = 4 + random.uniform() * 6
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (y - cy) ** 2 + (x - cx) ** 2 < radius ** 2
        const i = s * size * size + y * size + x
        labels[i] = inside ? 1 : 0
        images[i] = (inside ? 1 : 0) + 0.5 * random.normal()
      }
    }
  }
  return { images, labels, batch: n, height: size, width: size }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}

test('Adam step size schedule', () => {
  // Step 1: 0.001 · √(1 - 0.999) / (1 - 0.9) = 3.16228e-4.
  assert.ok(Math.abs(adamStepSize(1, 0.001, 0.0001) - 3.16228e-4) < 1e-9)
  // Step 10001: lr = 0.001 / (1 + 0.0001·10000) = 5e-4; bias corrections √(1 - 0.999^10001) / (1 - 0.9^10001) = 0.9999775.
  assert.ok(Math.abs(adamStepSize(10001, 0.001, 0.0001) - 5e-4 * 0.9999775) < 1e-9)
})

test('first Adam step moves weights by lr', async () => {
  // With m = v = 0 the first update is α1·0.1·g / (√(0.001·g²) + ε) ≈ lr·sign(g) = 0.001 per weight.
  const options = resolveHighResNetOptions({ ...SMALL, dropoutRate: 0 })
  const weights = initialiseWeights(options, 1)
  const trainer = new Trainer(options, weights, { threads: 1, loss: { includeBackground: true, diceEpsilon: 1e-5, l2: 0 } })
  await trainer.trainStep(discBatch(4, new SeededRandom(2)))
  const after = trainer.weights().parameters.get('stage2.block1.conv1.weight')!
  await trainer.release()
  const before = weights.parameters.get('stage2.block1.conv1.weight')!
  const changes = before.map((v, i) => Math.abs(after[i]! - v)).sort()
  assert.ok(changes[changes.length - 1]! <= 0.001 + 1e-6, `max change ${changes[changes.length - 1]}`)
  assert.ok(Math.abs(changes[changes.length >> 1]! - 0.001) < 2e-5, `median change ${changes[changes.length >> 1]}`)
})

test('training on discs reaches validation Dice 0.85', async () => {
  const options = resolveHighResNetOptions(SMALL)
  const random = new SeededRandom(5)
  const trainer = new Trainer(options, initialiseWeights(options, 1), { threads: 2, learningRate: 0.01 })
  const losses: number[] = []
  for (let step = 0; step < 120; step++) losses.push((await trainer.trainStep(discBatch(8, random))).loss)

  const session = await SegmentationSession.load(buildInferenceModel(trainer.weights(), METADATA), { threads: 2 })
  await trainer.release()
  const validation = discBatch(16, new SeededRandom(99))
  const probabilities = await session.run(validation.images, 16, 32, 32)
  await session.release()

  let intersection = 0
  let predicted = 0
  let truth = 0
  for (let s = 0; s < 16; s++) {
    for (let p = 0; p < 1024; p++) {
      const disc = probabilities[(s * 2 + 1) * 1024 + p]! > 0.5 ? 1 : 0
      const label = validation.labels[s * 1024 + p]!
      intersection += disc * label
      predicted += disc
      truth += label
    }
  }
  const dice = (2 * intersection) / (predicted + truth)
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
  assert.ok(mean(losses.slice(-10)) < 0.5 * mean(losses.slice(0, 10)), `loss ${mean(losses.slice(0, 10))} -> ${mean(losses.slice(-10))}`)
  assert.ok(dice >= 0.85, `validation Dice ${dice}`)
})

test('one accumulated micro-batch equals a training step', async () => {
  const options = resolveHighResNetOptions({ ...SMALL, dropoutRate: 0 })
  const weights = initialiseWeights(options, 3)
  const batch = discBatch(4, new SeededRandom(4))
  const direct = new Trainer(options, weights, { threads: 1 })
  const accumulated = new Trainer(options, weights, { threads: 1 })
  const stepLoss = (await direct.trainStep(batch)).loss
  const microLoss = (await accumulated.accumulateGradients(batch)).loss
  await accumulated.applyAccumulatedGradients()
  const a = direct.weights()
  const b = accumulated.weights()
  await direct.release()
  await accumulated.release()

  assert.ok(Math.abs(stepLoss - microLoss) < 1e-6)
  assert.equal(accumulated.stepCount, 1)
  for (const [name, values] of a.parameters) assert.ok(maxDifference(values, b.parameters.get(name)!) < 1e-6, name)
  for (const [name, values] of a.statistics) assert.ok(maxDifference(values, b.statistics.get(name)!) < 1e-6, name)
})

test('checkpoint resume continues identically', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'colinet-nn-'))
  try {
    const options = resolveHighResNetOptions(SMALL)
    const random = new SeededRandom(6)
    const batches = [discBatch(4, random), discBatch(4, random), discBatch(4, random)]
    const original = new Trainer(options, initialiseWeights(options, 1), { threads: 1, seed: 7 })
    await original.trainStep(batches[0]!)
    await original.trainStep(batches[1]!)
    const file = path.join(folder, 'run.ckpt')
    await saveCheckpoint(file, { weights: original.weights(), optimizer: original.optimizerState(), model: { task: 'disc' } })
    await original.trainStep(batches[2]!)

    const checkpoint = await loadCheckpoint(file)
    const resumed = new Trainer(checkpoint.weights.options, checkpoint.weights, { threads: 1, seed: 7 }, checkpoint.optimizer)
    await resumed.trainStep(batches[2]!)
    const a = original.weights()
    const b = resumed.weights()
    await original.release()
    await resumed.release()

    assert.equal(checkpoint.optimizer.step, 2)
    assert.equal(checkpoint.model?.task, 'disc')
    assert.equal(resumed.stepCount, 3)
    for (const [name, values] of a.parameters) assert.ok(maxDifference(values, b.parameters.get(name)!) < 1e-6, name)
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})

test('checkpoint rejects other files', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'colinet-nn-'))
  try {
    const file = path.join(folder, 'not.ckpt')
    await writeFile(file, 'hello')
    await assert.rejects(loadCheckpoint(file), (error: Error) => error instanceof InputError && /not a colinet checkpoint/.test(error.message))
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})

test('transfer copies all but output layer', () => {
  const lung = initialiseWeights(resolveHighResNetOptions({ ...SMALL, classes: 2 }), 1)
  const lesion = transferWeights(lung, 3, 9)
  assert.equal(lesion.options.classes, 3)
  assert.equal(lesion.parameters.get('output.weight')!.length, 3 * 8)
  for (const [name, values] of lung.parameters) {
    if (name.startsWith('output.')) continue
    assert.deepEqual(lesion.parameters.get(name), values, name)
  }
})

test('transfer with same classes copies everything', () => {
  const lung = initialiseWeights(resolveHighResNetOptions(SMALL), 1)
  const lesion = transferWeights(lung, 2, 9)
  for (const [name, values] of lung.parameters) assert.deepEqual(lesion.parameters.get(name), values, name)
})

test('init from unfolded model restores weights', async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'colinet-nn-'))
  try {
    const weights = initialiseWeights(resolveHighResNetOptions(SMALL), 4)
    weights.statistics.get('final.bn.runningVar')!.fill(2.5)
    const unfolded = path.join(folder, 'unfolded.onnx')
    const folded = path.join(folder, 'folded.onnx')
    await writeFile(unfolded, buildInferenceModel(weights, METADATA, { foldBatchNorm: false }))
    await writeFile(folded, buildInferenceModel(weights, METADATA))

    const restored = await loadInitialWeights(unfolded)
    for (const [name, values] of weights.parameters) assert.deepEqual(restored.parameters.get(name), values, name)
    assert.deepEqual(restored.statistics.get('final.bn.runningVar'), new Float32Array(8).fill(2.5))
    await assert.rejects(loadInitialWeights(folded), (error: Error) => error instanceof InputError && /BN is folded/.test(error.message))
  } finally {
    await rm(folder, { recursive: true, force: true })
  }
})

test('exported model carries training metadata', async () => {
  const weights = initialiseWeights(resolveHighResNetOptions(SMALL), 1)
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA), { threads: 1 })
  await session.release()
  assert.equal(session.metadata.trained, true)
  assert.equal(session.metadata.trainingData, 'generated discs on Gaussian noise, 32 x 32')
})
