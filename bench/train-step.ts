/**
 * Measures training of the 20-layer network on 216 x 296 slices with onnxruntime-node,
 * 2 threads: slices per second, the ratio of a training step's time to a forward pass's time on
 * the same batch, and peak resident memory (RSS). Each configuration runs in its own child
 * process, so that each peak RSS belongs to one configuration.
 *
 * Configurations: batch 8 in one training step; batch 32 as four accumulated micro-batches of 8
 * plus one Adam update.
 *
 * Usage: npx tsx bench/train-step.ts [timed steps, default 1]
 */
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { resolveHighResNetOptions } from '../src/nn/highresnet.js'
import { buildInferenceModel } from '../src/nn/inference.js'
import { DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH, DEFAULT_PREPROCESSING } from '../src/nn/metadata.js'
import { SeededRandom } from '../src/nn/random.js'
import { SegmentationSession } from '../src/nn/session.js'
import { Trainer, type TrainingBatch } from '../src/nn/trainer.js'
import { initialiseWeights } from '../src/nn/weights.js'

const THREADS = 2
const MICRO_BATCH = 8

interface Measurement {
  batch: number
  microBatches: number
  stepMs: number
  forwardMs: number
  peakRssMb: number
}

function syntheticBatch(n: number, random: SeededRandom): TrainingBatch {
  const pixels = DEFAULT_INPUT_HEIGHT * DEFAULT_INPUT_WIDTH
  const images = Float32Array.from({ length: n * pixels }, () => random.normal() * 0.3 - 0.5)
  const labels = Uint8Array.from({ length: n * pixels }, (_, i) => ((i % DEFAULT_INPUT_WIDTH) > DEFAULT_INPUT_WIDTH / 2 ? 1 : 0))
  return { images, labels, batch: n, height: DEFAULT_INPUT_HEIGHT, width: DEFAULT_INPUT_WIDTH }
}

/** Runs one configuration in this process and returns its numbers. */
async function measure(batch: number, steps: number): Promise<Measurement> {
  const options = resolveHighResNetOptions()
  const weights = initialiseWeights(options, 1)
  const random = new SeededRandom(2)
  const microBatches = Math.max(1, batch / MICRO_BATCH)
  const micro = syntheticBatch(Math.min(batch, MICRO_BATCH), random)
  const trainer = new Trainer(options, weights, { threads: THREADS })

  const step = async () => {
    if (microBatches === 1) {
      await trainer.trainStep(micro)
      return
    }
    for (let i = 0; i < microBatches; i++) await trainer.accumulateGradients(micro)
    await trainer.applyAccumulatedGradients()
  }
  // Warm-up: creates the sessions with one micro-batch (one full step without accumulation).
  if (microBatches === 1) {
    await trainer.trainStep(micro)
  } else {
    await trainer.accumulateGradients(micro)
    await trainer.applyAccumulatedGradients()
  }
  const start = performance.now()
  for (let i = 0; i < steps; i++) await step()
  const stepMs = (performance.now() - start) / steps
  await trainer.release()

  const session = await SegmentationSession.load(buildInferenceModel(weights, {
    task: 'bench', classes: ['background', 'foreground'], inputHeight: micro.height, inputWidth: micro.width,
    preprocessing: DEFAULT_PREPROCESSING, trained: false,
  }), { threads: THREADS })
  await session.run(micro.images, micro.batch, micro.height, micro.width)
  const forwardStart = performance.now()
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < microBatches; j++) await session.run(micro.images, micro.batch, micro.height, micro.width)
  }
  const forwardMs = (performance.now() - forwardStart) / steps
  await session.release()

  return { batch, microBatches, stepMs, forwardMs, peakRssMb: process.resourceUsage().maxRSS / 1024 }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const result = await measure(Number(process.argv[3]), Number(process.argv[4]))
    process.stdout.write(JSON.stringify(result))
    return
  }

  const steps = Number(process.argv[2] ?? 1)
  console.log(`training step, ${DEFAULT_INPUT_HEIGHT} x ${DEFAULT_INPUT_WIDTH} slices, ${THREADS} threads, ${steps} timed steps after a warm-up on one micro-batch`)
  console.log('batch  micro-batches  step s  slices/s  forward s  step/forward  peak RSS MB')
  for (const batch of [8, 32]) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--child', String(batch), String(steps)], { encoding: 'utf8', maxBuffer: 1 << 20 })
    if (child.status !== 0) {
      console.log(`batch ${batch}: failed (exit status ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' ')}`)
      continue
    }
    const m = JSON.parse(child.stdout) as Measurement
    const row = [
      String(m.batch).padStart(5),
      String(m.microBatches).padStart(13),
      (m.stepMs / 1000).toFixed(1).padStart(6),
      ((m.batch * 1000) / m.stepMs).toFixed(2).padStart(8),
      (m.forwardMs / 1000).toFixed(1).padStart(9),
      (m.stepMs / m.forwardMs).toFixed(2).padStart(12),
      m.peakRssMb.toFixed(0).padStart(11),
    ]
    console.log(row.join('  '))
  }
  // Other processes on a shared machine slow every number above; the load average shows it.
  console.log(`load average at the end (1 min): ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`)
}

await main()
