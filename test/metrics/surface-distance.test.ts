import assert from 'node:assert/strict'
import { test } from 'node:test'
import { surfaceVoxelIndices } from '../../src/metrics/mask.js'
import { computeSurfaceDistances, directedSurfaceDistances, percentile, percentileBySelection } from '../../src/metrics/surface-distance.js'
import { squaredDistancesAt } from '../../src/volume/distance.js'
import type { Vec3 } from '../../src/volume/volume.js'

/** Deterministic pseudo-random numbers in [0, 1) (a linear congruential generator). */
function randomSource(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
}

/** Builds a mask of a few random ellipsoid blobs plus scattered single voxels, with the given foreground value. */
function randomMask(size: Vec3, seed: number, value = 1): Uint8Array {
  const random = randomSource(seed)
  const [nx, ny, nz] = size
  const mask = new Uint8Array(nx * ny * nz)
  for (let blob = 0; blob < 3; blob++) {
    const centre = [random() * nx, random() * ny, random() * nz]
    const radius = [1 + random() * nx * 0.3, 1 + random() * ny * 0.3, 1 + random() * nz * 0.3]
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const r = ((i - centre[0]) / radius[0]) ** 2 + ((j - centre[1]) / radius[1]) ** 2 + ((k - centre[2]) / radius[2]) ** 2
          if (r <= 1) mask[i + nx * (j + ny * k)] = value
        }
      }
    }
  }
  for (let n = 0; n < mask.length; n++) if (random() < 0.01) mask[n] = value
  return mask
}

/** Voxel coordinates of the surface by definition: foreground with a 6-neighbour outside the mask or the image. */
function bruteForceSurface(mask: Uint8Array, size: Vec3): number[][] {
  const [nx, ny, nz] = size
  const inside = (i: number, j: number, k: number): boolean =>
    i >= 0 && j >= 0 && k >= 0 && i < nx && j < ny && k < nz && mask[i + nx * (j + ny * k)] !== 0
  const surface: number[][] = []
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (!inside(i, j, k)) continue
        const neighbours = [inside(i - 1, j, k), inside(i + 1, j, k), inside(i, j - 1, k), inside(i, j + 1, k), inside(i, j, k - 1), inside(i, j, k + 1)]
        if (neighbours.some((value) => !value)) surface.push([i, j, k])
      }
    }
  }
  return surface
}

/** For each voxel of `from`, the smallest distance in mm to any voxel of `to`. */
function bruteForceDistances(from: number[][], to: number[][], spacing: Vec3): number[] {
  return from.map((p) => {
    let best = Infinity
    for (const q of to) {
      const squared = ((p[0] - q[0]) * spacing[0]) ** 2 + ((p[1] - q[1]) * spacing[1]) ** 2 + ((p[2] - q[2]) * spacing[2]) ** 2
      if (squared < best) best = squared
    }
    return Math.sqrt(best)
  })
}

function sortedPercentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const position = ((sorted.length - 1) * q) / 100
  const lower = Math.floor(position)
  const upper = Math.min(lower + 1, sorted.length - 1)
  return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower])
}

const mean = (values: number[]): number => values.reduce((total, value) => total + value, 0) / values.length

