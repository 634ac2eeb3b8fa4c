import assert from 'node:assert/strict'
import { test } from 'node:test'
import { evaluateStructure } from '../../src/metrics/case.js'
import { computeSurfaceDistances } from '../../src/metrics/surface-distance.js'
import { createVolume, type Vec3, type Volume } from '../../src/volume/volume.js'

function maskVolume(size: Vec3, spacingMm: Vec3, inside: (i: number, j: number, k: number) => boolean): Volume<Uint8Array> {
  const volume = createVolume({ size, spacingMm, origin: [0, 0, 0], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }, Uint8Array)
  let n = 0
  for (let k = 0; k < size[2]; k++) for (let j = 0; j < size[1]; j++) for (let i = 0; i < size[0]; i++, n++) volume.data[n] = inside(i, j, k) ? 1 : 0
  return volume
}

const inRange = (value: number, start: number, end: number): boolean => value >= start && value < end

test('offset cubes overlap', () => {
  // P = [2, 8)³, G = P shifted by 2 voxels in x: TP = 4·6·6 = 144, FP = FN = 2·6·6 = 72, TN = 8000 - 288.
  const prediction = maskVolume([20, 20, 20], [1, 1, 1], (i, j, k) => inRange(i, 2, 8) && inRange(j, 2, 8) && inRange(k, 2, 8))
  const reference = maskVolume([20, 20, 20], [1, 1, 1], (i, j, k) => inRange(i, 4, 10) && inRange(j, 2, 8) && inRange(k, 2, 8))
  const metrics = evaluateStructure(prediction, reference)
  assert.equal(metrics.dice, 2 / 3)
  assert.equal(metrics.jaccard, 0.5)
  assert.equal(metrics.falseNegativeRate, 72 / 216)
  assert.equal(metrics.falsePositiveRate, 72 / (7712 + 72))
  assert.equal(metrics.relativeVolumeDifferencePercent, 0)
  assert.equal(metrics.predictedVolumeMl, 0.216)
})

test('offset cubes surface distances', () => {
  // Cubes of 6³ voxels at 1 mm, G shifted by 2 voxels along x; each surface has 152 voxels.
  // P→G by hand: x = 2 face, 36 voxels at 2 mm (G's x = 4 face); x = 3 ring, 20 voxels at 1 mm;
  // x = 4..6 rings and the x = 7 ring lie on G's surface (0 mm); the 4 x 4 interior of the x = 7
  // face is 1 mm (12 voxels) or 2 mm (the centre 2 x 2) from G's ring or x = 9 face.
  // Sum 72 + 20 + 12 + 8 = 112 mm; G→P is the mirror image, so both directed means are 112 / 152.
  const prediction = maskVolume([20, 20, 20], [1, 1, 1], (i, j, k) => inRange(i, 2, 8) && inRange(j, 2, 8) && inRange(k, 2, 8))
  const reference = maskVolume([20, 20, 20], [1, 1, 1], (i, j, k) => inRange(i, 4, 10) && inRange(j, 2, 8) && inRange(k, 2, 8))
  const metrics = computeSurfaceDistances(prediction.data, reference.data, prediction.size, prediction.spacingMm)
  assert.equal(metrics.hausdorffDistanceMm, 2)
  assert.ok(Math.abs(metrics.averageHausdorffDistanceMm - 112 / 152) < 1e-12)
  assert.ok(Math.abs(metrics.meanSurfaceDistanceMm - 112 / 152) < 1e-12)
  // 95th percentile of 152 sorted distances: position 143.45 lies among the 44 values of 2 mm.
  assert.equal(metrics.hausdorff95Mm, 2)
})

test('surface distances of single voxels', () => {
  // P = voxel (2, 2, 2); G = voxels (2, 2, 3) and (2, 7, 2) at spacing 0.5 x 1 x 2 mm:
  // P→G = [2]; G→P = [2, 5]. MSD = 9 / 3, AHD = max(2, 3.5), HD95 = max(2, 2 + 0.95 · 3), HD = 5.
  const spacing: Vec3 = [0.5, 1, 2]
  const prediction = maskVolume([6, 10, 6], spacing, (i, j, k) => i === 2 && j === 2 && k === 2)
  const reference = maskVolume([6, 10, 6], spacing, (i, j, k) => i === 2 && ((j === 2 && k === 3) || (j === 7 && k === 2)))
  const metrics = computeSurfaceDistances(prediction.data, reference.data, prediction.size, spacing)
  assert.equal(metrics.meanSurfaceDistanceMm, 3)
  assert.equal(metrics.averageHausdorffDistanceMm, 3.5)
  assert.ok(Math.abs(metrics.hausdorff95Mm - 4.85) < 1e-12)
  assert.equal(metrics.hausdorffDistanceMm, 5)
})

