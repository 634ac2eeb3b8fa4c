import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { confusionCounts, overlapMetrics } from '../../src/metrics/overlap.js'
import { DEFAULT_LESION_MODEL, DEFAULT_LUNG_MODEL, loadSegmentationModel } from '../../src/pipeline/models.js'
import { segmentCt, type SegmentOptions } from '../../src/pipeline/segment.js'
import { simulateLesions } from '../../src/sim/lesions.js'
import type { Volume } from '../../src/volume/volume.js'
import { requireSharedData } from '../support/data.js'

// The models in models/ on the CIP scan, a patient never used to train them, against its
// reference whole-lung mask (Chest Imaging Platform test data).

/** Reads the CIP scan and its reference lung mask, loads the shipped models and runs `check`. */
async function withCipScanAndModels(
  t: TestContext,
  check: (ct: Volume, referenceLung: Volume, models: Pick<SegmentOptions, 'lungModel' | 'lesionModel'>) => Promise<void>,
): Promise<void> {
  const ctPath = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const referencePath = requireSharedData(t, 'ct/cip/wholeLung-64.nrrd')
  if (ctPath === undefined || referencePath === undefined) return

  const lungModel = await loadSegmentationModel(DEFAULT_LUNG_MODEL, 'lung')
  const lesionModel = await loadSegmentationModel(DEFAULT_LESION_MODEL, 'lesion')
  try {
    assert.equal(lungModel.trained, true, 'models/lung.onnx is trained')
    assert.equal(lesionModel.trained, true, 'models/lesion.onnx is trained')
    assert.equal(lesionModel.threshold, 0.6, 'models/lesion.onnx stores the threshold of its model card')
    await check((await readVolume(ctPath)).volume, (await readVolume(referencePath)).volume, { lungModel, lesionModel })
  } finally {
    await lungModel.dispose()
    await lesionModel.dispose()
  }
}

function dice(prediction: Uint8Array, reference: ArrayLike<number>): number {
  return overlapMetrics(confusionCounts(prediction, Uint8Array.from(reference))).dice
}

test('shipped models find the CIP lungs', (t) =>
  withCipScanAndModels(t, async (ct, referenceLung, models) => {
    const result = await segmentCt(ct, models)
    const lung = dice(result.lung.data, referenceLung.data)
    assert.ok(lung >= LUNG_DICE_BOUND, `lung Dice ${lung.toFixed(4)} against the CIP reference`)
    // The CIP patient has no pneumonia: lesion voxels are false positives.
    let lesionVoxels = 0
    for (const value of result.lesion.data) lesionVoxels += value
    const lesionMl = (lesionVoxels * ct.spacingMm[0] * ct.spacingMm[1] * ct.spacingMm[2]) / 1000
    assert.ok(lesionMl <= LESION_FALSE_POSITIVE_BOUND_ML, `lesion volume ${lesionMl.toFixed(1)} mL in a lung without pneumonia`)
  }))

test('shipped models find simulated pneumonia', (t) =>
  withCipScanAndModels(t, async (ct, referenceLung, models) => {
    // The held-out case of scripts/check-models.sh with 35 % of the lung affected.
    const simulated = simulateLesions(ct, referenceLung, { targetPercent: 35, seed: 41 })
    const result = await segmentCt(simulated.ct, models)
    const lesion = dice(result.lesion.data, simulated.lesion.data)
    assert.ok(lesion >= LESION_DICE_BOUND, `lesion Dice ${lesion.toFixed(4)} on 35 % simulated pneumonia`)
    const lung = dice(result.lung.data, referenceLung.data)
    assert.ok(lung >= LUNG_WITH_LESIONS_DICE_BOUND, `lung Dice ${lung.toFixed(4)} with 35 % simulated pneumonia`)
  }))

/**
 * Bounds near the shipped models' measured values, so a worse model fails. Measured (models/lung.md
 * and lesion.md): lung Dice 0.979 and 16.9 mL of lesion on the CIP scan, and with 35 % simulated
 * pneumonia, lesion Dice 0.847 and lung Dice 0.960. The same lesion network without mirror
 * averaging found 18.8 mL on the CIP scan at threshold 0.7 and 41.9 mL at 0.8 with no minimum
 * lesion region, and the models before it 66.3, 68 and 86.5 mL.
 */
const LUNG_DICE_BOUND = 0.97
const LESION_FALSE_POSITIVE_BOUND_ML = 25
const LESION_DICE_BOUND = 0.8
const LUNG_WITH_LESIONS_DICE_BOUND = 0.95
