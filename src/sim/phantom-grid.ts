import type { Vec3 } from '../volume/volume.js'

/**
 * Tissue classes of the synthetic chest phantom. Each voxel gets one class; the CT value is
 * the class's HU level (with small per-structure variation) plus noise.
 */
export const Tissue = {
  outsideAir: 0,
  fat: 1,
  softTissue: 2,
  bone: 3,
  lung: 4,
  vessel: 5,
  /** Lumen of the trachea and the main bronchi (outside the lung label). */
  airway: 6,
  /** Wall of the trachea and the main bronchi (outside the lung label). */
  airwayWall: 7,
  /** Lumen of a bronchus inside the lung (inside the lung label). */
  lungAirway: 8,
  groundGlass: 9,
  consolidation: 10,
  /** Gas in the stomach, inside the body but not lung. */
  bowelGas: 11,
} as const

export type TissueClass = (typeof Tissue)[keyof typeof Tissue]

/** An axis-aligned grid in LPS with identity direction: index (i, j, k) sits at origin + spacing · index. */
export interface PhantomGrid {
  size: Vec3
  spacingMm: Vec3
  origin: Vec3
}

/** Calls `visit` for every voxel whose centre lies within `radiusMm` of the segment a-b (points in LPS mm). */
export function forEachVoxelNearSegment(
  grid: PhantomGrid,
  a: Vec3,
  b: Vec3,
  radiusMm: number,
  visit: (index: number, distanceMm: number) => void,
): void {
  const { size, spacingMm, origin } = grid
  const low: number[] = []
  const high: number[] = []
  for (let axis = 0; axis < 3; axis++) {
    const min = Math.min(a[axis], b[axis]) - radiusMm
    const max = Math.max(a[axis], b[axis]) + radiusMm
    low.push(Math.max(0, Math.ceil((min - origin[axis]) / spacingMm[axis])))
    high.push(Math.min(size[axis] - 1, Math.floor((max - origin[axis]) / spacingMm[axis])))
  }

  const axisVector = [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
  const lengthSquared = axisVector[0] ** 2 + axisVector[1] ** 2 + axisVector[2] ** 2
  const radiusSquared = radiusMm * radiusMm
  for (let k = low[2]; k <= high[2]; k++) {
    const z = origin[2] + k * spacingMm[2] - a[2]
    for (let j = low[1]; j <= high[1]; j++) {
      const y = origin[1] + j * spacingMm[1] - a[1]
      const rowBase = size[0] * (j + size[1] * k)
      for (let i = low[0]; i <= high[0]; i++) {
        const x = origin[0] + i * spacingMm[0] - a[0]
        const along = lengthSquared === 0 ? 0 : (x * axisVector[0] + y * axisVector[1] + z * axisVector[2]) / lengthSquared
        const t = Math.min(1, Math.max(0, along))
        const dx = x - t * axisVector[0]
        const dy = y - t * axisVector[1]
        const dz = z - t * axisVector[2]
        const distanceSquared = dx * dx + dy * dy + dz * dz
        if (distanceSquared <= radiusSquared) visit(rowBase + i, Math.sqrt(distanceSquared))
      }
    }
  }
}
