import { squaredDistancesAt, type IndexBox } from '../volume/distance.js'
import type { Vec3 } from '../volume/volume.js'
import { boundingBox, surfaceVoxelIndices } from './mask.js'

/**
 * Surface distances between a prediction P and a reference G, in mm.
 *
 * The surface of a mask is its face-connected boundary: the foreground voxels with at least one
 * of their six neighbours in the background (voxels on the image edge included). The distance
 * from a surface voxel of P to G is the Euclidean distance between voxel centres, in mm with the
 * voxel spacing, to the nearest surface voxel of G, computed with an exact distance transform.
 *
 * Empty masks: when both masks are empty every distance is 0 (the masks agree). When exactly one
 * is empty the distances are undefined and reported as NaN; cohort statistics skip NaN values and
 * count them.
 */
export interface SurfaceDistanceMetrics {
  /** Mean over the surface voxels of both masks of their distance to the other surface. */
  meanSurfaceDistanceMm: number
  /**
   * Average Hausdorff distance: max(d(P,G), d(G,P)) with d(A,B) the mean distance from the
   * surface voxels of A to the surface of B (Taha and Hanbury, BMC Medical Imaging 15:29, 2015).
   */
  averageHausdorffDistanceMm: number
  /** max(95th percentile of P→G distances, 95th percentile of G→P), percentiles interpolated linearly. */
  hausdorff95Mm: number
  /** Maximum distance in either direction. */
  hausdorffDistanceMm: number
}

/** Distances from every surface voxel of one mask to the surface of the other, in mm. */
export interface DirectedDistances {
  predictionToReference: Float64Array
  referenceToPrediction: Float64Array
}

export function directedSurfaceDistances(
  prediction: Uint8Array,
  reference: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
): DirectedDistances {
  const predictionBox = boundingBox([prediction], size)
  const referenceBox = boundingBox([reference], size)
  const predictionSurface = predictionBox === undefined ? new Uint32Array(0) : surfaceVoxelIndices(prediction, size, predictionBox)
  const referenceSurface = referenceBox === undefined ? new Uint32Array(0) : surfaceVoxelIndices(reference, size, referenceBox)
  // Every surface voxel of both masks lies in this box, so the cropped transform is exact there.
  const box = unionBox(predictionBox, referenceBox)
  if (box === undefined) {
    return { predictionToReference: new Float64Array(0), referenceToPrediction: new Float64Array(0) }
  }

  const voxelCount = (box.end[0] - box.start[0]) * (box.end[1] - box.start[1]) * (box.end[2] - box.start[2])
  const scratch = new Float64Array(voxelCount)
  const forward = squaredDistancesAt(referenceSurface, predictionSurface, size, spacingMm, box, scratch)
  const backward = squaredDistancesAt(predictionSurface, referenceSurface, size, spacingMm, box, scratch)
  for (let n = 0; n < forward.length; n++) forward[n] = Math.sqrt(forward[n])
  for (let n = 0; n < backward.length; n++) backward[n] = Math.sqrt(backward[n])
  return { predictionToReference: forward, referenceToPrediction: backward }
}

function unionBox(first: IndexBox | undefined, second: IndexBox | undefined): IndexBox | undefined {
  if (first === undefined) return second
  if (second === undefined) return first
  return {
    start: first.start.map((value, axis) => Math.min(value, second.start[axis])) as Vec3,
    end: first.end.map((value, axis) => Math.max(value, second.end[axis])) as Vec3,
  }
}

export function surfaceDistanceMetrics(distances: DirectedDistances): SurfaceDistanceMetrics {
  const { predictionToReference: forward, referenceToPrediction: backward } = distances
  if (forward.length === 0 && backward.length === 0) {
    return { meanSurfaceDistanceMm: 0, averageHausdorffDistanceMm: 0, hausdorff95Mm: 0, hausdorffDistanceMm: 0 }
  }
  if (forward.length === 0 || backward.length === 0) {
    return { meanSurfaceDistanceMm: NaN, averageHausdorffDistanceMm: NaN, hausdorff95Mm: NaN, hausdorffDistanceMm: NaN }
  }

  const forwardSum = sum(forward)
  const backwardSum = sum(backward)
  return {
    meanSurfaceDistanceMm: (forwardSum + backwardSum) / (forward.length + backward.length),
    averageHausdorffDistanceMm: Math.max(forwardSum / forward.length, backwardSum / backward.length),
    hausdorff95Mm: Math.max(percentileBySelection(forward, 95), percentileBySelection(backward, 95)),
    hausdorffDistanceMm: Math.max(max(forward), max(backward)),
  }
}

/** Computes all surface distance metrics of a prediction against a reference. */
export function computeSurfaceDistances(
  prediction: Uint8Array,
  reference: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
): SurfaceDistanceMetrics {
  return surfaceDistanceMetrics(directedSurfaceDistances(prediction, reference, size, spacingMm))
}

function sum(values: Float64Array): number {
  let total = 0
  for (let n = 0; n < values.length; n++) total += values[n]
  return total
}

function max(values: Float64Array): number {
  let largest = -Infinity
  for (let n = 0; n < values.length; n++) if (values[n] > largest) largest = values[n]
  return largest
}

/**
 * Returns the q-th percentile (0..100) with linear interpolation between closest ranks, the
 * default of numpy.percentile: position (n - 1) q / 100 in the sorted values.
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort()
  return percentileOfSorted(sorted, q)
}

/**
 * Returns the same value as `percentile` without sorting: quickselect (Hoare's FIND, in Wirth's
 * formulation, which splits runs of equal values evenly) places the lower closest rank, and the
 * upper one is the minimum of the values above it. Average time is linear in the count.
 */
export function percentileBySelection(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return NaN
  const work = Float64Array.from(values)
  const position = ((work.length - 1) * q) / 100
  const lower = Math.floor(position)
  const lowerValue = selectInPlace(work, lower)
  let upperValue = lowerValue
  if (lower + 1 < work.length) {
    upperValue = Infinity
    for (let n = lower + 1; n < work.length; n++) if (work[n] < upperValue) upperValue = work[n]
  }
  return lowerValue + (position - lower) * (upperValue - lowerValue)
}

/**
 * Rearranges `values` so that values[rank] is the value of that rank in ascending order, with no
 * larger value before it and no smaller value after it, and returns it.
 */
function selectInPlace(values: Float64Array, rank: number): number {
  let left = 0
  let right = values.length - 1
  while (left < right) {
    const pivot = medianOfThree(values[left], values[(left + right) >> 1], values[right])
    let i = left
    let j = right
    do {
      while (values[i] < pivot) i++
      while (pivot < values[j]) j--
      if (i <= j) {
        const swap = values[i]
        values[i] = values[j]
        values[j] = swap
        i++
        j--
      }
    } while (i <= j)
    if (j < rank) left = i
    if (rank < i) right = j
  }
  return values[rank]
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c))
}

export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const position = ((sorted.length - 1) * q) / 100
  const lower = Math.floor(position)
  const upper = Math.min(lower + 1, sorted.length - 1)
  const fraction = position - lower
  return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
}
