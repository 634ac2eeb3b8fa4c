import type { Vec3 } from '../volume/volume.js'
import { LUNG, lungSection } from './phantom-anatomy.js'
import { Tissue, type PhantomGrid } from './phantom-grid.js'
import type { SeededRandom } from './random.js'

/**
 * Ground-glass and consolidation lesions for the chest phantom: lobulated blobs centred just
 * inside the pleura, alternating right and left lung, more often in the lower half.
 */

export type PhantomLesionKind = 'groundGlass' | 'consolidation'

export interface PhantomLesion {
  kind: PhantomLesionKind
  /** Centre in LPS mm. */
  centre: Vec3
  radiusMm: number
  /** HU level of the lesion before texture and noise. */
  levelHu: number
}

/** HU ranges of the lesion levels; texture and the soft edge keep voxels within -750..-300 and -100..+60 before noise. */
const GROUND_GLASS = { minLevelHu: -620, maxLevelHu: -460, textureHu: 45, minRadiusMm: 14, maxRadiusMm: 26, edgeWeight: 0.4 }
const CONSOLIDATION = { minLevelHu: -40, maxLevelHu: 20, textureHu: 20, minRadiusMm: 10, maxRadiusMm: 17, edgeWeight: 1 }

/**
 * Places and paints `count` lesions. The lesion mask covers every lung-label voxel inside the
 * lesion shape; ground glass raises parenchyma only (vessels and bronchi stay visible), and
 * consolidation covers parenchyma and vessels but leaves bronchi as air bronchograms.
 */
export function paintPhantomLesions(
  grid: PhantomGrid,
  tissue: Uint8Array,
  hu: Int16Array,
  lungLabel: Uint8Array,
  lesionMask: Uint8Array,
  random: SeededRandom,
  count: number,
): PhantomLesion[] {
  const lesions: PhantomLesion[] = []
  for (let n = 0; n < count; n++) {
    const side = n % 2 === 0 ? -1 : 1
    const kind: PhantomLesionKind = Math.floor(n / 2) % 2 === 0 ? 'groundGlass' : 'consolidation'
    const settings = kind === 'groundGlass' ? GROUND_GLASS : CONSOLIDATION
    const radiusMm = random.uniform(settings.minRadiusMm, settings.maxRadiusMm)
    const centre = findSubpleuralCentre(grid, lungLabel, side, radiusMm, random)
    if (centre === undefined) continue
    const lesion: PhantomLesion = { kind, centre, radiusMm, levelHu: random.uniform(settings.minLevelHu, settings.maxLevelHu) }
    paintLesion(grid, tissue, hu, lungLabel, lesionMask, lesion, settings, random)
    lesions.push(lesion)
  }
  return lesions
}

/**
 * Picks a point at 0.55 radius inside the pleural surface: a height biased toward the base,
 * a direction from lateral to posterior, then a march outward from the lung's centre until
 * the lung label ends. Returns undefined when 30 attempts find no lung (a tiny field of view).
 */
function findSubpleuralCentre(
  grid: PhantomGrid,
  lungLabel: Uint8Array,
  side: -1 | 1,
  radiusMm: number,
  random: SeededRandom,
): Vec3 | undefined {
  const label = side < 0 ? 1 : 2
  const stepMm = Math.min(...grid.spacingMm) / 2
  for (let attempt = 0; attempt < 30; attempt++) {
    const zBase = side < 0 ? LUNG.zBaseRight : LUNG.zBaseLeft
    const z = zBase + LUNG.diaphragmDomeMm + (LUNG.zApex - zBase - 90) * random.next() ** 1.6
    const section = lungSection(side, z)
    if (section === undefined) continue
    const angle = random.uniform(-0.5, 1.4)
    const direction = [side * Math.cos(angle), Math.sin(angle)]

    let lastInside: Vec3 | undefined
    for (let distance = 0; distance < 200; distance += stepMm) {
      const point: Vec3 = [section.centreX + direction[0] * distance, section.centreY + direction[1] * distance, z]
      const value = labelAt(grid, lungLabel, point)
      if (value === label) lastInside = point
      else if (lastInside !== undefined) break
    }
    if (lastInside === undefined) continue

    const inset = 0.55 * radiusMm
    const centre: Vec3 = [lastInside[0] - direction[0] * inset, lastInside[1] - direction[1] * inset, z]
    if (labelAt(grid, lungLabel, centre) === label) return centre
  }
  return undefined
}

