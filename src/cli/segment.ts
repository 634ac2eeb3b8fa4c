import { existsSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { readVolume } from '../io/read.js'
import { checkOutputOutsideInputFolder, checkOutputsSpareInput, StagedOutput } from '../io/output-folder.js'
import { writeVolume } from '../io/write.js'
import { isProbabilityThreshold } from '../nn/metadata.js'
import { MIN_LESION_REGION_ML } from '../pipeline/cleanup.js'
import { BUILT_IN_LESION_MODEL_NAME, DEFAULT_LESION_MODEL, DEFAULT_LUNG_MODEL, loadSegmentationModel } from '../pipeline/models.js'
import type { SegmentationModel } from '../pipeline/model.js'
import { segmentCt, type SegmentationResult } from '../pipeline/segment.js'
import { renderOverviewPng } from '../report/overview.js'
import {
  buildSegmentationReport, measurementCautions, radiomicsOfMasks, reportToCsv, reportToText, untrainedModelWarnings, type SegmentationReport,
} from '../report/report.js'
import type { Volume } from '../volume/volume.js'
import { Progress, type Verbosity } from './progress.js'
import { COLINET_VERSION } from './version.js'

export const SEGMENT_USAGE = `Usage: colinet segment <ct> -o <folder> [options]

Segments the lungs and COVID-19 pneumonia lesions of a chest CT.
<ct> is a NIfTI (.nii, .nii.gz), NRRD (.nrrd) or MetaImage (.mha) file, or a folder of DICOM files.

Writes into <folder>: lung (1 = right, 2 = left), lesion (1 = lesion) and labels (1 = lung
without lesion, 2 = lesion) masks on the input's grid, report.json and report.csv (volumes, % of lung affected,
HU, radiomic features of lung and lesion) and overview.png.

Options:
  -o, --output <folder>   output folder (created if missing)
      --format <name>     mask file format: nifti (.nii.gz, default) or nrrd
      --series <uid>      SeriesInstanceUID to read from a DICOM folder (default: the axial CT
                          series with the most slices)
      --lung-model <file> ONNX lung model (default: models/lung.onnx)
      --lesion-model <file> ONNX lesion model (default: models/lesion.onnx)
      --lesion-threshold <p> lesion probability above which a pixel is lesion (default: the
                          threshold stored in the lesion model, else 0.5); lower finds
                          fainter lesions and marks more normal lung
      --min-lesion-ml <mL> smallest lesion region kept, in mL (default 2, a ball of 16 mm);
                          regions in one slice on the lung's top or bottom surface go too.
                          0 keeps every region. Removed regions do not extend the lung, and
                          report.json counts them
      --no-mirror-average run the lesion network once per slice instead of also on its left-right
                          mirror image and averaging the two (about 30 % less time; the
                          built-in model's threshold was chosen with averaging, and without
                          it the model marks more normal lung)
      --batch-size <n>    slices per network run, 1 to 64 (default 8); larger batches use more memory
      --threads <n>       threads per network run (default: number of cores)
      --force             overwrite existing output files
      --json              print the report as JSON on stdout
  -q, --quiet             print no progress or warnings on stderr (warnings stay in
                          report.json)
  -v, --verbose           print details on stderr
  -h, --help              print this help`

/** Options shared by `segment` and `demo`. */
export interface SegmentRunOptions {
  outputFolder: string
  format: 'nifti' | 'nrrd'
  force: boolean
  json: boolean
  batchSize: number
  /** Smallest lesion region kept, in mL. */
  minLesionRegionMl: number
  /** Average the lesion network's output over each slice and its mirror image. */
  mirrorAverage: boolean
  progress: Progress
}

export interface SegmentRunResult {
  report: SegmentationReport
  result: SegmentationResult
}

export function parsePositiveInteger(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${option} expects a positive integer, got "${text}"`)
  return value
}

/**
 * Largest --batch-size. A 32-channel feature map of one 296 x 216 slice is 8 MB, and a network
 * keeps several at once, so 64 slices need gigabytes (an estimate, not measured). A batch of
 * 100,000 made the input buffer itself too large for a typed array (a RangeError).
 */
const MAX_BATCH_SIZE = 64

export function parseBatchSize(text: string | undefined): number {
  const value = parsePositiveInteger(text, '--batch-size', 8)
  if (value > MAX_BATCH_SIZE) throw new InputError(`--batch-size expects a whole number from 1 to ${MAX_BATCH_SIZE}, got "${text}"`)
  return value
}

/**
 * Parses --threads: a whole number from 1 to 4 times the cores. ONNX Runtime starts every thread
 * it is given (999999 made segment hang), and threads beyond the cores add no compute.
 */
export function parseThreads(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const cores = availableParallelism()
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(value) || value < 1 || value > 4 * cores) {
    throw new InputError(`--threads expects a whole number from 1 to ${4 * cores} (4 times the ${cores} cores here), got "${text}"`)
  }
  return value
}

export function verbosityOf(values: { quiet?: boolean; verbose?: boolean }): Verbosity {
  if (values.quiet && values.verbose) throw new InputError('--quiet and --verbose cannot be combined: use one of them')
  if (values.quiet) return 'quiet'
  return values.verbose ? 'verbose' : 'normal'
}

/** Reads --format, in any letter case: nifti (also nii or nii.gz, the default) or nrrd. */
export function parseFormat(text: string | undefined): 'nifti' | 'nrrd' {
  const name = text?.toLowerCase()
  if (name === undefined || name === 'nifti' || name === 'nii' || name === 'nii.gz') return 'nifti'
  if (name === 'nrrd') return 'nrrd'
  throw new InputError(`--format expects nifti or nrrd, got "${text}"`)
}

/** Output file names for a mask format. */
export function outputFileNames(format: 'nifti' | 'nrrd'): { lung: string; lesion: string; labels: string; all: string[]; otherFormat: string[] } {
  const extension = format === 'nrrd' ? '.nrrd' : '.nii.gz'
  const otherExtension = format === 'nrrd' ? '.nii.gz' : '.nrrd'
  const names = { lung: `lung${extension}`, lesion: `lesion${extension}`, labels: `labels${extension}` }
  return {
    ...names,
    all: [names.lung, names.lesion, names.labels, 'report.json', 'report.csv', 'overview.png'],
    otherFormat: ['lung', 'lesion', 'labels'].map((name) => `${name}${otherExtension}`),
  }
}

/**
 * Segments a CT that is already in memory and writes masks, report and overview into the output
 * folder, all or nothing. Used by `segment` and `demo`.
 */
export async function segmentAndWrite(
  ct: Volume,
  input: { path: string; description: string; readSeconds: number; warnings: string[] },
  models: { lung: SegmentationModel; lesion: SegmentationModel },
  options: SegmentRunOptions,
): Promise<SegmentRunResult> {
  const names = outputFileNames(options.format)
  const output = new StagedOutput(options.outputFolder, names.all, options.force, names.otherFormat)
  const { progress } = options
  // Ctrl-C or a job scheduler's SIGTERM removes the staged files before the process ends, with
  // the shell's exit status for that signal (128 + its number).
  const onInterrupt = (): void => {
    output.abort()
    process.exit(130)
  }
  const onTerminate = (): void => {
    output.abort()
    process.exit(143)
  }
  // 'on', not 'once': a second signal during the exit must not fall through to the default kill.
  process.on('SIGINT', onInterrupt)
  process.on('SIGTERM', onTerminate)
  try {
    for (const warning of untrainedModelWarnings([models.lung, models.lesion])) progress.warn(warning)
    progress.log(`segmenting ${input.description} (${ct.size.join(' x ')} voxels)`)
    const result = await segmentCt(ct, {
      lungModel: models.lung,
      lesionModel: models.lesion,
      batchSize: options.batchSize,
      minLesionRegionMl: options.minLesionRegionMl,
      lesionMirrorAverage: options.mirrorAverage,
      onProgress: (stage, done, total) => progress.update(stage === 'lungNetwork' ? 'lung network' : 'lesion network', done, total),
    })

    const writeStart = performance.now()
    await writeVolume(output.pathFor(names.lung), result.lung)
    await writeVolume(output.pathFor(names.lesion), result.lesion)
    await writeVolume(output.pathFor(names.labels), result.labels)
    const caption = {
      title: `colinet ${COLINET_VERSION}: ${input.description}, ${ct.size.join(' x ')} voxels`,
      untrained: !models.lung.trained || !models.lesion.trained,
    }
    writeFileSync(output.pathFor('overview.png'), renderOverviewPng(ct, result.lung, result.lesion, caption))
    const writeSeconds = (performance.now() - writeStart) / 1000
    const radiomicsStart = performance.now()
    const radiomics = radiomicsOfMasks(ct, result.lung, result.lesion)
    const radiomicsSeconds = (performance.now() - radiomicsStart) / 1000

    const report = buildSegmentationReport({
      colinetVersion: COLINET_VERSION,
      inputPath: input.path,
      inputDescription: input.description,
      ct,
      result,
      lungModel: models.lung,
      lesionModel: models.lesion,
      radiomics,
      extraStageSeconds: { read: input.readSeconds, radiomics: radiomicsSeconds, write: writeSeconds },
      warnings: input.warnings,
    })
    writeFileSync(output.pathFor('report.json'), `${JSON.stringify(report, null, 2)}\n`)
    writeFileSync(output.pathFor('report.csv'), reportToCsv(report))
    output.commit()

    for (const [stage, seconds] of Object.entries(report.timingSeconds)) progress.detail(`${stage.padEnd(14)} ${seconds.toFixed(2)} s`)
    const lesionSettings = { minRegionMl: options.minLesionRegionMl, mirrorAveraged: options.mirrorAverage }
    for (const warning of [...result.warnings, ...measurementCautions(models.lesion, report.measurements, lesionSettings)]) progress.warn(warning)
    progress.log(`wrote ${names.all.join(', ')} to ${options.outputFolder}`)
    return { report, result }
  } catch (error) {
    output.abort()
    throw error
  } finally {
    process.removeListener('SIGINT', onInterrupt)
    process.removeListener('SIGTERM', onTerminate)
  }
}

/** Parses a probability threshold option: a number strictly between 0 and 1. */
export function parseThreshold(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !isProbabilityThreshold(value)) throw new InputError(`${option} expects a probability between 0 and 1 (exclusive), got "${text}"`)
  return value
}

/** Parses --min-lesion-ml: a volume in mL, 0 or more. */
export function parseMinLesionRegion(text: string | undefined): number {
  if (text === undefined) return MIN_LESION_REGION_ML
  // Decimal numbers only: Number() would also take hexadecimal and signed zero.
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new InputError(`--min-lesion-ml expects a volume in mL of 0 or more, written as a decimal number such as 2 or 0.5, got "${text}"`)
  return Number(text)
}

/** Loads the lung and lesion models named by the options, or the built-in ones. */
export async function loadModels(
  lungPath: string | undefined,
  lesionPath: string | undefined,
  threads: number | undefined,
): Promise<{ lung: SegmentationModel; lesion: SegmentationModel }> {
  const lung = await loadSegmentationModel(lungPath ?? DEFAULT_LUNG_MODEL, lungPath ?? 'models/lung.onnx', { threads, expect: { task: 'lung', option: '--lung-model' } })
  try {
    const lesion = await loadSegmentationModel(lesionPath ?? DEFAULT_LESION_MODEL, lesionPath ?? BUILT_IN_LESION_MODEL_NAME, {
      threads,
      expect: { task: 'lesion', option: '--lesion-model' },
    })
    return { lung, lesion }
  } catch (error) {
    await lung.dispose()
    throw error
  }
}

export async function runSegmentCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
      series: { type: 'string' },
      'lung-model': { type: 'string' },
      'lesion-model': { type: 'string' },
      'lesion-threshold': { type: 'string' },
      'min-lesion-ml': { type: 'string' },
      'no-mirror-average': { type: 'boolean' },
      'batch-size': { type: 'string' },
      threads: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(`${SEGMENT_USAGE}\n`)
    return 0
  }
  if (positionals.length !== 1) {
    throw new InputError(`segment expects one input (a CT file or DICOM folder), got ${positionals.length}; see colinet segment --help`)
  }
  if (values.output === undefined) throw new InputError('segment needs an output folder: add -o <folder>')

  const options: SegmentRunOptions = {
    outputFolder: values.output,
    format: parseFormat(values.format),
    force: values.force ?? false,
    json: values.json ?? false,
    batchSize: parseBatchSize(values['batch-size']),
    minLesionRegionMl: parseMinLesionRegion(values['min-lesion-ml']),
    mirrorAverage: values['no-mirror-average'] !== true,
    progress: new Progress(verbosityOf(values)),
  }
  const threads = parseThreads(values.threads)
  const lesionThreshold = parseThreshold(values['lesion-threshold'], '--lesion-threshold')
  // Fail on an existing output before the slow steps.
  const names = outputFileNames(options.format)
  const input = positionals[0]
  checkOutputsSpareInput(options.outputFolder, [...names.all, ...names.otherFormat], input)
  checkOutputOutsideInputFolder(options.outputFolder, input)
  StagedOutput.checkWritable(options.outputFolder, names.all, options.force, names.otherFormat)

  const readStart = performance.now()
  if (values.series !== undefined && existsSync(input) && !statSync(input).isDirectory()) {
    throw new InputError(`--series selects a series in a DICOM folder, but ${input} is a file; leave out --series or give the folder`)
  }
  const read = await readVolume(input, { seriesUid: values.series })
  const readSeconds = (performance.now() - readStart) / 1000
  for (const warning of read.warnings) options.progress.warn(warning)

  const models = await loadModels(values['lung-model'], values['lesion-model'], threads)
  if (lesionThreshold !== undefined) {
    models.lesion.threshold = lesionThreshold
    models.lesion.thresholdSource = '--lesion-threshold'
  }
  try {
    const { report } = await segmentAndWrite(
      read.volume,
      { path: input, description: read.description, readSeconds, warnings: read.warnings },
      models,
      options,
    )
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${reportToText(report)}\n`)
    return 0
  } finally {
    await models.lung.dispose()
    await models.lesion.dispose()
  }
}
