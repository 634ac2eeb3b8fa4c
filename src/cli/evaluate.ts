import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { checkHounsfieldUnits } from '../pipeline/input-checks.js'
import { readVolume } from '../io/read.js'
import { createFolder } from '../io/write.js'
import {
  evaluateStructure,
  flattenCaseMetrics,
  HU_LEVEL_FEATURES,
  HU_RELATIVE_ERROR_MIN_REFERENCE,
  lesionLungRatio,
  type CaseMetrics,
  type StructureMetrics,
  type StructureOptions,
} from '../metrics/case.js'
import { readCohortManifest, similarCentreWarnings, summarizeCohort, type CohortCase } from '../metrics/cohort.js'
import { assertLabelVolume, labelPresence, type LabelPresence } from '../metrics/mask.js'
import { writeCohortReport, type CaseRow } from '../report/cohort-report.js'
import { formatCsv, formatCsvNumber } from '../report/csv.js'
import { csvPrecisionOfMetric, labelWithUnit } from '../report/metric-labels.js'
import { formatNumber } from '../report/svg-charts.js'
import { resampleNearest } from '../volume/resample.js'
import { describeGeometryMismatch, type Volume } from '../volume/volume.js'

const USAGE = `Usage:
  colinet evaluate --pred PRED --ref REF [--ct CT] [options]
  colinet evaluate --cohort cohort.csv -o DIR [options]

Compares a segmentation with a reference in 3D: Dice, Jaccard, false-negative and false-positive
rates, surface distances (mm), volume and mean-HU differences and, with a CT, the relative error
of the PyRadiomics first-order and shape features.

Options:
  --pred FILE            predicted mask (NIfTI, NRRD or MHA); any non-zero voxel is foreground
  --ref FILE             reference mask on the same grid
  --ct FILE              CT on the reference grid, for mean HU and radiomics
  --cohort FILE          CSV with columns case, centre, ct, pred_lung, ref_lung, pred_lesion,
                         ref_lesion (paths relative to the CSV); writes tables, figures and reports
  -o, --output DIR       folder for the results (created; must not exist or be empty)
  --force                replace the results of an earlier colinet evaluate in the output folder
  --label N              use only voxels equal to N in both masks
  --resample nearest     resample the prediction onto the reference grid (nearest neighbour in
                         physical space) when the grids differ, instead of rejecting the input
  --no-radiomics         skip radiomic features
  --bin-width W          grey-level bin width for Entropy and Uniformity, HU (default 25)
  --voxel-array-shift C  value added before Energy, TotalEnergy and RootMeanSquared (default 0)
  --json                 print the single-case metrics as JSON instead of a table
  -h, --help             print this help`

interface EvaluateSettings {
  label?: number
  resample: boolean
  structureOptions: Omit<StructureOptions, 'ct'>
}

/** Runs `colinet evaluate`; returns the exit status. */
export async function runEvaluateCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      pred: { type: 'string' },
      ref: { type: 'string' },
      ct: { type: 'string' },
      cohort: { type: 'string' },
      output: { type: 'string', short: 'o' },
      label: { type: 'string' },
      resample: { type: 'string' },
      'no-radiomics': { type: 'boolean', default: false },
      'bin-width': { type: 'string' },
      'voxel-array-shift': { type: 'string' },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }

  const settings = parseSettings(values)
  if (values.cohort !== undefined) {
    if (values.pred !== undefined || values.ref !== undefined) throw new InputError('give either --cohort or --pred/--ref, not both')
    if (values.output === undefined) throw new InputError('--cohort needs -o DIR for the tables, figures and reports')
    await evaluateCohortCommand(values.cohort, values.output, values.force === true, settings)
    return 0
  }
  if (values.pred === undefined || values.ref === undefined) {
    throw new InputError(`missing --pred or --ref (or --cohort); see colinet evaluate --help\n\n${USAGE}`)
  }
  await evaluateSingleCommand(values.pred, values.ref, values.ct, values.output, values.json === true, values.force === true, settings)
  return 0
}