function labelAt(grid: PhantomGrid, lungLabel: Uint8Array, point: Vec3): number {
  const index = [0, 1, 2].map((axis) => Math.round((point[axis] - grid.origin[axis]) / grid.spacingMm[axis]))
  for (let axis = 0; axis < 3; axis++) {
    if (index[axis] < 0 || index[axis] >= grid.size[axis]) return 0
  }
  return lungLabel[index[0] + grid.size[0] * (index[1] + grid.size[1] * index[2])]
}

function paintLesion(
  grid: PhantomGrid,
  tissue: Uint8Array,
  hu: Int16Array,
  lungLabel: Uint8Array,
  lesionMask: Uint8Array,
  lesion: PhantomLesion,
  settings: { textureHu: number; edgeWeight: number },
  random: SeededRandom,
): void {
  const { size, spacingMm, origin } = grid
  const semiAxes: Vec3 = [lesion.radiusMm * random.uniform(0.8, 1.1), lesion.radiusMm * random.uniform(0.8, 1.1), lesion.radiusMm * random.uniform(1, 1.3)]
  const phases = [0, 1, 2, 3, 4].map(() => random.uniform(0, 2 * Math.PI))
  const reach = 1.3 * Math.max(...semiAxes)

  const low = [0, 1, 2].map((axis) => Math.max(0, Math.ceil((lesion.centre[axis] - reach - origin[axis]) / spacingMm[axis])))
  const high = [0, 1, 2].map((axis) => Math.min(size[axis] - 1, Math.floor((lesion.centre[axis] + reach - origin[axis]) / spacingMm[axis])))
  for (let k = low[2]; k <= high[2]; k++) {
    const z = origin[2] + k * spacingMm[2]
    for (let j = low[1]; j <= high[1]; j++) {
      const y = origin[1] + j * spacingMm[1]
      for (let i = low[0]; i <= high[0]; i++) {
        const v = i + size[0] * (j + size[1] * k)
        if (lungLabel[v] === 0) continue
        const x = origin[0] + i * spacingMm[0]
        const offset = [(x - lesion.centre[0]) / semiAxes[0], (y - lesion.centre[1]) / semiAxes[1], (z - lesion.centre[2]) / semiAxes[2]]
        const radial = Math.hypot(offset[0], offset[1], offset[2])

        // Lobulated outline: the boundary radius varies with direction by up to about 30%.
        const azimuth = Math.atan2(offset[1], offset[0])
        const elevation = Math.atan2(offset[2], Math.hypot(offset[0], offset[1]))
        const boundary = 1 + 0.2 * Math.sin(3 * azimuth + phases[0]) * Math.cos(2 * elevation + phases[1]) + 0.1 * Math.sin(5 * azimuth + phases[2])
        if (radial > boundary) continue

        lesionMask[v] = 1
        // Soft edge: over the outer 30% of the radius the blend weight rises from edgeWeight to 1.
        const weight = settings.edgeWeight + (1 - settings.edgeWeight) * Math.min(1, (1 - radial / boundary) / 0.3)
        const texture = settings.textureHu * Math.sin(x / 4 + phases[3]) * Math.sin(y / 5 + phases[4]) * Math.cos(z / 4.5)
        paintLesionVoxel(tissue, hu, v, lesion, weight, texture)
      }
    }
  }
}

function paintLesionVoxel(tissue: Uint8Array, hu: Int16Array, v: number, lesion: PhantomLesion, weight: number, texture: number): void {
  const current = tissue[v]
  const level = lesion.levelHu + texture
  if (lesion.kind === 'groundGlass') {
    if (current !== Tissue.lung && current !== Tissue.groundGlass) return
    const blended = Math.round(hu[v] + weight * (level - hu[v]))
    // Where lesions overlap, the denser value wins.
    if (current === Tissue.groundGlass && blended <= hu[v]) return
    tissue[v] = Tissue.groundGlass
    hu[v] = blended
    return
  }
  if (current === Tissue.lungAirway) return
  const blended = Math.round(hu[v] + weight * (level - hu[v]))
  if (current === Tissue.vessel && blended < hu[v]) return
  tissue[v] = Tissue.consolidation
  hu[v] = blended
}
