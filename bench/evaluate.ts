/**
 * Times the evaluation of a 512 x 512 x 300 pair of lung-shaped masks (overlap and all surface
 * distances) and the radiomics of a whole-lung region. Targets: under 10 s each.
 *
 * The surface distances run in alternation with the code before the fast path
 * (bench/surface-distance-baseline.ts), so both see the same load on a shared machine and their
 * ratio is meaningful. Wall and CPU time are printed for each run, then the steps of the new path.
 *
 * Run with: npx tsx bench/evaluate.ts [--rounds N] [--skip-radiomics]
 */
import { parseArgs } from 'node:util'
import { boundingBox, countForeground, surfaceVoxelIndices } from '../src/metrics/mask.js'
import { confusionCounts, overlapMetrics } from '../src/metrics/overlap.js'
import { computeRadiomics } from '../src/metrics/radiomics/radiomics.js'
import { computeSurfaceDistances, surfaceDistanceMetrics, type SurfaceDistanceMetrics } from '../src/metrics/surface-distance.js'
import { squaredDistancesAt, type IndexBox } from '../src/volume/distance.js'
import { createVolume, type Geometry, type Vec3 } from '../src/volume/volume.js'
import { baselineSurfaceDistances } from './surface-distance-baseline.js'

const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, 'skip-radiomics': { type: 'boolean', default: false } } })
const rounds = Number(options.rounds)

const size: Vec3 = [512, 512, 300]
const geometry: Geometry = { size, spacingMm: [0.7, 0.7, 1], origin: [0, 0, 0], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }

/** Two ellipsoids standing in for the lungs, with a wavy boundary so the surfaces are not trivial. */
function lungMask(shiftVoxels: number): Uint8Array {
  const mask = new Uint8Array(size[0] * size[1] * size[2])
  let n = 0
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0; i < size[0]; i++, n++) {
        for (const centreX of [160, 352]) {
          const dx = (i - centreX - shiftVoxels) / 110
          const dy = (j - 256) / 170
          const dz = (k - 150) / 140
          const wobble = 0.03 * Math.sin(i / 9) * Math.cos(k / 7)
          if (dx * dx + dy * dy + dz * dz <= 1 + wobble) mask[n] = 1
        }
      }
    }
  }
  return mask
}

interface Timing {
  wallSeconds: number
  cpuSeconds: number
}

function timed<T>(run: () => T): { result: T; timing: Timing } {
  const cpuStart = process.cpuUsage()
  const wallStart = process.hrtime.bigint()
  const result = run()
  const cpu = process.cpuUsage(cpuStart)
  return { result, timing: { wallSeconds: Number(process.hrtime.bigint() - wallStart) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 } }
}

const format = (timing: Timing): string => `${timing.wallSeconds.toFixed(2)} s wall, ${timing.cpuSeconds.toFixed(2)} s CPU`

function largestDifference(first: SurfaceDistanceMetrics, second: SurfaceDistanceMetrics): number {
  const names = ['meanSurfaceDistanceMm', 'averageHausdorffDistanceMm', 'hausdorff95Mm', 'hausdorffDistanceMm'] as const
  return Math.max(...names.map((name) => Math.abs(first[name] - second[name])))
}

const reference = lungMask(0)
const prediction = lungMask(3)
console.log(`masks ${size.join(' x ')}: reference ${countForeground(reference)} voxels, prediction ${countForeground(prediction)} voxels`)

console.log('\noverlap + surface distances, old and new in alternation (target < 10 s):')
for (let round = 0; round < rounds; round++) {
  const runOld = () => timed(() => {
    overlapMetrics(confusionCounts(prediction, reference))
    return baselineSurfaceDistances(prediction, reference, size, geometry.spacingMm)
  })
  const runNew = () => timed(() => {
    overlapMetrics(confusionCounts(prediction, reference))
    return computeSurfaceDistances(prediction, reference, size, geometry.spacingMm)
  })
  const oldFirst = round % 2 === 0
  const first = oldFirst ? runOld() : runNew()
  const second = oldFirst ? runNew() : runOld()
  const [old, fresh] = oldFirst ? [first, second] : [second, first]
  console.log(`  round ${round + 1}: old ${format(old.timing)}; new ${format(fresh.timing)}; old / new ${(old.timing.wallSeconds / fresh.timing.wallSeconds).toFixed(2)} (wall), ${(old.timing.cpuSeconds / fresh.timing.cpuSeconds).toFixed(2)} (CPU); largest metric difference ${largestDifference(old.result, fresh.result).toExponential(1)} mm`)
  if (round === rounds - 1) {
    const metrics = fresh.result
    console.log(`  MSD ${metrics.meanSurfaceDistanceMm.toFixed(3)} mm, AHD ${metrics.averageHausdorffDistanceMm.toFixed(3)} mm, HD95 ${metrics.hausdorff95Mm.toFixed(3)} mm, HD ${metrics.hausdorffDistanceMm.toFixed(3)} mm`)
  }
}

console.log('\nsteps of the new path:')
const step = <T>(name: string, run: () => T): T => {
  const { result, timing } = timed(run)
  console.log(`  ${name}: ${format(timing)}`)
  return result
}
const boxes = step('bounding boxes of both masks', () => [boundingBox([prediction], size)!, boundingBox([reference], size)!])
const predictionSurface = step('surface voxels of the prediction', () => surfaceVoxelIndices(prediction, size, boxes[0]))
const referenceSurface = surfaceVoxelIndices(reference, size, boxes[1])
const box: IndexBox = {
  start: boxes[0].start.map((value, axis) => Math.min(value, boxes[1].start[axis])) as Vec3,
  end: boxes[0].end.map((value, axis) => Math.max(value, boxes[1].end[axis])) as Vec3,
}
const forward = step('distances prediction → reference', () => squaredDistancesAt(referenceSurface, predictionSurface, size, geometry.spacingMm, box).map(Math.sqrt))
const backward = step('distances reference → prediction', () => squaredDistancesAt(predictionSurface, referenceSurface, size, geometry.spacingMm, box).map(Math.sqrt))
step('metrics from distances', () => surfaceDistanceMetrics({ predictionToReference: forward, referenceToPrediction: backward }))
console.log(`  (box ${box.start.join(',')} to ${box.end.join(',')}; ${predictionSurface.length} and ${referenceSurface.length} surface voxels)`)

if (!options['skip-radiomics']) {
  const ct = createVolume(geometry, Int16Array)
  for (let n = 0; n < ct.data.length; n++) ct.data[n] = -850 + ((n * 2654435761) % 400)
  const { result: features, timing } = timed(() => computeRadiomics(ct, { ...geometry, data: reference }))
  console.log(`\nradiomics of the whole-lung region (first-order + shape): ${format(timing)} (target < 10 s)`)
  console.log(`  MeshVolume ${features.original_shape_MeshVolume.toFixed(0)} mm³, Maximum3DDiameter ${features.original_shape_Maximum3DDiameter.toFixed(1)} mm`)
}
