import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { resolveHighResNetOptions } from '../../src/nn/highresnet.js'
import { buildInferenceModel } from '../../src/nn/inference.js'
import { DEFAULT_PREPROCESSING, type ModelMetadata } from '../../src/nn/metadata.js'
import { SeededRandom } from '../../src/nn/random.js'
import { SegmentationSession } from '../../src/nn/session.js'
import { initialiseWeights, type NetworkWeights } from '../../src/nn/weights.js'
import { wideChannelMaps, widenWeights, widthFactor } from '../../src/nn/widen.js'

const METADATA: ModelMetadata = {
  task: 'lesion',
  classes: ['background', 'lesion'],
  inputHeight: 216,
  inputWidth: 296,
  preprocessing: DEFAULT_PREPROCESSING,
  trained: false,
}

/** Builds a narrow network whose BN layers have non-trivial statistics and affine parameters. */
function narrowNetwork(channels: [number, number, number]): NetworkWeights {
  const weights = initialiseWeights(resolveHighResNetOptions({ channels }), 21)
  const random = new SeededRandom(22)
  for (const [name, values] of weights.statistics) {
    for (let i = 0; i < values.length; i++) values[i] = name.endsWith('runningVar') ? 0.5 + random.uniform() : random.normal() * 0.3
  }
  for (const [name, values] of weights.parameters) {
    if (name.endsWith('.scale')) for (let i = 0; i < values.length; i++) values[i] = 0.5 + random.uniform()
    if (/bn\d?\.bias$/.test(name)) for (let i = 0; i < values.length; i++) values[i] = random.normal() * 0.2
  }
  weights.parameters.get('output.bias')!.set([0.3, -0.2])
  return weights
}

async function probabilities(weights: NetworkWeights, image: Float32Array, [n, h, w]: [number, number, number]): Promise<Float32Array> {
  const session = await SegmentationSession.load(buildInferenceModel(weights, METADATA, { foldBatchNorm: false }), { threads: 1 })
  try {
    return await session.run(image, n, h, w)
  } finally {
    await session.release()
  }
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}

test('wide channel maps follow the zero-padded shortcut', () => {
  // Narrow 2, 3, 5 doubled, worked by hand. Stage 1 copies 0 and 1 twice. Stage 2 keeps stage
  // 1's four channels (the shortcut) and adds narrow channel 2 twice. Stage 3 adds 3 and 4 twice.
  assert.deepEqual(wideChannelMaps([2, 3, 5], 2), [
    [0, 1, 0, 1],
    [0, 1, 0, 1, 2, 2],
    [0, 1, 0, 1, 2, 2, 3, 4, 3, 4],
  ])
  assert.deepEqual(wideChannelMaps([1, 2, 2], 3), [[0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]])
})

test('width factor is one whole number for all stages', () => {
  assert.equal(widthFactor([8, 16, 32], [16, 32, 64]), 2)
  assert.equal(widthFactor([8, 16, 32], [24, 48, 96]), 3)
  assert.equal(widthFactor([8, 16, 32], [16, 32, 48]), undefined)
  assert.equal(widthFactor([8, 16, 32], [8, 16, 32]), undefined)
  assert.equal(widthFactor([8, 16, 32], [12, 24, 48]), undefined)
})

for (const factor of [2, 3]) {
  test(`a network widened ${factor} times without noise gives the narrow network's probabilities`, async () => {
    const narrow = narrowNetwork([2, 3, 5])
    const wide = widenWeights(narrow, [2 * factor, 3 * factor, 5 * factor], { noise: 0 })
    assert.deepEqual(wide.options.channels, [2 * factor, 3 * factor, 5 * factor])
    assert.equal(wide.parameters.get('stage3.block3.conv2.weight')!.length, 25 * factor * factor * 9)

    const shape: [number, number, number] = [2, 18, 14]
    const random = new SeededRandom(23)
    const image = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => random.normal())
    const before = await probabilities(narrow, image, shape)
    const after = await probabilities(wide, image, shape)
    // The probabilities are not all near 0.5, so the comparison can fail.
    assert.ok(largestDifference(before, new Float32Array(before.length).fill(0.5)) > 0.05)
    const difference = largestDifference(before, after)
    assert.ok(difference < 1e-5, `largest difference ${difference}`)
  })
}

test('widening noise scales the output change', async () => {
  const narrow = narrowNetwork([2, 3, 5])
  const wide = widenWeights(narrow, [4, 6, 10], { seed: 5 })
  const weight = wide.parameters.get('stage1.block1.conv1.weight')!
  // Output channels 0 and 2 are copies of narrow channel 0: equal without noise, not with it.
  const perFilter = 4 * 9
  assert.notDeepEqual(weight.subarray(0, perFilter), weight.subarray(2 * perFilter, 3 * perFilter))

  const shape: [number, number, number] = [1, 16, 16]
  const random = new SeededRandom(24)
  const image = Float32Array.from({ length: 256 }, () => random.normal())
  const before = await probabilities(narrow, image, shape)
  const usual = largestDifference(before, await probabilities(wide, image, shape))
  const tenth = largestDifference(before, await probabilities(widenWeights(narrow, [4, 6, 10], { seed: 5, noise: 0.001 }), image, shape))
  assert.ok(usual > 0, 'the default noise changes the output')
  assert.ok(usual < 0.2, `largest difference ${usual} with the default noise`)
  // A tenth of the noise changes the output about a tenth as much (the network is smooth at this scale).
  assert.ok(tenth > usual / 20, `largest difference ${tenth} with a tenth of the noise, ${usual} with the default`)
  assert.ok(tenth < usual / 5, `largest difference ${tenth} with a tenth of the noise, ${usual} with the default`)
})

test('widening to channels that are not a whole multiple is refused', () => {
  const narrow = narrowNetwork([2, 3, 5])
  assert.throws(() => widenWeights(narrow, [4, 6, 8]), (error: Error) => error instanceof InputError && /2,3,5 to 4,6,8/.test(error.message))
})
