import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import { join, resolve } from 'node:path'
import type { parseArgs } from 'node:util'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { createFolder } from '../io/write.js'
import { DEFAULT_HIGHRESNET_OPTIONS } from '../nn/highresnet.js'
import { DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH } from '../nn/metadata.js'
import { DEFAULT_LOSS_OPTIONS } from '../nn/training-graph.js'
import { DEFAULT_AUGMENTATION } from '../train/augment.js'
import { loadInitialWeights } from '../nn/transfer.js'
import { exportCheckpoint } from '../train/export.js'
import { runLabelRule, TASKS, type Task } from '../train/labels.js'
import { runTraining } from '../train/loop.js'
import { TrainingProgress, type TrainingVerbosity } from '../train/progress.js'
import { readRunRecord, RUN_FILES, type TrainSettings } from '../train/run-folder.js'
import { DEFAULT_TARGET_FRACTION } from '../train/sampler.js'
import { DEFAULT_VALIDATION_FRACTION } from '../train/split.js'
import { COLINET_VERSION } from './version.js'

/** Training defaults of the COLI-Net method, except where a comment gives another source. */
export const TRAIN_DEFAULTS = {
  epochs: 300,
  batchSize: 32,
  learningRate: 0.001,
  decay: 0.0001,
  /** The method names L2 regularisation without a value; 1e-4 is the nn engine's default. */
  l2: DEFAULT_LOSS_OPTIONS.l2,
  dropout: 0.5,
  seed: 1,
  channels: DEFAULT_HIGHRESNET_OPTIONS.channels,
  inputWidth: DEFAULT_INPUT_WIDTH,
  inputHeight: DEFAULT_INPUT_HEIGHT,
} as const

export const TRAIN_USAGE = `Usage: colinet train --task <lung|lesion> --data <manifest.csv> -o <run folder> [options]
       colinet train --resume <run folder> [--epochs <n>] [--max-hours <h>] [--threads <n>]
       colinet train --export <run folder> -o <model.onnx> [--checkpoint best|last] [--threshold <p>] [--force]

Trains a COLI-Net segmentation network on CTs with labels listed in a manifest (CSV with
columns image, label, patient, centre and an optional label_map; see docs/training.md).
The run folder receives run.json, metrics.csv, training-curves.svg/.png, last.ckpt, best.ckpt
and best.onnx (the best epoch as a model for colinet segment --lung-model/--lesion-model).

Data:
      --task <name>               lung or lesion (required for a new run)
      --data <file>               manifest CSV (required for a new run)
      --lung-classes <2|3>        lung task classes: 2 = background, lung (default, as the
                                  COLI-Net lung network); 3 = background, right, left lung
      --label-value <v[,v...]>    label values that count as the target, all others are
                                  background (default: every nonzero value; lung with 3
                                  classes takes 1 right, 2 left). E.g. --label-value 2 for
                                  lesions in a label file with lung 1 and lesion 2
      --validation-fraction <f>   fraction of patients held out for validation (default 0.2)
      --validation-patients <ids> comma-separated patient ids to validate on instead
      --validate-every <n>        validate after every n-th epoch and the last (default 1);
                                  validation predicts every slice of the validation patients
      --target-fraction <f>       fraction of each batch taken from slices that hold the
                                  target (default 0.5)
      --skip-invalid              leave out manifest rows that fail a check (default: stop)
      --no-augment                train without rotation, scaling, blur, mirror and intensity augmentation
      --blur <sigma>              also blur each slice in-plane with a Gaussian whose SD is drawn
                                  from 0 to sigma network pixels, for softer kernels and coarser
                                  pixels than the training scans (0..5, default 0: no blur)
      --lung-shift <HU>           also shift the aerated lung's HU (full from -900 to -700,
                                  fading out to -1024 and -400) by an amount drawn from -HU
                                  to HU, for patients whose lung is denser or lighter than the
                                  training patients' (0..120, default 0: no shift)
      --mirror                    also mirror half of the slices left to right (not with
                                  --lung-classes 3, whose classes are the right and left lung)
Network:
      --channels <a,b,c>          channels of the three stages (default 16,32,64, or the
                                  --init network's); fewer channels train and segment
                                  faster. With --init, the same whole multiple of its
                                  channels in every stage (e.g. 16,32,64 from 8,16,32)
                                  widens it: each channel is copied, so training goes on
                                  from nearly the same output
      --input-size <WxH>          network slice size, columns x rows (default 296x216)
      --init <file|run folder>    start from a trained model: a best.onnx or .ckpt written by
                                  colinet train, or a run folder (its best.ckpt). Its
                                  channels are kept unless --channels is given; the slice
                                  size is --input-size's, not the initial network's
      --dropout <rate>            dropout before the output layer (default 0.5)
Optimisation:
      --epochs <n>                epochs (default 300)
      --batch-size <n>            slices per optimiser step (default 32)
      --accumulate <n>            micro-batches per step, for batches that do not fit in
                                  memory: the step uses their mean gradient (default: enough
                                  that each contains at most 8 slices of 296 x 216 pixels, about
                                  2.8 GB; 4 for batch 32 at the default size)
      --lr <rate>                 initial learning rate of Adam (default 0.001)
      --decay <d>                 learning-rate decay per step: lr / (1 + d * step)
                                  (default 0.0001)
      --l2 <lambda>               L2 weight regularisation coefficient (default 0.0001)
      --cross-entropy <w>         add w times the pixel-mean cross-entropy to the Dice loss;
                                  it penalises scattered false positives that the Dice of a
                                  batch with much target barely sees (0 to 100; default 0:
                                  Dice alone, as COLI-Net)
      --seed <n>                  seed of split, sampling, augmentation, dropout and initial
                                  weights (default 1)
      --steps-per-epoch <n>       cap on steps per epoch (default: one pass over the
                                  training slices)
Run:
  -o, --output <folder>           run folder (a new run refuses a folder that has a run.json)
      --resume <folder>           continue a stopped run from its last.ckpt with its settings
      --max-hours <h>             stop cleanly with a checkpoint before h hours have passed
      --checkpoint-minutes <m>    save last.ckpt at least every m minutes (default 30)
      --threads <n>               threads per network run (default: number of cores)
      --export <folder>           write a run's checkpoint as an ONNX model to -o
      --checkpoint <best|last>    which checkpoint --export writes (default best)
      --threshold <p>             export: probability above which segment counts a pixel
                                  as lung or lesion, stored in the model (default 0.5)
      --force                     new run: replace the run files in the folder; export:
                                  overwrite the output file
  -q, --quiet                     print no progress on stderr
  -v, --verbose                   print details on stderr
  -h, --help                      print this help`

