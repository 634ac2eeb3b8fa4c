import { InputError } from '../errors.js'
import type { IndexBox } from '../volume/distance.js'
import type { Geometry, Vec3, Volume } from '../volume/volume.js'

/** A binary mask on a voxel grid: 1 for foreground, 0 for background, x fastest. */
export interface BinaryMask extends Geometry {
  data: Uint8Array
}

/**
 * Turns a label volume into a binary mask. Without `label`, every non-zero voxel is foreground
 * (so lung.nii.gz with 1 = right and 2 = left lung counts as one lung); with `label`, only voxels
 * equal to it are.
 */
export function binarizeLabels(volume: Volume, label?: number): BinaryMask {
  const { data } = volume
  const binary = new Uint8Array(data.length)
  if (label === undefined) {
    for (let n = 0; n < data.length; n++) binary[n] = data[n] !== 0 ? 1 : 0
  } else {
    for (let n = 0; n < data.length; n++) binary[n] = data[n] === label ? 1 : 0
  }
  return {
    data: binary,
    size: [...volume.size],
    spacingMm: [...volume.spacingMm],
    origin: [...volume.origin],
    direction: Float64Array.from(volume.direction),
  }
}

/** Checks that a label volume holds only integer labels, so `binarizeLabels` means something. */
export function assertLabelVolume(volume: Volume, source: string): void {
  const { data } = volume
  for (let n = 0; n < data.length; n++) {
    const value = data[n]
    if (!Number.isInteger(value) || value < 0) {
      throw new InputError(
        `${source}: expected a label mask (non-negative integers), found the value ${value}; ` +
          'give a segmentation label file, not an image or a probability map',
      )
    }
  }
}

export function countForeground(mask: Uint8Array): number {
  let count = 0
  for (let n = 0; n < mask.length; n++) count += mask[n]
  return count
}

/**
 * Marks the surface of a mask: the foreground voxels that have at least one of their six
 * face-connected neighbours in the background. A foreground voxel on the edge of the image counts
 * as surface, because its neighbour outside the image is taken as background.
 */
export function surfaceVoxels(mask: Uint8Array, size: Vec3): Uint8Array {
  const [nx, ny, nz] = size
  const sliceSize = nx * ny
  const surface = new Uint8Array(mask.length)
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k)
      for (let i = 0; i < nx; i++) {
        const n = row + i
        if (mask[n] === 0) continue
        const onEdge = i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1
        if (
          onEdge ||
          mask[n - 1] === 0 ||
          mask[n + 1] === 0 ||
          mask[n - nx] === 0 ||
          mask[n + nx] === 0 ||
          mask[n - sliceSize] === 0 ||
          mask[n + sliceSize] === 0
        ) {
          surface[n] = 1
        }
      }
    }
  }
  return surface
}

/** Returns the smallest index box holding every non-zero voxel of the masks, or undefined if all are empty. */
export function boundingBox(masks: Uint8Array[], size: Vec3): IndexBox | undefined {
  const [nx, ny] = size
  const start: Vec3 = [Infinity, Infinity, Infinity]
  const end: Vec3 = [-1, -1, -1]
  for (const mask of masks) {
    let n = 0
    for (let k = 0; k < size[2]; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, n++) {
          if (mask[n] === 0) continue
          if (i < start[0]) start[0] = i
          if (j < start[1]) start[1] = j
          if (k < start[2]) start[2] = k
          if (i > end[0]) end[0] = i
          if (j > end[1]) end[1] = j
          if (k > end[2]) end[2] = k
        }
      }
    }
  }
  if (end[0] < 0) return undefined
  return { start, end: [end[0] + 1, end[1] + 1, end[2] + 1] }
}
