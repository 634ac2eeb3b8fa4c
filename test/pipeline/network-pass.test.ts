import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SegmentationModel } from '../../src/pipeline/model.js'
import { runNetworkOnSlices } from '../../src/pipeline/network-pass.js'

const WIDTH = 4
const HEIGHT = 2
const PLANE = WIDTH * HEIGHT

/** Creates a two-class model on 4 x 2 slices with foreground probability `foreground(value, x)` that counts its runs. */
function fakeModel(foreground: (value: number, x: number) => number): SegmentationModel & { runs: number } {
  const model = {
    name: 'fake',
    description: 'test',
    sha256: '',
    trained: true,
    inputHeight: HEIGHT,
    inputWidth: WIDTH,
    classCount: 2,
    threshold: 0.5,
    thresholdSource: 'default' as const,
    modelThreshold: 0.5,
    runs: 0,
    async run(batch: Float32Array, count: number): Promise<Float32Array> {
      model.runs++
      const out = new Float32Array(count * 2 * PLANE)
      for (let s = 0; s < count; s++) {
        for (let p = 0; p < PLANE; p++) {
          const probability = foreground(batch[s * PLANE + p], p % WIDTH)
          out[s * 2 * PLANE + p] = 1 - probability
          out[s * 2 * PLANE + PLANE + p] = probability
        }
      }
      return out
    },
    async dispose(): Promise<void> {},
  }
  return model
}

/** Three slices whose values are their index in the input, 0 to 23: no slice is mirror symmetric. */
const input = Float32Array.from({ length: 3 * PLANE }, (_, v) => v)

test('a pass keeps the requested slice order', async () => {
  const model = fakeModel((value) => value / 100)
  const out = await runNetworkOnSlices(model, input, [2, 0], { batchSize: 1 })
  assert.deepEqual(Array.from(out, (p) => Math.round(p * 100)), [16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7])
  assert.equal(model.runs, 2)
})

test('mirror averaging keeps a mirror-symmetric response', async () => {
  // The network computes each pixel from its own value, so the mirrored pass mirrored back is the same.
  const model = fakeModel((value) => value / 100)
  const out = await runNetworkOnSlices(model, input, [2, 0, 1], { batchSize: 2, mirrorAverage: true })
  const expected = [...input.subarray(2 * PLANE, 3 * PLANE), ...input.subarray(0, 2 * PLANE)]
  assert.deepEqual(Array.from(out, (p) => Math.round(p * 100)), expected)
  // Two batches (2 + 1 slices), each run plain and mirrored.
  assert.equal(model.runs, 4)
})

test('mirror averaging evens out a left-right bias', async () => {
  // Foreground (x + 1) / 4 by column; mirrored, column x gets (4 - x) / 4, so every average is 5/8.
  const model = fakeModel((_, x) => (x + 1) / 4)
  const plain = await runNetworkOnSlices(model, input, [0], {})
  assert.deepEqual(Array.from(plain), [0.25, 0.5, 0.75, 1, 0.25, 0.5, 0.75, 1])
  const averaged = await runNetworkOnSlices(model, input, [0], { mirrorAverage: true })
  assert.deepEqual(Array.from(averaged), new Array(PLANE).fill(0.625))
})
