/**
 * Measures inference time of the 20-layer network on 216 x 296 slices with onnxruntime-node:
 * milliseconds per slice at batch 1, 4 and 8, 2 threads. Weights are freshly initialised,
 * which does not change the cost.
 *
 * Usage: npx tsx bench/forward.ts [repeats per batch size, default 2]
 */
import os from 'node:os'
import { resolveHighResNetOptions } from '../src/nn/highresnet.js'
import { buildInferenceModel } from '../src/nn/inference.js'
import { DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH, DEFAULT_PREPROCESSING } from '../src/nn/metadata.js'
import { SeededRandom } from '../src/nn/random.js'
import { SegmentationSession } from '../src/nn/session.js'
import { initialiseWeights } from '../src/nn/weights.js'

const THREADS = 2
const BATCH_SIZES = [1, 4, 8]

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 2)
  const [height, width] = [DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH]
  const weights = initialiseWeights(resolveHighResNetOptions(), 1)
  const model = buildInferenceModel(weights, {
    task: 'bench', classes: ['background', 'foreground'], inputHeight: height, inputWidth: width,
    preprocessing: DEFAULT_PREPROCESSING, trained: false,
  })
  const session = await SegmentationSession.load(model, { threads: THREADS })
  const random = new SeededRandom(2)

  console.log(`forward pass, ${height} x ${width} slices, ${THREADS} threads, ${repeats} timed runs after 1 warm-up`)
  console.log('batch  ms/slice  ms/batch')
  for (const batch of BATCH_SIZES) {
    const slices = Float32Array.from({ length: batch * height * width }, () => random.normal() * 0.3 - 0.5)
    await session.run(slices, batch, height, width)
    const start = performance.now()
    for (let i = 0; i < repeats; i++) await session.run(slices, batch, height, width)
    const perBatch = (performance.now() - start) / repeats
    console.log(`${String(batch).padStart(5)}  ${(perBatch / batch).toFixed(0).padStart(8)}  ${perBatch.toFixed(0).padStart(8)}`)
  }
  await session.release()
  // Other processes on a shared machine slow every number above; the load average shows it.
  console.log(`load average at the end (1 min): ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`)
}

await main()
