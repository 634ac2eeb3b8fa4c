/**
 * Largest pairwise distances between mesh vertices, overall and within planes, without testing
 * every pair. Only extreme points (convex hull vertices) can be the ends of a largest distance,
 * so each plane keeps its 2D hull, and a vertex is a 3D candidate only when it is a hull vertex in
 * each of the three planes through it (an extreme point of a set is extreme in every subset that
 * contains it).
 *
 * Vertices are integer coordinates in half-voxel units (x, y, z interleaved); distances are
 * returned in mm with `spacingMm`.
 */
export interface MeshDiameters {
  /** Largest distance between any two vertices. */
  maximum3DMm: number
  /** Largest distance between two vertices with the same z (axial plane). */
  maximumInSliceMm: number
  /** Largest distance between two vertices with the same y (coronal plane). */
  maximumInColumnMm: number
  /** Largest distance between two vertices with the same x (sagittal plane). */
  maximumInRowMm: number
}

export function meshDiameters(vertices: Int32Array, spacingMm: readonly number[]): MeshDiameters {
  const count = vertices.length / 3
  if (count === 0) return { maximum3DMm: 0, maximumInSliceMm: 0, maximumInColumnMm: 0, maximumInRowMm: 0 }
  const halfSpacing = spacingMm.map((s) => s / 2)
  const extent = [0, 1, 2].map((axis) => {
    let largest = 0
    for (let n = 0; n < count; n++) largest = Math.max(largest, vertices[3 * n + axis])
    return largest + 1
  })

  const slice = planeFamilyHulls(vertices, 2, extent, halfSpacing)
  const column = planeFamilyHulls(vertices, 1, extent, halfSpacing)
  const row = planeFamilyHulls(vertices, 0, extent, halfSpacing)

  const candidates: number[][] = []
  for (const key of slice.hullKeys) {
    if (column.hullKeys.has(key) && row.hullKeys.has(key)) candidates.push(decodeKey(key, extent))
  }
  let largestSquared = 0
  for (let a = 0; a < candidates.length; a++) {
    const p = candidates[a]
    for (let b = a + 1; b < candidates.length; b++) {
      const q = candidates[b]
      const dx = (p[0] - q[0]) * halfSpacing[0]
      const dy = (p[1] - q[1]) * halfSpacing[1]
      const dz = (p[2] - q[2]) * halfSpacing[2]
      const squared = dx * dx + dy * dy + dz * dz
      if (squared > largestSquared) largestSquared = squared
    }
  }

  return {
    maximum3DMm: Math.sqrt(largestSquared),
    maximumInSliceMm: Math.sqrt(slice.largestSquaredMm2),
    maximumInColumnMm: Math.sqrt(column.largestSquaredMm2),
    maximumInRowMm: Math.sqrt(row.largestSquaredMm2),
  }
}

function encodeKey(x: number, y: number, z: number, extent: number[]): number {
  return x + extent[0] * (y + extent[1] * z)
}

function decodeKey(key: number, extent: number[]): number[] {
  const x = key % extent[0]
  const y = Math.floor(key / extent[0]) % extent[1]
  const z = Math.floor(key / (extent[0] * extent[1]))
  return [x, y, z]
}

/**
 * For the planes normal to `fixedAxis`, finds each plane's hull vertices and its largest
 * squared distance in mm². Within a plane only the lowest and highest v of each u can lie on the
 * hull, so the points are reduced to those before the monotone-chain hull.
 */
function planeFamilyHulls(
  vertices: Int32Array,
  fixedAxis: number,
  extent: number[],
  halfSpacing: number[],
): { hullKeys: Set<number>; largestSquaredMm2: number } {
  const uAxis = fixedAxis === 0 ? 1 : 0
  const vAxis = fixedAxis === 2 ? 1 : 2
  const planes = extent[fixedAxis]
  const uCount = extent[uAxis]
  const lowestV = new Int32Array(planes * uCount).fill(2 ** 30)
  const highestV = new Int32Array(planes * uCount).fill(-1)
  for (let n = 0; n < vertices.length; n += 3) {
    const cell = vertices[n + fixedAxis] * uCount + vertices[n + uAxis]
    const v = vertices[n + vAxis]
    if (v < lowestV[cell]) lowestV[cell] = v
    if (v > highestV[cell]) highestV[cell] = v
  }

  const hullKeys = new Set<number>()
  let largestSquaredMm2 = 0
  const points: number[] = []
  for (let w = 0; w < planes; w++) {
    points.length = 0
    for (let u = 0; u < uCount; u++) {
      const cell = w * uCount + u
      if (highestV[cell] < 0) continue
      points.push(u, lowestV[cell])
      if (highestV[cell] !== lowestV[cell]) points.push(u, highestV[cell])
    }
    if (points.length === 0) continue

    const hull = convexHull2D(points)
    const su = halfSpacing[uAxis]
    const sv = halfSpacing[vAxis]
    for (let a = 0; a < hull.length; a += 2) {
      const coordinates = [0, 0, 0]
      coordinates[fixedAxis] = w
      coordinates[uAxis] = hull[a]
      coordinates[vAxis] = hull[a + 1]
      hullKeys.add(encodeKey(coordinates[0], coordinates[1], coordinates[2], extent))
      for (let b = a + 2; b < hull.length; b += 2) {
        const du = (hull[a] - hull[b]) * su
        const dv = (hull[a + 1] - hull[b + 1]) * sv
        const squared = du * du + dv * dv
        if (squared > largestSquaredMm2) largestSquaredMm2 = squared
      }
    }
  }
  return { hullKeys, largestSquaredMm2 }
}

/**
 * Returns the strict convex hull vertices (collinear points dropped) of integer points given as
 * u, v pairs sorted by u then v (Andrew's monotone chain). A single point or a segment returns
 * its end points.
 */
export function convexHull2D(points: number[]): number[] {
  const count = points.length / 2
  if (count <= 2) return points.slice()
  const cross = (o: number, a: number, b: number): number =>
    (points[2 * a] - points[2 * o]) * (points[2 * b + 1] - points[2 * o + 1]) -
    (points[2 * a + 1] - points[2 * o + 1]) * (points[2 * b] - points[2 * o])

  const lower: number[] = []
  for (let n = 0; n < count; n++) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], n) <= 0) lower.pop()
    lower.push(n)
  }
  const upper: number[] = []
  for (let n = count - 1; n >= 0; n--) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], n) <= 0) upper.pop()
    upper.push(n)
  }
  const indices = [...lower.slice(0, -1), ...upper.slice(0, -1)]
  const unique = [...new Set(indices)]
  const hull: number[] = []
  for (const n of unique) hull.push(points[2 * n], points[2 * n + 1])
  return hull
}