test('shifted spheres at anisotropic spacing', () => {
  // Spheres of radius R = 10 mm, centres 2 mm apart along x, spacing 0.5 x 0.5 x 1 mm.
  const R = 10
  const d = 2
  const spacing: Vec3 = [0.5, 0.5, 1]
  const size: Vec3 = [56, 48, 24]
  const centre = [12, 12, 12]
  const sphere = (shift: number) => (i: number, j: number, k: number) =>
    (i * spacing[0] - centre[0] - shift) ** 2 + (j * spacing[1] - centre[1]) ** 2 + (k * spacing[2] - centre[2]) ** 2 <= R * R
  const metrics = evaluateStructure(maskVolume(size, spacing, sphere(0)), maskVolume(size, spacing, sphere(d)))

  // Two spheres of equal radius overlap in π (4R + d)(2R - d)² / 12, so Dice = that / (4/3 π R³).
  const expectedDice = ((4 * R + d) * (2 * R - d) ** 2) / 12 / ((4 / 3) * R ** 3)
  assert.ok(Math.abs(metrics.dice - expectedDice) < 0.01, `Dice ${metrics.dice} vs ${expectedDice}`)
  // Hausdorff distance of the continuous spheres is d; voxelisation moves it by under a voxel diagonal.
  assert.ok(Math.abs(metrics.hausdorffDistanceMm - d) < 0.8, `HD ${metrics.hausdorffDistanceMm}`)
  // Mean distance from one sphere to the other: (1/2) ∫ |√(R² + d² - 2 R d u) - R| du over u in [-1, 1].
  let integral = 0
  const steps = 100000
  for (let s = 0; s < steps; s++) {
    const u = -1 + (2 * (s + 0.5)) / steps
    integral += Math.abs(Math.sqrt(R * R + d * d - 2 * R * d * u) - R) * (2 / steps)
  }
  const expectedMean = integral / 2
  assert.ok(Math.abs(metrics.meanSurfaceDistanceMm - expectedMean) < 0.25, `MSD ${metrics.meanSurfaceDistanceMm} vs ${expectedMean}`)
})

test('empty prediction', () => {
  const empty = maskVolume([8, 8, 8], [1, 1, 1], () => false)
  const reference = maskVolume([8, 8, 8], [1, 1, 1], (i, j, k) => inRange(i, 2, 5) && inRange(j, 2, 5) && inRange(k, 2, 5))
  const metrics = evaluateStructure(empty, reference)
  assert.equal(metrics.dice, 0)
  assert.equal(metrics.falseNegativeRate, 1)
  assert.ok(Number.isNaN(metrics.hausdorffDistanceMm))
  assert.equal(metrics.relativeVolumeDifferencePercent, -100)
})

test('empty reference', () => {
  const empty = maskVolume([8, 8, 8], [1, 1, 1], () => false)
  const prediction = maskVolume([8, 8, 8], [1, 1, 1], (i, j, k) => inRange(i, 2, 5) && inRange(j, 2, 5) && inRange(k, 2, 5))
  const metrics = evaluateStructure(prediction, empty)
  assert.equal(metrics.dice, 0)
  assert.equal(metrics.falsePositiveRate, 27 / 512)
  assert.ok(Number.isNaN(metrics.meanSurfaceDistanceMm))
  assert.ok(Number.isNaN(metrics.relativeVolumeDifferencePercent))
})

test('both masks empty', () => {
  const empty = maskVolume([8, 8, 8], [1, 1, 1], () => false)
  const metrics = evaluateStructure(empty, empty)
  assert.equal(metrics.dice, 1)
  assert.equal(metrics.jaccard, 1)
  assert.equal(metrics.hausdorffDistanceMm, 0)
  assert.equal(metrics.relativeVolumeDifferencePercent, 0)
})

test('label selection in multi-label masks', () => {
  // Label 1 = right lung, 2 = left lung: by default both count, with label 2 only the left.
  const labels = maskVolume([6, 6, 6], [1, 1, 1], () => false)
  labels.data[0] = 1
  labels.data[1] = 2
  const metricsAll = evaluateStructure(labels, labels)
  assert.equal(metricsAll.predictedVolumeMl, 0.002)
  const metricsLeft = evaluateStructure(labels, labels, { label: 2 })
  assert.equal(metricsLeft.predictedVolumeMl, 0.001)
})
