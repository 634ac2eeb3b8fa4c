import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { runSimulateLesionsCommand } from '../../src/cli/simulate-lesions.js'
import { InputError } from '../../src/errors.js'
import { readVolume } from '../../src/io/read.js'
import { writeVolume } from '../../src/io/write.js'
import { LesionPattern, simulateLesions } from '../../src/sim/lesions.js'
import { createChestPhantom, Tissue } from '../../src/sim/phantom.js'
import { erodeMask, radiusInVoxels } from '../../src/volume/morphology.js'

// A lesion-free phantom: its tissue map records which voxels were parenchyma, vessel or bronchus.
const phantom = createChestPhantom({ size: [128, 128, 64], lesions: false, seed: 5 })
const simulated = simulateLesions(phantom.ct, phantom.lung, { targetPercent: 20, seed: 9 })

function count(values: ArrayLike<number>, select: (value: number, v: number) => boolean): number {
  let total = 0
  for (let v = 0; v < values.length; v++) if (select(values[v], v)) total++
  return total
}

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]
}

/** HU after simulation of the voxels with a given pattern that were lung parenchyma before. */
function parenchymaHu(pattern: number): number[] {
  const values: number[] = []
  simulated.pattern.data.forEach((value, v) => {
    if (value === pattern && phantom.tissue.data[v] === Tissue.lung) values.push(simulated.ct.data[v])
  })
  return values
}

test('simulateLesions mask inside lung', () => {
  const lesionVoxels = count(simulated.lesion.data, (value) => value === 1)
  const outside = count(simulated.lesion.data, (value, v) => value === 1 && phantom.lung.data[v] === 0)
  assert.ok(lesionVoxels > 1000)
  assert.equal(outside, 0)
})

test('simulateLesions CT unchanged outside lesion', () => {
  const changed = count(simulated.ct.data, (value, v) => simulated.lesion.data[v] === 0 && value !== phantom.ct.data[v])
  assert.equal(changed, 0)
})

test('simulateLesions affected percentage', () => {
  const lungVoxels = count(phantom.lung.data, (value) => value !== 0)
  for (const targetPercent of [2, 20, 60]) {
    const result = simulateLesions(phantom.ct, phantom.lung, { targetPercent, seed: 4 })
    const percent = (100 * count(result.lesion.data, (value) => value === 1)) / lungVoxels
    assert.ok(Math.abs(percent - targetPercent) < 0.5, `target ${targetPercent}%, got ${percent.toFixed(2)}%`)
  }
})

test('simulateLesions ground glass HU', () => {
  const groundGlass = [...parenchymaHu(LesionPattern.groundGlass), ...parenchymaHu(LesionPattern.crazyPaving)]
  assert.ok(groundGlass.length > 500)
  // About -750..-300 HU, widened by 2 SD of the added noise.
  assert.ok(percentile(groundGlass, 0.05) >= -780, `5th percentile ${percentile(groundGlass, 0.05)}`)
  assert.ok(percentile(groundGlass, 0.95) <= -270, `95th percentile ${percentile(groundGlass, 0.95)}`)
})

test('simulateLesions consolidation HU', () => {
  const consolidation = parenchymaHu(LesionPattern.consolidation)
  assert.ok(consolidation.length > 200)
  // About -100..+60 HU, widened by 2 SD of the added noise.
  assert.ok(percentile(consolidation, 0.05) >= -125, `5th percentile ${percentile(consolidation, 0.05)}`)
  assert.ok(percentile(consolidation, 0.95) <= 85, `95th percentile ${percentile(consolidation, 0.95)}`)
})

test('simulateLesions vessels visible in ground glass', () => {
  const vessels: number[] = []
  simulated.pattern.data.forEach((value, v) => {
    if (value === LesionPattern.groundGlass && phantom.tissue.data[v] === Tissue.vessel) vessels.push(simulated.ct.data[v])
  })
  const groundGlass = parenchymaHu(LesionPattern.groundGlass)
  assert.ok(vessels.length > 0, 'no vessel inside ground glass')
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length
  assert.ok(mean(vessels) > mean(groundGlass) + 300, `vessels ${mean(vessels)} HU, ground glass ${mean(groundGlass)} HU`)
})

