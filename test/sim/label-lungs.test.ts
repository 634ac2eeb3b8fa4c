import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { runLabelLungsCommand } from '../../src/cli/label-lungs.js'
import { InputError } from '../../src/errors.js'
import { readVolume } from '../../src/io/read.js'
import { writeVolume } from '../../src/io/write.js'
import { labelLungs } from '../../src/sim/label-lungs.js'
import { createChestPhantom, Tissue } from '../../src/sim/phantom.js'
import { indexToPhysical, type Vec3, type Volume } from '../../src/volume/volume.js'
import { requireSharedData } from '../support/data.js'

/** Dice of two label arrays for one label value (any nonzero value when `label` is omitted). */
function dice(prediction: ArrayLike<number>, reference: ArrayLike<number>, label?: number): number {
  let intersection = 0
  let total = 0
  for (let v = 0; v < prediction.length; v++) {
    const inPrediction = label === undefined ? prediction[v] !== 0 : prediction[v] === label
    const inReference = label === undefined ? reference[v] !== 0 : reference[v] === label
    if (inPrediction && inReference) intersection++
    total += Number(inPrediction) + Number(inReference)
  }
  return total === 0 ? 1 : (2 * intersection) / total
}

/** Mirrors a volume along index axis 0 and adjusts origin and direction so it shows the same patient. */
function flipAxis0<T extends Volume>(volume: T): T {
  const [nx, ny, nz] = volume.size
  const data = volume.data.slice() as T['data']
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) data[nx - 1 - i + nx * (j + ny * k)] = volume.data[i + nx * (j + ny * k)]
    }
  }
  const direction = Float64Array.from(volume.direction)
  for (const row of [0, 1, 2]) direction[3 * row] = -direction[3 * row]
  return { ...volume, data, origin: indexToPhysical(volume, [nx - 1, 0, 0]), direction }
}

/** Swaps index axes 0 and 2 (so slices run across axis 0) and keeps the physical placement. */
function swapAxes02<T extends Volume>(volume: T): T {
  const [nx, ny, nz] = volume.size
  const data = volume.data.slice() as T['data']
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) data[k + nz * (j + ny * i)] = volume.data[i + nx * (j + ny * k)]
    }
  }
  const d = volume.direction
  const direction = Float64Array.from([d[2], d[1], d[0], d[5], d[4], d[3], d[8], d[7], d[6]])
  const size: Vec3 = [nz, ny, nx]
  const spacingMm: Vec3 = [volume.spacingMm[2], volume.spacingMm[1], volume.spacingMm[0]]
  return { ...volume, data, size, spacingMm, direction }
}

const phantom = createChestPhantom({ size: [128, 128, 64], seed: 3 })
const phantomResult = labelLungs(phantom.ct)

test('labelLungs phantom Dice', () => {
  assert.ok(dice(phantomResult.lung.data, phantom.lung.data) >= 0.95, `whole-lung Dice ${dice(phantomResult.lung.data, phantom.lung.data)}`)
  assert.ok(dice(phantomResult.lung.data, phantom.lung.data, 1) >= 0.95, `right-lung Dice ${dice(phantomResult.lung.data, phantom.lung.data, 1)}`)
  assert.ok(dice(phantomResult.lung.data, phantom.lung.data, 2) >= 0.95, `left-lung Dice ${dice(phantomResult.lung.data, phantom.lung.data, 2)}`)
})

test('labelLungs phantom excludes trachea', () => {
  let airway = 0
  let labelled = 0
  phantom.tissue.data.forEach((tissue, v) => {
    if (tissue !== Tissue.airway) return
    airway++
    if (phantomResult.lung.data[v] !== 0) labelled++
  })
  assert.ok(airway > 100)
  // A few voxels of the main bronchi where they enter the lungs may stay; the trachea must not.
  assert.ok(labelled / airway < 0.05, `${labelled} of ${airway} airway voxels labelled lung`)
})

test('labelLungs phantom geometry kept', () => {
  assert.deepEqual(phantomResult.lung.size, phantom.ct.size)
  assert.deepEqual(phantomResult.lung.origin, phantom.ct.origin)
  assert.deepEqual(phantomResult.lung.spacingMm, phantom.ct.spacingMm)
  assert.deepEqual(Array.from(phantomResult.lung.direction), Array.from(phantom.ct.direction))
})

test('labelLungs flipped left-right axis', () => {
  // Index axis 0 now runs toward the patient's right; label 1 must still be the right lung.
  const flipped = labelLungs(flipAxis0(phantom.ct))
  const back = flipAxis0(flipped.lung)
  assert.ok(dice(back.data, phantom.lung.data, 1) >= 0.95, `right-lung Dice ${dice(back.data, phantom.lung.data, 1)}`)
  assert.ok(dice(back.data, phantom.lung.data, 2) >= 0.95, `left-lung Dice ${dice(back.data, phantom.lung.data, 2)}`)
})

