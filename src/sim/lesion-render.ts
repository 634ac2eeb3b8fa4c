import { openMask } from '../volume/morphology.js'
import type { Vec3, Volume } from '../volume/volume.js'
import { maskBoundingBox, pasteBox } from './label-box.js'
import { axisRoles } from './label-orientation.js'
import { ValueNoise } from './noise.js'
import { SeededRandom } from './random.js'
import type { VoxelPositions } from './voxel-positions.js'

/**
 * HU rendering of simulated pneumonia. Ground glass blends each voxel toward a level of about
 * -650 to -470 HU (weight 0.55 at the lesion margin rising to 1 inside) and never lowers a
 * voxel, so vessels stay visible. Crazy paving adds thickened septa, up to +220 HU along the
 * zero crossings of an 8 mm noise field, which draws a polygonal network. Consolidation sets
 * about -45 to +25 HU except in bronchi (lung below -920 HU that survives an in-plane opening),
 * which stay as air bronchograms. Each changed voxel gets new noise of 12 HU SD, scaled by the
 * blend weight, because blending scales down the scan's own noise.
 */

const PATTERN_GROUND_GLASS = 1
const PATTERN_CRAZY_PAVING = 2
const PATTERN_CONSOLIDATION = 3
const NOISE_SD_HU = 12
/** Lung voxels below this HU inside consolidation are kept as air bronchograms. */
const BRONCHUS_MAX_HU = -920

export function renderLesions(
  ct: Volume,
  lungVoxels: Int32Array,
  score: Float32Array,
  threshold: number,
  pattern: Uint8Array,
  positions: VoxelPositions,
  seed: number,
): Int16Array {
  const hu = new Int16Array(ct.data.length)
  for (let v = 0; v < hu.length; v++) hu[v] = Math.max(-32768, Math.min(32767, Math.round(ct.data[v])))
  const bronchi = findBronchi(ct, pattern)

  const random = new SeededRandom(seed + 31)
  const groundGlassLevel = new ValueNoise(seed + 32, 12)
  const consolidationLevel = new ValueNoise(seed + 33, 12)
  const septa = new ValueNoise(seed + 34, 8)
  for (let n = 0; n < lungVoxels.length; n++) {
    if (score[n] < threshold) continue
    const v = lungVoxels[n]
    const original = hu[v]
    const point: Vec3 = positions.of(v)
    const kind = pattern[v]

    if (kind === PATTERN_CONSOLIDATION) {
      if (bronchi[v] === 1) continue
      const level = -10 + 35 * consolidationLevel.at(point[0], point[1], point[2]) + NOISE_SD_HU * random.normal()
      if (level > original) hu[v] = Math.round(level)
      continue
    }

    // The margin ramps over a score of 0.1 (the score of a focus falls by 1 from centre to far lung).
    const strength = Math.min(1, (score[n] - threshold) / 0.1)
    const weight = 0.55 + 0.45 * strength
    const level = -560 + 90 * groundGlassLevel.at(point[0], point[1], point[2])
    let value = original + weight * (level - original) + weight * NOISE_SD_HU * random.normal()
    if (kind === PATTERN_CRAZY_PAVING) {
      const ridge = 1 - Math.abs(septa.at(point[0], point[1], point[2]))
      if (ridge > 0.85) value += (220 * (ridge - 0.85)) / 0.15
    }
    if (value > original) hu[v] = Math.round(value)
  }
  return hu
}

/** Marks air in the consolidation's bounding box: below -920 HU and wide enough to survive an in-plane opening by 1 voxel. */
function findBronchi(ct: Volume, pattern: Uint8Array): Uint8Array {
  const bronchi = new Uint8Array(ct.data.length)
  const consolidation = new Uint8Array(ct.data.length)
  for (let v = 0; v < pattern.length; v++) consolidation[v] = pattern[v] === PATTERN_CONSOLIDATION ? 1 : 0
  const box = maskBoundingBox(consolidation, ct.size)
  if (box === undefined) return bronchi

  const roles = axisRoles(ct)
  const radius: Vec3 = [1, 1, 1]
  radius[roles.sliceAxis] = 0
  const padded = box.padded(radius, ct.size)
  const [bx, by, bz] = padded.size
  const air = new Uint8Array(bx * by * bz)
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      for (let i = 0; i < bx; i++) {
        const v = padded.start[0] + i + ct.size[0] * (padded.start[1] + j + ct.size[1] * (padded.start[2] + k))
        air[i + bx * (j + by * k)] = ct.data[v] < BRONCHUS_MAX_HU ? 1 : 0
      }
    }
  }
  pasteBox(bronchi, ct.size, padded, openMask(air, padded.size, radius))
  return bronchi
}
