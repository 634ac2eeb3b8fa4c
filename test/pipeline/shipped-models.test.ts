import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { confusionCounts, overlapMetrics } from '../../src/metrics/overlap.js'
import { DEFAULT_LESION_MODEL, DEFAULT_LUNG_MODEL, loadSegmentationModel } from '../../src/pipeline/models.js'
import { segmentCt } from '../../src/pipeline/segment.js'
import { requireSharedData } from '../support/data.js'

// The models in models/ on the CIP scan, a patient never used to train them, against its
// reference whole-lung mask (Chest Imaging Platform test data).

test('shipped models find the CIP lungs', async (t) => {
  const ctPath = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const referencePath = requireSharedData(t, 'ct/cip/wholeLung-64.nrrd')
  if (ctPath === undefined || referencePath === undefined) return

  const lungModel = await loadSegmentationModel(DEFAULT_LUNG_MODEL, 'lung')
  const lesionModel = await loadSegmentationModel(DEFAULT_LESION_MODEL, 'lesion')
  try {
    assert.equal(lungModel.trained, true, 'models/lung.onnx is trained')
    assert.equal(lesionModel.trained, true, 'models/lesion.onnx is trained')
    const ct = (await readVolume(ctPath)).volume
    const reference = (await readVolume(referencePath)).volume
    const result = await segmentCt(ct, { lungModel, lesionModel })

    const lung = overlapMetrics(confusionCounts(result.lung.data, Uint8Array.from(reference.data))).dice
    assert.ok(lung >= LUNG_DICE_BOUND, `lung Dice ${lung.toFixed(4)} against the CIP reference`)
    // The CIP patient has no pneumonia: lesion voxels are false positives.
    let lesionVoxels = 0
    for (const value of result.lesion.data) lesionVoxels += value
    const lesionMl = (lesionVoxels * ct.spacingMm[0] * ct.spacingMm[1] * ct.spacingMm[2]) / 1000
    assert.ok(lesionMl <= LESION_FALSE_POSITIVE_BOUND_ML, `lesion volume ${lesionMl.toFixed(1)} mL in a lung without pneumonia`)
  } finally {
    await lungModel.dispose()
    await lesionModel.dispose()
  }
})

/**
 * Bounds near the shipped models' measured values (lung Dice 0.977, 73 mL of lesion; see
 * models/lung.md and lesion.md), so a worse model fails.
 */
const LUNG_DICE_BOUND = 0.97
const LESION_FALSE_POSITIVE_BOUND_ML = 90
