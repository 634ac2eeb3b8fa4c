/**
 * The training loop. It loads the manifest's cases, splits patients and trains for the set number
 * of epochs with validation after each. It keeps metrics.csv, the curves, run.json and the
 * checkpoints of the run folder up to date (run-folder.ts lists what each file contains).
 *
 * One epoch: the sampler's batches (see sampler.ts), each augmented and given to the trainer
 * as one step (or as `accumulate` micro-batches whose mean gradient makes one step), then
 * validation Dice per class in 3D per patient (validate.ts). The weights of the epoch with the
 * highest mean validation Dice are kept as best.ckpt.
 *
 * Repeatability: the split, the batches, the augmentation and the dropout masks all derive
 * from the seed and the epoch and step numbers, so a run stopped and resumed takes the same
 * steps as a run that was never stopped. (ONNX Runtime's multi-threaded reductions may still
 * differ in the last bits between runs.)
 */
import { existsSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { basename, join } from 'node:path'
import { InputError } from '../errors.js'
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint.js'
import { resolveHighResNetOptions } from '../nn/highresnet.js'
import { DEFAULT_PREPROCESSING, type ModelMetadata } from '../nn/metadata.js'
import { Trainer, type OptimizerState, type StepResult } from '../nn/trainer.js'
import { DEFAULT_LOSS_OPTIONS } from '../nn/training-graph.js'
import { loadInitialWeights, transferWeights } from '../nn/transfer.js'
import { widenWeights, widthFactor } from '../nn/widen.js'
import { initialiseWeights, type NetworkWeights } from '../nn/weights.js'
import { COLINET_INPUT, type NetworkInputSpec } from '../pipeline/preprocess.js'
import { svgToPng } from '../report/rasterize.js'
import { assembleBatch, splitBatch } from './batch.js'
import { bytesPerSlice, describeCases, findRepeatedScans, loadCases, type TrainingCase } from './dataset.js'
import { exportCheckpoint } from './export.js'
import { classNamesOf, runLabelRule } from './labels.js'
import { formatProblems, readManifest } from './manifest.js'
import { appendEpochRecord, readEpochRecords, type EpochRecord } from './metrics-log.js'
import { trainingCurvesSvg } from './plot.js'
import { formatDuration, type TrainingProgress } from './progress.js'
import { initialProgress, readRunRecord, RUN_FILES, writeFileAtomic, writeRunRecord, type RunRecord, type TrainSettings } from './run-folder.js'
import { mixSeed, SliceSampler } from './sampler.js'
import { splitPatients } from './split.js'
import { validate, type ValidationResult } from './validate.js'

export interface TrainRunOptions {
  folder: string
  settings: TrainSettings
  /** Continue the run in `folder` from last.ckpt instead of starting a new one. */
  resume: boolean
  threads: number
  /** Stop cleanly, with a checkpoint, before this many hours of this session have passed. */
  maxHours?: number
  /** Save last.ckpt at least this often inside an epoch, in minutes. Default 30. */
  checkpointMinutes?: number
  colinetVersion: string
  progress: TrainingProgress
  /** Returns true when training should stop at the next step (e.g. after Ctrl-C). */
  stopRequested?: () => boolean
}

export interface TrainOutcome {
  epochsCompleted: number
  bestEpoch?: number
  bestMeanDice?: number
  /** Why training ended: all epochs done, the time budget, or a stop request. */
  stoppedBy: 'finished' | 'time budget' | 'stop request'
  /** Path of the exported model. */
  modelPath: string
}

/** Runs (or resumes) a training run to its last epoch or until it is stopped. */
export async function runTraining(options: TrainRunOptions): Promise<TrainOutcome> {
  const session = await prepareSession(options)
  try {
    return await trainEpochs(session, options)
  } finally {
    await session.trainer.release()
  }
}

interface Session {
  settings: TrainSettings
  spec: NetworkInputSpec
  classNames: string[]
  record: RunRecord
  trainCases: TrainingCase[]
  validationCases: TrainingCase[]
  sampler: SliceSampler
  trainer: Trainer
  metadata: ModelMetadata
  history: EpochRecord[]
  progress: TrainingProgress
}

/** Loads data, split and weights: everything that happens before the first step. */
async function prepareSession(options: TrainRunOptions): Promise<Session> {
  const { settings, progress, folder } = options
  const spec: NetworkInputSpec = { ...COLINET_INPUT, width: settings.inputWidth, height: settings.inputHeight }
  const classNames = classNamesOf(settings.task, settings.lungClasses)
  const classCount = classNames.length
  const previous = options.resume ? readRunRecord(folder) : undefined

  const manifest = await readManifest(settings.manifest, { checkFiles: true, skipMissing: settings.skipInvalid })
  for (const message of manifest.leftOut) progress.warn(`left out ${message}`)
  progress.log(
    `reading ${manifest.rows.length} CT(s) from ${settings.manifest}; ` +
      `${(bytesPerSlice(spec) / 1e6).toFixed(2)} MB per slice in memory at ${spec.width} x ${spec.height}`,
  )
  const loaded = await loadCases(manifest, {
    task: settings.task,
    classCount,
    spec,
    defaultRule: runLabelRule(settings.task, classCount, settings.labelValues),
    skipInvalid: settings.skipInvalid,
    onCase: (done, total, row, seconds) => progress.log(`read ${done}/${total}: ${basename(row.image)} (${seconds.toFixed(1)} s)`),
    onWarning: (message) => progress.warn(message),
  })
  const summary = describeCases(loaded.cases)
  const rows = loaded.cases.map((c) => ({ image: c.row.image, patient: c.row.patient }))
  if (previous !== undefined) checkSameRows(previous, rows)

  const split = previous?.split ?? splitPatients(loaded.cases.map((c) => c.row.patient), {
    validationFraction: settings.validationFraction,
    seed: settings.seed,
    validationPatients: settings.validationPatients,
  })
  const validationSet = new Set(split.validation)
  checkRepeatedScans(manifest.path, loaded.cases, validationSet, progress)
  const trainCases = loaded.cases.filter((c) => !validationSet.has(c.row.patient))
  const validationCases = loaded.cases.filter((c) => validationSet.has(c.row.patient))
  const sampler = new SliceSampler(trainCases, { targetFraction: settings.targetFraction, seed: settings.seed })
  if (sampler.targetSliceCount === 0) {
    throw new InputError(`no training slice contains the ${settings.task} target: check the label files and the label rule (--label-value, label_map)`)
  }
  progress.log(
    `${summary.patients} patients from ${summary.centres.length} centre(s), ${summary.slices} slices ` +
      `(${summary.slicesWithTarget} with ${settings.task}), ${(summary.slices * bytesPerSlice(spec) / 1e9).toFixed(2)} GB in memory; ` +
      `training on ${split.training.length} patients (${sampler.sliceCount} slices), validating on ${split.validation.length}`,
  )

  const { weights, optimizer } = await initialWeights(options, classCount)
  const trainer = new Trainer(weights.options, weights, {
    learningRate: settings.learningRate,
    decay: settings.decay,
    loss: { ...DEFAULT_LOSS_OPTIONS, l2: settings.l2, crossEntropyWeight: settings.crossEntropyWeight ?? 0 },
    seed: settings.seed,
    threads: options.threads,
  }, optimizer)

  const now = new Date().toISOString()
  const record: RunRecord = previous !== undefined
    ? { ...previous, settings, updatedAt: now }
    : {
        colinetVersion: options.colinetVersion,
        createdAt: now,
        updatedAt: now,
        settings,
        split,
        data: { ...summary, cases: loaded.cases.length, skippedRows: loaded.skipped.map((s) => s.row.row) },
        rows,
        progress: initialProgress(),
      }
  const metadata: ModelMetadata = {
    task: settings.task,
    classes: classNames,
    inputHeight: spec.height,
    inputWidth: spec.width,
    preprocessing: { ...DEFAULT_PREPROCESSING, clipHu: [spec.minHu, spec.maxHu], scale: spec.scale },
    trained: true,
    trainingData: describeTrainingData(record, basename(settings.manifest)),
  }
  const history = readEpochRecords(join(folder, RUN_FILES.metrics), classNames)
  return { settings, spec, classNames, record, trainCases, validationCases, sampler, trainer, metadata, history, progress }
}

/** Weights to start from: last.ckpt when resuming, --init when given, else a fresh network. */
async function initialWeights(options: TrainRunOptions, classCount: number): Promise<{ weights: NetworkWeights; optimizer?: OptimizerState }> {
  const { settings } = options
  if (options.resume) {
    const checkpoint = await loadCheckpoint(join(options.folder, RUN_FILES.last))
    return { weights: checkpoint.weights, optimizer: checkpoint.optimizer }
  }
  if (settings.init !== undefined) {
    const source = await loadInitialWeights(settings.init)
    const sourceChannels = source.options.channels.join(',')
    const factor = widthFactor(source.options.channels, settings.channels)
    if (sourceChannels !== settings.channels.join(',') && factor === undefined) {
      throw new InputError(`--init ${settings.init} has channels ${sourceChannels} but this run asks for ${settings.channels.join(',')}; leave --channels out to take the initial network's, or ask for the same whole multiple of them in every stage (2 or more times) to widen it`)
    }
    let transferred = transferWeights(source, classCount, settings.seed)
    if (factor !== undefined) transferred = widenWeights(transferred, settings.channels, { seed: settings.seed })
    transferred.options = { ...transferred.options, dropoutRate: settings.dropout }
    const copied = `every layer copied${source.options.classes !== classCount ? ', output layer re-initialised for the new class count' : ''}`
    const widened = factor === undefined ? '' : `; widened from channels ${sourceChannels} to ${settings.channels.join(',')}, each channel copied ${factor} times with the weights that read it divided by ${factor} and 1 % noise, so the wider network starts from nearly the same output`
    options.progress.log(`starting from ${settings.init} (${copied}${widened})`)
    return { weights: transferred }
  }
  const network = resolveHighResNetOptions({ channels: settings.channels, classes: classCount, dropoutRate: settings.dropout })
  return { weights: initialiseWeights(network, settings.seed) }
}

/**
 * Rejects a scan listed in two rows on both sides of the split, because validation would then
 * measure a scan seen in training. A scan listed twice on one side gets a warning, since it then
 * counts twice in training or in the validation Dice.
 */
function checkRepeatedScans(manifestPath: string, cases: readonly TrainingCase[], validationPatients: ReadonlySet<string>, progress: TrainingProgress): void {
  const crossing: string[] = []
  for (const [first, second] of findRepeatedScans(cases)) {
    const rows =
      `rows ${first.row.row} and ${second.row.row} contain the same CT (size, spacing and voxel values): ` +
      `${first.row.image} (patient ${first.row.patient}) and ${second.row.image} (patient ${second.row.patient})`
    const firstValidates = validationPatients.has(first.row.patient)
    if (firstValidates !== validationPatients.has(second.row.patient)) {
      crossing.push(`${rows}, one in training and one in validation`)
    } else {
      progress.warn(`${manifestPath}: ${rows}, both in ${firstValidates ? 'validation' : 'training'}, so the scan counts twice; list it once`)
    }
  }
  if (crossing.length > 0) {
    throw new InputError(formatProblems(manifestPath, crossing, 'validation would measure scans seen in training; list each scan once, or give both rows one patient id'))
  }
}

function checkSameRows(previous: RunRecord, rows: { image: string; patient: string }[]): void {
  const key = (list: { image: string; patient: string }[]) => list.map((r) => `${r.image}\t${r.patient}`).join('\n')
  if (key(previous.rows) !== key(rows)) {
    throw new InputError(
      `the manifest ${previous.settings.manifest} lists other CTs or patients than when the run started ` +
        `(${previous.rows.length} rows then, ${rows.length} now); resume with the same manifest, or start a new run`,
    )
  }
}

function describeTrainingData(record: RunRecord, manifestName: string): string {
  const { data, split } = record
  return (
    `${data.patients} patients from ${data.centres.length} centre(s) (${data.centres.join(', ')}), ` +
    `${split.training.length} for training and ${split.validation.length} for validation, ${data.slices} slices, ` +
    `listed in ${manifestName}; trained with colinet ${record.colinetVersion}, run started ${record.createdAt.slice(0, 10)}`
  )
}

async function trainEpochs(session: Session, options: TrainRunOptions): Promise<TrainOutcome> {
  const { settings, record, trainer, sampler, progress } = session
  const folder = options.folder
  const sessionStart = performance.now()
  const deadline = options.maxHours !== undefined ? sessionStart + options.maxHours * 3600_000 : Infinity
  const checkpointEvery = (options.checkpointMinutes ?? 30) * 60_000
  let lastCheckpointAt = performance.now()
  const steps = sampler.stepsPerEpoch(settings.batchSize, settings.stepsPerEpoch)
  const timing = { stepSeconds: NaN, validationSeconds: NaN }
  let timedSteps = 0
  let stoppedBy: TrainOutcome['stoppedBy'] = 'finished'

  epochs: for (let epoch = record.progress.epochsCompleted + 1; epoch <= settings.epochs; epoch++) {
    const batches = sampler.epochBatches(epoch - 1, settings.batchSize, steps)
    const firstStep = record.progress.stepsIntoEpoch
    const epochStart = performance.now()
    let sessionSteps = 0

    for (let step = firstStep; step < steps; step++) {
      const stop = stopReason(options, deadline, timing, step === steps - 1 && validatesAfter(session, epoch))
      if (stop !== undefined) {
        stoppedBy = stop
        break epochs
      }
      const stepStart = performance.now()
      const batch = assembleBatch(session.trainCases, batches[step]!, session.spec, settings.augmentation ?? undefined, mixSeed(settings.seed, epoch * 1_000_003 + step))
      const result = await trainStep(trainer, batch, settings.accumulate)
      const stepSeconds = (performance.now() - stepStart) / 1000
      // The first step of a session also builds the training graphs and loads them into ONNX
      // Runtime, which for a small network takes longer than many steps, so the average of the
      // progress line restarts at the second step.
      timedSteps++
      timing.stepSeconds = timedSteps <= 2 ? stepSeconds : 0.8 * timing.stepSeconds + 0.2 * stepSeconds

      const p = record.progress
      p.stepsIntoEpoch = step + 1
      p.partialLossSum += result.loss
      p.partialDiceLossSum = (p.partialDiceLossSum ?? 0) + result.diceLoss
      p.partialL2Sum += result.l2Penalty
      p.partialSeconds += stepSeconds
      sessionSteps++
      reportStep(session, epoch, step + 1, steps, timing)

      if (performance.now() - lastCheckpointAt > checkpointEvery && step + 1 < steps) {
        await saveLast(session, folder, epoch)
        lastCheckpointAt = performance.now()
      }
    }

    const validates = validatesAfter(session, epoch)
    const stop = stopReason(options, deadline, { ...timing, stepSeconds: 0 }, validates)
    if (stop !== undefined) {
      stoppedBy = stop
      break
    }
    const validation = validates ? await runValidation(session, options.threads, epoch) : undefined
    if (validation !== undefined) timing.validationSeconds = validation.seconds
    await finishEpoch(session, folder, epoch, steps, validation)
    lastCheckpointAt = performance.now()
    progress.detail(`epoch ${epoch}: ${sessionSteps} steps in ${formatDuration((performance.now() - epochStart) / 1000)}`)
  }

  record.progress.totalSeconds += (performance.now() - sessionStart) / 1000
  if (stoppedBy !== 'finished') {
    await saveLast(session, folder, record.progress.epochsCompleted + 1)
    progress.log(`stopped by the ${stoppedBy} after ${record.progress.epochsCompleted} full epoch(s) and ${record.progress.stepsIntoEpoch} step(s) of the next; continue with --resume ${folder}`)
  }
  writeRunRecord(folder, record)
  const modelPath = await exportBest(session, folder)
  return {
    epochsCompleted: record.progress.epochsCompleted,
    bestEpoch: record.progress.bestEpoch,
    bestMeanDice: record.progress.bestMeanDice,
    stoppedBy,
    modelPath,
  }
}

/** One optimiser step, directly or over `accumulate` micro-batches; returns the mean loss. */
async function trainStep(trainer: Trainer, batch: ReturnType<typeof assembleBatch>, accumulate: number): Promise<StepResult> {
  if (accumulate <= 1) return trainer.trainStep(batch)
  const parts = splitBatch(batch, accumulate)
  const mean: StepResult = { loss: 0, diceLoss: 0, l2Penalty: 0 }
  for (const part of parts) {
    const result = await trainer.accumulateGradients(part)
    mean.loss += result.loss / parts.length
    mean.diceLoss += result.diceLoss / parts.length
    mean.l2Penalty += result.l2Penalty / parts.length
  }
  await trainer.applyAccumulatedGradients()
  return mean
}

/**
 * Decides whether to stop before the next step: on request, or when the step (and, after the
 * epoch's last step, validation) plus a checkpoint would not fit in the time budget. Before the
 * first step is timed nothing is known, so the first step always runs.
 */
function stopReason(
  options: TrainRunOptions,
  deadline: number,
  timing: { stepSeconds: number; validationSeconds: number },
  validationFollows: boolean,
): TrainOutcome['stoppedBy'] | undefined {
  if (options.stopRequested?.() === true) return 'stop request'
  if (deadline === Infinity || Number.isNaN(timing.stepSeconds)) return undefined
  const checkpointReserve = 10 + 2 * timing.stepSeconds
  let validationEstimate = 0
  if (validationFollows) {
    // Before the first validation is timed, guess it from the step time.
    validationEstimate = Number.isNaN(timing.validationSeconds) ? 5 * timing.stepSeconds : timing.validationSeconds
  }
  const needed = (timing.stepSeconds + validationEstimate + checkpointReserve) * 1000
  return performance.now() + needed > deadline ? 'time budget' : undefined
}

/** True when validation runs after `epoch`: every --validate-every epochs and after the last. */
function validatesAfter(session: Session, epoch: number): boolean {
  const every = session.settings.validateEvery ?? 1
  return session.validationCases.length > 0 && (epoch % every === 0 || epoch === session.settings.epochs)
}

function reportStep(session: Session, epoch: number, step: number, steps: number, timing: { stepSeconds: number; validationSeconds: number }): void {
  const { settings, record } = session
  const p = record.progress
  const validationSeconds = Number.isNaN(timing.validationSeconds) ? 0 : timing.validationSeconds
  const epochSecondsLeft = (steps - step) * timing.stepSeconds + validationSeconds
  const laterEpochs = settings.epochs - epoch
  session.progress.step({
    epoch,
    epochs: settings.epochs,
    step,
    steps,
    loss: p.partialLossSum / step,
    slicesPerSecond: settings.batchSize / timing.stepSeconds,
    epochSecondsLeft,
    runSecondsLeft: epochSecondsLeft + laterEpochs * (steps * timing.stepSeconds + validationSeconds),
  })
}

async function runValidation(session: Session, threads: number, epoch: number): Promise<ValidationResult> {
  const result = await validate(session.trainer.weights(), session.metadata, session.validationCases, {
    threads,
    onProgress: (done, total) => session.progress.validation(epoch, done, total),
  })
  const perClass = session.classNames.slice(1).map((name, k) => `${name} ${result.classDice[k]!.toFixed(4)}`).join(', ')
  session.progress.log(`epoch ${epoch}: validation Dice ${perClass} (mean ${result.meanDice.toFixed(4)}, ${result.slices} slices in ${formatDuration(result.seconds)})`)
  return result
}

/** Records the epoch, saves last (and best when it improved), and redraws the curves. */
async function finishEpoch(session: Session, folder: string, epoch: number, steps: number, validation: ValidationResult | undefined): Promise<void> {
  const { record, settings, trainer } = session
  const p = record.progress
  const stepCount = Math.max(1, p.stepsIntoEpoch)
  const epochRecord: EpochRecord = {
    epoch,
    steps,
    trainLoss: p.partialLossSum / stepCount,
    trainDiceLoss: (p.partialDiceLossSum ?? NaN) / stepCount,
    trainL2: p.partialL2Sum / stepCount,
    validationDice: validation?.classDice ?? [],
    validationMeanDice: validation?.meanDice ?? NaN,
    learningRate: settings.learningRate / (1 + settings.decay * Math.max(0, trainer.stepCount - 1)),
    trainSeconds: p.partialSeconds,
    trainSlicesPerSecond: (steps * settings.batchSize) / p.partialSeconds,
    validationSeconds: validation?.seconds ?? NaN,
  }
  const dicePart = (settings.crossEntropyWeight ?? 0) > 0 ? ` (soft Dice ${epochRecord.trainDiceLoss.toFixed(4)})` : ''
  session.progress.log(`epoch ${epoch}/${settings.epochs}: training loss ${epochRecord.trainLoss.toFixed(4)}${dicePart}, ${epochRecord.trainSlicesPerSecond.toFixed(2)} slices/s`)

  p.epochsCompleted = epoch
  p.stepsIntoEpoch = 0
  p.partialLossSum = 0
  p.partialDiceLossSum = 0
  p.partialL2Sum = 0
  p.partialSeconds = 0
  const improved = validation !== undefined && (p.bestMeanDice === undefined || validation.meanDice > p.bestMeanDice)
  if (improved) {
    p.bestEpoch = epoch
    p.bestMeanDice = validation.meanDice
  }
  session.metadata.trainingData = `${describeTrainingData(record, basename(settings.manifest))}; best validation mean Dice ${p.bestMeanDice?.toFixed(4) ?? 'n/a'} at epoch ${p.bestEpoch ?? 'n/a'}`

  await saveLast(session, folder, epoch)
  if (improved) await saveCheckpointOf(session, join(folder, RUN_FILES.best), epoch)
  appendEpochRecord(join(folder, RUN_FILES.metrics), session.classNames, epochRecord)
  session.history.push(epochRecord)
  writeCurves(session, folder)
}

async function saveLast(session: Session, folder: string, epoch: number): Promise<void> {
  await saveCheckpointOf(session, join(folder, RUN_FILES.last), epoch)
  session.record.updatedAt = new Date().toISOString()
  writeRunRecord(folder, session.record)
}

async function saveCheckpointOf(session: Session, path: string, epoch: number): Promise<void> {
  const { trainer, metadata, record } = session
  await saveCheckpoint(path, {
    weights: trainer.weights(),
    optimizer: trainer.optimizerState(),
    trainer: { learningRate: trainer.options.learningRate, decay: trainer.options.decay, loss: trainer.options.loss, adam: trainer.options.adam, seed: trainer.options.seed },
    model: metadata,
    notes: { epoch, progress: { ...record.progress } },
  })
}

function writeCurves(session: Session, folder: string): void {
  const title = `colinet ${session.settings.task} training: ${basename(folder)}`
  const svg = trainingCurvesSvg(session.history, session.classNames, title, session.settings.crossEntropyWeight ?? 0)
  writeFileAtomic(join(folder, RUN_FILES.curvesSvg), svg)
  writeFileAtomic(join(folder, RUN_FILES.curvesPng), svgToPng(svg, 1.5))
}

/** Exports best.ckpt (or last.ckpt when no epoch was validated yet) as best.onnx. */
async function exportBest(session: Session, folder: string): Promise<string> {
  const bestPath = join(folder, RUN_FILES.best)
  const lastPath = join(folder, RUN_FILES.last)
  const source = existsSync(bestPath) ? bestPath : lastPath
  if (!existsSync(source)) return ''
  const modelPath = join(folder, RUN_FILES.model)
  await exportCheckpoint(source, modelPath, { force: true })
  session.progress.log(`exported ${basename(source)} as ${modelPath}${source === lastPath ? ' (no validated epoch yet, so the last weights)' : ''}`)
  return modelPath
}
