import type { Volume } from '../volume/volume.js'
import { binarizeLabels, countForeground } from './mask.js'
import { confusionCounts, countToMl, overlapMetrics, type OverlapMetrics } from './overlap.js'
import { computeRadiomics, type RadiomicsOptions } from './radiomics/radiomics.js'
import { computeSurfaceDistances, type SurfaceDistanceMetrics } from './surface-distance.js'

/** Metrics of one structure (lung or lesion) of one case, prediction P against reference G. */
export interface StructureMetrics extends OverlapMetrics, SurfaceDistanceMetrics {
  predictedVolumeMl: number
  referenceVolumeMl: number
  /** (V_P - V_G) / V_G · 100; NaN when the reference is empty. */
  relativeVolumeDifferencePercent: number
  absoluteRelativeVolumeDifferencePercent: number
  /** Mean CT value inside each mask (HU), present when a CT is given; NaN for an empty mask. */
  predictedMeanHu?: number
  referenceMeanHu?: number
  /** HU_P - HU_G in HU. */
  meanHuDifference?: number
  /**
   * (HU_P - HU_G) / |HU_G| · 100, see relativeDifferencePercent; NaN when |HU_G| is below
   * HU_RELATIVE_ERROR_MIN_REFERENCE.
   */
  relativeMeanHuDifferencePercent?: number
  absoluteRelativeMeanHuDifferencePercent?: number
  /**
   * PyRadiomics features of both masks, their difference f_P - f_G in the feature's unit and their
   * relative error (%), present when a CT is given and both masks hold voxels. The relative error of
   * a feature in HU_LEVEL_FEATURES is NaN when |f_G| is below HU_RELATIVE_ERROR_MIN_REFERENCE.
   */
  radiomics?: {
    prediction: Record<string, number>
    reference: Record<string, number>
    difference: Record<string, number>
    relativeErrorPercent: Record<string, number>
  }
}

export interface StructureOptions {
  /** CT on the reference grid, for mean HU and radiomics. */
  ct?: Volume
  /** Label selecting the structure in both masks; by default any non-zero voxel. */
  label?: number
  /** Compute radiomic features (needs `ct`). Default true. */
  radiomics?: boolean
  radiomicsOptions?: RadiomicsOptions
}

/**
 * Smallest |reference| in HU at which colinet gives the relative error of a value in HU. The zero
 * of the HU scale (water) is arbitrary, so near it a relative error measures the distance from
 * water more than the error: a 10 HU difference is 10 % against -100 HU but 1000 % against 1 HU.
 * At 100 HU and above the relative error stays at most numerically equal to the difference in HU.
 */
export const HU_RELATIVE_ERROR_MIN_REFERENCE = 100

/**
 * First-order features that are grey levels of the image, so in HU for a CT. Features that are
 * spreads (Range, Variance, ...) or counts have a true zero and are not in this set.
 */
export const HU_LEVEL_FEATURES: ReadonlySet<string> = new Set(
  ['Minimum', '10Percentile', '90Percentile', 'Maximum', 'Mean', 'Median'].map((name) => `original_firstorder_${name}`),
)

/**
 * Relative difference of a prediction p against a reference g in %: (p - g) / |g| · 100. The
 * absolute value of g keeps the sign meaning "prediction higher" for negative quantities such as
 * the mean HU of lung. It is NaN (undefined) when |g| < minAbsoluteReference, which callers set
 * for values whose zero is arbitrary. Otherwise it is NaN when g is 0 and p is not, and 0 when
 * both are 0.
 */
export function relativeDifferencePercent(predicted: number, reference: number, minAbsoluteReference = 0): number {
  if (Math.abs(reference) < minAbsoluteReference) return NaN
  if (reference === 0) return predicted === 0 ? 0 : NaN
  return ((predicted - reference) / Math.abs(reference)) * 100
}

/**
 * Evaluates one structure: overlap, surface distances, volumes and, with a CT, mean HU and
 * radiomics. Both masks and the CT must share one geometry (the caller checks or resamples).
 */
export function evaluateStructure(prediction: Volume, reference: Volume, options: StructureOptions = {}): StructureMetrics {
  const predicted = binarizeLabels(prediction, options.label)
  const expected = binarizeLabels(reference, options.label)
  const { size, spacingMm } = expected

  const overlap = overlapMetrics(confusionCounts(predicted.data, expected.data))
  const surface = computeSurfaceDistances(predicted.data, expected.data, size, spacingMm)
  const predictedCount = countForeground(predicted.data)
  const referenceCount = countForeground(expected.data)
  const relativeVolume = relativeDifferencePercent(predictedCount, referenceCount)
  const metrics: StructureMetrics = {
    ...overlap,
    ...surface,
    predictedVolumeMl: countToMl(predictedCount, spacingMm),
    referenceVolumeMl: countToMl(referenceCount, spacingMm),
    relativeVolumeDifferencePercent: relativeVolume,
    absoluteRelativeVolumeDifferencePercent: Math.abs(relativeVolume),
  }
  if (options.ct === undefined) return metrics

  const predictedMeanHu = meanInside(options.ct, predicted.data)
  const referenceMeanHu = meanInside(options.ct, expected.data)
  const huDifference = relativeDifferencePercent(predictedMeanHu, referenceMeanHu, HU_RELATIVE_ERROR_MIN_REFERENCE)
  metrics.predictedMeanHu = predictedMeanHu
  metrics.referenceMeanHu = referenceMeanHu
  metrics.meanHuDifference = predictedMeanHu - referenceMeanHu
  metrics.relativeMeanHuDifferencePercent = huDifference
  metrics.absoluteRelativeMeanHuDifferencePercent = Math.abs(huDifference)

  if (options.radiomics !== false && predictedCount > 0 && referenceCount > 0) {
    metrics.radiomics = compareRadiomics(options.ct, predicted, expected, options.radiomicsOptions ?? {})
  }
  return metrics
}