const OPTIONS = {
  task: { type: 'string' },
  data: { type: 'string' },
  'lung-classes': { type: 'string' },
  'label-value': { type: 'string' },
  'validation-fraction': { type: 'string' },
  'validation-patients': { type: 'string' },
  'target-fraction': { type: 'string' },
  'cross-entropy': { type: 'string' },
  'validate-every': { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  'no-augment': { type: 'boolean' },
  blur: { type: 'string' },
  'lung-shift': { type: 'string' },
  mirror: { type: 'boolean' },
  channels: { type: 'string' },
  'input-size': { type: 'string' },
  init: { type: 'string' },
  dropout: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  accumulate: { type: 'string' },
  lr: { type: 'string' },
  decay: { type: 'string' },
  l2: { type: 'string' },
  seed: { type: 'string' },
  'steps-per-epoch': { type: 'string' },
  output: { type: 'string', short: 'o' },
  resume: { type: 'string' },
  'max-hours': { type: 'string' },
  'checkpoint-minutes': { type: 'string' },
  threads: { type: 'string' },
  export: { type: 'string' },
  checkpoint: { type: 'string' },
  threshold: { type: 'string' },
  force: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values']

/** Options that --resume accepts; every other setting comes from the run's run.json. */
const RESUME_OPTIONS = new Set(['resume', 'epochs', 'max-hours', 'checkpoint-minutes', 'threads', 'quiet', 'verbose'])

/** Runs `colinet train`; returns the exit status. */
export async function runTrainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ args: argv, options: OPTIONS, allowPositionals: true })
  if (values.help) {
    process.stdout.write(`${TRAIN_USAGE}\n`)
    return 0
  }
  if (positionals.length > 0) throw new InputError(`unexpected argument ${positionals[0]}; colinet train takes options only (see colinet train --help)`)
  if (values.export !== undefined) return exportCommand(values)
  for (const option of ['checkpoint', 'threshold'] as const) {
    if (values[option] !== undefined) throw new InputError(`--${option} is an option of --export; add --export <run folder> or leave it out`)
  }

  const progress = new TrainingProgress(verbosityOf(values))
  const threads = parseNumber(values.threads, '--threads', { integer: true, min: 1 }) ?? os.availableParallelism()
  const maxHours = parseNumber(values['max-hours'], '--max-hours', { min: 0, exclusiveMin: true })
  const checkpointMinutes = parseNumber(values['checkpoint-minutes'], '--checkpoint-minutes', { min: 0, exclusiveMin: true })

  let folder: string
  let settings: TrainSettings
  let createdFolder = false
  const resume = values.resume !== undefined
  if (resume) {
    const extra = Object.keys(values).filter((key) => !RESUME_OPTIONS.has(key))
    if (extra.length > 0) {
      throw new InputError(`--resume continues with the settings in run.json; --${extra.join(', --')} cannot be changed (only --epochs, --max-hours, --checkpoint-minutes and --threads can)`)
    }
    folder = resolve(values.resume!)
    const record = readRunRecord(folder)
    settings = record.settings
    if (!existsSync(join(folder, RUN_FILES.last))) throw new InputError(`${folder} has no ${RUN_FILES.last} to resume from; start a new run instead`)
    const epochs = parseNumber(values.epochs, '--epochs', { integer: true, min: 1 })
    if (epochs !== undefined) settings = { ...settings, epochs }
    const done = record.progress.epochsCompleted
    if (done >= settings.epochs) {
      throw new InputError(`${folder} has already trained ${done} of ${settings.epochs} epochs; to train on, pass --epochs with more than ${done}`)
    }
  } else {
    settings = settingsFromOptions(values)
    if (values.channels === undefined && settings.init !== undefined) {
      // Without --channels the run keeps the initial network's channels.
      settings = { ...settings, channels: [...(await loadInitialWeights(settings.init)).options.channels] }
    }
    folder = resolve(required(values.output, '-o <run folder>'))
    if (settings.init !== undefined && Object.values(RUN_FILES).some((name) => join(folder, name) === settings.init)) {
      throw new InputError(`--init ${settings.init} is a file of the run folder ${folder}, which a new run there replaces; copy it out of the folder first, or choose another folder with -o`)
    }
    createdFolder = prepareRunFolder(folder, values.force === true)
  }

  const stop = installStopHandler(progress)
  try {
    const outcome = await runTraining({
      folder,
      settings,
      resume,
      threads,
      maxHours,
      checkpointMinutes,
      colinetVersion: COLINET_VERSION,
      progress,
      stopRequested: stop.requested,
    })
    const best = outcome.bestEpoch !== undefined ? `best epoch ${outcome.bestEpoch} (mean validation Dice ${outcome.bestMeanDice!.toFixed(4)})` : 'no validated epoch'
    process.stdout.write(`${outcome.epochsCompleted}/${settings.epochs} epochs done, ${best}; model ${outcome.modelPath}; run folder ${folder}\n`)
    return 0
  } catch (error) {
    // A new run that failed before its first checkpoint leaves no empty folder behind.
    if (createdFolder && existsSync(folder) && readdirSync(folder).length === 0) rmSync(folder, { recursive: true })
    throw error
  } finally {
    stop.remove()
  }
}

