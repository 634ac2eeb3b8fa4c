import type { Vec3 } from './volume.js'

/**
 * Hole filling of binary masks (any nonzero voxel is foreground): a hole is background that is
 * not connected to the border of the image. Background is flooded from the border with a
 * scanline fill whose stack stores one seed per run, so no voxel-sized queue is allocated.
 */

const BACKGROUND = 0
const FOREGROUND = 1
const REACHED = 2

/**
 * Fills holes in every slice across `axis` (2 = slices of constant k). Background pixels that
 * are not 4-connected to the slice border become foreground. Returns a new 0/1 mask.
 */
export function fillHoles2D(mask: ArrayLike<number>, size: Vec3, axis: 0 | 1 | 2 = 2): Uint8Array {
  checkMaskSize('fillHoles2D', mask, size)
  const result = new Uint8Array(mask.length)
  if (axis === 2) {
    // Axial slices are contiguous: each is filled in place in the result.
    const plane = size[0] * size[1]
    for (let k = 0; k < size[2]; k++) {
      const slice = result.subarray(k * plane, (k + 1) * plane)
      let any = false
      for (let p = 0; p < plane; p++) {
        if (mask[k * plane + p] !== 0) {
          slice[p] = 1
          any = true
        }
      }
      if (any) fillHolesInPlane(slice, size[0], size[1])
    }
    return result
  }

  const strides: Vec3 = [1, size[0], size[0] * size[1]]
  const [uAxis, vAxis] = axis === 0 ? [1, 2] : [0, 2]
  const width = size[uAxis]
  const height = size[vAxis]
  const slice = new Uint8Array(width * height)
  for (let s = 0; s < size[axis]; s++) {
    const sliceBase = s * strides[axis]
    let any = false
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        const value = mask[sliceBase + u * strides[uAxis] + v * strides[vAxis]] !== 0 ? FOREGROUND : BACKGROUND
        slice[u + width * v] = value
        any ||= value === FOREGROUND
      }
    }
    if (!any) continue

    fillHolesInPlane(slice, width, height)
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        if (slice[u + width * v] === 1) result[sliceBase + u * strides[uAxis] + v * strides[vAxis]] = 1
      }
    }
  }
  return result
}

/**
 * Fills the holes of one 2D 0/1 mask in place (row-major, `width` columns): background pixels
 * that are not 4-connected to the border become 1.
 */
export function fillHolesInPlane(plane: Uint8Array, width: number, height: number): void {
  if (plane.length !== width * height) {
    throw new Error(`fillHolesInPlane: plane has ${plane.length} pixels but ${width} x ${height} needs ${width * height}`)
  }
  floodFromBorder(plane, [width, height, 1])
  for (let p = 0; p < plane.length; p++) plane[p] = plane[p] === REACHED ? 0 : 1
}

/** Fills background regions that are not 6-connected to the volume border. Returns a new 0/1 mask. */
export function fillHoles3D(mask: ArrayLike<number>, size: Vec3): Uint8Array {
  checkMaskSize('fillHoles3D', mask, size)
  const work = new Uint8Array(mask.length)
  for (let v = 0; v < mask.length; v++) work[v] = mask[v] !== 0 ? FOREGROUND : BACKGROUND
  floodFromBorder(work, size)
  for (let v = 0; v < work.length; v++) work[v] = work[v] === REACHED ? 0 : 1
  return work
}

function checkMaskSize(operation: string, mask: ArrayLike<number>, size: Vec3): void {
  const expected = size[0] * size[1] * size[2]
  if (mask.length !== expected) {
    throw new Error(`${operation}: mask has ${mask.length} voxels but size ${size.join(' x ')} needs ${expected}`)
  }
}

/**
 * Marks as REACHED every BACKGROUND voxel 6-connected (4-connected when nz = 1) to the border.
 * `work` contains BACKGROUND or FOREGROUND on entry.
 */
function floodFromBorder(work: Uint8Array, size: Vec3): void {
  const [nx, ny, nz] = size
  const stack = new SeedStack()
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const base = nx * (j + ny * k)
      const wholeRowOnBorder = j === 0 || j === ny - 1 || (nz > 1 && (k === 0 || k === nz - 1))
      if (wholeRowOnBorder) {
        pushRunStarts(work, stack, base, 0, nx - 1)
      } else {
        if (work[base] === BACKGROUND) stack.push(base)
        if (work[base + nx - 1] === BACKGROUND) stack.push(base + nx - 1)
      }
    }
  }

  while (stack.length > 0) {
    const seed = stack.pop()
    if (work[seed] !== BACKGROUND) continue
    const row = Math.floor(seed / nx)
    const base = row * nx
    let left = seed - base
    let right = left
    while (left > 0 && work[base + left - 1] === BACKGROUND) left--
    while (right < nx - 1 && work[base + right + 1] === BACKGROUND) right++
    work.fill(REACHED, base + left, base + right + 1)

    const j = row % ny
    const k = (row - j) / ny
    if (j > 0) pushRunStarts(work, stack, base - nx, left, right)
    if (j < ny - 1) pushRunStarts(work, stack, base + nx, left, right)
    if (k > 0) pushRunStarts(work, stack, base - nx * ny, left, right)
    if (k < nz - 1) pushRunStarts(work, stack, base + nx * ny, left, right)
  }
}

/** Pushes the first voxel of each background run of a row that intersects x = left..right. */
function pushRunStarts(work: Uint8Array, stack: SeedStack, rowBase: number, left: number, right: number): void {
  let previousWasBackground = false
  for (let x = left; x <= right; x++) {
    const isBackground = work[rowBase + x] === BACKGROUND
    if (isBackground && !previousWasBackground) stack.push(rowBase + x)
    previousWasBackground = isBackground
  }
}

class SeedStack {
  private items = new Int32Array(4096)
  length = 0

  push(value: number): void {
    if (this.length === this.items.length) {
      const larger = new Int32Array(this.items.length * 2)
      larger.set(this.items)
      this.items = larger
    }
    this.items[this.length++] = value
  }

  pop(): number {
    return this.items[--this.length]
  }
}
