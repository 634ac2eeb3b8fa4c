import { InputError } from '../errors.js'
import { squaredDistanceTransform } from '../volume/distance.js'
import { describeGeometryMismatch, geometryOf, type Vec3, type Volume } from '../volume/volume.js'
import { renderLesions } from './lesion-render.js'
import { ValueNoise } from './noise.js'
import { SeededRandom } from './random.js'
import { VoxelPositions } from './voxel-positions.js'

/**
 * Inserts simulated COVID-19 pneumonia into the lungs of a real CT, with an exact lesion mask.
 *
 * Where: a score is computed for every lung voxel and the lesion is the top `targetPercent` of
 * lung voxels by that score, so the affected percentage is exact. The score sums three parts.
 * Gaussian foci alternate between the lungs, start mostly within 10 mm of the costal pleura and
 * in the lower and posterior lung, and fade with depth below the pleura. A bonus goes to
 * peripheral, lateral and basal voxels. Smooth noise makes the margins irregular. Small targets give a few peripheral patches. Large targets merge them into diffuse
 * disease that still spares central lung longest.
 *
 * What: the strongest part of the lesion (default 25%) becomes consolidation (about -50 to +30
 * HU, bronchi kept as air bronchograms). Part of the remaining ground glass (default 25%)
 * becomes crazy paving: ground glass crossed by a network of thickened septa. The rest is
 * ground-glass opacity (about -650 to -470 HU) blended over the existing lung. Blending only
 * raises HU, so vessels stay visible through ground glass.
 */

export interface SimulateLesionsOptions {
  /** Seed of the random generator; default 1. */
  seed?: number
  /** Percentage of the lung volume to affect, 0.5 to 90; default 15. */
  targetPercent?: number
  /** Fraction of the lesion volume that is consolidation, 0 to 1; default 0.25. */
  consolidationFraction?: number
  /** Fraction of the ground glass that shows crazy paving, 0 to 1; default 0.25. */
  crazyPavingFraction?: number
}

/** Lesion pattern per voxel in SimulatedLesions.pattern. */
export const LesionPattern = { none: 0, groundGlass: 1, crazyPaving: 2, consolidation: 3 } as const

export interface SimulatedLesions {
  /** The CT with lesions, int16 HU, on the input's grid. */
  ct: Volume<Int16Array>
  /** 1 = lesion; always inside the lung mask. */
  lesion: Volume<Uint8Array>
  /** LesionPattern per voxel. */
  pattern: Volume<Uint8Array>
  /** Lesion voxels / lung voxels x 100. */
  affectedPercent: number
  /** Number of seeded foci (before they merge). */
  focusCount: number
}

/** Subpleural band, in mm from the lung border, where most foci start. */
const SUBPLEURAL_MM = 10
/** Depth in mm over which the preference for the periphery falls by a factor e. */
const PERIPHERY_DECAY_MM = 15

export function simulateLesions(ct: Volume, lung: Volume, options: SimulateLesionsOptions = {}): SimulatedLesions {
  const settings = checkOptions(options)
  const mismatch = describeGeometryMismatch(ct, lung)
  if (mismatch !== undefined) {
    throw new InputError(`the lung mask does not lie on the CT's grid (${mismatch}); give the lung mask made for this CT`)
  }
  const lungVoxels = lungIndices(lung.data)
  if (lungVoxels.length === 0) throw new InputError('the lung mask is empty; expected nonzero voxels where the lungs are')

  const random = new SeededRandom(settings.seed)
  const positions = new VoxelPositions(ct)
  const depthMm = pleuralDepth(lung, lungVoxels)
  const extent = lungExtent(lungVoxels, positions)
  const foci = placeFoci(lungVoxels, lung.data, depthMm, extent, positions, settings.targetPercent, random)
  const score = scoreVoxels(lungVoxels, depthMm, extent, positions, foci, settings.seed)

  const lesionCount = Math.max(1, Math.round((settings.targetPercent / 100) * lungVoxels.length))
  const threshold = valueAtRank(score, lungVoxels.length - lesionCount)
  const lesion = new Uint8Array(ct.data.length)
  for (let n = 0; n < lungVoxels.length; n++) if (score[n] >= threshold) lesion[lungVoxels[n]] = 1

  const pattern = assignPatterns(lungVoxels, score, threshold, positions, settings)
  const hu = renderLesions(ct, lungVoxels, score, threshold, pattern, positions, settings.seed)

  let affected = 0
  for (let n = 0; n < lungVoxels.length; n++) affected += lesion[lungVoxels[n]]
  return {
    ct: { ...geometryOf(ct), data: hu },
    lesion: { ...geometryOf(ct), data: lesion },
    pattern: { ...geometryOf(ct), data: pattern },
    affectedPercent: (100 * affected) / lungVoxels.length,
    focusCount: foci.length,
  }
}

interface Settings {
  seed: number
  targetPercent: number
  consolidationFraction: number
  crazyPavingFraction: number
}

