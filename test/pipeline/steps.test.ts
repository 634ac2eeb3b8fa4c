import assert from 'node:assert/strict'
import { test } from 'node:test'
import { frameForBox } from '../../src/pipeline/body-crop.js'
import { cleanLungMask, joinLesionsToLung, LEFT_LUNG, removeSurfaceSlivers, RIGHT_LUNG } from '../../src/pipeline/cleanup.js'
import { checkHounsfieldUnits, enclosedAirFraction } from '../../src/pipeline/input-checks.js'
import { planReorientation } from '../../src/pipeline/orientation.js'
import { normaliseHu, preprocessSlices, probabilitiesToSlice, type SliceFrame } from '../../src/pipeline/preprocess.js'
import { measureLungsAndLesions } from '../../src/report/measurements.js'
import type { Vec3, Volume } from '../../src/volume/volume.js'

const IDENTITY = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1])

function volume<T extends Int16Array | Uint8Array>(data: T, size: Vec3, spacingMm: Vec3 = [1, 1, 1]): Volume<T> {
  return { data, size, spacingMm, origin: [0, 0, 0], direction: IDENTITY }
}

test('normaliseHu clips and scales', () => {
  assert.equal(normaliseHu(-2000), -1.024)
  assert.equal(normaliseHu(-500), -0.5)
  assert.equal(normaliseHu(1000), 0.3)
})

test('preprocessSlices interpolates a ramp', () => {
  // A 4 x 2 slice whose HU rise by 100 per column: -800, -700, -600, -500.
  const ct = volume(Int16Array.from([-800, -700, -600, -500, -800, -700, -600, -500]), [4, 2, 1])
  const frame: SliceFrame = { x0: 0.5, y0: 0, stepX: 1, stepY: 1, width: 3, height: 1 }
  const out = preprocessSlices(ct, frame, [0], { width: 3, height: 1, minHu: -1024, maxHu: 300, scale: 1 / 1000 })
  // Half-way between columns: -750, -650, -550 HU.
  assert.deepEqual(Array.from(out, (value) => Math.round(value * 1000)), [-750, -650, -550])
})

test('preprocessSlices reads outside as air', () => {
  const ct = volume(Int16Array.from([0, 0, 0, 0]), [2, 2, 1])
  const frame: SliceFrame = { x0: -3, y0: 0, stepX: 1, stepY: 1, width: 1, height: 1 }
  const out = preprocessSlices(ct, frame, [0], { width: 1, height: 1, minHu: -1024, maxHu: 300, scale: 1 / 1000 })
  assert.equal(out[0], Math.fround(-1.024))
})

test('frameForBox keeps square pixels in mm', () => {
  // A 200 x 100 pixel body at 0.5 x 1 mm: 100 mm wide and 100 mm deep before the 4 % margins.
  const frame = frameForBox({ xMin: 0, xMax: 199, yMin: 0, yMax: 99 }, [0.5, 1, 1])
  const mmPerPixelX = frame.stepX * 0.5
  const mmPerPixelY = frame.stepY * 1
  assert.ok(Math.abs(mmPerPixelX - mmPerPixelY) < 1e-12)
  // The depth limits: 108 mm over 216 rows is 0.5 mm per network pixel.
  assert.ok(Math.abs(mmPerPixelY - 0.5) < 1e-12)
  // The grid is centred on the box centre (99.5, 49.5).
  assert.ok(Math.abs(frame.x0 + (frame.stepX * 295) / 2 - 99.5) < 1e-9)
  assert.ok(Math.abs(frame.y0 + (frame.stepY * 215) / 2 - 49.5) < 1e-9)
})

test('probabilitiesToSlice thresholds at one half', () => {
  // Network grid 2 x 1 over a 2 x 1 slice, one to one: probabilities 0.4 and 0.6.
  const frame: SliceFrame = { x0: 0, y0: 0, stepX: 1, stepY: 1, width: 2, height: 1 }
  const mask = new Uint8Array(2)
  probabilitiesToSlice(Float32Array.from([0.4, 0.6]), 0, frame, 2, 1, mask, 0)
  assert.deepEqual(Array.from(mask), [0, 1])
})

