import type { CsvPrecision } from './csv.js'

/** Readable names and units of the per-structure metrics, for tables and figure axes. */
const STRUCTURE_METRICS: Record<string, { label: string; unit: string }> = {
  dice: { label: 'Dice', unit: '' },
  jaccard: { label: 'Jaccard', unit: '' },
  falseNegativeRate: { label: 'False-negative rate', unit: '' },
  falsePositiveRate: { label: 'False-positive rate', unit: '' },
  meanSurfaceDistanceMm: { label: 'Mean surface distance', unit: 'mm' },
  averageHausdorffDistanceMm: { label: 'Average Hausdorff distance', unit: 'mm' },
  hausdorff95Mm: { label: 'Hausdorff distance 95th percentile', unit: 'mm' },
  hausdorffDistanceMm: { label: 'Hausdorff distance', unit: 'mm' },
  predictedVolumeMl: { label: 'Predicted volume', unit: 'mL' },
  referenceVolumeMl: { label: 'Reference volume', unit: 'mL' },
  relativeVolumeDifferencePercent: { label: 'Relative volume difference', unit: '%' },
  absoluteRelativeVolumeDifferencePercent: { label: 'Absolute relative volume difference', unit: '%' },
  predictedMeanHu: { label: 'Predicted mean', unit: 'HU' },
  referenceMeanHu: { label: 'Reference mean', unit: 'HU' },
  meanHuDifference: { label: 'Mean HU difference', unit: 'HU' },
  relativeMeanHuDifferencePercent: { label: 'Relative mean HU difference', unit: '%' },
  absoluteRelativeMeanHuDifferencePercent: { label: 'Absolute relative mean HU difference', unit: '%' },
}

const RATIO_METRICS: Record<string, { label: string; unit: string }> = {
  predictedRatio: { label: 'Predicted lesion/lung volume ratio', unit: '' },
  referenceRatio: { label: 'Reference lesion/lung volume ratio', unit: '' },
  relativeErrorPercent: { label: 'Lesion/lung ratio relative error', unit: '%' },
  absoluteRelativeErrorPercent: { label: 'Lesion/lung ratio absolute relative error', unit: '%' },
}

/** Metrics drawn as box plots by centre. */
export const BOX_PLOT_METRICS = [
  'dice',
  'jaccard',
  'falseNegativeRate',
  'falsePositiveRate',
  'meanSurfaceDistanceMm',
  'averageHausdorffDistanceMm',
  'hausdorff95Mm',
  'hausdorffDistanceMm',
  'relativeVolumeDifferencePercent',
  'absoluteRelativeVolumeDifferencePercent',
  'meanHuDifference',
  'relativeMeanHuDifferencePercent',
  'absoluteRelativeMeanHuDifferencePercent',
]

/** Describes a flattened metric key such as `lesion.dice` or `lung.radiomics.original_shape_MeshVolume.relativeErrorPercent`. */
export function describeMetric(key: string): { label: string; unit: string } {
  const [structure, ...rest] = key.split('.')
  const name = rest.join('.')
  const prefix = structure === 'lesionLungRatio' ? '' : `${structure[0].toUpperCase()}${structure.slice(1)} `
  if (structure === 'lesionLungRatio' && RATIO_METRICS[name] !== undefined) return RATIO_METRICS[name]
  if (STRUCTURE_METRICS[name] !== undefined) return { label: prefix + STRUCTURE_METRICS[name].label, unit: STRUCTURE_METRICS[name].unit }
  const feature = /^radiomics\.original_(\w+?)_(\w+)\.relativeErrorPercent$/.exec(name)
  if (feature !== null) return { label: `${prefix}${feature[2]} (${feature[1]}) relative error`, unit: '%' }
  // Only the first-order features in HU enter the tables with their difference (see flattenCaseMetrics).
  const difference = /^radiomics\.original_(\w+?)_(\w+)\.difference$/.exec(name)
  if (difference !== null) return { label: `${prefix}${difference[2]} (${difference[1]}) difference`, unit: 'HU' }
  return { label: key, unit: '' }
}

export function labelWithUnit(key: string): string {
  const { label, unit } = describeMetric(key)
  return unit === '' ? label : `${label} (${unit})`
}

/**
 * Rounding of each unit in the CSV tables of colinet evaluate: 0.01 %, 0.001 mm, 0.01 mL and
 * 0.1 HU, finer than the accuracy of each measurement. Unitless metrics (Dice, rates, ratios)
 * keep 6 significant digits, because a false-positive rate over the whole image can be 1e-5.
 */
const CSV_PRECISION_BY_UNIT: Record<string, CsvPrecision> = {
  '%': { decimals: 2 },
  mm: { decimals: 3 },
  mL: { decimals: 2 },
  HU: { decimals: 1 },
}

/** Returns the rounding of a flattened metric in CSV tables, from its unit (see describeMetric). */
export function csvPrecisionOfMetric(key: string): CsvPrecision {
  return CSV_PRECISION_BY_UNIT[describeMetric(key).unit] ?? { significantDigits: 6 }
}