function settingsFromOptions(values: Values): TrainSettings {
  const task = required(values.task, '--task lung|lesion') as Task
  if (!TASKS.includes(task)) throw new InputError(`--task expects lung or lesion, got "${values.task}"`)
  const lungClasses = parseNumber(values['lung-classes'], '--lung-classes', { integer: true }) ?? 2
  if (lungClasses !== 2 && lungClasses !== 3) throw new InputError(`--lung-classes expects 2 or 3, got "${values['lung-classes']}"`)
  if (task === 'lesion' && lungClasses !== 2) throw new InputError('--lung-classes applies to --task lung only')
  if (values.mirror === true && lungClasses === 3) {
    throw new InputError('--mirror cannot train --lung-classes 3: a mirrored slice has its right lung on the left; use 2 lung classes or leave out --mirror')
  }

  const [inputWidth, inputHeight] = parseInputSize(values['input-size'])
  const channels = parseChannels(values.channels)
  const batchSize = parseNumber(values['batch-size'], '--batch-size', { integer: true, min: 1 }) ?? TRAIN_DEFAULTS.batchSize
  const accumulate = parseNumber(values.accumulate, '--accumulate', { integer: true, min: 1 }) ?? defaultAccumulation(batchSize, inputWidth * inputHeight)
  if (accumulate > batchSize) throw new InputError(`--accumulate ${accumulate} exceeds --batch-size ${batchSize}; each micro-batch needs at least one slice`)

  const labelValues = values['label-value'] !== undefined ? parseList(values['label-value'], '--label-value').map((v) => parseLabelValue(v)) : undefined
  runLabelRule(task, task === 'lung' ? lungClasses : 2, labelValues)

  return {
    task,
    lungClasses: task === 'lung' ? lungClasses : 2,
    ...(labelValues !== undefined ? { labelValues } : {}),
    manifest: resolve(required(values.data, '--data <manifest.csv>')),
    epochs: parseNumber(values.epochs, '--epochs', { integer: true, min: 1 }) ?? TRAIN_DEFAULTS.epochs,
    batchSize,
    accumulate,
    learningRate: parseNumber(values.lr, '--lr', { min: 0, exclusiveMin: true }) ?? TRAIN_DEFAULTS.learningRate,
    decay: parseNumber(values.decay, '--decay', { min: 0 }) ?? TRAIN_DEFAULTS.decay,
    l2: parseNumber(values.l2, '--l2', { min: 0 }) ?? TRAIN_DEFAULTS.l2,
    ...(values['cross-entropy'] !== undefined ? { crossEntropyWeight: parseNumber(values['cross-entropy'], '--cross-entropy', { min: 0, max: 100 }) } : {}),
    dropout: parseNumber(values.dropout, '--dropout', { min: 0, max: 0.99 }) ?? TRAIN_DEFAULTS.dropout,
    seed: parseNumber(values.seed, '--seed', { integer: true, min: 0 }) ?? TRAIN_DEFAULTS.seed,
    ...(values['steps-per-epoch'] !== undefined ? { stepsPerEpoch: parseNumber(values['steps-per-epoch'], '--steps-per-epoch', { integer: true, min: 1 }) } : {}),
    channels,
    inputWidth,
    inputHeight,
    targetFraction: parseNumber(values['target-fraction'], '--target-fraction', { min: 0, max: 1 }) ?? DEFAULT_TARGET_FRACTION,
    validationFraction: parseNumber(values['validation-fraction'], '--validation-fraction', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }) ?? DEFAULT_VALIDATION_FRACTION,
    ...(values['validation-patients'] !== undefined ? { validationPatients: parseList(values['validation-patients'], '--validation-patients') } : {}),
    validateEvery: parseNumber(values['validate-every'], '--validate-every', { integer: true, min: 1 }) ?? 1,
    augmentation: values['no-augment']
      ? null
      : {
          ...DEFAULT_AUGMENTATION,
          blurSigmaPixels: parseNumber(values.blur, '--blur', { min: 0, max: 5 }) ?? 0,
          lungShiftHu: parseNumber(values['lung-shift'], '--lung-shift', { min: 0, max: 120 }) ?? 0,
          mirror: values.mirror === true,
        },
    ...(values.init !== undefined ? { init: resolveInit(values.init) } : {}),
    skipInvalid: values['skip-invalid'] === true,
  }
}