test('planReorientation maps a flipped permutation', () => {
  // Axis 0 runs along -y, axis 1 along +x, axis 2 along -z.
  const plan = planReorientation(Float64Array.from([0, 1, 0, -1, 0, 0, 0, 0, -1]))
  assert.deepEqual(plan.lpsAxisOf, [1, 0, 2])
  assert.deepEqual(plan.flipped, [true, false, true])
  assert.equal(plan.obliquityDegrees, 0)
  assert.equal(plan.isIdentity, false)
})

test('cleanLungMask labels sides and drops specks', () => {
  // Two 3 x 4 x 2 blocks at x 1..3 and x 8..10, and a one-voxel speck at x 5.
  const size: Vec3 = [12, 6, 2]
  const mask = new Uint8Array(12 * 6 * 2)
  for (let k = 0; k < 2; k++) for (let j = 1; j < 5; j++) for (let i = 0; i < 12; i++) {
    if ((i >= 1 && i <= 3) || (i >= 8 && i <= 10)) mask[i + 12 * (j + 6 * k)] = 1
  }
  mask[5 + 12 * 3] = 1
  const { labels } = cleanLungMask(mask, size, [1, 1, 1])
  assert.equal(labels[2 + 12 * 2], RIGHT_LUNG)
  assert.equal(labels[9 + 12 * 2], LEFT_LUNG)
  assert.equal(labels[5 + 12 * 3], 0)
})

