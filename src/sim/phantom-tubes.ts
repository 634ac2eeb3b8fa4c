import type { Vec3 } from '../volume/volume.js'
import { PhantomHu } from './phantom-anatomy.js'
import { forEachVoxelNearSegment, Tissue, type PhantomGrid } from './phantom-grid.js'
import type { SeededRandom } from './random.js'

/**
 * Tubular structures of the chest phantom: the trachea and main bronchi (air with a soft-tissue
 * wall, outside the lung label), the aorta, the bronchi inside the lungs and the pulmonary
 * vessel trees (inside the lung label). Positions are LPS mm from the centre of the chest.
 */

const CARINA: Vec3 = [-3, 18, 38]
const TRACHEA_TOP: Vec3 = [-3, 18, 400]
const TRACHEA = { lumenMm: 8, wallMm: 2.5 }
/** The main bronchi end about 10 mm inside the lungs' medial surface, as at the hilum. */
const RIGHT_MAIN_BRONCHUS_END: Vec3 = [-44, 14, 12]
const LEFT_MAIN_BRONCHUS_END: Vec3 = [48, 20, 4]
const MAIN_BRONCHUS = { lumenMm: 6, wallMm: 2 }
const LUNG_BRONCHUS_LUMEN_MM = 2.5

const AORTA = {
  path: [
    [8, -20, -40],
    [8, -20, 45],
    [18, 8, 66],
    [25, 42, 52],
    [25, 42, -400],
  ] as Vec3[],
  radiusMm: 13,
  /** Lung within this margin of the aortic wall becomes mediastinal soft tissue. */
  marginMm: 4,
}

export interface AirwaySegment {
  from: Vec3
  to: Vec3
  lumenMm: number
  wallMm: number
}

/** The trachea and the two main bronchi. */
export const CENTRAL_AIRWAYS: AirwaySegment[] = [
  { from: TRACHEA_TOP, to: CARINA, ...TRACHEA },
  { from: CARINA, to: RIGHT_MAIN_BRONCHUS_END, ...MAIN_BRONCHUS },
  { from: CARINA, to: LEFT_MAIN_BRONCHUS_END, ...MAIN_BRONCHUS },
]

/** Paints the aorta over everything but bone, and removes lung next to it from the lung label. */
export function paintAorta(grid: PhantomGrid, tissue: Uint8Array, hu: Int16Array, lungLabel: Uint8Array): void {
  for (let s = 0; s + 1 < AORTA.path.length; s++) {
    forEachVoxelNearSegment(grid, AORTA.path[s], AORTA.path[s + 1], AORTA.radiusMm + AORTA.marginMm, (v, distance) => {
      if (tissue[v] === Tissue.bone || tissue[v] === Tissue.outsideAir) return
      if (distance <= AORTA.radiusMm) {
        tissue[v] = Tissue.softTissue
        hu[v] = PhantomHu.blood
        lungLabel[v] = 0
      } else if (tissue[v] === Tissue.lung) {
        tissue[v] = Tissue.softTissue
        hu[v] = PhantomHu.muscle
        lungLabel[v] = 0
      }
    })
  }
}

/**
 * Paints the trachea and main bronchi (walls first, then lumens, so that a wall never covers
 * the lumen of the next segment) and clears them from the lung label.
 */
export function paintCentralAirways(grid: PhantomGrid, tissue: Uint8Array, hu: Int16Array, lungLabel: Uint8Array): void {
  for (const segment of CENTRAL_AIRWAYS) {
    forEachVoxelNearSegment(grid, segment.from, segment.to, segment.lumenMm + segment.wallMm, (v) => {
      if (tissue[v] === Tissue.bone || tissue[v] === Tissue.outsideAir) return
      tissue[v] = Tissue.airwayWall
      hu[v] = PhantomHu.airwayWall
      lungLabel[v] = 0
    })
  }
  for (const segment of CENTRAL_AIRWAYS) {
    forEachVoxelNearSegment(grid, segment.from, segment.to, segment.lumenMm, (v) => {
      if (tissue[v] === Tissue.outsideAir) return
      tissue[v] = Tissue.airway
      hu[v] = PhantomHu.air
    })
  }
}

/** Paints lobar bronchi (air lumens inside the lung label) from the ends of the main bronchi. */
export function paintLungBronchi(grid: PhantomGrid, tissue: Uint8Array, hu: Int16Array): void {
  const branches: [Vec3, Vec3][] = [
    [RIGHT_MAIN_BRONCHUS_END, [-72, 8, 55]],
    [RIGHT_MAIN_BRONCHUS_END, [-82, 0, -15]],
    [RIGHT_MAIN_BRONCHUS_END, [-70, 35, -55]],
    [LEFT_MAIN_BRONCHUS_END, [75, 12, 50]],
    [LEFT_MAIN_BRONCHUS_END, [85, 4, -25]],
    [LEFT_MAIN_BRONCHUS_END, [72, 38, -65]],
  ]
  for (const [from, to] of branches) {
    forEachVoxelNearSegment(grid, from, to, LUNG_BRONCHUS_LUMEN_MM, (v) => {
      if (tissue[v] !== Tissue.lung) return
      tissue[v] = Tissue.lungAirway
      hu[v] = PhantomHu.lungAirway
    })
  }
}

/**
 * Paints a pulmonary vessel tree per lung: six trunks from the hilum, each branching in two
 * three times (radius x 0.7 and length x 0.75 per generation), drawn only over lung parenchyma.
 */
export function paintVesselTrees(grid: PhantomGrid, tissue: Uint8Array, hu: Int16Array, random: SeededRandom): void {
  for (const side of [-1, 1]) {
    const hilum: Vec3 = [side * 36, 2, 2]
    const trunks: Vec3[] = [
      [side * 0.3, 0.1, 1],
      [side * 1, -0.2, 0.5],
      [side * 1, 0.3, -0.2],
      [side * 0.4, -1, -0.6],
      [side * 0.5, 1, -0.8],
      [side * 0.4, 0.1, -1],
    ]
    for (const direction of trunks) {
      paintBranch(grid, tissue, hu, random, hilum, normalise(direction), 52, 4.5, 3)
    }
  }
}

function paintBranch(
  grid: PhantomGrid,
  tissue: Uint8Array,
  hu: Int16Array,
  random: SeededRandom,
  start: Vec3,
  direction: Vec3,
  lengthMm: number,
  radiusMm: number,
  generationsLeft: number,
): void {
  const end: Vec3 = [
    start[0] + direction[0] * lengthMm,
    start[1] + direction[1] * lengthMm,
    start[2] + direction[2] * lengthMm,
  ]
  forEachVoxelNearSegment(grid, start, end, radiusMm, (v) => {
    if (tissue[v] !== Tissue.lung) return
    tissue[v] = Tissue.vessel
    hu[v] = PhantomHu.vessel
  })
  if (generationsLeft === 0) return

  for (let child = 0; child < 2; child++) {
    const turned = normalise([
      direction[0] + random.uniform(-0.7, 0.7),
      direction[1] + random.uniform(-0.7, 0.7),
      direction[2] + random.uniform(-0.7, 0.7),
    ])
    paintBranch(grid, tissue, hu, random, end, turned, lengthMm * 0.75, radiusMm * 0.7, generationsLeft - 1)
  }
}

function normalise(vector: Vec3): Vec3 {
  const length = Math.hypot(vector[0], vector[1], vector[2])
  return [vector[0] / length, vector[1] / length, vector[2] / length]
}
