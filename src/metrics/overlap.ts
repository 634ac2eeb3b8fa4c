import type { Vec3 } from '../volume/volume.js'

/** Voxel counts of a prediction P against a reference G over the whole image. */
export interface ConfusionCounts {
  truePositive: number
  falsePositive: number
  falseNegative: number
  trueNegative: number
}

export function confusionCounts(prediction: Uint8Array, reference: Uint8Array): ConfusionCounts {
  let truePositive = 0
  let falsePositive = 0
  let falseNegative = 0
  for (let n = 0; n < prediction.length; n++) {
    const p = prediction[n]
    const g = reference[n]
    if (p !== 0) {
      if (g !== 0) truePositive++
      else falsePositive++
    } else if (g !== 0) {
      falseNegative++
    }
  }
  const trueNegative = prediction.length - truePositive - falsePositive - falseNegative
  return { truePositive, falsePositive, falseNegative, trueNegative }
}

export interface OverlapMetrics {
  /** Dice = 2 TP / (2 TP + FP + FN); 1 when both masks are empty. */
  dice: number
  /** Jaccard = TP / (TP + FP + FN); 1 when both masks are empty. */
  jaccard: number
  /** False-negative rate FN / (FN + TP); 0 when the reference is empty. */
  falseNegativeRate: number
  /** False-positive rate FP / (TN + FP), with TN counted over the whole image; 0 when the image is all reference. */
  falsePositiveRate: number
}

/**
 * Computes Dice, Jaccard and the false-negative and false-positive rates as the COLI-Net study
 * defines them. TN is every voxel of the image outside both masks, so the false-positive rate
 * of a small lesion in a large CT is small by construction.
 */
export function overlapMetrics(counts: ConfusionCounts): OverlapMetrics {
  const { truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn } = counts
  const union = tp + fp + fn
  return {
    dice: union === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
    jaccard: union === 0 ? 1 : tp / union,
    falseNegativeRate: fn + tp === 0 ? 0 : fn / (fn + tp),
    falsePositiveRate: tn + fp === 0 ? 0 : fp / (tn + fp),
  }
}

/** Volume of a voxel count in mL. */
export function countToMl(count: number, spacingMm: Vec3): number {
  return (count * spacingMm[0] * spacingMm[1] * spacingMm[2]) / 1000
}
