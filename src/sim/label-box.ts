import { boundingBox } from '../metrics/mask.js'
import type { Vec3 } from '../volume/volume.js'

/** A box of voxel indices: `start` (inclusive) and `size` voxels per axis. */
export class IndexBox {
  constructor(
    readonly start: Vec3,
    readonly size: Vec3,
  ) {}

  /** Returns this box grown by `margin` voxels per axis, clipped to a volume of `volumeSize`. */
  padded(margin: Vec3, volumeSize: Vec3): IndexBox {
    const start = [0, 1, 2].map((axis) => Math.max(0, this.start[axis] - margin[axis])) as Vec3
    const end = [0, 1, 2].map((axis) => Math.min(volumeSize[axis], this.start[axis] + this.size[axis] + margin[axis])) as Vec3
    return new IndexBox(start, [end[0] - start[0], end[1] - start[1], end[2] - start[2]])
  }
}

/** Returns the smallest box that contains every nonzero voxel, or undefined for an empty mask. */
export function maskBoundingBox(mask: Uint8Array, size: Vec3): IndexBox | undefined {
  const box = boundingBox([mask], size)
  if (box === undefined) return undefined
  return new IndexBox(box.start, [box.end[0] - box.start[0], box.end[1] - box.start[1], box.end[2] - box.start[2]])
}

/** Copies the voxels of `box` out of a volume into a new array. */
export function cropBox(data: Uint8Array, size: Vec3, box: IndexBox): Uint8Array {
  const [bx, by, bz] = box.size
  const result = new Uint8Array(bx * by * bz)
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      const source = box.start[0] + size[0] * (box.start[1] + j + size[1] * (box.start[2] + k))
      result.set(data.subarray(source, source + bx), bx * (j + by * k))
    }
  }
  return result
}

/** Writes the voxels of `local` (shaped like `box`) back into a volume. */
export function pasteBox(data: Uint8Array, size: Vec3, box: IndexBox, local: Uint8Array): void {
  const [bx, by, bz] = box.size
  for (let k = 0; k < bz; k++) {
    for (let j = 0; j < by; j++) {
      const target = box.start[0] + size[0] * (box.start[1] + j + size[1] * (box.start[2] + k))
      data.set(local.subarray(bx * (j + by * k), bx * (j + by * k) + bx), target)
    }
  }
}
