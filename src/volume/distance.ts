import type { Vec3 } from './volume.js'

/** An axis-aligned box of voxel indices, `start` inclusive and `end` exclusive on each axis. */
export interface IndexBox {
  start: Vec3
  end: Vec3
}

/**
 * Computes the exact squared Euclidean distance transform in mm² of a binary feature mask on an
 * anisotropic grid: for every voxel p of `box`, min over feature voxels q of
 * sum over axes of ((p - q) · spacingMm)².
 *
 * Algorithm: Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions" (Theory of
 * Computing 8, 2012): the 3D transform is separable, so a 1D lower envelope of parabolas runs
 * along x, then y, then z, each pass linear in the line length. Distances are measured between
 * voxel centres in index space scaled by the spacing; the direction matrix does not change them.
 *
 * `feature` has x fastest (`i + nx * (j + ny * k)`) over the whole grid `size`. Only `box`
 * (default: the whole grid) is transformed, and the result covers the box alone, x fastest.
 * Cropping is exact when every feature voxel lies inside the box, because the minimum is then
 * taken over the same set of points. Voxels with no feature voxel at all get Infinity.
 */
export function squaredDistanceTransform(
  feature: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
  box: IndexBox = { start: [0, 0, 0], end: [...size] },
): Float64Array {
  const [x0, y0, z0] = box.start
  const nx = box.end[0] - x0
  const ny = box.end[1] - y0
  const nz = box.end[2] - z0
  const distance = new Float64Array(nx * ny * nz)
  if (nx <= 0 || ny <= 0 || nz <= 0) return distance

  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const source = x0 + size[0] * (y0 + j + size[1] * (z0 + k))
      const target = nx * (j + ny * k)
      for (let i = 0; i < nx; i++) distance[target + i] = feature[source + i] !== 0 ? 0 : Infinity
    }
  }

  const longest = Math.max(nx, ny, nz)
  const workspace = createWorkspace(longest)
  // Along x the input is still binary, so two scans give the distance to the nearest feature voxel.
  scanBinaryLines(distance, nx, ny * nz, spacingMm[0])
  transformAxis(distance, ny, nx, nx * nz, (line) => (line % nx) + nx * ny * Math.floor(line / nx), spacingMm[1], workspace)
  transformAxis(distance, nz, nx * ny, nx * ny, (line) => line, spacingMm[2], workspace)
  return distance
}

/**
 * Replaces each contiguous line of 0 / Infinity values by the squared distance (mm²) to the
 * nearest 0 on the same line, with a forward and a backward scan.
 */
function scanBinaryLines(distance: Float64Array, length: number, lineCount: number, spacingMm: number): void {
  for (let line = 0; line < lineCount; line++) {
    const first = line * length
    let last = -Infinity
    for (let n = 0; n < length; n++) {
      if (distance[first + n] === 0) last = n
      else distance[first + n] = n - last
    }
    last = Infinity
    for (let n = length - 1; n >= 0; n--) {
      const value = distance[first + n]
      if (value === 0) {
        last = n
        continue
      }
      const steps = Math.min(value, last - n)
      distance[first + n] = steps === Infinity ? Infinity : steps * steps * spacingMm * spacingMm
    }
  }
}

interface Workspace {
  values: Float64Array
  result: Float64Array
  /** Grid positions of the parabolas in the lower envelope. */
  vertices: Int32Array
  /** Boundaries between consecutive envelope parabolas, in grid units. */
  boundaries: Float64Array
}

function createWorkspace(length: number): Workspace {
  return {
    values: new Float64Array(length),
    result: new Float64Array(length),
    vertices: new Int32Array(length),
    boundaries: new Float64Array(length + 1),
  }
}

/** Runs the 1D transform on every line along one axis; `firstOf(line)` is the line's first element. */
function transformAxis(
  distance: Float64Array,
  length: number,
  stride: number,
  lineCount: number,
  firstOf: (line: number) => number,
  spacingMm: number,
  workspace: Workspace,
): void {
  const { values, result } = workspace
  const spacingSquared = spacingMm * spacingMm
  for (let line = 0; line < lineCount; line++) {
    const first = firstOf(line)
    let hasFinite = false
    for (let n = 0; n < length; n++) {
      const value = distance[first + n * stride]
      values[n] = value
      if (value !== Infinity) hasFinite = true
    }
    if (!hasFinite) continue
    lowerEnvelope(length, spacingSquared, workspace)
    for (let n = 0; n < length; n++) distance[first + n * stride] = result[n]
  }
}

/**
 * One-dimensional squared distance transform: result[p] = min over q of values[q] + s²(p - q)²,
 * where s² is `spacingSquared`. Positions whose value is Infinity contribute no parabola.
 */
function lowerEnvelope(length: number, spacingSquared: number, workspace: Workspace): void {
  const { values, result, vertices, boundaries } = workspace
  let top = -1

  for (let q = 0; q < length; q++) {
    const value = values[q]
    if (value === Infinity) continue
    if (top < 0) {
      top = 0
      vertices[0] = q
      boundaries[0] = -Infinity
      boundaries[1] = Infinity
      continue
    }
    // Pop envelope parabolas that the new one hides; boundaries[0] = -Infinity stops the loop.
    let intersection = parabolaIntersection(values, vertices[top], q, spacingSquared)
    while (intersection <= boundaries[top]) {
      top--
      intersection = parabolaIntersection(values, vertices[top], q, spacingSquared)
    }
    top++
    vertices[top] = q
    boundaries[top] = intersection
    boundaries[top + 1] = Infinity
  }

  let segment = 0
  for (let p = 0; p < length; p++) {
    while (boundaries[segment + 1] < p) segment++
    const offset = p - vertices[segment]
    result[p] = spacingSquared * offset * offset + values[vertices[segment]]
  }
}

/** Grid position where the parabolas rooted at grid positions v < q meet. */
function parabolaIntersection(values: Float64Array, v: number, q: number, spacingSquared: number): number {
  return (values[q] - values[v] + spacingSquared * (q * q - v * v)) / (2 * spacingSquared * (q - v))
}