async function exportCommand(values: Values): Promise<number> {
  const folder = resolve(values.export!)
  const output = resolve(required(values.output, '-o <model.onnx>'))
  const which = values.checkpoint ?? 'best'
  if (which !== 'best' && which !== 'last') throw new InputError(`--checkpoint expects best or last, got "${which}"`)
  readRunRecord(folder)
  const checkpoint = join(folder, which === 'best' ? RUN_FILES.best : RUN_FILES.last)
  if (!existsSync(checkpoint)) throw new InputError(`${folder} has no ${which}.ckpt yet${which === 'best' ? ' (no epoch was validated); try --checkpoint last' : ''}`)
  const threshold = parseNumber(values.threshold, '--threshold', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true })
  const metadata = await exportCheckpoint(checkpoint, output, { force: values.force === true, threshold })
  const thresholdNote = metadata.threshold === undefined ? '' : `, threshold ${metadata.threshold}`
  process.stdout.write(`wrote ${output}: ${metadata.task} model, classes ${metadata.classes.join(', ')}, input ${metadata.inputWidth} x ${metadata.inputHeight}${thresholdNote}\n`)
  return 0
}

/**
 * Creates the run folder, or with force clears the run files of an earlier run in it. Returns
 * true when the folder did not exist before.
 */
function prepareRunFolder(folder: string, force: boolean): boolean {
  if (existsSync(folder) && !statSync(folder).isDirectory()) throw new InputError(`-o ${folder} is a file; expected a folder for the run`)
  if (existsSync(join(folder, RUN_FILES.run))) {
    if (!force) throw new InputError(`${folder} already contains a training run (run.json); use --resume ${folder} to continue it, --force to start over, or another -o folder`)
    for (const name of Object.values(RUN_FILES)) rmSync(join(folder, name), { force: true })
  }
  const created = !existsSync(folder)
  createFolder(folder)
  const leftovers = readdirSync(folder).filter((name) => name.endsWith('.tmp'))
  for (const name of leftovers) rmSync(join(folder, name), { force: true })
  return created
}