function parseSettings(values: Record<string, string | boolean | undefined>): EvaluateSettings {
  const number = (name: string): number | undefined => {
    const text = values[name]
    if (text === undefined) return undefined
    const parsed = Number(text)
    if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(parsed)) {
      throw new InputError(`--${name}: expected a number, got ${String(text)}`)
    }
    return parsed
  }
  const label = number('label')
  if (label !== undefined && (!Number.isInteger(label) || label < 1)) throw new InputError(`--label: expected a positive integer label, got ${label}`)
  const binWidth = number('bin-width')
  if (binWidth !== undefined && binWidth <= 0) throw new InputError(`--bin-width: expected a positive width in HU, got ${binWidth}`)
  if (values.resample !== undefined && values.resample !== 'nearest') {
    throw new InputError(`--resample: the only method is nearest, got ${String(values.resample)}`)
  }
  return {
    label,
    resample: values.resample === 'nearest',
    structureOptions: {
      label,
      radiomics: values['no-radiomics'] !== true,
      radiomicsOptions: { binWidth: binWidth ?? 25, voxelArrayShift: number('voxel-array-shift') ?? 0 },
    },
  }
}

async function loadMask(path: string, what: string): Promise<Volume> {
  const { volume } = await readVolume(path)
  assertLabelVolume(volume, `${what} ${path}`)
  return volume
}

/** Reads a prediction/reference pair (and CT) and brings them onto the reference grid or rejects them. */
async function loadPair(
  predictionPath: string,
  referencePath: string,
  ctPath: string | undefined,
  resample: boolean,
  where: string,
): Promise<{ prediction: Volume; reference: Volume; ct?: Volume }> {
  for (const path of [predictionPath, referencePath, ctPath]) {
    if (path !== undefined && !existsSync(path)) throw new InputError(`${where}file not found: ${path}`)
  }
  const reference = await loadMask(referencePath, 'reference mask')
  let prediction = await loadMask(predictionPath, 'predicted mask')
  const mismatch = describeGeometryMismatch(prediction, reference)
  if (mismatch !== undefined) {
    if (!resample) {
      throw new InputError(
        `${where}the predicted mask ${predictionPath} and the reference ${referencePath} lie on different grids (${mismatch}); ` +
          'resample one onto the other, or pass --resample nearest to resample the prediction onto the reference grid',
      )
    }
    prediction = resampleNearest(prediction, reference)
  }
  let ct: Volume | undefined
  if (ctPath !== undefined) {
    ct = (await readVolume(ctPath)).volume
    checkHounsfieldUnits(ct)
    const ctMismatch = describeGeometryMismatch(ct, reference)
    if (ctMismatch !== undefined) {
      throw new InputError(`${where}the CT ${ctPath} and the reference mask ${referencePath} lie on different grids (${ctMismatch}); give the CT the masks were drawn on`)
    }
  }
  return { prediction, reference, ct }
}

