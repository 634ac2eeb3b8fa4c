import { test } from 'node:test'
import assert from 'node:assert/strict'

import { createChestPhantom, Tissue, type ChestPhantom } from '../../src/sim/phantom.js'
import { dilateMask, labelComponents } from '../../src/volume/morphology.js'
import { indexToPhysical } from '../../src/volume/volume.js'

// One default phantom (128 x 128 x 64, seed 1) shared by the read-only checks below.
const phantom = createChestPhantom()

/** HU values of the voxels for which `select(v)` is true. */
function valuesWhere(p: ChestPhantom, select: (v: number) => boolean): number[] {
  const values: number[] = []
  for (let v = 0; v < p.ct.data.length; v++) if (select(v)) values.push(p.ct.data[v])
  return values
}

function huOf(tissue: number): number[] {
  return valuesWhere(phantom, (v) => phantom.tissue.data[v] === tissue)
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]
}

function standardDeviation(values: number[]): number {
  const m = mean(values)
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / values.length)
}

test('phantom default geometry', () => {
  assert.deepEqual(phantom.ct.size, [128, 128, 64])
  assert.deepEqual(Array.from(phantom.ct.direction), [1, 0, 0, 0, 1, 0, 0, 0, 1])
  // 360 mm / 128 voxels in-plane and 300 mm / 64 slices, centred on the origin of LPS.
  assert.ok(Math.abs(phantom.ct.spacingMm[0] - 2.8125) < 1e-9)
  assert.ok(Math.abs(phantom.ct.spacingMm[2] - 4.6875) < 1e-9)
  const centre = indexToPhysical(phantom.ct, [63.5, 63.5, 31.5])
  for (const coordinate of centre) assert.ok(Math.abs(coordinate) < 1e-9)
  assert.deepEqual(phantom.lung.size, phantom.ct.size)
  assert.deepEqual(phantom.lesion.origin, phantom.ct.origin)
})

test('phantom air, fat, soft tissue HU', () => {
  const air = mean(huOf(Tissue.outsideAir))
  assert.ok(air > -1005, `outside air mean ${air}`)
  assert.ok(air < -990, `outside air mean ${air}`)
  const fat = mean(huOf(Tissue.fat))
  assert.ok(fat > -110, `fat mean ${fat}`)
  assert.ok(fat < -90, `fat mean ${fat}`)
  const soft = mean(huOf(Tissue.softTissue))
  assert.ok(soft > 20, `soft tissue mean ${soft}`)
  assert.ok(soft < 60, `soft tissue mean ${soft}`)
})

test('phantom bone HU', () => {
  const bone = huOf(Tissue.bone)
  assert.ok(bone.length > 0)
  assert.ok(percentile(bone, 0.02) >= 400 - 50, `bone 2nd percentile ${percentile(bone, 0.02)}`)
  assert.ok(percentile(bone, 0.98) <= 1000 + 50, `bone 98th percentile ${percentile(bone, 0.98)}`)
})

test('phantom lung parenchyma HU and noise', () => {
  const lung = huOf(Tissue.lung)
  const lungMean = mean(lung)
  assert.ok(lungMean > -870, `lung mean ${lungMean}`)
  assert.ok(lungMean < -830, `lung mean ${lungMean}`)
  // Noise SD 18 HU plus the anterior-posterior gradient of 25 HU per 100 mm.
  const sd = standardDeviation(lung)
  assert.ok(sd > 15, `lung SD ${sd}`)
  assert.ok(sd < 30, `lung SD ${sd}`)
  const vessel = mean(huOf(Tissue.vessel))
  assert.ok(vessel > 20, `vessel mean ${vessel}`)
  assert.ok(vessel < 60, `vessel mean ${vessel}`)
})

test('phantom ground glass HU', () => {
  const groundGlass = huOf(Tissue.groundGlass)
  assert.ok(groundGlass.length > 50, `${groundGlass.length} ground-glass voxels`)
  const m = mean(groundGlass)
  assert.ok(m > -750, `ground-glass mean ${m}`)
  assert.ok(m < -300, `ground-glass mean ${m}`)
  // The range -750..-300 HU, widened by 2 noise SDs.
  assert.ok(percentile(groundGlass, 0.05) >= -790, `5th percentile ${percentile(groundGlass, 0.05)}`)
  assert.ok(percentile(groundGlass, 0.95) <= -260, `95th percentile ${percentile(groundGlass, 0.95)}`)
})

test('phantom consolidation HU', () => {
  const consolidation = huOf(Tissue.consolidation)
  assert.ok(consolidation.length > 50, `${consolidation.length} consolidation voxels`)
  const m = mean(consolidation)
  assert.ok(m > -100, `consolidation mean ${m}`)
  assert.ok(m < 60, `consolidation mean ${m}`)
  assert.ok(percentile(consolidation, 0.05) >= -140, `5th percentile ${percentile(consolidation, 0.05)}`)
  assert.ok(percentile(consolidation, 0.95) <= 100, `95th percentile ${percentile(consolidation, 0.95)}`)
})

test('phantom vessels visible in ground glass', () => {
  const inLesion = (v: number): boolean => phantom.lesion.data[v] === 1
  const vessels = valuesWhere(phantom, (v) => inLesion(v) && phantom.tissue.data[v] === Tissue.vessel)
  const groundGlass = huOf(Tissue.groundGlass)
  assert.ok(vessels.length > 0, 'no vessel voxel inside a lesion')
  assert.ok(mean(vessels) > mean(groundGlass) + 300)
})

