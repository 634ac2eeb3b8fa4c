import type { Geometry, Vec3 } from '../volume/volume.js'

/**
 * How the index axes of a volume relate to the patient, read from its direction matrix. With it
 * the lung labeller works in index space for any orientation (flipped, permuted or oblique)
 * and still decides left, right and up in physical (LPS) space.
 */
export interface AxisRoles {
  /** Index axis closest to the superior-inferior direction; slices are taken across it. */
  sliceAxis: 0 | 1 | 2
  /** +1 when increasing index along sliceAxis moves toward the head, -1 when toward the feet. */
  superiorStep: 1 | -1
  /** In-plane index axis closest to the patient's left-right direction. */
  leftRightAxis: 0 | 1 | 2
  /** +1 when increasing index along leftRightAxis moves toward the patient's left (LPS +x). */
  leftStep: 1 | -1
}

/** Reads the axis roles from the direction matrix (column c is the LPS direction of index axis c). */
export function axisRoles(geometry: Geometry): AxisRoles {
  const d = geometry.direction
  const column = (c: number): Vec3 => [d[c], d[3 + c], d[6 + c]]

  let sliceAxis: 0 | 1 | 2 = 2
  for (const c of [0, 1, 2] as const) {
    if (Math.abs(column(c)[2]) > Math.abs(column(sliceAxis)[2])) sliceAxis = c
  }
  const inPlane = ([0, 1, 2] as const).filter((c) => c !== sliceAxis)
  const leftRightAxis = Math.abs(column(inPlane[0])[0]) >= Math.abs(column(inPlane[1])[0]) ? inPlane[0] : inPlane[1]
  return {
    sliceAxis,
    superiorStep: column(sliceAxis)[2] >= 0 ? 1 : -1,
    leftRightAxis,
    leftStep: column(leftRightAxis)[0] >= 0 ? 1 : -1,
  }
}

/** Index strides of a volume stored x fastest. */
export function stridesOf(size: Vec3): Vec3 {
  return [1, size[0], size[0] * size[1]]
}

/** Index coordinate of voxel v along `axis`. */
export function coordinateAlong(v: number, size: Vec3, axis: 0 | 1 | 2): number {
  if (axis === 0) return v % size[0]
  if (axis === 1) return Math.floor(v / size[0]) % size[1]
  return Math.floor(v / (size[0] * size[1]))
}