async function evaluateSingleCommand(
  predictionPath: string,
  referencePath: string,
  ctPath: string | undefined,
  output: string | undefined,
  json: boolean,
  force: boolean,
  settings: EvaluateSettings,
): Promise<void> {
  if (output !== undefined) assertUsableOutputFolder(output, force)
  const { prediction, reference, ct } = await loadPair(predictionPath, referencePath, ctPath, settings.resample, '')
  const label = settings.structureOptions.label
  if (label !== undefined) {
    const presence = labelPresence(prediction, reference, label)
    if (!presence.prediction && !presence.reference) {
      throw new InputError(`--label ${label}: neither the predicted nor the reference mask contains label ${label}; check the label values of the masks`)
    }
    warnIfLabelMissing(presence, label, predictionPath, referencePath, '')
  }
  const metrics = evaluateStructure(prediction, reference, { ...settings.structureOptions, ct })

  const document = { prediction: resolve(predictionPath), reference: resolve(referencePath), ct: ctPath && resolve(ctPath), metrics }
  if (json) console.log(JSON.stringify(document, jsonNumbers, 2))
  else console.log(formatMetricsTable(metrics))

  if (output !== undefined) {
    const flat = flattenCaseMetrics({ lesion: metrics })
    const rows = Object.entries(flat).map(([key, value]) => [key.replace(/^lesion\./, ''), formatCsvNumber(value, csvPrecisionOfMetric(key))])
    writeFolderAtomically(output, (folder) => {
      writeFileSync(join(folder, 'metrics.json'), JSON.stringify(document, jsonNumbers, 2) + '\n')
      writeFileSync(join(folder, 'metrics.csv'), formatCsv([['metric', 'value'], ...rows]))
    })
    console.error(`wrote ${join(output, 'metrics.json')} and metrics.csv`)
  }
}

/**
 * Prints a warning on stderr when exactly one of the masks contains the --label value. Dice is
 * then 0 and the surface distances are undefined, as for a failed segmentation, although the
 * cause may be masks that number their labels differently.
 */
function warnIfLabelMissing(presence: LabelPresence, label: number, predictionPath: string, referencePath: string, where: string): void {
  if (presence.prediction === presence.reference) return
  const [holder, lacking] = presence.reference
    ? [`the reference mask ${referencePath}`, `the predicted mask ${predictionPath}`]
    : [`the predicted mask ${predictionPath}`, `the reference mask ${referencePath}`]
  console.error(
    `warning: ${where}--label ${label}: ${holder} contains label ${label} but ${lacking} does not, ` +
      'so Dice is 0 and the surface distances are undefined (n/a); check that both masks use the same label values',
  )
}

/** Returns true when the reference mean HU or a reference first-order feature in HU lies too close to 0 HU for a relative error. */
function hasReferenceNearZeroHu(metrics: StructureMetrics): boolean {
  const references = [metrics.referenceMeanHu]
  if (metrics.radiomics !== undefined) references.push(...[...HU_LEVEL_FEATURES].map((name) => metrics.radiomics!.reference[name]))
  return references.some((value) => value !== undefined && Math.abs(value) < HU_RELATIVE_ERROR_MIN_REFERENCE)
}

/** Formats one structure's metrics as a two-column table for the terminal. */
export function formatMetricsTable(metrics: StructureMetrics): string {
  const rows: Array<[string, string]> = []
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value === 'number') rows.push([labelWithUnit(`mask.${key}`).replace(/^Mask /, ''), formatNumber(value, 6)])
  }
  if (metrics.radiomics !== undefined) {
    const { prediction, reference, difference } = metrics.radiomics
    rows.push(['', ''], ['Radiomic feature', 'prediction | reference | difference | relative error (%)'])
    for (const [name, error] of Object.entries(metrics.radiomics.relativeErrorPercent)) {
      const feature = name.replace('original_', '')
      const values = [formatNumber(prediction[name], 6), formatNumber(reference[name], 6), formatNumber(difference[name], 6), formatNumber(error, 4)]
      rows.push([feature, values.join(' | ')])
    }
  }
  if (hasReferenceNearZeroHu(metrics)) {
    rows.push(['', ''], ['', `n/a: the relative error of a value in HU is undefined when |reference| < ${HU_RELATIVE_ERROR_MIN_REFERENCE} HU`])
  }
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')
}

