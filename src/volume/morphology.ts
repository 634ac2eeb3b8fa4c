import type { Vec3 } from './volume.js'

/**
 * Binary dilation, erosion, closing and opening of masks (any nonzero voxel is foreground) by
 * an ellipsoid ("ball") or a box with a radius in voxels per axis.
 *
 * A voxel offset (dx, dy, dz) lies in the ball when (dx/rx)² + (dy/ry)² + (dz/rz)² <= 1 and in
 * the box when |dx| <= rx, |dy| <= ry and |dz| <= rz; a radius of 0 on an axis means no reach
 * along it. Each slice gets a 2D field once: the smallest normalised in-plane reach from each
 * pixel to a foreground pixel, computed separably (distance along x, then 2ry + 1 shifted
 * minima along y). Output slice k is the union over dz of slice k + dz thresholded at the reach
 * left after dz. The cost per voxel is about 2ry + 2rz + 3 operations, which suits the small
 * radii of mask clean-up; large radii would want a distance transform instead.
 */

export * from './components.js'
export * from './fill.js'

export type StructuringElement = 'ball' | 'box'

export interface MorphologyOptions {
  /** Shape of the structuring element; default 'ball'. */
  shape?: StructuringElement
}

export interface ErosionOptions extends MorphologyOptions {
  /**
   * Whether voxels outside the image count as foreground. Default false: a mask that touches
   * the image border is eroded from it too.
   */
  outsideIsForeground?: boolean
}

/** Returns the radius in voxels per axis that reaches `radiusMm` (rounded down, at least 0). */
export function radiusInVoxels(radiusMm: number, spacingMm: Vec3): Vec3 {
  return [0, 1, 2].map((axis) => Math.max(0, Math.floor(radiusMm / spacingMm[axis] + 1e-6))) as Vec3
}

/** Dilates a mask. Voxels outside the image are background. Returns a new 0/1 mask. */
export function dilateMask(
  mask: ArrayLike<number>,
  size: Vec3,
  radius: number | Vec3,
  options: MorphologyOptions = {},
): Uint8Array {
  const radii = checkArguments('dilateMask', mask, size, radius)
  return dilate(mask, size, radii, options.shape ?? 'ball')
}

/** Erodes a mask: the complement of the dilated complement. Returns a new 0/1 mask. */
export function erodeMask(
  mask: ArrayLike<number>,
  size: Vec3,
  radius: number | Vec3,
  options: ErosionOptions = {},
): Uint8Array {
  const radii = checkArguments('erodeMask', mask, size, radius)
  const complement = new Uint8Array(mask.length)
  for (let v = 0; v < mask.length; v++) complement[v] = mask[v] === 0 ? 1 : 0

  const grown = dilate(complement, size, radii, options.shape ?? 'ball')
  // Background outside the image reaches every voxel closer to the border than the radius.
  if (!options.outsideIsForeground) markBorderBand(grown, size, radii)
  for (let v = 0; v < grown.length; v++) grown[v] = grown[v] === 0 ? 1 : 0
  return grown
}

/**
 * Closes a mask (dilation then erosion). The erosion treats the outside as foreground, so the
 * result contains the input even where the mask touches the image border.
 */
export function closeMask(
  mask: ArrayLike<number>,
  size: Vec3,
  radius: number | Vec3,
  options: MorphologyOptions = {},
): Uint8Array {
  const dilated = dilateMask(mask, size, radius, options)
  return erodeMask(dilated, size, radius, { ...options, outsideIsForeground: true })
}

/** Opens a mask (erosion then dilation); the outside counts as background. */
export function openMask(
  mask: ArrayLike<number>,
  size: Vec3,
  radius: number | Vec3,
  options: MorphologyOptions = {},
): Uint8Array {
  const eroded = erodeMask(mask, size, radius, options)
  return dilateMask(eroded, size, radius, options)
}

function checkArguments(operation: string, mask: ArrayLike<number>, size: Vec3, radius: number | Vec3): Vec3 {
  const expected = size[0] * size[1] * size[2]
  if (mask.length !== expected) {
    throw new Error(`${operation}: mask has ${mask.length} voxels but size ${size.join(' x ')} needs ${expected}`)
  }
  const radii: Vec3 = typeof radius === 'number' ? [radius, radius, radius] : [...radius]
  for (const r of radii) {
    if (!Number.isInteger(r) || r < 0) {
      throw new Error(`${operation}: radius must be a whole number of voxels >= 0 per axis, got ${radii.join(', ')}`)
    }
  }
  return radii
}