test('phantom right lung on patient right', () => {
  const centroidX = [0, 0, 0]
  const counts = [0, 0, 0]
  const [nx, ny] = phantom.lung.size
  phantom.lung.data.forEach((label, v) => {
    if (label === 0) return
    const i = v % nx
    const j = Math.floor(v / nx) % ny
    const k = Math.floor(v / (nx * ny))
    centroidX[label] += indexToPhysical(phantom.lung, [i, j, k])[0]
    counts[label]++
  })
  const right = centroidX[1] / counts[1]
  const left = centroidX[2] / counts[2]
  // LPS +x points to the patient's left.
  assert.ok(right < 0, `right lung centroid x ${right} mm`)
  assert.ok(left > 0, `left lung centroid x ${left} mm`)
  assert.ok(counts[1] > 10000)
  assert.ok(counts[2] > 10000)
})

test('phantom lungs do not touch', () => {
  const right = phantom.lung.data.map((label) => (label === 1 ? 1 : 0))
  const grown = dilateMask(right, phantom.lung.size, 1, { shape: 'box' })
  let touching = 0
  grown.forEach((value, v) => {
    if (value === 1 && phantom.lung.data[v] === 2) touching++
  })
  assert.equal(touching, 0)
})

test('phantom lungs are two components', () => {
  const components = labelComponents(phantom.lung.data, phantom.lung.size, 26)
  const sorted = Array.from(components.voxelCounts).sort((a, b) => b - a)
  const total = sorted.reduce((sum, count) => sum + count, 0)
  assert.ok((sorted[0] + sorted[1]) / total > 0.999, `two largest components cover ${(sorted[0] + sorted[1]) / total}`)
})

test('phantom apex narrower than base', () => {
  const [nx, ny, nz] = phantom.lung.size
  const area = (k: number): number => {
    let count = 0
    for (let p = 0; p < nx * ny; p++) if (phantom.lung.data[p + k * nx * ny] !== 0) count++
    return count
  }
  // The lungs span z = -130..120 mm; z = 100 mm is near the apex, z = -60 mm near the base.
  const slice = (zMm: number): number => Math.round((zMm - phantom.ct.origin[2]) / phantom.ct.spacingMm[2])
  assert.ok(area(slice(100)) > 0)
  assert.ok(area(slice(100)) * 3 < area(slice(-60)), `apex ${area(slice(100))} vs base ${area(slice(-60))}`)
  assert.ok(slice(100) < nz)
})

test('phantom lesions inside lung', () => {
  let lesionVoxels = 0
  let outside = 0
  phantom.lesion.data.forEach((value, v) => {
    if (value === 0) return
    lesionVoxels++
    if (phantom.lung.data[v] === 0) outside++
  })
  assert.ok(lesionVoxels > 100, `${lesionVoxels} lesion voxels`)
  assert.equal(outside, 0)
  assert.equal(phantom.lesions.length, 4)
})

test('phantom lesions are peripheral', () => {
  // Every lesion touches the pleura: some lesion voxel has a face neighbour outside the lung label.
  const [nx, ny] = phantom.lung.size
  const components = labelComponents(phantom.lesion.data, phantom.lesion.size, 26)
  const touchesPleura = new Set<number>()
  phantom.lesion.data.forEach((value, v) => {
    if (value === 0) return
    for (const offset of [1, -1, nx, -nx, nx * ny, -nx * ny]) {
      if (phantom.lung.data[v + offset] === 0) touchesPleura.add(components.labels[v])
    }
  })
  assert.equal(touchesPleura.size, components.count)
})

test('phantom airways outside lung label', () => {
  const airway = valuesWhere(phantom, (v) => phantom.tissue.data[v] === Tissue.airway)
  assert.ok(airway.length > 100, `${airway.length} airway voxels`)
  assert.ok(mean(airway) < -950, `airway mean ${mean(airway)}`)
  let inLung = 0
  phantom.tissue.data.forEach((tissue, v) => {
    if ((tissue === Tissue.airway || tissue === Tissue.airwayWall) && phantom.lung.data[v] !== 0) inLung++
  })
  assert.equal(inLung, 0)
})

test('phantom deterministic per seed', () => {
  const small = { size: [48, 48, 24] as [number, number, number] }
  const first = createChestPhantom({ ...small, seed: 7 })
  const again = createChestPhantom({ ...small, seed: 7 })
  const other = createChestPhantom({ ...small, seed: 8 })
  assert.deepEqual(first.ct.data, again.ct.data)
  assert.deepEqual(first.lesion.data, again.lesion.data)
  assert.notDeepEqual(first.ct.data, other.ct.data)
})

test('phantom without lesions', () => {
  const clean = createChestPhantom({ size: [48, 48, 24], lesions: false })
  assert.equal(clean.lesion.data.reduce((sum, value) => sum + value, 0), 0)
  assert.equal(clean.lesions.length, 0)
})

test('phantom rejects a bad size', () => {
  assert.throws(() => createChestPhantom({ size: [0, 10, 10] }), /size must be 3 positive integers/)
})
