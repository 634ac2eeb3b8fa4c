import { labelComponents2D } from '../volume/components.js'
import { dilateMask } from '../volume/morphology.js'
import type { Volume, Vec3 } from '../volume/volume.js'
import { stridesOf, type AxisRoles } from './label-orientation.js'

/**
 * Finding the trachea and main bronchi so they can be taken out of a lung mask. The trachea is
 * the round air region near the body's midline in the upper slices. The airway tree is grown
 * from it with a threshold raised step by step until the region leaks into the lungs.
 */

export interface AirwaySettings {
  /** Area range of the trachea's cross-section in mm²; adult tracheas are about 150 to 500 mm². */
  minTracheaAreaMm2: number
  maxTracheaAreaMm2: number
  /** Largest distance in mm between the trachea's centre and the body's midline (left-right). */
  maxTracheaOffsetMm: number
  /** Upper part of the air candidates' height, as a fraction, in which the trachea is looked for. */
  searchFraction: number
  /** Growth thresholds tried in order, in HU. */
  thresholdsHu: number[]
  /** A grown airway larger than this (mL) has leaked into the lungs. */
  maxAirwayMl: number
  /** A step that multiplies the airway volume by more than this, past `minLeakMl`, is a leak. */
  leakGrowthFactor: number
  minLeakMl: number
  /** How far (mm) the trachea is followed through slices where it touches a lung. */
  maxConstrainedTrackMm: number
}

export const DEFAULT_AIRWAY_SETTINGS: AirwaySettings = {
  minTracheaAreaMm2: 40,
  maxTracheaAreaMm2: 800,
  maxTracheaOffsetMm: 30,
  searchFraction: 0.4,
  thresholdsHu: [-975, -950, -925, -900, -875, -850, -825, -800, -775, -750],
  maxAirwayMl: 250,
  leakGrowthFactor: 1.8,
  minLeakMl: 60,
  maxConstrainedTrackMm: 40,
}

export interface CentralAirways {
  /** 1 on the grown trachea and bronchi. */
  mask: Uint8Array
  /** Highest threshold (HU) at which the growth did not leak. */
  thresholdHu: number
  volumeMl: number
}

/**
 * Finds the trachea among the air candidates (`candidates`: 1 on air or lung inside the body)
 * and grows the airway tree from it. Returns undefined, with a warning, when no trachea is found
 * or the first growth step already leaks.
 */
export function findCentralAirways(
  ct: Volume,
  candidates: Uint8Array,
  body: Uint8Array,
  roles: AxisRoles,
  warnings: string[],
  settings: AirwaySettings = DEFAULT_AIRWAY_SETTINGS,
): CentralAirways | undefined {
  const seeds = findTracheaSeeds(ct, candidates, body, roles, settings)
  if (seeds === undefined) {
    warnings.push('no trachea found in the upper slices; the trachea and main bronchi were not removed from the lung label')
    return undefined
  }

  const voxelMl = (ct.spacingMm[0] * ct.spacingMm[1] * ct.spacingMm[2]) / 1000
  const maxVoxels = Math.ceil(settings.maxAirwayMl / voxelMl)
  let accepted: CentralAirways | undefined
  for (const thresholdHu of settings.thresholdsHu) {
    const region = growBelowThreshold(ct, candidates, seeds, thresholdHu, maxVoxels)
    const volumeMl = region === undefined ? Infinity : region.count * voxelMl
    const previousMl = accepted?.volumeMl ?? 0
    const leaked =
      region === undefined || (volumeMl > settings.minLeakMl && previousMl > 0 && volumeMl > settings.leakGrowthFactor * previousMl)
    if (leaked) break
    accepted = { mask: region.mask, thresholdHu, volumeMl }
  }

  // Partial volume can leave the trachea denser than the lungs (thick slices, emphysema), so the
  // growth stops early or leaks at once. Following the trachea slice by slice still removes it.
  const tracked = trackTrachea(ct, candidates, seeds, roles, settings)
  if (accepted === undefined) {
    warnings.push(`the airway growth from the trachea leaked into the lungs at ${settings.thresholdsHu[0]} HU; only the trachea followed slice by slice was removed`)
    let count = 0
    for (const value of tracked) count += value
    return { mask: tracked, thresholdHu: NaN, volumeMl: count * voxelMl }
  }
  for (let v = 0; v < tracked.length; v++) if (tracked[v] === 1 && accepted.mask[v] === 0) {
    accepted.mask[v] = 1
    accepted.volumeMl += voxelMl
  }
  return accepted
}

