import type { SegmentationResult } from '../pipeline/segment.js'
import { NETWORK_STAGES } from '../pipeline/segment.js'
import { MIN_LESION_REGION_ML, type RemovedLesionRegions } from '../pipeline/cleanup.js'
import type { SegmentationModel } from '../pipeline/model.js'
import { BUILT_IN_LESION_MODEL_NAME, BUILT_IN_LESION_MODEL_NOTE, describeLesionWithinFalsePositiveRange, describeLooserLesionSettings } from '../pipeline/models.js'
import type { Volume } from '../volume/volume.js'
import { formatCsvField, formatCsvNumber, type CsvPrecision } from './csv.js'
import { computeRadiomics, RADIOMIC_FEATURE_NAMES } from '../metrics/radiomics/radiomics.js'
import { describeImplausibleLungVolume, measureLungsAndLesions, type LungMeasurements } from './measurements.js'

export interface ModelDescription {
  name: string
  /** Task and training data, from the model's metadata. */
  description: string
  /** SHA-256 of the model file: two reports with the same value used the same weights. */
  sha256: string
  trained: boolean
  /** Probability above which a pixel was counted as lung or lesion. */
  threshold: number
  /** 'model metadata', 'default' (0.5) or the option that set the threshold. */
  thresholdSource: string
  /** Whether the output was averaged over each slice and its left-right mirror image. */
  mirrorAveraged: boolean
}

/** The lesion settings of a segment run that the cautions about the lesion volume depend on. */
export interface LesionSettings {
  /** Smallest lesion region kept, in mL. */
  minRegionMl: number
  /** Whether the lesion network's output was averaged with that of the mirrored slices. */
  mirrorAveraged: boolean
}

/** Everything `colinet segment` reports about one CT; written as report.json and report.csv. */
export interface SegmentationReport {
  colinetVersion: string
  input: {
    path: string
    description: string
    size: number[]
    spacingMm: number[]
    origin: number[]
    direction: number[]
  }
  models: { lung: ModelDescription; lesion: ModelDescription }
  /** Lesion regions removed for being smaller than the minimum (colinet segment --min-lesion-ml). */
  removedLesionRegions: RemovedLesionRegions
  /**
   * Measurements of the masks. massIncludedInLungMl is the solid tissue at the lung border that
   * the lung mask took in (a tumour or dense consolidation), already counted in the lung volume.
   */
  measurements: LungMeasurements & { massIncludedInLungMl: { total: number; right: number; left: number } }
  /**
   * PyRadiomics-named first-order and shape features (bin width 25 HU) of the whole lung and of
   * all lesions; null for an empty mask.
   */
  radiomics: { lung: Record<string, number> | null; lesion: Record<string, number> | null }
  slices: { total: number; withLung: number; lungNetwork: number; lesionNetwork: number }
  timingSeconds: Record<string, number>
  /** Share of the total time spent outside the networks (reading, preprocessing, clean-up, writing). */
  nonNetworkTimeFraction: number
  warnings: string[]
}

export interface ReportInputs {
  colinetVersion: string
  inputPath: string
  inputDescription: string
  ct: Volume
  result: SegmentationResult
  lungModel: SegmentationModel
  lesionModel: SegmentationModel
  radiomics: SegmentationReport['radiomics']
  /** Seconds spent outside segmentCt (reading the input, writing outputs). */
  extraStageSeconds: Record<string, number>
  warnings: string[]
}

function describeModel(model: SegmentationModel, mirrorAveraged: boolean): ModelDescription {
  return {
    name: model.name,
    description: model.description,
    sha256: model.sha256,
    trained: model.trained,
    threshold: model.threshold,
    thresholdSource: model.thresholdSource,
    mirrorAveraged,
  }
}

/** Warning for each model whose weights are untrained, so no one mistakes its output for a result. */
export function untrainedModelWarnings(models: SegmentationModel[]): string[] {
  return models
    .filter((model) => !model.trained)
    .map((model) => `model ${model.name} has UNTRAINED weights: its masks and measurements are meaningless`)
}

/** Radiomic features of the lung and lesion masks, or null for a mask with no voxel. */
export function radiomicsOfMasks(ct: Volume, lung: Volume<Uint8Array>, lesion: Volume<Uint8Array>): SegmentationReport['radiomics'] {
  const featuresOf = (mask: Volume<Uint8Array>): Record<string, number> | null =>
    hasNonzero(mask.data) ? computeRadiomics(ct, mask, { binWidth: 25 }) : null
  return { lung: featuresOf(lung), lesion: featuresOf(lesion) }
}

function hasNonzero(data: Uint8Array): boolean {
  for (let v = 0; v < data.length; v++) if (data[v] !== 0) return true
  return false
}