test('cleanLungMask splits touching lungs', () => {
  // One block x 0..9 with a one-row bridge: rows 0..4 at x 0..3 and x 6..9, row 2 joins them.
  const size: Vec3 = [10, 5, 1]
  const mask = new Uint8Array(50)
  for (let j = 0; j < 5; j++) for (let i = 0; i < 10; i++) if (i <= 3 || i >= 6 || j === 2) mask[i + 10 * j] = 1
  // Columns 4 and 5 hold one voxel each, so the split falls before column 4: 4 x 0.8 mm.
  const { labels, warnings } = cleanLungMask(mask, size, [0.8, 1, 2])
  assert.equal(labels[1 + 10 * 0], RIGHT_LUNG)
  assert.equal(labels[8 + 10 * 0], LEFT_LUNG)
  assert.match(warnings[0], /the lungs form one connected region/)
  assert.match(warnings[0], /thinnest, 3\.2 mm from the patient's right edge/)
  // 42 voxels over 10 columns is 4.2 per column, so the one-voxel column is 24 % of a mean column.
  assert.match(warnings[0], /through 24 % of a mean column, with one side 1\.1 times the other$/)
})

test('cleanLungMask warns of uncertain splits only', () => {
  // Two blocks of 10 rows joined by a one-voxel bridge in row 5: the bridge column is 1 voxel
  // against (80 + 2) / 10 = 8.2 per column (12 %), and the sides are 40 and 42 voxels.
  const blocks = (rightColumns: number, leftColumns: number): Uint8Array => {
    const mask = new Uint8Array(100)
    for (let j = 0; j < 10; j++) for (let i = 0; i < 10; i++) if (i < rightColumns || i >= 10 - leftColumns || j === 5) mask[i + 10 * j] = 1
    return mask
  }
  const balanced = cleanLungMask(blocks(4, 4), [10, 10, 1], [1, 1, 1])
  assert.equal(balanced.labels[0], RIGHT_LUNG)
  assert.equal(balanced.labels[9], LEFT_LUNG)
  assert.deepEqual(balanced.warnings, [])

  // Right 2 columns, left 6: the split falls before column 3 (the first bridge column in the
  // middle 40 %), so the right side has 21 voxels and the left 61, 2.9 times as many.
  const unbalanced = cleanLungMask(blocks(2, 6), [10, 10, 1], [1, 1, 1])
  assert.equal(unbalanced.warnings.length, 1)
  assert.match(unbalanced.warnings[0], /through 12 % of a mean column, with one side 2\.9 times the other$/)
})

test('cleanLungMask fills holes per lung only', () => {
  // One 10 x 7 slice. Right lung: ring x 1..3, y 1..3 (hole at 2, 2) and the pixel (4, 2).
  // Left lung: block x 6..8, y 1..5 with a hole at (7, 3), and the pixels (5, 3), (5, 4), (4, 4).
  // The lungs touch only at corners, so they stay two components, and the gap (4, 3) has the
  // right lung above and on its left, the left lung below and on its right.
  const [nx, ny] = [10, 7]
  const mask = new Uint8Array(nx * ny)
  const set = (i: number, j: number): void => {
    mask[i + nx * j] = 1
  }
  for (let j = 1; j <= 3; j++) for (let i = 1; i <= 3; i++) if (!(i === 2 && j === 2)) set(i, j)
  set(4, 2)
  for (let j = 1; j <= 5; j++) for (let i = 6; i <= 8; i++) if (!(i === 7 && j === 3)) set(i, j)
  set(5, 3)
  set(5, 4)
  set(4, 4)
  const { labels, warnings } = cleanLungMask(mask, [nx, ny, 1], [1, 1, 1])
  assert.deepEqual(warnings, [])
  assert.equal(labels[2 + nx * 2], RIGHT_LUNG, 'hole in the right lung')
  assert.equal(labels[7 + nx * 3], LEFT_LUNG, 'hole in the left lung')
  assert.equal(labels[4 + nx * 3], 0, 'gap enclosed by the two lungs together')
})

const NO_SLIVERS = { regions: 0, volumeMl: 0 }

test('joinLesionsToLung keeps lesions touching the lung', () => {
  // One row of 12 voxels. Lung: right x 2..4, left x 8..9. Loose lung: x 1..10.
  // Lesions: x 0..3 (x 0 is outside the loose lung), x 6 (touches no lung), x 9..10.
  const size: Vec3 = [12, 1, 1]
  const lung = Uint8Array.from([0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 0, 0])
  const loose = Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
  const lesion = Uint8Array.from([1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0])
  assert.deepEqual(joinLesionsToLung(lesion, lung, loose, size, [1, 1, 1], 0), { minRegionMl: 0, regions: 0, volumeMl: 0, surfaceSlivers: NO_SLIVERS })
  assert.deepEqual(Array.from(lesion), [0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0])
  assert.deepEqual(Array.from(lung), [0, RIGHT_LUNG, 1, 1, 1, 0, 0, 0, 2, 2, LEFT_LUNG, 0])
})

test('joinLesionsToLung drops small regions', () => {
  // 10 x 10 x 4 grid of 5 x 5 x 10 mm voxels (0.25 mL each), all right lung. Regions: a 2 x 2 x 2
  // cube (8 voxels, 2 mL), a 1 x 3 x 2 bar (6 voxels, 1.5 mL) and a diagonal pair of voxels that
  // is one region only through their shared corner (0.5 mL).
  const size: Vec3 = [10, 10, 4]
  const spacing: Vec3 = [5, 5, 10]
  const at = (x: number, y: number, z: number): number => x + 10 * (y + 10 * z)
  const lesion = new Uint8Array(400)
  for (let z = 0; z < 2; z++) for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) lesion[at(x, y, z)] = 1
  for (let z = 2; z < 4; z++) for (let y = 5; y < 8; y++) lesion[at(6, y, z)] = 1
  lesion[at(9, 0, 0)] = 1
  lesion[at(8, 1, 1)] = 1
  const count = (mask: Uint8Array): number => mask.reduce((sum, v) => sum + v, 0)
  const run = (minRegionMl: number, lung = new Uint8Array(400).fill(RIGHT_LUNG), loose = new Uint8Array(400)) => {
    const lesionAfter = Uint8Array.from(lesion)
    return { removed: joinLesionsToLung(lesionAfter, lung, loose, size, spacing, minRegionMl), lesionAfter, lung }
  }

  const atBar = run(1.5)
  assert.deepEqual(atBar.removed, { minRegionMl: 1.5, regions: 1, volumeMl: 0.5, surfaceSlivers: NO_SLIVERS })
  assert.equal(atBar.lesionAfter[at(9, 0, 0)] + atBar.lesionAfter[at(8, 1, 1)], 0)
  assert.equal(count(atBar.lesionAfter), 14)
  const atCube = run(2)
  assert.deepEqual(atCube.removed, { minRegionMl: 2, regions: 2, volumeMl: 2, surfaceSlivers: NO_SLIVERS })
  assert.equal(count(atCube.lesionAfter), 8)

  // With the cube's top layer outside the lung and the loose lung, only its 4 bottom voxels
  // (1 mL) count, and it goes at 1.5 mL.
  const topOutside = new Uint8Array(400).fill(RIGHT_LUNG)
  for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) topOutside[at(x, y, 1)] = 0
  assert.deepEqual(run(1.5, topOutside).removed, { minRegionMl: 1.5, regions: 2, volumeMl: 1.5, surfaceSlivers: NO_SLIVERS })

  // The top layer in the loose lung instead: the cube keeps its 8 voxels, and they join the lung.
  const looseTop = new Uint8Array(400)
  for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) looseTop[at(x, y, 1)] = 1
  const joined = run(2, Uint8Array.from(topOutside), looseTop)
  assert.deepEqual(joined.removed, { minRegionMl: 2, regions: 2, volumeMl: 2, surfaceSlivers: NO_SLIVERS })
  assert.equal(joined.lung[at(1, 1, 1)], RIGHT_LUNG)

  // The bar outside the lung but in the loose lung touches no lung, so it goes before the
  // minimum is applied and is not counted as removed by it.
  const barOutside = new Uint8Array(400).fill(RIGHT_LUNG)
  const looseBar = new Uint8Array(400)
  for (let z = 2; z < 4; z++) for (let y = 5; y < 8; y++) {
    barOutside[at(6, y, z)] = 0
    looseBar[at(6, y, z)] = 1
  }
  const dropped = run(1, barOutside, looseBar)
  assert.deepEqual(dropped.removed, { minRegionMl: 1, regions: 1, volumeMl: 0.5, surfaceSlivers: NO_SLIVERS })
  assert.equal(count(dropped.lesionAfter), 8)
  assert.equal(dropped.lung[at(6, 6, 3)], 0, 'the dropped bar does not join the lung')
})