function resolveInit(path: string): string {
  const absolute = resolve(path)
  if (existsSync(absolute) && statSync(absolute).isDirectory()) {
    const best = join(absolute, RUN_FILES.best)
    if (!existsSync(best)) throw new InputError(`--init ${path} is a folder without ${RUN_FILES.best}; pass a run folder, a .ckpt or a best.onnx`)
    return best
  }
  if (!existsSync(absolute)) throw new InputError(`--init ${path}: file not found`)
  return absolute
}

/**
 * Micro-batches per step when --accumulate is not given: enough that each contains at most
 * 8 slices of 296 x 216 pixels (or as many pixels at another size). The nn engine estimates
 * about 350 MB of saved activations per 296 x 216 slice, so that is about 2.8 GB per run.
 */
export function defaultAccumulation(batchSize: number, pixelsPerSlice: number): number {
  const maxSlices = Math.max(1, Math.floor((8 * DEFAULT_INPUT_WIDTH * DEFAULT_INPUT_HEIGHT) / pixelsPerSlice))
  return Math.ceil(batchSize / maxSlices)
}

function parseInputSize(text: string | undefined): [number, number] {
  if (text === undefined) return [TRAIN_DEFAULTS.inputWidth, TRAIN_DEFAULTS.inputHeight]
  const match = /^(\d+)x(\d+)$/i.exec(text.trim())
  if (match === null) throw new InputError(`--input-size expects columns x rows such as 296x216, got "${text}"`)
  const width = Number(match[1])
  const height = Number(match[2])
  if (width < 16 || height < 16) throw new InputError(`--input-size ${text} is too small; use at least 16x16 pixels`)
  return [width, height]
}

function parseChannels(text: string | undefined): [number, number, number] {
  if (text === undefined) return [...TRAIN_DEFAULTS.channels]
  const parts = parseList(text, '--channels').map(Number)
  if (parts.length !== 3 || parts.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new InputError(`--channels expects three positive integers such as 16,32,64, got "${text}"`)
  }
  if (parts[0]! > parts[1]! || parts[1]! > parts[2]!) throw new InputError(`--channels must not decrease from stage to stage, got "${text}"`)
  return parts as [number, number, number]
}

function parseLabelValue(text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InputError(`--label-value expects positive integers, got "${text}"`)
  return value
}

function parseList(text: string, option: string): string[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '')
  if (items.length === 0) throw new InputError(`${option} expects a comma-separated list, got "${text}"`)
  return items
}

interface NumberRule {
  integer?: boolean
  min?: number
  max?: number
  exclusiveMin?: boolean
  exclusiveMax?: boolean
}

function parseNumber(text: string | undefined, option: string, rule: NumberRule): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  const tooLow = rule.min !== undefined && (rule.exclusiveMin ? value <= rule.min : value < rule.min)
  const tooHigh = rule.max !== undefined && (rule.exclusiveMax ? value >= rule.max : value > rule.max)
  if (text.trim() === '' || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value)) || tooLow || tooHigh) {
    const range = [
      rule.min !== undefined ? `${rule.exclusiveMin ? '>' : '>='} ${rule.min}` : '',
      rule.max !== undefined ? `${rule.exclusiveMax ? '<' : '<='} ${rule.max}` : '',
    ].filter(Boolean).join(' and ')
    throw new InputError(`${option} expects ${rule.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got "${text}"`)
  }
  return value
}

function required(value: string | undefined, what: string): string {
  if (value === undefined || value.trim() === '') throw new InputError(`missing ${what}; see colinet train --help`)
  return value
}

function verbosityOf(values: Values): TrainingVerbosity {
  if (values.quiet) return 'quiet'
  return values.verbose ? 'verbose' : 'normal'
}

/**
 * Makes the first Ctrl-C stop the loop after the current step, with a checkpoint. A second
 * Ctrl-C ends the process at once.
 */
function installStopHandler(progress: TrainingProgress): { requested: () => boolean; remove: () => void } {
  let stopRequested = false
  const onSignal = () => {
    if (stopRequested) process.exit(130)
    stopRequested = true
    progress.log('stopping after the current step to save a checkpoint (Ctrl-C again to quit at once)')
  }
  process.on('SIGINT', onSignal)
  return { requested: () => stopRequested, remove: () => process.off('SIGINT', onSignal) }
}