function checkOptions(options: SimulateLesionsOptions): Settings {
  const settings = {
    seed: options.seed ?? 1,
    targetPercent: options.targetPercent ?? 15,
    consolidationFraction: options.consolidationFraction ?? 0.25,
    crazyPavingFraction: options.crazyPavingFraction ?? 0.25,
  }
  if (!(settings.targetPercent >= 0.5 && settings.targetPercent <= 90)) {
    throw new InputError(`the target lesion percentage must be between 0.5 and 90, got ${settings.targetPercent}`)
  }
  for (const [name, value] of [['consolidation fraction', settings.consolidationFraction], ['crazy-paving fraction', settings.crazyPavingFraction]] as const) {
    if (!(value >= 0 && value <= 1)) throw new InputError(`the ${name} must be between 0 and 1, got ${value}`)
  }
  if (!Number.isFinite(settings.seed)) throw new InputError(`the seed must be a number, got ${settings.seed}`)
  return settings
}

function lungIndices(labels: ArrayLike<number>): Int32Array {
  let count = 0
  for (let v = 0; v < labels.length; v++) if (labels[v] !== 0) count++
  const indices = new Int32Array(count)
  let n = 0
  for (let v = 0; v < labels.length; v++) if (labels[v] !== 0) indices[n++] = v
  return indices
}

/** Distance in mm from each lung voxel's centre to the nearest voxel outside the lung. */
function pleuralDepth(lung: Volume, lungVoxels: Int32Array): Float32Array {
  const [nx, ny, nz] = lung.size
  const low: Vec3 = [nx, ny, nz]
  const high: Vec3 = [-1, -1, -1]
  for (const v of lungVoxels) {
    const index = [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))]
    for (let axis = 0; axis < 3; axis++) {
      low[axis] = Math.min(low[axis], index[axis])
      high[axis] = Math.max(high[axis], index[axis])
    }
  }
  // One voxel of margin puts non-lung voxels all around, so the cropped transform is exact.
  const start = low.map((value) => Math.max(0, value - 1)) as Vec3
  const end = high.map((value, axis) => Math.min(lung.size[axis], value + 2)) as Vec3
  const outside = new Uint8Array(lung.data.length)
  for (let v = 0; v < outside.length; v++) outside[v] = lung.data[v] === 0 ? 1 : 0
  const squared = squaredDistanceTransform(outside, lung.size, lung.spacingMm, { start, end })

  const depth = new Float32Array(lungVoxels.length)
  const box = [end[0] - start[0], end[1] - start[1]]
  for (let n = 0; n < lungVoxels.length; n++) {
    const v = lungVoxels[n]
    const local = v % nx - start[0] + box[0] * ((Math.floor(v / nx) % ny) - start[1] + box[1] * (Math.floor(v / (nx * ny)) - start[2]))
    // A lung voxel on the image border has no outside voxel in the box: treat the border as pleura.
    depth[n] = Number.isFinite(squared[local]) ? Math.sqrt(squared[local]) : 0
  }
  return depth
}

interface LungExtent {
  minX: number
  maxX: number
  minZ: number
  maxZ: number
  minY: number
  maxY: number
}

function lungExtent(lungVoxels: Int32Array, positions: VoxelPositions): LungExtent {
  const extent = { minX: Infinity, maxX: -Infinity, minZ: Infinity, maxZ: -Infinity, minY: Infinity, maxY: -Infinity }
  for (const v of lungVoxels) {
    const [x, y, z] = positions.of(v)
    extent.minX = Math.min(extent.minX, x)
    extent.maxX = Math.max(extent.maxX, x)
    extent.minZ = Math.min(extent.minZ, z)
    extent.maxZ = Math.max(extent.maxZ, z)
    extent.minY = Math.min(extent.minY, y)
    extent.maxY = Math.max(extent.maxY, y)
  }
  return extent
}

/** 0 at the lung base, 1 at the apex (LPS +z is superior). */
function relativeHeight(z: number, extent: LungExtent): number {
  return extent.maxZ > extent.minZ ? (z - extent.minZ) / (extent.maxZ - extent.minZ) : 0.5
}

/**
 * 0 at the midline between the lungs, 1 at the lateral chest wall. The mediastinal pleura is
 * pleura too, so depth alone would let foci sit at the hilum; COVID-19 pneumonia favours the
 * costal pleura.
 */
function relativeLateral(x: number, extent: LungExtent): number {
  const halfWidth = (extent.maxX - extent.minX) / 2
  return halfWidth > 0 ? Math.min(1, Math.abs(x - (extent.minX + extent.maxX) / 2) / halfWidth) : 0.5
}

/** 0 at the most anterior lung voxel, 1 at the most posterior (LPS +y is posterior). */
function relativePosterior(y: number, extent: LungExtent): number {
  return extent.maxY > extent.minY ? (y - extent.minY) / (extent.maxY - extent.minY) : 0.5
}

interface Focus {
  centre: Vec3
  sigmaMm: number
}

/**
 * Picks focus centres by rejection sampling over lung voxels. The acceptance weight favours
 * the subpleural band (x4), the base (x2.5 at the base, x1 at the apex), posterior lung and
 * the lateral half of each lung.
 * Foci alternate between the two lung labels when both are present (bilateral disease).
 */