test('removeSurfaceSlivers removes one-slice regions on the lung surface', () => {
  // 8 x 8 x 7 grid of 2 x 2 x 5 mm voxels (0.02 mL each). Lung: x 1..6, y 1..6 in slices 1..5.
  // Four regions of 2 x 2 voxels. A lies in slice 1, the lung's bottom slice, with no lung below.
  // B lies in slice 5, the top slice. C lies in slice 3 with lung above and below. D spans slices
  // 4 and 5. A and B go, C and D stay.
  const size: Vec3 = [8, 8, 7]
  const at = (x: number, y: number, z: number): number => x + 8 * (y + 8 * z)
  const lung = new Uint8Array(448)
  for (let z = 1; z <= 5; z++) for (let y = 1; y <= 6; y++) for (let x = 1; x <= 6; x++) lung[at(x, y, z)] = RIGHT_LUNG
  const lesion = new Uint8Array(448)
  const square = (x0: number, y0: number, z: number) => {
    for (let y = y0; y < y0 + 2; y++) for (let x = x0; x < x0 + 2; x++) lesion[at(x, y, z)] = 1
  }
  square(1, 1, 1)
  square(1, 1, 5)
  square(1, 4, 3)
  square(4, 4, 4)
  square(4, 4, 5)

  const removed = removeSurfaceSlivers(lesion, lung, size, [2, 2, 5])
  assert.equal(removed.regions, 2)
  assert.ok(Math.abs(removed.volumeMl - 0.16) < 1e-12, `${removed.volumeMl} mL`)
  assert.equal(lesion[at(1, 1, 1)], 0, 'A')
  assert.equal(lesion[at(2, 2, 5)], 0, 'B')
  assert.equal(lesion[at(1, 4, 3)], 1, 'C')
  assert.equal(lesion[at(4, 4, 5)], 1, 'D')
  assert.equal(lesion.reduce((sum, v) => sum + v, 0), 12)
})

test('removeSurfaceSlivers keeps the edge slices of a scan', () => {
  // The lung fills all 3 slices, so the first and last slices end the scan, not the lung.
  const size: Vec3 = [4, 4, 3]
  const lung = new Uint8Array(48).fill(LEFT_LUNG)
  const lesion = new Uint8Array(48)
  lesion[5] = 1
  lesion[32 + 10] = 1
  assert.deepEqual(removeSurfaceSlivers(lesion, lung, size, [1, 1, 1]), { regions: 0, volumeMl: 0 })
  assert.equal(lesion[5] + lesion[42], 2)
})