/**
 * Follows the trachea down from its seed slice: in each next slice the trachea is the 2D
 * candidate component that overlaps the previous cross-section, while its area stays within
 * the trachea's range and below `leakGrowthFactor` times the previous area. It stops where the
 * airway merges with a lung or divides at the carina.
 */
function trackTrachea(ct: Volume, candidates: Uint8Array, seeds: number[], roles: AxisRoles, settings: AirwaySettings): Uint8Array {
  const size = ct.size
  const strides = stridesOf(size)
  const { sliceAxis } = roles
  const [uAxis, vAxis] = ([0, 1, 2] as const).filter((axis) => axis !== sliceAxis)
  const width = size[uAxis]
  const height = size[vAxis]
  const pixelAreaMm2 = ct.spacingMm[uAxis] * ct.spacingMm[vAxis]
  const mask = new Uint8Array(candidates.length)
  const pixelIndex = (s: number, p: number): number => s * strides[sliceAxis] + (p % width) * strides[uAxis] + Math.floor(p / width) * strides[vAxis]

  const seedSlice = Math.floor(seeds[0] / strides[sliceAxis]) % size[sliceAxis]
  let previous = new Uint8Array(width * height)
  for (const seed of seeds) {
    mask[seed] = 1
    const u = Math.floor(seed / strides[uAxis]) % size[uAxis]
    const v = Math.floor(seed / strides[vAxis]) % size[vAxis]
    previous[u + width * v] = 1
  }
  let previousArea = seeds.length
  let constrainedMm = 0

  const step = -roles.superiorStep
  // Axial slices of a volume stored slice by slice are read in place; others are copied.
  const contiguous = sliceAxis === 2
  const copy = new Uint8Array(width * height)
  for (let s = seedSlice + step; s >= 0 && s < size[sliceAxis]; s += step) {
    let slice: Uint8Array = copy
    if (contiguous) slice = candidates.subarray(s * width * height, (s + 1) * width * height)
    else for (let p = 0; p < slice.length; p++) slice[p] = candidates[pixelIndex(s, p)]
    const components = labelComponents2D(slice, width, height, 8)
    const overlapping = new Set<number>()
    for (let p = 0; p < slice.length; p++) if (previous[p] === 1 && components.labels[p] !== 0) overlapping.add(components.labels[p])
    if (overlapping.size !== 1) break
    const [label] = overlapping
    const area = components.voxelCounts[label]
    const merged = area * pixelAreaMm2 > settings.maxTracheaAreaMm2 || area > settings.leakGrowthFactor * previousArea

    const current = new Uint8Array(width * height)
    let currentArea = 0
    if (!merged) {
      for (let p = 0; p < slice.length; p++) if (components.labels[p] === label) current[p] = 1
      currentArea = area
      constrainedMm = 0
    } else {
      // The trachea touches a lung in this slice: keep the candidates within one pixel of the
      // previous cross-section, for at most `maxConstrainedTrackMm` and while the area holds.
      constrainedMm += ct.spacingMm[sliceAxis]
      if (constrainedMm > settings.maxConstrainedTrackMm) break
      const grown = dilateMask(previous, [width, height, 1], [1, 1, 0])
      for (let p = 0; p < slice.length; p++) {
        if (grown[p] === 1 && slice[p] === 1) {
          current[p] = 1
          currentArea++
        }
      }
      if (currentArea < 0.5 * previousArea || currentArea > settings.leakGrowthFactor * previousArea) break
    }

    if (contiguous) mask.set(current, s * width * height)
    else for (let p = 0; p < slice.length; p++) if (current[p] === 1) mask[pixelIndex(s, p)] = 1
    previous = current
    previousArea = currentArea
  }
  return mask
}

