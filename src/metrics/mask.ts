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

/** Presence of a label in a predicted and a reference label volume: true where the volume contains a voxel of it. */
export interface LabelPresence {
  prediction: boolean
  reference: boolean
}

export function labelPresence(prediction: Volume, reference: Volume, label: number): LabelPresence {
  return { prediction: prediction.data.includes(label), reference: reference.data.includes(label) }
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

/**
 * Lists the surface voxels of a mask (see `surfaceVoxels`) as grid indices in ascending order.
 * Only `box` is searched, so it must contain every foreground voxel (`boundingBox` of the mask).
 */
export function surfaceVoxelIndices(mask: Uint8Array, size: Vec3, box: IndexBox): Uint32Array {
  return surfaceIndicesByWords(mask, size, box) ?? surfaceIndicesByBytes(mask, size, box)
}

/** A growing list of voxel indices. */
class IndexList {
  private indices = new Uint32Array(1 << 16)
  private count = 0

  push(index: number): void {
    if (this.count === this.indices.length) {
      const grown = new Uint32Array(2 * this.count)
      grown.set(this.indices)
      this.indices = grown
    }
    this.indices[this.count++] = index
  }

  toArray(): Uint32Array {
    return this.indices.slice(0, this.count)
  }
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * Finds the surface four voxels at a time: with 0/1 bytes read as little-endian 32-bit words, a
 * bitwise AND of a word and its six shifted or neighbouring words keeps the interior voxels.
 * Returns undefined, so the byte version runs, when the rows do not start on a word boundary or
 * the mask contains a value other than 0 and 1.
 */
function surfaceIndicesByWords(mask: Uint8Array, size: Vec3, box: IndexBox): Uint32Array | undefined {
  const [nx, ny, nz] = size
  if (!littleEndian || nx % 4 !== 0 || mask.byteOffset % 4 !== 0) return undefined
  const words = new Uint32Array(mask.buffer, mask.byteOffset, mask.length / 4)
  const rowWords = nx / 4
  const sliceWords = rowWords * ny
  const firstWord = Math.floor(box.start[0] / 4)
  const endWord = Math.ceil(box.end[0] / 4)
  const list = new IndexList()

  for (let k = box.start[2]; k < box.end[2]; k++) {
    for (let j = box.start[1]; j < box.end[1]; j++) {
      const row = rowWords * (j + ny * k)
      const rowOnEdge = j === 0 || k === 0 || j === ny - 1 || k === nz - 1
      for (let c = firstWord; c < endWord; c++) {
        const w = row + c
        const centre = words[w]
        if (centre === 0) continue
        if ((centre & 0xfefefefe) !== 0) return undefined

        // Outside the image counts as background, so edge voxels are surface voxels.
        let surface = centre
        if (!rowOnEdge) {
          const previous = c > 0 ? words[w - 1] : 0
          const next = c + 1 < rowWords ? words[w + 1] : 0
          const left = (centre << 8) | (previous >>> 24)
          const right = (centre >>> 8) | (next << 24)
          const interior =
            centre & left & right & words[w - rowWords] & words[w + rowWords] & words[w - sliceWords] & words[w + sliceWords]
          surface = centre & ~interior
        }
        if (surface === 0) continue
        for (let b = 0; b < 4; b++) {
          if (((surface >>> (8 * b)) & 1) !== 0) list.push(4 * w + b)
        }
      }
    }
  }
  return list.toArray()
}

function surfaceIndicesByBytes(mask: Uint8Array, size: Vec3, box: IndexBox): Uint32Array {
  const [nx, ny, nz] = size
  const sliceSize = nx * ny
  const list = new IndexList()
  for (let k = box.start[2]; k < box.end[2]; k++) {
    for (let j = box.start[1]; j < box.end[1]; j++) {
      const row = nx * (j + ny * k)
      const rowOnEdge = j === 0 || k === 0 || j === ny - 1 || k === nz - 1
      for (let i = box.start[0]; i < box.end[0]; i++) {
        const n = row + i
        if (mask[n] === 0) continue
        const onSurface =
          rowOnEdge ||
          i === 0 ||
          i === nx - 1 ||
          mask[n - 1] === 0 ||
          mask[n + 1] === 0 ||
          mask[n - nx] === 0 ||
          mask[n + nx] === 0 ||
          mask[n - sliceSize] === 0 ||
          mask[n + sliceSize] === 0
        if (onSurface) list.push(n)
      }
    }
  }
  return list.toArray()
}

/** Returns the smallest index box holding every non-zero voxel of the masks, or undefined if all are empty. */
export function boundingBox(masks: Uint8Array[], size: Vec3): IndexBox | undefined {
  const [nx, ny, nz] = size
  const start: Vec3 = [Infinity, Infinity, Infinity]
  const end: Vec3 = [-1, -1, -1]
  for (const mask of masks) {
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        // Scan each row from both ends: most rows are empty or need only their extremes.
        const row = nx * (j + ny * k)
        let first = 0
        while (first < nx && mask[row + first] === 0) first++
        if (first === nx) continue
        let last = nx - 1
        while (mask[row + last] === 0) last--
        if (first < start[0]) start[0] = first
        if (j < start[1]) start[1] = j
        if (k < start[2]) start[2] = k
        if (last > end[0]) end[0] = last
        if (j > end[1]) end[1] = j
        if (k > end[2]) end[2] = k
      }
    }
  }
  if (end[0] < 0) return undefined
  return { start, end: [end[0] + 1, end[1] + 1, end[2] + 1] }
}