function assertClose(actual: number, expected: number, name: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${name}: ${actual} vs ${expected}`)
}

// nx = 16 takes the four-voxels-per-word surface search, nx = 13 the byte-wise one.
for (const size of [[16, 11, 9], [13, 10, 8]] as Vec3[]) {
  test(`surface metrics match brute force, ${size.join(' x ')}`, () => {
    const spacing: Vec3 = [0.7, 1.3, 2.5]
    const prediction = randomMask(size, 11)
    const reference = randomMask(size, 29)
    const predictionSurface = bruteForceSurface(prediction, size)
    const referenceSurface = bruteForceSurface(reference, size)
    const forward = bruteForceDistances(predictionSurface, referenceSurface, spacing)
    const backward = bruteForceDistances(referenceSurface, predictionSurface, spacing)

    const metrics = computeSurfaceDistances(prediction, reference, size, spacing)
    assertClose(metrics.meanSurfaceDistanceMm, mean([...forward, ...backward]), 'MSD')
    assertClose(metrics.averageHausdorffDistanceMm, Math.max(mean(forward), mean(backward)), 'AHD')
    assertClose(metrics.hausdorff95Mm, Math.max(sortedPercentile(forward, 95), sortedPercentile(backward, 95)), 'HD95')
    assertClose(metrics.hausdorffDistanceMm, Math.max(...forward, ...backward), 'HD')
  })
}

test('directed distances match brute force', () => {
  const size: Vec3 = [12, 9, 7]
  const spacing: Vec3 = [0.5, 0.9, 3]
  const prediction = randomMask(size, 5)
  const reference = randomMask(size, 7)
  const expectedForward = bruteForceDistances(bruteForceSurface(prediction, size), bruteForceSurface(reference, size), spacing)
  const expectedBackward = bruteForceDistances(bruteForceSurface(reference, size), bruteForceSurface(prediction, size), spacing)
  const { predictionToReference, referenceToPrediction } = directedSurfaceDistances(prediction, reference, size, spacing)
  assert.equal(predictionToReference.length, expectedForward.length)
  assert.equal(referenceToPrediction.length, expectedBackward.length)
  expectedForward.forEach((value, n) => assertClose(predictionToReference[n], value, `P→G voxel ${n}`))
  expectedBackward.forEach((value, n) => assertClose(referenceToPrediction[n], value, `G→P voxel ${n}`))
})

test('surface voxels of non-binary mask', () => {
  // Foreground value 2 makes the word-wise search fall back to the byte-wise one.
  const size: Vec3 = [16, 8, 8]
  const mask = randomMask(size, 3, 2)
  const expected = bruteForceSurface(mask, size).map(([i, j, k]) => i + 16 * (j + 8 * k))
  const box = { start: [0, 0, 0] as Vec3, end: size }
  assert.deepEqual([...surfaceVoxelIndices(mask, size, box)], expected)
})

test('surface voxels of word-aligned mask', () => {
  const size: Vec3 = [20, 9, 6]
  const mask = randomMask(size, 17)
  const expected = bruteForceSurface(mask, size).map(([i, j, k]) => i + 20 * (j + 9 * k))
  const box = { start: [0, 0, 0] as Vec3, end: size }
  assert.deepEqual([...surfaceVoxelIndices(mask, size, box)], expected)
})

test('distances at queries without features', () => {
  const box = { start: [0, 0, 0] as Vec3, end: [4, 4, 4] as Vec3 }
  const squared = squaredDistancesAt(new Uint32Array(0), Uint32Array.from([0, 5, 63]), [4, 4, 4], [1, 1, 1], box)
  assert.deepEqual([...squared], [Infinity, Infinity, Infinity])
})

test('distances at queries in a cropped box', () => {
  // Grid 10³, feature voxel (4, 4, 4), queries (3, 6, 4) and (6, 4, 7) at spacing 0.5 x 2 x 3:
  // 0.25 + 16 + 0 and 1 + 0 + 81.
  const size: Vec3 = [10, 10, 10]
  const index = (i: number, j: number, k: number): number => i + 10 * (j + 10 * k)
  const box = { start: [3, 3, 3] as Vec3, end: [7, 7, 8] as Vec3 }
  const squared = squaredDistancesAt(Uint32Array.from([index(4, 4, 4)]), Uint32Array.from([index(3, 6, 4), index(6, 4, 7)]), size, [0.5, 2, 3], box)
  assert.equal(squared[0], 16.25)
  assert.equal(squared[1], 82)
})

test('percentile by selection equals sorted percentile', () => {
  const random = randomSource(99)
  // Many ties, as surface distances have.
  const values = Array.from({ length: 1001 }, () => Math.round(random() * 20) / 4)
  for (const q of [0, 5, 50, 95, 99.9, 100]) {
    assert.equal(percentileBySelection(values, q), sortedPercentile(values, q), `q = ${q}`)
  }
})

test('percentile by selection of few values', () => {
  assert.ok(Number.isNaN(percentileBySelection([], 95)))
  assert.equal(percentileBySelection([3], 95), 3)
  // Position 0.95 between 1 and 2.
  assert.equal(percentileBySelection([2, 1], 95), 1.95)
  assert.equal(percentileBySelection([4, 4, 4, 4], 95), percentile([4, 4, 4, 4], 95))
})

test('distances along a column of queries', () => {
  // Feature voxel (0, 0, 0) and queries filling column (5, 5) over 40 slices, at spacing
  // 0.5 x 2 x 3. Most queries exceed the scan budget and use the lower envelope.
  // Expected: 0.25 · 25 + 4 · 25 + 9 · k².
  const size: Vec3 = [8, 8, 40]
  const queries = Uint32Array.from({ length: 40 }, (_, k) => 5 + 8 * (5 + 8 * k))
  const box = { start: [0, 0, 0] as Vec3, end: size }
  const squared = squaredDistancesAt(Uint32Array.from([0]), queries, size, [0.5, 2, 3], box)
  for (let k = 0; k < 40; k++) assert.equal(squared[k], 106.25 + 9 * k * k, `slice ${k}`)
})