export function buildSegmentationReport(inputs: ReportInputs): SegmentationReport {
  const { ct, result } = inputs
  // Pipeline order: reading first, then the segmentation stages, then what follows them.
  const { read, ...afterSegmentation } = inputs.extraStageSeconds
  const timingSeconds: Record<string, number> = { read: read ?? 0, ...result.stageSeconds, ...afterSegmentation }
  const total = Object.values(timingSeconds).reduce((sum, seconds) => sum + seconds, 0)
  const network = NETWORK_STAGES.reduce((sum, stage) => sum + (result.stageSeconds[stage] ?? 0), 0)
  timingSeconds.total = total

  const measurements = { ...measureLungsAndLesions(ct, result.lung, result.lesion), massIncludedInLungMl: { ...result.massIncludedInLungMl } }
  return {
    colinetVersion: inputs.colinetVersion,
    input: {
      path: inputs.inputPath,
      description: inputs.inputDescription,
      size: [...ct.size],
      spacingMm: [...ct.spacingMm],
      origin: [...ct.origin],
      direction: Array.from(ct.direction),
    },
    models: { lung: describeModel(inputs.lungModel, false), lesion: describeModel(inputs.lesionModel, result.lesionMirrorAveraged) },
    removedLesionRegions: { ...result.removedLesionRegions },
    measurements,
    radiomics: inputs.radiomics,
    slices: {
      total: result.slicesProcessedByLungNetwork,
      withLung: result.slicesWithLung,
      lungNetwork: result.slicesProcessedByLungNetwork,
      lesionNetwork: result.slicesProcessedByLesionNetwork,
    },
    timingSeconds,
    nonNetworkTimeFraction: total > 0 ? (total - network) / total : 0,
    warnings: [
      ...untrainedModelWarnings([inputs.lungModel, inputs.lesionModel]),
      ...inputs.warnings,
      ...result.warnings,
      ...measurementCautions(inputs.lesionModel, measurements, {
        minRegionMl: result.removedLesionRegions.minRegionMl,
        mirrorAveraged: result.lesionMirrorAveraged,
      }),
    ],
  }
}

/** Returns the cautions about implausible measurements: the total lung volume, then the lesion volume. */
export function measurementCautions(lesionModel: SegmentationModel, measurements: LungMeasurements, settings: LesionSettings): string[] {
  const lungCaution = describeImplausibleLungVolume(measurements.lungVolumeMl.total)
  return [...(lungCaution === undefined ? [] : [lungCaution]), ...lesionVolumeCautions(lesionModel, measurements, settings)]
}

/**
 * Returns the cautions about the lesion mask of the built-in lesion model. With a threshold below
 * its own, a smaller minimum lesion region than the built-in one or without mirror averaging, the
 * caution states that its false positives are larger than measured. Otherwise, a mask no larger
 * than what it marks in lungs without pneumonia gets a caution, because a higher threshold or a
 * larger minimum only shrinks the mask. Other models get none, because their range is not measured.
 */
export function lesionVolumeCautions(lesionModel: SegmentationModel, measurements: LungMeasurements, settings: LesionSettings): string[] {
  if (lesionModel.name !== BUILT_IN_LESION_MODEL_NAME) return []
  if (lesionModel.threshold < lesionModel.modelThreshold || settings.minRegionMl < MIN_LESION_REGION_ML || !settings.mirrorAveraged) {
    return [describeLooserLesionSettings(lesionModel.threshold, lesionModel.modelThreshold, settings)]
  }
  const caution = describeLesionWithinFalsePositiveRange(measurements.lesionVolumeMl.total, measurements.lungVolumeMl.total)
  return caution === undefined ? [] : [caution]
}

/**
 * Rounding of the numbers in report.csv, by dotted column name (report.json keeps full precision).
 * Each resolution is finer than the accuracy of the measurement: volumes to 0.01 mL, percentages
 * to 0.01 %, HU to 0.1 HU, times to 0.01 s and geometry to 1e-6 (mm or direction cosine).
 * Radiomic features, whose scale runs from 1e-3 to 1e12, and model thresholds keep 6 significant
 * digits. Counts stay whole.
 */
const REPORT_CSV_PRECISION: ReadonlyArray<[RegExp, CsvPrecision]> = [
  [/^input\.size$|^slices\.|^measurements\.(lung|lesion)Hu\.voxels$|^removedLesionRegions\.(surfaceSlivers\.)?regions$/, { decimals: 0 }],
  [/^input\.(spacingMm|origin|direction)$/, { decimals: 6 }],
  [/^measurements\.(lung|lesion)VolumeMl\.|^measurements\.massIncludedInLungMl\./, { decimals: 2 }],
  [/^measurements\.percentAffected\./, { decimals: 2 }],
  [/^measurements\.(lung|lesion)Hu\.(mean|sd)$/, { decimals: 1 }],
  [/^radiomics\./, { significantDigits: 6 }],
  [/^timingSeconds\./, { decimals: 2 }],
  [/^nonNetworkTimeFraction$/, { decimals: 4 }],
  [/^models\.(lung|lesion)\.threshold$/, { significantDigits: 6 }],
  [/^removedLesionRegions\.minRegionMl$/, { significantDigits: 6 }],
  [/^removedLesionRegions\.(surfaceSlivers\.)?volumeMl$/, { decimals: 2 }],
]

