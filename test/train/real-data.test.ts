import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { planReorientation, toCanonical } from '../../src/pipeline/orientation.js'
import { COLINET_INPUT } from '../../src/pipeline/preprocess.js'
import { findRepeatedScans, loadCase } from '../../src/train/dataset.js'
import { runLabelRule } from '../../src/train/labels.js'
import { requireSharedData } from '../support/data.js'

test('CIP chest case on the network grid', async (t) => {
  const image = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const label = requireSharedData(t, 'ct/cip/wholeLung-64.nrrd')
  if (image === undefined || label === undefined) return

  const row = { row: 2, image, label, patient: 'cip', centre: 'CIP' }
  const loaded = await loadCase(row, { task: 'lung', classCount: 2, spec: COLINET_INPUT, defaultRule: runLabelRule('lung', 2, undefined) })

  // Reference from the mask file itself: slices holding lung, and lung volume in mm³.
  const mask = (await readVolume(label)).volume
  const canonicalMask = toCanonical(mask, planReorientation(mask.direction))
  const [nx, ny, nz] = canonicalMask.size
  let referenceSlices = 0
  let referenceVoxels = 0
  for (let k = 0; k < nz; k++) {
    let count = 0
    for (let p = k * nx * ny; p < (k + 1) * nx * ny; p++) if (canonicalMask.data[p] !== 0) count++
    if (count > 0) referenceSlices++
    referenceVoxels += count
  }
  const [sx, sy, sz] = canonicalMask.spacingMm
  const referenceVolumeMm3 = referenceVoxels * sx * sy * sz

  let targetSlices = 0
  for (const flag of loaded.hasTarget) targetSlices += flag
  assert.equal(loaded.sliceCount, nz)
  assert.equal(targetSlices, referenceSlices)

  // Each grid pixel covers stepX·sx by stepY·sy mm; nearest-neighbour resampling keeps the volume within 3 %.
  const pixelAreaMm2 = loaded.frame.stepX * sx * loaded.frame.stepY * sy
  let gridPixels = 0
  let lungValueSum = 0
  for (let p = 0; p < loaded.labels.length; p++) {
    if (loaded.labels[p] === 0) continue
    gridPixels++
    lungValueSum += loaded.images[p]!
  }
  const gridVolumeMm3 = gridPixels * pixelAreaMm2 * sz
  assert.ok(Math.abs(gridVolumeMm3 / referenceVolumeMm3 - 1) < 0.03, `lung volume ${gridVolumeMm3} vs ${referenceVolumeMm3} mm³`)

  // Image and label stay aligned: labelled pixels are aerated lung, below -600 HU on average.
  const meanLungHu = (lungValueSum / gridPixels) * 1000
  assert.ok(meanLungHu < -600, `mean HU inside the lung label ${meanLungHu}`)
})

test('CIP NRRD and DICOM copy are one scan', async (t) => {
  const nrrd = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const dicom = requireSharedData(t, 'ct/cip/ct-64-dicom')
  const label = requireSharedData(t, 'ct/cip/wholeLung-64.nrrd')
  if (nrrd === undefined || dicom === undefined || label === undefined) return

  const options = { task: 'lung' as const, classCount: 2, spec: COLINET_INPUT, defaultRule: runLabelRule('lung', 2, undefined) }
  const fromNrrd = await loadCase({ row: 2, image: nrrd, label, patient: 'cip', centre: 'CIP' }, options)
  const fromDicom = await loadCase({ row: 3, image: dicom, label, patient: 'cip-dicom', centre: 'CIP' }, options)
  const pairs = findRepeatedScans([fromNrrd, fromDicom])
  assert.equal(pairs.length, 1)
  assert.deepEqual(pairs[0]!.map((found) => found.row.row), [2, 3])
})
