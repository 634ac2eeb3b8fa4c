import assert from 'node:assert/strict'
import { test } from 'node:test'
import { squaredDistanceTransform } from '../../src/volume/distance.js'
import type { Vec3 } from '../../src/volume/volume.js'

/** Brute-force squared distance to the nearest feature voxel, the definition the transform must meet. */
function bruteForce(feature: Uint8Array, size: Vec3, spacing: Vec3): Float64Array {
  const [nx, ny, nz] = size
  const points: number[][] = []
  for (let n = 0; n < feature.length; n++) {
    if (feature[n]) points.push([n % nx, Math.floor(n / nx) % ny, Math.floor(n / (nx * ny))])
  }
  const result = new Float64Array(nx * ny * nz)
  for (let n = 0; n < result.length; n++) {
    const p = [n % nx, Math.floor(n / nx) % ny, Math.floor(n / (nx * ny))]
    let best = Infinity
    for (const q of points) {
      const d = ((p[0] - q[0]) * spacing[0]) ** 2 + ((p[1] - q[1]) * spacing[1]) ** 2 + ((p[2] - q[2]) * spacing[2]) ** 2
      if (d < best) best = d
    }
    result[n] = best
  }
  return result
}

test('distance transform of one voxel', () => {
  const size: Vec3 = [5, 4, 3]
  const feature = new Uint8Array(60)
  feature[1 + 5 * (2 + 4 * 1)] = 1
  const squared = squaredDistanceTransform(feature, size, [0.5, 2, 3])
  // Voxel (4, 0, 2): dx = 3 · 0.5, dy = 2 · 2, dz = 1 · 3 → 2.25 + 16 + 9.
  assert.equal(squared[4 + 5 * (0 + 4 * 2)], 27.25)
  assert.equal(squared[1 + 5 * (2 + 4 * 1)], 0)
})

test('distance transform matches brute force', () => {
  const size: Vec3 = [9, 7, 6]
  const spacing: Vec3 = [0.7, 1.3, 2.5]
  const feature = new Uint8Array(9 * 7 * 6)
  let seed = 12345
  for (let n = 0; n < feature.length; n++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    feature[n] = seed % 17 === 0 ? 1 : 0
  }
  const expected = bruteForce(feature, size, spacing)
  const actual = squaredDistanceTransform(feature, size, spacing)
  for (let n = 0; n < expected.length; n++) assert.ok(Math.abs(actual[n] - expected[n]) < 1e-9, `voxel ${n}: ${actual[n]} vs ${expected[n]}`)
})

test('distance transform of empty mask', () => {
  const squared = squaredDistanceTransform(new Uint8Array(8), [2, 2, 2], [1, 1, 1])
  assert.ok(squared.every((value) => value === Infinity))
})

test('distance transform cropped to a box', () => {
  const size: Vec3 = [10, 10, 10]
  const feature = new Uint8Array(1000)
  feature[4 + 10 * (4 + 10 * 4)] = 1
  const box = { start: [3, 3, 3] as Vec3, end: [7, 6, 8] as Vec3 }
  const squared = squaredDistanceTransform(feature, size, [1, 1, 1], box)
  assert.equal(squared.length, 4 * 3 * 5)
  // Box voxel (0, 0, 0) is grid voxel (3, 3, 3): distance² 1 + 1 + 1.
  assert.equal(squared[0], 3)
  // Box voxel (3, 2, 4) is grid voxel (6, 5, 7): 4 + 1 + 9.
  assert.equal(squared[3 + 4 * (2 + 3 * 4)], 14)
})