function placeFoci(
  lungVoxels: Int32Array,
  labels: ArrayLike<number>,
  depthMm: Float32Array,
  extent: LungExtent,
  positions: VoxelPositions,
  targetPercent: number,
  random: SeededRandom,
): Focus[] {
  const count = Math.min(30, 3 + Math.round(targetPercent / 4))
  const present = new Set<number>()
  for (const v of lungVoxels) {
    present.add(labels[v])
    if (present.size > 1) break
  }
  const sides = [...present]

  const foci: Focus[] = []
  for (let f = 0; f < count; f++) {
    const side = sides[f % sides.length]
    for (let attempt = 0; attempt < 10000; attempt++) {
      const n = Math.floor(random.next() * lungVoxels.length)
      const v = lungVoxels[n]
      if (sides.length > 1 && labels[v] !== side) continue
      const [x, y, z] = positions.of(v)
      const weight =
        (depthMm[n] <= SUBPLEURAL_MM ? 1 : 0.25) *
        ((1 - relativeHeight(z, extent)) * 0.6 + 0.4) *
        (0.7 + 0.3 * relativePosterior(y, extent)) *
        (0.3 + 0.7 * relativeLateral(x, extent))
      if (random.next() >= weight) continue
      foci.push({ centre: [x, y, z], sigmaMm: random.uniform(10, 20) * (1 + targetPercent / 50) })
      break
    }
  }
  return foci
}

/** Score per lung voxel: the strongest focus, weighted toward the pleura, plus peripheral, basal and noise terms. */
function scoreVoxels(
  lungVoxels: Int32Array,
  depthMm: Float32Array,
  extent: LungExtent,
  positions: VoxelPositions,
  foci: Focus[],
  seed: number,
): Float32Array {
  const coarse = new ValueNoise(seed + 11, 15)
  const fine = new ValueNoise(seed + 12, 6)
  const score = new Float32Array(lungVoxels.length)
  for (let n = 0; n < lungVoxels.length; n++) {
    const [x, y, z] = positions.of(lungVoxels[n])
    let strongest = 0
    for (const focus of foci) {
      const dx = x - focus.centre[0]
      const dy = y - focus.centre[1]
      const dz = z - focus.centre[2]
      const reach = 3 * focus.sigmaMm
      if (Math.abs(dx) > reach || Math.abs(dy) > reach || Math.abs(dz) > reach) continue
      const value = Math.exp(-(dx * dx + dy * dy + dz * dz) / (2 * focus.sigmaMm * focus.sigmaMm))
      if (value > strongest) strongest = value
    }
    // Periphery falls from 1 at the pleura to 0.5 at 10 mm and 0.14 at 30 mm deep.
    const periphery = Math.exp(-depthMm[n] / PERIPHERY_DECAY_MM)
    score[n] =
      strongest * (0.4 + 0.6 * periphery) +
      0.3 * periphery +
      0.15 * (1 - relativeHeight(z, extent)) +
      0.2 * relativeLateral(x, extent) +
      0.2 * coarse.at(x, y, z) +
      0.08 * fine.at(x, y, z)
  }
  return score
}

/** Returns the value of rank `rank` (0 = smallest) among the values. */
function valueAtRank(values: Float32Array, rank: number): number {
  const sorted = Float32Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]
}

function assignPatterns(
  lungVoxels: Int32Array,
  score: Float32Array,
  threshold: number,
  positions: VoxelPositions,
  settings: Settings,
): Uint8Array {
  const lesionScores: number[] = []
  for (let n = 0; n < lungVoxels.length; n++) if (score[n] >= threshold) lesionScores.push(score[n])
  const consolidationThreshold =
    settings.consolidationFraction > 0
      ? valueAtRank(Float32Array.from(lesionScores), Math.round((1 - settings.consolidationFraction) * lesionScores.length))
      : Infinity

  const pavingNoise = new ValueNoise(settings.seed + 21, 20)
  const pavingValues: number[] = []
  for (let n = 0; n < lungVoxels.length; n++) {
    if (score[n] < threshold || score[n] >= consolidationThreshold) continue
    const [x, y, z] = positions.of(lungVoxels[n])
    pavingValues.push(pavingNoise.at(x, y, z))
  }
  const pavingThreshold =
    settings.crazyPavingFraction > 0 && pavingValues.length > 0
      ? valueAtRank(Float32Array.from(pavingValues), Math.round((1 - settings.crazyPavingFraction) * pavingValues.length))
      : Infinity

  const result = new Uint8Array(positions.voxelCount)
  for (let n = 0; n < lungVoxels.length; n++) {
    if (score[n] < threshold) continue
    const v = lungVoxels[n]
    if (score[n] >= consolidationThreshold) {
      result[v] = LesionPattern.consolidation
      continue
    }
    const [x, y, z] = positions.of(v)
    result[v] = pavingNoise.at(x, y, z) >= pavingThreshold ? LesionPattern.crazyPaving : LesionPattern.groundGlass
  }
  return result
}
