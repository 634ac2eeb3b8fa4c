import { IDENTITY_DIRECTION, type Vec3, type Volume } from '../volume/volume.js'
import { paintAnatomy } from './phantom-anatomy.js'
import type { PhantomGrid } from './phantom-grid.js'
import { paintPhantomLesions, type PhantomLesion } from './phantom-lesions.js'
import { paintAorta, paintCentralAirways, paintLungBronchi, paintVesselTrees } from './phantom-tubes.js'
import { addGaussianNoise, SeededRandom } from './random.js'

export { Tissue, type TissueClass } from './phantom-grid.js'
export type { PhantomLesion, PhantomLesionKind } from './phantom-lesions.js'

/**
 * A synthetic chest CT with exact lung and lesion masks, for demos, tests and benchmarks.
 *
 * The anatomy is defined in millimetres around the centre of the chest and sampled on the
 * requested grid (LPS, identity direction: index i runs toward the patient's left, j toward
 * posterior, k toward superior), so a coarse and a fine phantom show the same chest.
 */

export interface ChestPhantomOptions {
  /** Voxels per axis; default 128 x 128 x 64. */
  size?: Vec3
  /** Voxel spacing in mm; default a 360 x 360 x 300 mm field of view divided by the size. */
  spacingMm?: Vec3
  /** Seed of the random generator (vessel branching, lesion placement, noise); default 1. */
  seed?: number
  /** Whether to insert lesions; default true. */
  lesions?: boolean
  /** Number of lesions, alternating right and left lung; default 4 (two ground glass, two consolidation). */
  lesionCount?: number
  /** Standard deviation of the Gaussian image noise in HU; default 18. */
  noiseSdHu?: number
}

export interface ChestPhantom {
  ct: Volume<Int16Array>
  /** 1 = right lung, 2 = left lung. The trachea and main bronchi are not part of it; vessels and lobar bronchi are. */
  lung: Volume<Uint8Array>
  /** 1 = lesion; always inside the lung label. */
  lesion: Volume<Uint8Array>
  /** Tissue class per voxel (see Tissue), for tests that check HU per structure. */
  tissue: Volume<Uint8Array>
  /** The lesions that were placed (fewer than requested only when the grid shows too little lung). */
  lesions: PhantomLesion[]
}

const DEFAULT_SIZE: Vec3 = [128, 128, 64]
const FIELD_OF_VIEW_MM: Vec3 = [360, 360, 300]

/** Builds a chest phantom. A 512 x 512 x 300 phantom takes a few seconds and about 400 MB. */
export function createChestPhantom(options: ChestPhantomOptions = {}): ChestPhantom {
  const size: Vec3 = options.size ? [...options.size] : [...DEFAULT_SIZE]
  for (const n of size) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`createChestPhantom: size must be 3 positive integers, got ${size.join(' x ')}`)
  }
  const spacingMm: Vec3 = options.spacingMm
    ? [...options.spacingMm]
    : [FIELD_OF_VIEW_MM[0] / size[0], FIELD_OF_VIEW_MM[1] / size[1], FIELD_OF_VIEW_MM[2] / size[2]]
  if (spacingMm.some((s) => !(s > 0))) throw new Error(`createChestPhantom: spacing must be positive, got ${spacingMm.join(' x ')} mm`)
  const seed = options.seed ?? 1
  const origin: Vec3 = [0, 1, 2].map((axis) => (-(size[axis] - 1) / 2) * spacingMm[axis]) as Vec3
  const grid: PhantomGrid = { size, spacingMm, origin }

  const voxels = size[0] * size[1] * size[2]
  const tissue = new Uint8Array(voxels)
  const hu = new Int16Array(voxels)
  const lungLabel = new Uint8Array(voxels)
  const lesionMask = new Uint8Array(voxels)
  const random = new SeededRandom(seed)

  paintAnatomy(grid, tissue, hu, lungLabel)
  paintAorta(grid, tissue, hu, lungLabel)
  paintCentralAirways(grid, tissue, hu, lungLabel)
  paintLungBronchi(grid, tissue, hu)
  paintVesselTrees(grid, tissue, hu, random)
  const lesions = options.lesions === false ? [] : paintPhantomLesions(grid, tissue, hu, lungLabel, lesionMask, random, options.lesionCount ?? 4)
  addGaussianNoise(hu, options.noiseSdHu ?? 18, seed + 1)

  const geometry = { size, spacingMm, origin, direction: Float64Array.from(IDENTITY_DIRECTION) }
  const withGeometry = <T extends Int16Array | Uint8Array>(data: T): Volume<T> => ({
    data,
    size: [...size],
    spacingMm: [...spacingMm],
    origin: [...origin],
    direction: Float64Array.from(geometry.direction),
  })
  return {
    ct: withGeometry(hu),
    lung: withGeometry(lungLabel),
    lesion: withGeometry(lesionMask),
    tissue: withGeometry(tissue),
    lesions,
  }
}