test('labelLungs slices across axis 0', () => {
  const swapped = labelLungs(swapAxes02(phantom.ct))
  const back = swapAxes02(swapped.lung)
  assert.ok(dice(back.data, phantom.lung.data, 1) >= 0.95, `right-lung Dice ${dice(back.data, phantom.lung.data, 1)}`)
  assert.ok(dice(back.data, phantom.lung.data, 2) >= 0.95, `left-lung Dice ${dice(back.data, phantom.lung.data, 2)}`)
})

test('labelLungs CT without lung', () => {
  const ct = createChestPhantom({ size: [32, 32, 16], lesions: false }).ct
  ct.data.fill(40)
  const result = labelLungs(ct)
  assert.equal(result.lung.data.reduce((sum, value) => sum + value, 0), 0)
  assert.ok(result.warnings.some((warning) => warning.includes('no lung found')), result.warnings.join('; '))
})

test('labelLungs CIP ct-64 against reference', async (t) => {
  const ctPath = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const referencePath = requireSharedData(t, 'ct/cip/wholeLung-64.nrrd')
  if (ctPath === undefined || referencePath === undefined) return
  const ct = (await readVolume(ctPath)).volume
  const reference = (await readVolume(referencePath)).volume
  const result = labelLungs(ct)
  // Measured 0.982 with the default settings (bench/label-lungs.ts).
  assert.ok(dice(result.lung.data, reference.data) >= 0.97, `whole-lung Dice ${dice(result.lung.data, reference.data)}`)
})

test('labelLungs A0002 includes the tumour', async (t) => {
  const ctPath = requireSharedData(t, 'ct/lung-pet-ct-dx/A0002-8mm-B70f')
  if (ctPath === undefined) return
  const ct = (await readVolume(ctPath)).volume
  const result = labelLungs(ct)
  // Points inside the right lower-lobe mass, read off axial slices 13 to 15 in a viewer (columns
  // from the patient's right, rows from anterior). The mass touches the mediastinum, so before
  // the mass inclusion step the right lung label went around it.
  const [nx, ny] = ct.size
  for (const [column, row, slice] of [[165, 300, 13], [160, 310, 13], [170, 295, 14], [175, 300, 15]]) {
    const voxel = column + nx * (row + ny * slice)
    assert.ok(Number(ct.data[voxel]) > -150, `HU ${Number(ct.data[voxel])} at ${column}, ${row}, ${slice} is not solid tissue`)
    assert.equal(result.lung.data[voxel], 1, `label at ${column}, ${row}, ${slice}`)
  }
  assert.ok(result.warnings.some((warning) => warning.includes('solid tissue that the lung surrounds')), result.warnings.join('; '))
})

/** Runs `check` with a temporary folder holding a phantom chest CT (ct.nii.gz, 64 x 64 x 32), then removes the folder. */
async function withPhantomInput(check: (folder: string, input: string) => Promise<void>): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-label-lungs-'))
  try {
    const input = join(folder, 'ct.nii.gz')
    await writeVolume(input, createChestPhantom({ size: [64, 64, 32] }).ct)
    await check(folder, input)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

test('label-lungs command writes a label', () =>
  withPhantomInput(async (folder, input) => {
    const output = join(folder, 'lung.nii.gz')
    const overlay = join(folder, 'lung.png')
    assert.equal(await runLabelLungsCommand([input, '-o', output, '--overlay', overlay]), 0)
    const written = (await readVolume(output)).volume
    assert.deepEqual(written.size, [64, 64, 32])
    assert.ok(written.data.some((value) => value === 1))
    assert.ok(written.data.some((value) => value === 2))
    assert.ok(existsSync(overlay))
  }))

test('label-lungs command creates output folders', () =>
  withPhantomInput(async (folder, input) => {
    const output = join(folder, 'labels', 'new', 'lung.nii.gz')
    const overlay = join(folder, 'overlays', 'lung.png')
    assert.equal(await runLabelLungsCommand([input, '-o', output, '--overlay', overlay]), 0)
    assert.ok(existsSync(output))
    assert.ok(existsSync(overlay))
  }))

test('label-lungs command rejects a file as folder', () =>
  withPhantomInput(async (folder, input) => {
    const blocker = join(folder, 'notes.txt')
    writeFileSync(blocker, 'a file where a folder is expected')
    const output = join(folder, 'lung.nii.gz')
    await assert.rejects(runLabelLungsCommand([input, '-o', join(blocker, 'lung.nii.gz')]), /notes\.txt is a file, not a folder/)
    await assert.rejects(runLabelLungsCommand([input, '-o', output, '--overlay', join(blocker, 'sub', 'lung.png')]), /notes\.txt is a file, not a folder/)
    // The overlay's location is checked before anything is written, so no label is left behind.
    assert.equal(existsSync(output), false)
  }))

test('label-lungs command rejects overwrite', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-label-lungs-'))
  try {
    const output = join(folder, 'lung.nii.gz')
    writeFileSync(output, 'existing')
    await assert.rejects(runLabelLungsCommand([join(folder, 'ct.nii.gz'), '-o', output]), InputError)
    await assert.rejects(runLabelLungsCommand([join(folder, 'ct.nii.gz')]), /needs an output file/)
    await assert.rejects(runLabelLungsCommand([join(folder, 'ct.nii.gz'), '-o', join(folder, 'x.png')]), /expected a .nii.gz/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})