/** Returns the rounding of a report.csv column, or undefined for a column written in full. */
export function reportCsvPrecision(column: string): CsvPrecision | undefined {
  return REPORT_CSV_PRECISION.find(([pattern]) => pattern.test(column))?.[1]
}

function formatReportValue(value: unknown, column: string): string {
  const precision = reportCsvPrecision(column)
  if (typeof value === 'number' && precision !== undefined) return formatCsvNumber(value, precision)
  return String(value)
}

/** Flattens nested objects into dotted keys (arrays joined with spaces) for a one-row CSV. */
function flatten(value: unknown, prefix: string, into: Map<string, string>): void {
  if (value === null || value === undefined) {
    into.set(prefix, '')
  } else if (Array.isArray(value)) {
    into.set(prefix, value.map((element) => formatReportValue(element, prefix)).join(prefix === 'warnings' ? ' | ' : ' '))
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, into)
  } else {
    into.set(prefix, formatReportValue(value, prefix))
  }
}

/**
 * Formats the report as CSV: a header row of dotted field names and one row of values, each
 * number rounded as REPORT_CSV_PRECISION sets.
 */
export function reportToCsv(report: SegmentationReport): string {
  // An empty mask has no features, but its feature columns stay with empty values. So every
  // report of this version has the same columns in the same order, and rows of many scans line up.
  const noFeatures = Object.fromEntries(RADIOMIC_FEATURE_NAMES.map((name) => [name, null]))
  const radiomics = { lung: report.radiomics.lung ?? noFeatures, lesion: report.radiomics.lesion ?? noFeatures }
  const fields = new Map<string, string>()
  flatten({ ...report, radiomics }, '', fields)
  const names = [...fields.keys()]
  return `${names.map(formatCsvField).join(',')}\n${names.map((name) => formatCsvField(fields.get(name)!)).join(',')}\n`
}

function formatNumber(value: number | null, digits = 1, unit = ''): string {
  return value === null ? 'n/a' : `${value.toFixed(digits)}${unit}`
}

function removedRegionsLine(removed: RemovedLesionRegions): string[] {
  const lines: string[] = []
  if (removed.regions > 0) {
    const regions = removed.regions === 1 ? '1 region' : `${removed.regions} regions`
    lines.push(`             ${regions} under ${removed.minRegionMl} mL removed (${formatNumber(removed.volumeMl)} mL in all; --min-lesion-ml 0 keeps them)`)
  }
  const slivers = removed.surfaceSlivers
  if (slivers.regions > 0) {
    const regions = slivers.regions === 1 ? '1 region' : `${slivers.regions} regions`
    lines.push(`             ${regions} in one slice on the lung's top or bottom surface removed (${formatNumber(slivers.volumeMl)} mL in all; --min-lesion-ml 0 keeps them)`)
  }
  return lines
}

/** Formats a short plain-text summary for the terminal. */
export function reportToText(report: SegmentationReport): string {
  const m = report.measurements
  const lines = [
    `input        ${report.input.description}`,
    `             ${report.input.size.join(' x ')} voxels, ${report.input.spacingMm.map((s) => s.toFixed(3)).join(' x ')} mm`,
    `lung         ${formatNumber(m.lungVolumeMl.total)} mL (right ${formatNumber(m.lungVolumeMl.right)}, left ${formatNumber(m.lungVolumeMl.left)})`,
    `lesion       ${formatNumber(m.lesionVolumeMl.total)} mL (right ${formatNumber(m.lesionVolumeMl.right)}, left ${formatNumber(m.lesionVolumeMl.left)})`,
    ...removedRegionsLine(report.removedLesionRegions),
    `affected     ${formatNumber(m.percentAffected.total, 1, ' %')} of lung (right ${formatNumber(m.percentAffected.right, 1, ' %')}, left ${formatNumber(m.percentAffected.left, 1, ' %')})`,
    ...(report.models.lesion.name === BUILT_IN_LESION_MODEL_NAME ? [`             ${BUILT_IN_LESION_MODEL_NOTE}`] : []),
    `lung HU      mean ${formatNumber(m.lungHu.mean)}, SD ${formatNumber(m.lungHu.sd)}`,
    `lesion HU    mean ${formatNumber(m.lesionHu.mean)}, SD ${formatNumber(m.lesionHu.sd)}`,
    `slices       ${report.slices.total} (the lesion network ran on the ${report.slices.lesionNetwork} with lung${report.models.lesion.mirrorAveraged ? ' and on their left-right mirror images' : ''})`,
    `time         ${formatNumber(report.timingSeconds.total)} s (networks ${formatNumber(report.timingSeconds.total * (1 - report.nonNetworkTimeFraction))} s, reading, clean-up, measuring and writing ${formatNumber(report.timingSeconds.total * report.nonNetworkTimeFraction)} s)`,
  ]
  for (const warning of report.warnings) lines.push(`warning      ${warning}`)
  return lines.join('\n')
}