test('simulateLesions air bronchograms', () => {
  // Bronchi of 5 mm lumen are 3 to 4 pixels wide at 1.4 mm, wide enough to be kept as air.
  const fine = createChestPhantom({ size: [256, 256, 48], lesions: false, seed: 5 })
  const result = simulateLesions(fine.ct, fine.lung, { targetPercent: 60, consolidationFraction: 1, seed: 3 })
  const bronchi: number[] = []
  result.pattern.data.forEach((value, v) => {
    if (value === LesionPattern.consolidation && fine.tissue.data[v] === Tissue.lungAirway) bronchi.push(result.ct.data[v])
  })
  assert.ok(bronchi.length > 20, `${bronchi.length} bronchus voxels inside consolidation`)
  assert.ok(percentile(bronchi, 0.5) < -900, `median bronchus HU ${percentile(bronchi, 0.5)}`)
})

test('simulateLesions bilateral', () => {
  assert.ok(count(simulated.lesion.data, (value, v) => value === 1 && phantom.lung.data[v] === 1) > 100)
  assert.ok(count(simulated.lesion.data, (value, v) => value === 1 && phantom.lung.data[v] === 2) > 100)
})

test('simulateLesions peripheral and basal', () => {
  // Subpleural: within 10 mm of the lung border, i.e. outside the lung eroded by 10 mm.
  const lungMask = phantom.lung.data.map((value) => (value !== 0 ? 1 : 0))
  const core = erodeMask(lungMask, phantom.lung.size, radiusInVoxels(10, phantom.lung.spacingMm))
  const lungVoxels = count(lungMask, (value) => value === 1)
  const lesionVoxels = count(simulated.lesion.data, (value) => value === 1)
  const subpleuralLung = count(lungMask, (value, v) => value === 1 && core[v] === 0) / lungVoxels
  const subpleuralLesion = count(simulated.lesion.data, (value, v) => value === 1 && core[v] === 0) / lesionVoxels
  assert.ok(subpleuralLesion > subpleuralLung + 0.1, `subpleural fraction: lesion ${subpleuralLesion}, lung ${subpleuralLung}`)

  const [nx, ny] = phantom.lung.size
  const meanSlice = (mask: ArrayLike<number>): number => {
    let sum = 0
    let total = 0
    for (let v = 0; v < mask.length; v++) {
      if (mask[v] === 0) continue
      sum += Math.floor(v / (nx * ny))
      total++
    }
    return sum / total
  }
  // Slice index grows toward the head (identity direction), so basal lesions have a lower mean.
  assert.ok(meanSlice(simulated.lesion.data) < meanSlice(lungMask), 'lesions are not lower-lobe predominant')
})

test('simulateLesions deterministic per seed', () => {
  const again = simulateLesions(phantom.ct, phantom.lung, { targetPercent: 20, seed: 9 })
  const other = simulateLesions(phantom.ct, phantom.lung, { targetPercent: 20, seed: 10 })
  assert.deepEqual(again.ct.data, simulated.ct.data)
  assert.deepEqual(again.lesion.data, simulated.lesion.data)
  assert.notDeepEqual(other.lesion.data, simulated.lesion.data)
})

test('simulateLesions rejects bad input', () => {
  const shifted = { ...phantom.lung, origin: [phantom.lung.origin[0] + 5, phantom.lung.origin[1], phantom.lung.origin[2]] as [number, number, number] }
  assert.throws(() => simulateLesions(phantom.ct, shifted), InputError)
  const empty = { ...phantom.lung, data: new Uint8Array(phantom.lung.data.length) }
  assert.throws(() => simulateLesions(phantom.ct, empty), /lung mask is empty/)
  assert.throws(() => simulateLesions(phantom.ct, phantom.lung, { targetPercent: 95 }), /between 0.5 and 90/)
})

test('simulate-lesions command writes CT and mask', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-simulate-lesions-'))
  try {
    const small = createChestPhantom({ size: [64, 64, 32], lesions: false })
    await writeVolume(join(folder, 'ct.nii.gz'), small.ct)
    await writeVolume(join(folder, 'lung.nii.gz'), small.lung)
    const status = await runSimulateLesionsCommand([
      join(folder, 'ct.nii.gz'),
      '--lung',
      join(folder, 'lung.nii.gz'),
      '-o',
      join(folder, 'ct-lesions.nii.gz'),
      '--lesion-output',
      join(folder, 'lesion.nii.gz'),
      '--percent',
      '10',
    ])
    assert.equal(status, 0)
    const lesion = (await readVolume(join(folder, 'lesion.nii.gz'))).volume
    const ct = (await readVolume(join(folder, 'ct-lesions.nii.gz'))).volume
    assert.deepEqual(lesion.size, [64, 64, 32])
    assert.ok(lesion.data.some((value) => value === 1))
    assert.ok(ct.data instanceof Int16Array)
    await assert.rejects(runSimulateLesionsCommand([join(folder, 'ct.nii.gz'), '-o', join(folder, 'x.nii.gz')]), /needs the lung mask/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})
