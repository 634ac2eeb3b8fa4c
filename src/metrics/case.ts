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
  /** (HU_P - HU_G) / |HU_G| · 100, see relativeDifferencePercent. */
  relativeMeanHuDifferencePercent?: number
  absoluteRelativeMeanHuDifferencePercent?: number
  /** PyRadiomics features of both masks and their relative error (%), present when a CT is given and both masks hold voxels. */
  radiomics?: {
    prediction: Record<string, number>
    reference: Record<string, number>
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
 * Relative difference of a prediction p against a reference g in %: (p - g) / |g| · 100. The
 * absolute value of g keeps the sign meaning "prediction higher" for negative quantities such as
 * the mean HU of lung; it is NaN when g is 0 and both are not 0, and 0 when both are 0.
 */
export function relativeDifferencePercent(predicted: number, reference: number): number {
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
  const huDifference = relativeDifferencePercent(predictedMeanHu, referenceMeanHu)
  metrics.predictedMeanHu = predictedMeanHu
  metrics.referenceMeanHu = referenceMeanHu
  metrics.relativeMeanHuDifferencePercent = huDifference
  metrics.absoluteRelativeMeanHuDifferencePercent = Math.abs(huDifference)

  if (options.radiomics !== false && predictedCount > 0 && referenceCount > 0) {
    const radiomicsOptions = { ...options.radiomicsOptions, label: 1 }
    const predictionFeatures = computeRadiomics(options.ct, { ...predicted }, radiomicsOptions)
    const referenceFeatures = computeRadiomics(options.ct, { ...expected }, radiomicsOptions)
    const relativeErrorPercent: Record<string, number> = {}
    for (const name of Object.keys(referenceFeatures)) {
      relativeErrorPercent[name] = relativeDifferencePercent(predictionFeatures[name], referenceFeatures[name])
    }
    metrics.radiomics = { prediction: predictionFeatures, reference: referenceFeatures, relativeErrorPercent }
  }
  return metrics
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
 * Feature values themselves are left out; only their relative errors enter cohort tables.
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
      }
    }
  }
  if (metrics.lesionLungRatio !== undefined) {
    for (const [name, value] of Object.entries(metrics.lesionLungRatio)) row[`lesionLungRatio.${name}`] = value
  }
  return row
}