/** Returns the voxel indices of the trachea's cross-section in the highest slice where it is found. */
function findTracheaSeeds(
  ct: Volume,
  candidates: Uint8Array,
  body: Uint8Array,
  roles: AxisRoles,
  settings: AirwaySettings,
): number[] | undefined {
  const size = ct.size
  const strides = stridesOf(size)
  const { sliceAxis, leftRightAxis } = roles
  const [uAxis, vAxis] = ([0, 1, 2] as const).filter((axis) => axis !== sliceAxis)
  const width = size[uAxis]
  const height = size[vAxis]
  const pixelAreaMm2 = ct.spacingMm[uAxis] * ct.spacingMm[vAxis]
  const leftRightSpacing = ct.spacingMm[leftRightAxis]

  const occupied = slicesWithCandidates(candidates, size, roles)
  if (occupied.length === 0) return undefined
  const searchCount = Math.max(1, Math.ceil(settings.searchFraction * occupied.length))

  const slice = new Uint8Array(width * height)
  for (const s of occupied.slice(0, searchCount)) {
    let bodySum = 0
    let bodyCount = 0
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        const index = s * strides[sliceAxis] + u * strides[uAxis] + v * strides[vAxis]
        slice[u + width * v] = candidates[index]
        if (body[index] !== 0) {
          bodySum += leftRightAxis === uAxis ? u : v
          bodyCount++
        }
      }
    }
    if (bodyCount === 0) continue
    const bodyCentre = bodySum / bodyCount

    const components = labelComponents2D(slice, width, height, 8)
    const sums = new Float64Array(components.count + 1)
    for (let p = 0; p < slice.length; p++) {
      const label = components.labels[p]
      if (label !== 0) sums[label] += leftRightAxis === uAxis ? p % width : Math.floor(p / width)
    }
    for (let label = 1; label <= components.count; label++) {
      const areaMm2 = components.voxelCounts[label] * pixelAreaMm2
      const offsetMm = Math.abs(sums[label] / components.voxelCounts[label] - bodyCentre) * leftRightSpacing
      if (areaMm2 < settings.minTracheaAreaMm2 || areaMm2 > settings.maxTracheaAreaMm2) continue
      if (offsetMm > settings.maxTracheaOffsetMm) continue
      const seeds: number[] = []
      for (let p = 0; p < slice.length; p++) {
        if (components.labels[p] === label) {
          seeds.push(s * strides[sliceAxis] + (p % width) * strides[uAxis] + Math.floor(p / width) * strides[vAxis])
        }
      }
      return seeds
    }
  }
  return undefined
}

/** Slice indices along the slice axis that contain candidates, ordered from the head down. */
function slicesWithCandidates(candidates: Uint8Array, size: Vec3, roles: AxisRoles): number[] {
  const { sliceAxis } = roles
  const present = new Uint8Array(size[sliceAxis])
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      const rowBase = size[0] * (j + size[1] * k)
      if (sliceAxis === 0) {
        for (let i = 0; i < size[0]; i++) if (candidates[rowBase + i] !== 0) present[i] = 1
        continue
      }
      const rowHasCandidate = candidates.subarray(rowBase, rowBase + size[0]).includes(1)
      if (rowHasCandidate) present[sliceAxis === 1 ? j : k] = 1
    }
  }
  const slices: number[] = []
  for (let s = 0; s < present.length; s++) if (present[s] === 1) slices.push(s)
  return roles.superiorStep > 0 ? slices.reverse() : slices
}

/**
 * Grows a 6-connected region from the seeds through candidate voxels below `thresholdHu`.
 * Returns undefined when the region would exceed `maxVoxels`.
 */
function growBelowThreshold(
  ct: Volume,
  candidates: Uint8Array,
  seeds: number[],
  thresholdHu: number,
  maxVoxels: number,
): { mask: Uint8Array; count: number } | undefined {
  const [nx, ny, nz] = ct.size
  const data = ct.data
  const mask = new Uint8Array(data.length)
  const queue = new Int32Array(maxVoxels + 1)
  let tail = 0
  for (const seed of seeds) {
    if (data[seed] < thresholdHu && mask[seed] === 0) {
      mask[seed] = 1
      queue[tail++] = seed
    }
  }

  const sliceLength = nx * ny
  for (let head = 0; head < tail; head++) {
    const v = queue[head]
    const i = v % nx
    const j = Math.floor(v / nx) % ny
    const k = Math.floor(v / sliceLength)
    const neighbours = [
      i > 0 ? v - 1 : -1,
      i < nx - 1 ? v + 1 : -1,
      j > 0 ? v - nx : -1,
      j < ny - 1 ? v + nx : -1,
      k > 0 ? v - sliceLength : -1,
      k < nz - 1 ? v + sliceLength : -1,
    ]
    for (const w of neighbours) {
      if (w < 0 || mask[w] !== 0 || candidates[w] === 0 || data[w] >= thresholdHu) continue
      if (tail === maxVoxels) return undefined
      mask[w] = 1
      queue[tail++] = w
    }
  }
  return { mask, count: tail }
}