function dilate(mask: ArrayLike<number>, size: Vec3, radius: Vec3, shape: StructuringElement): Uint8Array {
  const [nx, ny, nz] = size
  const rz = radius[2]
  const sliceLength = nx * ny
  const result = new Uint8Array(mask.length)
  const fields = new SliceFieldCache(2 * rz + 1, (k) => sliceField(mask, size, k, radius, shape))
  // Ball tolerance for sums such as 3 * (1/3) that land a rounding error above 1.
  const epsilon = 1e-9

  for (let k = 0; k < nz; k++) {
    const outBase = k * sliceLength
    for (let dz = -rz; dz <= rz; dz++) {
      const source = k + dz
      if (source < 0 || source >= nz) continue
      const field = fields.get(source)
      if (field === undefined) continue
      const reach = shape === 'ball' && rz > 0 ? 1 - (dz / rz) ** 2 + epsilon : 1 + epsilon
      for (let p = 0; p < sliceLength; p++) {
        if (field[p] <= reach) result[outBase + p] = 1
      }
    }
  }
  return result
}

/** Keeps the fields of the last `capacity` slices requested (slices are requested in a sliding window). */
class SliceFieldCache {
  private readonly slices: number[]
  private readonly fields: (Float64Array | undefined)[]

  constructor(
    private readonly capacity: number,
    private readonly compute: (k: number) => Float64Array | undefined,
  ) {
    this.slices = new Array<number>(capacity).fill(-1)
    this.fields = new Array<Float64Array | undefined>(capacity).fill(undefined)
  }

  get(k: number): Float64Array | undefined {
    const slot = k % this.capacity
    if (this.slices[slot] !== k) {
      this.slices[slot] = k
      this.fields[slot] = this.compute(k)
    }
    return this.fields[slot]
  }
}

/**
 * Returns, for slice k, the normalised in-plane reach needed from each pixel to the nearest
 * foreground pixel, or undefined for an empty slice. Ball: min of (dx/rx)² + (dy/ry)² over
 * foreground pixels. Box: 0 when a foreground pixel lies within the box. Values above 1 can
 * never qualify, so they are stored as Infinity.
 */
function sliceField(
  mask: ArrayLike<number>,
  size: Vec3,
  k: number,
  radius: Vec3,
  shape: StructuringElement,
): Float64Array | undefined {
  const [nx, ny] = size
  const [rx, ry] = radius
  const base = k * nx * ny
  const alongRows = new Float64Array(nx * ny).fill(Infinity)
  const rowHasReach = new Uint8Array(ny)
  const rowDistance = new Int32Array(nx)
  let any = false

  // Along x, the reach is the distance to the nearest foreground pixel of the same row.
  for (let j = 0; j < ny; j++) {
    const rowBase = base + j * nx
    if (!nearestAlongRow(mask, rowBase, nx, rowDistance)) continue
    rowHasReach[j] = 1
    any = true
    for (let i = 0; i < nx; i++) {
      const d = rowDistance[i]
      if (d > rx) continue
      alongRows[j * nx + i] = shape === 'ball' && rx > 0 ? (d / rx) ** 2 : 0
    }
  }
  if (!any) return undefined
  if (ry === 0) return alongRows

  // Along y, each row of reaches spreads to the rows within ry, adding (dy/ry)² for the ball.
  const field = new Float64Array(nx * ny).fill(Infinity)
  for (let j = 0; j < ny; j++) {
    if (rowHasReach[j] === 0) continue
    const source = j * nx
    for (let dy = -ry; dy <= ry; dy++) {
      const target = j + dy
      if (target < 0 || target >= ny) continue
      const added = shape === 'ball' ? (dy / ry) ** 2 : 0
      const targetBase = target * nx
      for (let i = 0; i < nx; i++) {
        const value = alongRows[source + i] + added
        if (value < field[targetBase + i]) field[targetBase + i] = value
      }
    }
  }
  return field
}

/**
 * Writes to `distance` the distance along the row from each pixel to the nearest foreground
 * pixel (a large number when there is none). Returns false when the row has no foreground.
 */
function nearestAlongRow(mask: ArrayLike<number>, rowBase: number, nx: number, distance: Int32Array): boolean {
  const none = 0x3fffffff
  let last = -none
  let any = false
  for (let i = 0; i < nx; i++) {
    if (mask[rowBase + i] !== 0) {
      last = i
      any = true
    }
    distance[i] = i - last
  }
  if (!any) return false
  let next = 2 * none
  for (let i = nx - 1; i >= 0; i--) {
    if (mask[rowBase + i] !== 0) next = i
    if (next - i < distance[i]) distance[i] = next - i
  }
  return true
}

/** Sets every voxel closer than the radius to the image border (per axis) to 1. */
function markBorderBand(mask: Uint8Array, size: Vec3, radius: Vec3): void {
  const [nx, ny, nz] = size
  const [rx, ry, rz] = radius
  for (let k = 0; k < nz; k++) {
    const zBand = k < rz || k >= nz - rz
    for (let j = 0; j < ny; j++) {
      const rowBase = nx * (j + ny * k)
      if (zBand || j < ry || j >= ny - ry) {
        mask.fill(1, rowBase, rowBase + nx)
        continue
      }
      mask.fill(1, rowBase, rowBase + Math.min(rx, nx))
      mask.fill(1, rowBase + Math.max(nx - rx, 0), rowBase + nx)
    }
  }
}
