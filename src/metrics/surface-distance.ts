import { squaredDistanceTransform } from '../volume/distance.js'
import type { Vec3 } from '../volume/volume.js'
import { boundingBox, surfaceVoxels } from './mask.js'

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
  const predictionSurface = surfaceVoxels(prediction, size)
  const referenceSurface = surfaceVoxels(reference, size)
  // Every surface voxel of both masks lies in this box, so the cropped transform is exact there.
  const box = boundingBox([predictionSurface, referenceSurface], size)
  if (box === undefined) {
    return { predictionToReference: new Float64Array(0), referenceToPrediction: new Float64Array(0) }
  }
  return {
    predictionToReference: distancesAt(predictionSurface, referenceSurface, size, spacingMm, box),
    referenceToPrediction: distancesAt(referenceSurface, predictionSurface, size, spacingMm, box),
  }
}

function distancesAt(
  from: Uint8Array,
  to: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
  box: { start: Vec3; end: Vec3 },
): Float64Array {
  const squared = squaredDistanceTransform(to, size, spacingMm, box)
  const [x0, y0, z0] = box.start
  const bx = box.end[0] - x0
  const by = box.end[1] - y0
  const values: number[] = []
  for (let k = z0; k < box.end[2]; k++) {
    for (let j = y0; j < box.end[1]; j++) {
      const row = size[0] * (j + size[1] * k)
      const boxRow = bx * (j - y0 + by * (k - z0)) - x0
      for (let i = x0; i < box.end[0]; i++) {
        if (from[row + i] !== 0) values.push(Math.sqrt(squared[boxRow + i]))
      }
    }
  }
  return Float64Array.from(values)
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
    hausdorff95Mm: Math.max(percentile(forward, 95), percentile(backward, 95)),
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

export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const position = ((sorted.length - 1) * q) / 100
  const lower = Math.floor(position)
  const upper = Math.min(lower + 1, sorted.length - 1)
  const fraction = position - lower
  return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
}
