/**
 * Times the evaluation of a 512 x 512 x 300 pair of lung-shaped masks (overlap and all surface
 * distances) and the radiomics of a whole-lung region. Targets: under 10 s each.
 * Run with: npx tsx bench/evaluate.ts
 */
import { countForeground } from '../src/metrics/mask.js'
import { confusionCounts, overlapMetrics } from '../src/metrics/overlap.js'
import { computeRadiomics } from '../src/metrics/radiomics/radiomics.js'
import { computeSurfaceDistances } from '../src/metrics/surface-distance.js'
import { createVolume, type Geometry, type Vec3 } from '../src/volume/volume.js'

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

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

const reference = lungMask(0)
const prediction = lungMask(3)
console.log(`masks ${size.join(' x ')}: reference ${countForeground(reference)} voxels, prediction ${countForeground(prediction)} voxels`)

let start = process.hrtime.bigint()
const overlap = overlapMetrics(confusionCounts(prediction, reference))
const distances = computeSurfaceDistances(prediction, reference, size, geometry.spacingMm)
const evaluationSeconds = seconds(start)
console.log(`overlap + surface distances: ${evaluationSeconds.toFixed(2)} s (target < 10 s)`)
console.log(`  Dice ${overlap.dice.toFixed(4)}, MSD ${distances.meanSurfaceDistanceMm.toFixed(3)} mm, HD95 ${distances.hausdorff95Mm.toFixed(3)} mm, HD ${distances.hausdorffDistanceMm.toFixed(3)} mm`)

const ct = createVolume(geometry, Int16Array)
for (let n = 0; n < ct.data.length; n++) ct.data[n] = -850 + ((n * 2654435761) % 400)
const mask = { ...geometry, data: reference }
start = process.hrtime.bigint()
const features = computeRadiomics(ct, mask)
const radiomicsSeconds = seconds(start)
console.log(`radiomics of the whole-lung region (first-order + shape): ${radiomicsSeconds.toFixed(2)} s (target < 10 s)`)
console.log(`  MeshVolume ${features.original_shape_MeshVolume.toFixed(0)} mm³, Maximum3DDiameter ${features.original_shape_Maximum3DDiameter.toFixed(1)} mm`)
