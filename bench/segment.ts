// Benchmark of `colinet segment` on a generated 512 x 512 x 300 chest CT: seconds per stage,
// slices per second, the share of time outside the networks and peak memory (max RSS of this
// process, which also built the phantom).
// Run with `npm run bench` (or `npx tsx bench/segment.ts [--size 512,512,300] [--batch-size 8] [--compare-mirror]`);
// --compare-mirror segments the CT a second time without mirror averaging of the lesion network
// and prints the ratio of the two times.
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Progress } from '../src/cli/progress.js'
import { loadModels, segmentAndWrite } from '../src/cli/segment.js'
import { readVolume } from '../src/io/read.js'
import { writeVolume } from '../src/io/write.js'
import { MIN_LESION_REGION_ML } from '../src/pipeline/cleanup.js'
import { NETWORK_STAGES } from '../src/pipeline/segment.js'
import type { SegmentationReport } from '../src/report/report.js'
import { createChestPhantom } from '../src/sim/phantom.js'
import type { Vec3 } from '../src/volume/volume.js'

const { values } = parseArgs({
  options: { size: { type: 'string' }, 'batch-size': { type: 'string' }, 'compare-mirror': { type: 'boolean' } },
})
const size = (values.size ?? '512,512,300').split(',').map(Number) as Vec3
const batchSize = Number(values['batch-size'] ?? 8)

const folder = mkdtempSync(join(tmpdir(), 'colinet-bench-'))
try {
  // The phantom is written and dropped before the measured run, which starts from the file.
  const input = join(folder, 'ct.nii.gz')
  await writeVolume(input, createChestPhantom({ size, spacingMm: [0.7, 0.7, 1], seed: 3 }).ct)
  console.log(`colinet segment benchmark: ${size.join(' x ')} CT, batch ${batchSize}, ${availableParallelism()} cores, Node ${process.version}`)

  const mirrored = await timeSegment(input, join(folder, 'out'), true)
  printTiming(mirrored)
  // Peak memory of the default run, before any comparison run.
  console.log(`  peak memory (max RSS): ${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GB`)
  if (values['compare-mirror'] === true) {
    const single = await timeSegment(input, join(folder, 'out-single'), false)
    console.log('without mirror averaging of the lesion network (--no-mirror-average):')
    printTiming(single)
    const ratio = (stage: string): string => (mirrored.timingSeconds[stage] / single.timingSeconds[stage]).toFixed(2)
    console.log(`  with / without mirror averaging: lesion network ${ratio('lesionNetwork')}x, total ${ratio('total')}x`)
  }
} finally {
  rmSync(folder, { recursive: true, force: true })
}

async function timeSegment(input: string, outputFolder: string, mirrorAverage: boolean): Promise<SegmentationReport> {
  const readStart = performance.now()
  const read = await readVolume(input)
  const readSeconds = (performance.now() - readStart) / 1000
  const models = await loadModels(undefined, undefined, undefined)
  try {
    const { report } = await segmentAndWrite(
      read.volume,
      { path: input, description: read.description, readSeconds, warnings: [] },
      models,
      { outputFolder, format: 'nifti', force: false, json: false, batchSize, minLesionRegionMl: MIN_LESION_REGION_ML, mirrorAverage, progress: new Progress('normal') },
    )
    return report
  } finally {
    await models.lung.dispose()
    await models.lesion.dispose()
  }
}

function printTiming(report: SegmentationReport): void {
  const timing = report.timingSeconds
  const network = NETWORK_STAGES.reduce((sum, stage) => sum + (timing[stage] ?? 0), 0)
  for (const [stage, seconds] of Object.entries(timing)) console.log(`  ${stage.padEnd(14)} ${seconds.toFixed(2)} s`)
  console.log(`  lung network   ${(report.slices.lungNetwork / timing.lungNetwork).toFixed(2)} slices/s (${report.slices.lungNetwork} slices)`)
  console.log(`  lesion network ${(report.slices.lesionNetwork / timing.lesionNetwork).toFixed(2)} slices/s (${report.slices.lesionNetwork} slices with lung)`)
  console.log(`  whole pipeline ${(report.slices.total / timing.total).toFixed(2)} slices/s`)
  console.log(`  outside the networks: ${(timing.total - network).toFixed(2)} s = ${(100 * report.nonNetworkTimeFraction).toFixed(1)} % of the total`)
}
