import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { confusionCounts, overlapMetrics } from '../metrics/overlap.js'
import { MIN_LESION_REGION_ML } from '../pipeline/cleanup.js'
import { createChestPhantom } from '../sim/phantom.js'
import { reportToText } from '../report/report.js'
import type { Vec3 } from '../volume/volume.js'
import { Progress } from './progress.js'
import { loadModels, parseFormat, parsePositiveInteger, parseThreads, segmentAndWrite, verbosityOf } from './segment.js'

export const DEMO_USAGE = `Usage: colinet demo [options]

Builds a synthetic chest CT in memory (body, ribs, mediastinum, two lungs with vessels and
airways, ground-glass and consolidation lesions), segments it exactly as "colinet segment" does,
writes the same outputs and prints the report with Dice against the phantom's known truth.

Options:
  -o, --output <folder>   output folder (default colinet-demo); an earlier demo's outputs there
                          are replaced, other results only with --force
      --force             overwrite outputs of colinet segment in the output folder
      --size <x,y,z>      phantom size in voxels (default 128,128,48)
      --seed <n>          phantom seed (default 1)
      --format <name>     mask file format: nifti (default) or nrrd
      --lung-model <file> ONNX lung model (default: models/lung.onnx)
      --lesion-model <file> ONNX lesion model (default: models/lesion.onnx)
      --threads <n>       threads per network run (default: number of cores)
      --json              print the report and the Dice values as JSON on stdout
  -q, --quiet             print no progress or warnings on stderr (warnings stay in
                          report.json)
  -v, --verbose           print details on stderr
  -h, --help              print this help`

function parseSize(text: string | undefined): Vec3 {
  if (text === undefined) return [128, 128, 48]
  const parts = text.split(',').map(Number)
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 8 || n > 1024)) {
    throw new InputError(`--size expects three integers from 8 to 1024 separated by commas (e.g. 128,128,48), got "${text}"`)
  }
  return parts as Vec3
}

/**
 * True when the folder has no report.json or one written by a demo: a demo may replace its own
 * generated outputs, but not the results of a real segmentation.
 */
function containsOnlyDemoOutputs(folder: string): boolean {
  const reportPath = join(folder, 'report.json')
  if (!existsSync(reportPath)) return true
  try {
    return (JSON.parse(readFileSync(reportPath, 'utf8')) as { input?: { path?: string } }).input?.path === DEMO_INPUT_PATH
  } catch {
    return false
  }
}

const DEMO_INPUT_PATH = '(built-in phantom)'

function dice(prediction: Uint8Array, reference: Uint8Array, label?: number): number {
  const select = (mask: Uint8Array): Uint8Array => (label === undefined ? mask : Uint8Array.from(mask, (value) => (value === label ? 1 : 0)))
  return overlapMetrics(confusionCounts(select(prediction), select(reference))).dice
}

export async function runDemoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      size: { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string' },
      'lung-model': { type: 'string' },
      'lesion-model': { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(`${DEMO_USAGE}\n`)
    return 0
  }
  if (positionals.length > 0) throw new InputError(`demo takes no input file, got ${positionals.join(' ')}; use colinet segment for your own CT`)

  const progress = new Progress(verbosityOf(values))
  const outputFolder = values.output ?? 'colinet-demo'
  const size = parseSize(values.size)
  const seed = parsePositiveInteger(values.seed, '--seed', 1)
  const buildStart = performance.now()
  const phantom = createChestPhantom({ size, seed })
  const buildSeconds = (performance.now() - buildStart) / 1000

  const threads = parseThreads(values.threads)
  const models = await loadModels(values['lung-model'], values['lesion-model'], threads)
  try {
    const { report, result } = await segmentAndWrite(
      phantom.ct,
      { path: DEMO_INPUT_PATH, description: `synthetic chest phantom, seed ${seed}`, readSeconds: buildSeconds, warnings: [] },
      models,
      {
        outputFolder,
        format: parseFormat(values.format),
        force: values.force === true || containsOnlyDemoOutputs(outputFolder),
        json: values.json ?? false,
        batchSize: 8,
        minLesionRegionMl: MIN_LESION_REGION_ML,
        mirrorAverage: true,
        progress,
      },
    )
    const scores = {
      lungDice: dice(result.lung.data, phantom.lung.data),
      rightLungDice: dice(result.lung.data, phantom.lung.data, 1),
      leftLungDice: dice(result.lung.data, phantom.lung.data, 2),
      lesionDice: dice(result.lesion.data, phantom.lesion.data),
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ report, diceAgainstPhantomTruth: scores }, null, 2)}\n`)
    } else {
      process.stdout.write(`${reportToText(report)}\n`)
      process.stdout.write(
        `Dice vs truth lung ${scores.lungDice.toFixed(3)} (right ${scores.rightLungDice.toFixed(3)}, left ${scores.leftLungDice.toFixed(3)}), ` +
          `lesion ${scores.lesionDice.toFixed(3)}\n`,
      )
    }
    return 0
  } finally {
    await models.lung.dispose()
    await models.lesion.dispose()
  }
}