async function evaluateCohortCommand(manifestPath: string, output: string, force: boolean, settings: EvaluateSettings): Promise<void> {
  const cases = readCohortManifest(manifestPath)
  assertUsableOutputFolder(output, force)
  for (const warning of similarCentreWarnings(cases)) console.error(`warning: ${warning}`)

  const rows: CaseRow[] = []
  for (const [index, entry] of cases.entries()) {
    const started = Date.now()
    const metrics = await evaluateCohortCase(entry, settings, `${manifestPath} row ${entry.row} (case ${entry.caseId}): `)
    rows.push({ caseId: entry.caseId, centre: entry.centre, values: flattenCaseMetrics(metrics) })
    console.error(`[${index + 1}/${cases.length}] ${entry.caseId} (${entry.centre}) evaluated in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }

  const summaries = summarizeCohort(rows)
  writeFolderAtomically(output, (folder) => writeCohortReport(folder, rows, summaries))
  console.error(`wrote the cohort report to ${output} (report.html, report.md, summary.csv, cases.csv, figures/)`)
}

async function evaluateCohortCase(entry: CohortCase, settings: EvaluateSettings, where: string): Promise<CaseMetrics> {
  const metrics: CaseMetrics = {}
  for (const structure of ['lung', 'lesion'] as const) {
    const pair = entry[structure]
    if (pair === undefined) continue
    const { prediction, reference, ct } = await loadPair(pair.prediction, pair.reference, entry.ct, settings.resample, where)
    // A case without that structure in either mask is a valid case of a cohort, so only one-sided absence is reported.
    const label = settings.structureOptions.label
    if (label !== undefined) warnIfLabelMissing(labelPresence(prediction, reference, label), label, pair.prediction, pair.reference, where)
    metrics[structure] = evaluateStructure(prediction, reference, { ...settings.structureOptions, ct })
  }
  if (metrics.lung !== undefined && metrics.lesion !== undefined) metrics.lesionLungRatio = lesionLungRatio(metrics.lung, metrics.lesion)
  return metrics
}

function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value
}

/** Files and folders that colinet evaluate writes; --force replaces a folder that contains only these. */
const EVALUATE_OUTPUT_NAMES = new Set([
  'metrics.json',
  'metrics.csv',
  'cases.csv',
  'cases.json',
  'summary.csv',
  'summary.json',
  'report.md',
  'report.html',
  'figures',
])

/**
 * Rejects an output folder that exists and is not empty, so results never mix with old files.
 * With `force`, a folder that contains only earlier evaluate results is accepted (and replaced).
 */
function assertUsableOutputFolder(folder: string, force: boolean): void {
  if (!existsSync(folder)) return
  if (!statSync(folder).isDirectory()) {
    throw new InputError(`output path ${folder} is a file; expected a folder (or a path that does not exist yet)`)
  }
  const entries = readdirSync(folder)
  if (entries.length === 0) return
  if (!force) {
    throw new InputError(
      `output folder ${folder} already exists and is not empty; choose a new folder, or pass --force to replace earlier colinet evaluate results`,
    )
  }
  const foreign = entries.filter((name) => !EVALUATE_OUTPUT_NAMES.has(name))
  if (foreign.length > 0) {
    const listed = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ', ...' : '')
    throw new InputError(`--force replaces only earlier colinet evaluate results, but output folder ${folder} also contains ${listed}; choose another folder`)
  }
}

/**
 * Writes a results folder through a temporary sibling that is renamed into place at the end,
 * so a failure leaves no partial output and an earlier result stays until the new one is complete.
 */
export function writeFolderAtomically(folder: string, fill: (temporary: string) => unknown): void {
  const target = resolve(folder)
  createFolder(dirname(target))
  const temporary = join(dirname(target), `.${basename(target)}.partial-${process.pid}`)
  const previous = join(dirname(target), `.${basename(target)}.previous-${process.pid}`)
  rmSync(temporary, { recursive: true, force: true })
  mkdirSync(temporary)
  try {
    fill(temporary)
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    throw error
  }
  // assertUsableOutputFolder accepted an existing target: empty, or earlier results under --force.
  if (existsSync(target)) renameSync(target, previous)
  renameSync(temporary, target)
  rmSync(previous, { recursive: true, force: true })
}
