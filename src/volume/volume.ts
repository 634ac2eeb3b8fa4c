/**
 * A 3D image on a physical grid, in the ITK/DICOM convention (LPS world coordinates, mm).
 *
 * Voxel (i, j, k) is stored at `data[i + size[0] * (j + size[1] * k)]` (x fastest) and sits at
 * the physical point `origin + D · diag(spacingMm) · [i, j, k]`, where D is the 3 x 3 direction
 * matrix stored row-major: `direction[3 * row + column]`, so column c is the unit vector of
 * index axis c in LPS. itk-wasm images use the same layout.
 */
export type Vec3 = [number, number, number]

export type VoxelArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array

export interface Volume<T extends VoxelArray = VoxelArray> {
  data: T
  size: Vec3
  spacingMm: Vec3
  origin: Vec3
  /** 3 x 3 direction cosines, row-major; column c is the LPS direction of index axis c. */
  direction: Float64Array
}

/** Geometry of a volume without its voxels. */
export type Geometry = Omit<Volume, 'data'>

export const IDENTITY_DIRECTION: readonly number[] = [1, 0, 0, 0, 1, 0, 0, 0, 1]

export function voxelCount(size: Vec3): number {
  return size[0] * size[1] * size[2]
}

/** Volume of one voxel in mL (spacing in mm, 1 mL = 1000 mm³). */
export function voxelVolumeMl(spacingMm: Vec3): number {
  return (spacingMm[0] * spacingMm[1] * spacingMm[2]) / 1000
}

export function geometryOf(volume: Geometry): Geometry {
  return {
    size: [...volume.size],
    spacingMm: [...volume.spacingMm],
    origin: [...volume.origin],
    direction: Float64Array.from(volume.direction),
  }
}

/** Creates a volume with the given geometry and freshly allocated (zeroed) voxels. */
export function createVolume<T extends VoxelArray>(
  geometry: Geometry,
  ArrayType: { new (length: number): T },
): Volume<T> {
  return { ...geometryOf(geometry), data: new ArrayType(voxelCount(geometry.size)) }
}

/** Maps a continuous voxel index to its LPS position in mm. */
export function indexToPhysical(geometry: Geometry, index: Vec3): Vec3 {
  const { origin, spacingMm: s, direction: d } = geometry
  const scaled = [index[0] * s[0], index[1] * s[1], index[2] * s[2]]
  return [
    origin[0] + d[0] * scaled[0] + d[1] * scaled[1] + d[2] * scaled[2],
    origin[1] + d[3] * scaled[0] + d[4] * scaled[1] + d[5] * scaled[2],
    origin[2] + d[6] * scaled[0] + d[7] * scaled[1] + d[8] * scaled[2],
  ]
}

/** Maps an LPS position in mm to a continuous voxel index (inverse of indexToPhysical). */
export function physicalToIndex(geometry: Geometry, point: Vec3): Vec3 {
  const { origin, spacingMm: s, direction: d } = geometry
  const offset = [point[0] - origin[0], point[1] - origin[1], point[2] - origin[2]]
  const inverse = invert3x3(d)
  return [
    (inverse[0] * offset[0] + inverse[1] * offset[1] + inverse[2] * offset[2]) / s[0],
    (inverse[3] * offset[0] + inverse[4] * offset[1] + inverse[5] * offset[2]) / s[1],
    (inverse[6] * offset[0] + inverse[7] * offset[1] + inverse[8] * offset[2]) / s[2],
  ]
}

export function invert3x3(m: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = Array.from(m)
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
  if (Math.abs(det) < 1e-12) {
    throw new Error(`direction matrix is singular (determinant ${det}); expected 3 independent axes`)
  }
  return Float64Array.from([
    (e * i - f * h) / det,
    (c * h - b * i) / det,
    (b * f - c * e) / det,
    (f * g - d * i) / det,
    (a * i - c * g) / det,
    (c * d - a * f) / det,
    (d * h - e * g) / det,
    (b * g - a * h) / det,
    (a * e - b * d) / det,
  ])
}

/**
 * Returns a message naming the first difference between two geometries, or undefined when
 * they agree within `toleranceMm` (positions) and 1e-4 (direction cosines, relative spacing).
 */
export function describeGeometryMismatch(a: Geometry, b: Geometry, toleranceMm = 1e-3): string | undefined {
  for (let axis = 0; axis < 3; axis++) {
    if (a.size[axis] !== b.size[axis]) return `size ${a.size.join('x')} vs ${b.size.join('x')}`
  }
  for (let axis = 0; axis < 3; axis++) {
    if (Math.abs(a.spacingMm[axis] - b.spacingMm[axis]) > 1e-4 * Math.max(a.spacingMm[axis], 1)) {
      return `spacing ${a.spacingMm.join(' x ')} mm vs ${b.spacingMm.join(' x ')} mm`
    }
    if (Math.abs(a.origin[axis] - b.origin[axis]) > toleranceMm) {
      return `origin (${a.origin.join(', ')}) vs (${b.origin.join(', ')}) mm`
    }
  }
  for (let k = 0; k < 9; k++) {
    if (Math.abs(a.direction[k] - b.direction[k]) > 1e-4) {
      return `direction [${Array.from(a.direction).join(', ')}] vs [${Array.from(b.direction).join(', ')}]`
    }
  }
  return undefined
}