test('joinLesionsToLung removes slivers unless every region is kept', () => {
  // Lung in slices 1..2 of a 4 x 4 x 4 grid of 10 mm voxels (1 mL each); a 2-voxel lesion in slice 1.
  const size: Vec3 = [4, 4, 4]
  const lung = new Uint8Array(64)
  for (let v = 16; v < 48; v++) lung[v] = RIGHT_LUNG
  const lesion = new Uint8Array(64)
  lesion[16 + 5] = 1
  lesion[16 + 6] = 1
  const everyRegion = Uint8Array.from(lesion)
  assert.deepEqual(joinLesionsToLung(lesion, Uint8Array.from(lung), new Uint8Array(64), size, [10, 10, 10], 1), { minRegionMl: 1, regions: 0, volumeMl: 0, surfaceSlivers: { regions: 1, volumeMl: 2 } })
  assert.equal(lesion[21] + lesion[22], 0)
  assert.deepEqual(joinLesionsToLung(everyRegion, Uint8Array.from(lung), new Uint8Array(64), size, [10, 10, 10], 0), { minRegionMl: 0, regions: 0, volumeMl: 0, surfaceSlivers: NO_SLIVERS })
  assert.equal(everyRegion[21] + everyRegion[22], 2)
})

test('checkHounsfieldUnits names what it found', () => {
  assert.throws(() => checkHounsfieldUnits(volume(Uint8Array.from([0, 255, 7, 9]), [2, 2, 1])), /got values 0\.\.255 \(an 8-bit image/)
  assert.throws(() => checkHounsfieldUnits(volume(Uint8Array.from([0, 1, 1, 0]), [2, 2, 1])), /got values 0\.\.1 \(a label mask/)
  assert.throws(() => checkHounsfieldUnits(volume(Int16Array.from([0, 4095, 1000, 24]), [2, 2, 1])), /got values 0\.\.4095 with no negative values/)
  assert.throws(() => checkHounsfieldUnits(volume(Int16Array.from([5, 5, 5, 5]), [2, 2, 1])), /got a constant image \(all voxels 5\)/)
  assert.deepEqual(checkHounsfieldUnits(volume(Int16Array.from([-1000, 40, -850, 300]), [2, 2, 1])), [])
})

test('enclosedAirFraction counts air inside the body', () => {
  // 5 x 5 grid: a ring of 16 tissue pixels around 9 air pixels, so 9 of 25 body pixels are enclosed air.
  const slice = new Float32Array(25).fill(0.04)
  for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) slice[5 * y + x] = -0.85
  const frame: SliceFrame = { x0: 0, y0: 0, stepX: 1, stepY: 1, width: 5, height: 5 }
  assert.equal(enclosedAirFraction(slice, frame, 1), 9 / 25)
})

test('measureLungsAndLesions computes mL and percentages', () => {
  // 2 x 2 x 2 mm voxels = 0.008 mL. Right lung 3 voxels (1 lesion), left lung 1 voxel.
  const size: Vec3 = [5, 1, 1]
  const ct = volume(Int16Array.from([-800, -600, -900, 0, -850]), size, [2, 2, 2])
  const lung = volume(Uint8Array.from([1, 1, 1, 0, 2]), size, [2, 2, 2])
  const lesion = volume(Uint8Array.from([0, 1, 0, 0, 0]), size, [2, 2, 2])
  const m = measureLungsAndLesions(ct, lung, lesion)
  assert.ok(Math.abs(m.lungVolumeMl.total - 0.032) < 1e-12)
  assert.ok(Math.abs(m.lungVolumeMl.right - 0.024) < 1e-12)
  assert.ok(Math.abs(m.lesionVolumeMl.total - 0.008) < 1e-12)
  assert.ok(Math.abs(m.percentAffected.right! - 100 / 3) < 1e-9)
  assert.equal(m.percentAffected.left, 0)
  assert.equal(m.lungHu.mean, -787.5)
  // Sample SD of -800, -600, -900, -850 around -787.5: sqrt(51875 / 3).
  assert.ok(Math.abs(m.lungHu.sd! - Math.sqrt(51875 / 3)) < 1e-9)
  assert.equal(m.lesionHu.mean, -600)
})
