import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { writeVolume } from '../../src/io/write.js'
import { describeImplausibleLungVolume } from '../../src/report/measurements.js'
import type { Vec3 } from '../../src/volume/volume.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { runColinet } from '../support/cli.js'
import { createHuBandModel } from '../support/threshold-model.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-lung-volume-'))
after(() => rmSync(folder, { recursive: true, force: true }))

test('lung volume caution bounds', () => {
  assert.match(describeImplausibleLungVolume(20_000) ?? '', /^the lung mask is 20\.00 L, more than 12 L \(twice the total lung capacity of an average adult\): the lung model may not suit this scan/)
  assert.equal(describeImplausibleLungVolume(12_000), undefined)
  assert.equal(describeImplausibleLungVolume(5_000), undefined)
  assert.equal(describeImplausibleLungVolume(500), undefined)
  assert.match(describeImplausibleLungVolume(499) ?? '', /^the lung mask is 499 mL, less than 500 mL: the scan may cover only part of the lungs or be of an infant/)
  assert.equal(describeImplausibleLungVolume(0), undefined)
})

/**
 * Total volume in mL of the two ellipsoidal lungs of createAnalyticChest, 4/3·π·abc each with the
 * semi-axes in voxels that it sets, times the voxel volume.
 */
function analyticLungMl(size: Vec3, spacingMm: Vec3): number {
  const [nx, ny, nz] = size
  const voxels = (4 / 3) * Math.PI * (0.16 * nx * 0.28 * ny * 0.42 * nz + 0.14 * nx * 0.26 * ny * 0.4 * nz)
  return (voxels * spacingMm[0] * spacingMm[1] * spacingMm[2]) / 1000
}

/** Segments the analytic chest with HU-band models, which find its lungs exactly, and returns the run and report warnings. */
async function segmentAnalyticChest(name: string, size: Vec3, spacingMm: Vec3): Promise<{ stderr: string; warnings: string[] }> {
  const chest = createAnalyticChest(size, spacingMm)
  const input = join(folder, `${name}.nii.gz`)
  await writeVolume(input, chest.ct)
  writeFileSync(join(folder, 'lung.onnx'), createHuBandModel(-950, -500, 'lung'))
  writeFileSync(join(folder, 'lesion.onnx'), createHuBandModel(-700, -300, 'lesion'))
  const output = join(folder, name)
  const run = runColinet(['segment', input, '-o', output, '--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')])
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(readFileSync(join(output, 'report.json'), 'utf8')) as { warnings: string[] }
  return { stderr: run.stderr, warnings: report.warnings }
}

test('segment warns of an oversized lung', async () => {
  // 6,013 voxels of lung at 12 x 12 x 20 mm (2.88 mL per voxel) make 17.3 L.
  const size: Vec3 = [64, 56, 12]
  const spacingMm: Vec3 = [12, 12, 20]
  assert.ok(analyticLungMl(size, spacingMm) > 17_000)
  const { stderr, warnings } = await segmentAnalyticChest('oversized', size, spacingMm)
  assert.ok(warnings.some((warning) => /^the lung mask is 1[78]\.\d\d L, more than 12 L/.test(warning)), warnings.join('\n'))
  assert.match(stderr, /warning: the lung mask is 1[78]\.\d\d L, more than 12 L/)
})

test('segment warns of a tiny lung', async () => {
  // 1,610 voxels of lung at 4 x 4 x 6 mm (0.096 mL per voxel) make 0.15 L.
  const size: Vec3 = [48, 40, 6]
  const spacingMm: Vec3 = [4, 4, 6]
  assert.ok(analyticLungMl(size, spacingMm) < 200)
  const { warnings } = await segmentAnalyticChest('tiny', size, spacingMm)
  assert.ok(warnings.some((warning) => /^the lung mask is 1[45]\d mL, less than 500 mL/.test(warning)), warnings.join('\n'))
})

test('segment accepts an adult lung volume', async () => {
  // 6,013 voxels of lung at 8 x 8 x 16 mm (1.024 mL per voxel) make 6.2 L.
  const size: Vec3 = [64, 56, 12]
  const spacingMm: Vec3 = [8, 8, 16]
  assert.ok(Math.abs(analyticLungMl(size, spacingMm) - 6157) < 10)
  const { warnings } = await segmentAnalyticChest('adult', size, spacingMm)
  assert.ok(!warnings.some((warning) => warning.startsWith('the lung mask is')), warnings.join('\n'))
})