/** Computes the radiomic features of both masks (label 1) and their difference and relative error. */
function compareRadiomics(ct: Volume, predicted: Volume, expected: Volume, options: RadiomicsOptions): NonNullable<StructureMetrics['radiomics']> {
  const radiomicsOptions = { ...options, label: 1 }
  const prediction = computeRadiomics(ct, { ...predicted }, radiomicsOptions)
  const reference = computeRadiomics(ct, { ...expected }, radiomicsOptions)
  // Normalised grey levels are z-scores, not HU, so the HU limit does not apply to them.
  // NOTE: their zero (the image mean) is as arbitrary as 0 HU, and their relative error is as unstable near it.
  const levelMinReference = options.normalize === true ? 0 : HU_RELATIVE_ERROR_MIN_REFERENCE

  const difference: Record<string, number> = {}
  const relativeErrorPercent: Record<string, number> = {}
  for (const name of Object.keys(reference)) {
    difference[name] = prediction[name] - reference[name]
    const minAbsoluteReference = HU_LEVEL_FEATURES.has(name) ? levelMinReference : 0
    relativeErrorPercent[name] = relativeDifferencePercent(prediction[name], reference[name], minAbsoluteReference)
  }
  return { prediction, reference, difference, relativeErrorPercent }
}

function meanInside(ct: Volume, mask: Uint8Array): number {
  let total = 0
  let count = 0
  for (let n = 0; n < mask.length; n++) {
    if (mask[n] !== 0) {
      total += ct.data[n]
      count++
    }
  }
  return count === 0 ? NaN : total / count
}

/** Lesion-to-lung volume ratio of prediction and reference and its error, a measure of % infection. */
export interface LesionLungRatioMetrics {
  predictedRatio: number
  referenceRatio: number
  relativeErrorPercent: number
  absoluteRelativeErrorPercent: number
}

export function lesionLungRatio(lung: StructureMetrics, lesion: StructureMetrics): LesionLungRatioMetrics {
  const predictedRatio = lung.predictedVolumeMl === 0 ? NaN : lesion.predictedVolumeMl / lung.predictedVolumeMl
  const referenceRatio = lung.referenceVolumeMl === 0 ? NaN : lesion.referenceVolumeMl / lung.referenceVolumeMl
  const relativeError = relativeDifferencePercent(predictedRatio, referenceRatio)
  return { predictedRatio, referenceRatio, relativeErrorPercent: relativeError, absoluteRelativeErrorPercent: Math.abs(relativeError) }
}

/** Metrics of one case of a cohort: lung, lesion, or both, and the lesion/lung ratio when both are given. */
export interface CaseMetrics {
  lung?: StructureMetrics
  lesion?: StructureMetrics
  lesionLungRatio?: LesionLungRatioMetrics
}

/**
 * Flattens case metrics into one row of named numbers for tables and statistics, e.g.
 * `lung.dice`, `lesion.hausdorff95Mm`, `lesion.radiomics.original_shape_MeshVolume.relativeErrorPercent`.
 * Feature values themselves are left out. Every feature enters with its relative error, and the
 * features in HU_LEVEL_FEATURES also with their difference in HU
 * (`lesion.radiomics.original_firstorder_Maximum.difference`), because their relative error is
 * undefined near 0 HU.
 */
export function flattenCaseMetrics(metrics: CaseMetrics): Record<string, number> {
  const row: Record<string, number> = {}
  for (const structure of ['lung', 'lesion'] as const) {
    const values = metrics[structure]
    if (values === undefined) continue
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === 'number') row[`${structure}.${name}`] = value
    }
    if (values.radiomics !== undefined) {
      for (const [name, value] of Object.entries(values.radiomics.relativeErrorPercent)) {
        row[`${structure}.radiomics.${name}.relativeErrorPercent`] = value
        if (HU_LEVEL_FEATURES.has(name)) row[`${structure}.radiomics.${name}.difference`] = values.radiomics.difference[name]
      }
    }
  }
  if (metrics.lesionLungRatio !== undefined) {
    for (const [name, value] of Object.entries(metrics.lesionLungRatio)) row[`lesionLungRatio.${name}`] = value
  }
  return row
}
