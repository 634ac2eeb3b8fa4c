import type { Vec3 } from './volume.js'

/** An axis-aligned box of voxel indices, `start` inclusive and `end` exclusive on each axis. */
export interface IndexBox {
  start: Vec3
  end: Vec3
}

/*
 * Both transforms below compute, for a voxel p, min over feature voxels q of
 * sum over axes of ((p - q) · spacingMm)², in mm².
 *
 * Algorithm: Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions" (Theory of
 * Computing 8, 2012). The 3D transform is separable, so a 1D lower envelope of parabolas runs
 * along x, then y, then z, each pass linear in the line length. Distances are measured between
 * voxel centres in index space scaled by the spacing; the direction matrix does not change them.
 *
 * Only a box of the grid is transformed. Cropping is exact when every feature voxel lies inside
 * the box, because the minimum is then taken over the same set of points.
 *
 * The passes skip what carries no information. After the x pass a row of the box is finite
 * exactly when it contains a feature voxel ("seed row"), so the y pass builds each envelope from the
 * seed rows of its slice alone. After the y pass a whole slice is finite exactly when it contains a
 * seed row ("seed slice"), so the z pass reads the seed slices alone and the y pass never writes
 * the others. All values stay in Float64, so the result equals the brute-force minimum up to
 * rounding in the last bits.
 */

/**
 * Computes the exact squared Euclidean distance transform in mm² of a binary feature mask on an
 * anisotropic grid, for every voxel of `box`.
 *
 * `feature` has x fastest (`i + nx * (j + ny * k)`) over the whole grid `size`. Only `box`
 * (default: the whole grid) is transformed, and the result covers the box alone, x fastest.
 * Feature voxels outside the box are ignored. Voxels with no feature voxel at all get Infinity.
 */
export function squaredDistanceTransform(
  feature: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
  box: IndexBox = { start: [0, 0, 0], end: [...size] },
): Float64Array {
  const grid = new BoxGrid(size, box)
  const distance = new Float64Array(grid.voxelCount)
  if (grid.voxelCount === 0) return distance

  const seedRows = scanMaskRows(feature, grid, spacingMm[0], distance)
  const seedSlices = transformAlongY(distance, grid, seedRows, spacingMm[1])
  transformAlongZ(distance, grid, seedSlices, spacingMm[2])
  return distance
}

/**
 * Computes squared distances in mm² from given query voxels to the nearest of a set of feature
 * voxels, with the exact transform of `squaredDistanceTransform` but finishing the last pass at
 * the query voxels alone.
 *
 * `features` and `queries` are grid indices (`i + nx * (j + ny * k)`) in ascending order, and
 * every one of them must lie inside `box`. The result has one value per query, in the order of
 * `queries`; it is Infinity for every query when `features` is empty.
 *
 * `scratch`, when given, is reused as the working buffer if it has at least the box's voxel
 * count, which saves allocating it again for a second call on the same box.
 */
export function squaredDistancesAt(
  features: Uint32Array,
  queries: Uint32Array,
  size: Vec3,
  spacingMm: Vec3,
  box: IndexBox,
  scratch?: Float64Array,
): Float64Array {
  const grid = new BoxGrid(size, box)
  const result = new Float64Array(queries.length)
  if (features.length === 0) return result.fill(Infinity)
  if (queries.length === 0) return result

  // Every entry read below is written first, so the buffer needs no initial fill.
  const distance = scratch !== undefined && scratch.length >= grid.voxelCount ? scratch : new Float64Array(grid.voxelCount)
  const seedRows = scanFeatureRows(features, grid, spacingMm[0], distance)
  const seedSlices = transformAlongY(distance, grid, seedRows, spacingMm[1])
  transformAlongZAt(distance, grid, seedSlices, queries, spacingMm[2], result)
  return result
}

/** Box dimensions, and the conversion between grid indices and box indices. */
class BoxGrid {
  readonly nx: number
  readonly ny: number
  readonly nz: number
  readonly voxelCount: number

  constructor(
    readonly size: Vec3,
    readonly box: IndexBox,
  ) {
    this.nx = Math.max(0, box.end[0] - box.start[0])
    this.ny = Math.max(0, box.end[1] - box.start[1])
    this.nz = Math.max(0, box.end[2] - box.start[2])
    this.voxelCount = this.nx * this.ny * this.nz
  }

  /** Box row (j + ny · k, box coordinates) and box column i of a grid index inside the box. */
  locate(gridIndex: number): { row: number; i: number } {
    const [sx, sy] = this.size
    const gridRow = Math.floor(gridIndex / sx)
    const i = gridIndex - gridRow * sx - this.box.start[0]
    const k = Math.floor(gridRow / sy)
    const j = gridRow - k * sy - this.box.start[1]
    return { row: j + this.ny * (k - this.box.start[2]), i }
  }
}

/**
 * x pass from a mask: writes the squared distance along x to the nearest feature voxel of the
 * same row into every seed row, and Infinity into the others. Returns a flag per box row.
 */
function scanMaskRows(feature: Uint8Array, grid: BoxGrid, spacingMm: number, distance: Float64Array): Uint8Array {
  const { nx, ny, nz, size, box } = grid
  const spacingSquared = spacingMm * spacingMm
  const seedRows = new Uint8Array(ny * nz)
  for (let row = 0; row < ny * nz; row++) {
    const j = row % ny
    const k = (row - j) / ny
    const source = box.start[0] + size[0] * (box.start[1] + j + size[1] * (box.start[2] + k))
    const target = row * nx

    // The forward scan counts steps to the nearest feature voxel on the left, the backward scan to the right.
    let last = -Infinity
    for (let i = 0; i < nx; i++) {
      if (feature[source + i] !== 0) last = i
      distance[target + i] = i - last
    }
    if (last === -Infinity) {
      distance.fill(Infinity, target, target + nx)
      continue
    }
    seedRows[row] = 1
    let next = Infinity
    for (let i = nx - 1; i >= 0; i--) {
      if (feature[source + i] !== 0) next = i
      const steps = Math.min(distance[target + i], next - i)
      distance[target + i] = steps * steps * spacingSquared
    }
  }
  return seedRows
}

/**
 * x pass from a sorted list of feature voxels: writes the squared distance along x to the nearest
 * feature voxel of the same row into every seed row and leaves the other rows untouched.
 * Returns a flag per box row.
 */
function scanFeatureRows(features: Uint32Array, grid: BoxGrid, spacingMm: number, distance: Float64Array): Uint8Array {
  const { nx, ny, nz } = grid
  const spacingSquared = spacingMm * spacingMm
  const seedRows = new Uint8Array(ny * nz)
  let n = 0
  while (n < features.length) {
    const { row, i: firstFeature } = grid.locate(features[n])
    const target = row * nx
    seedRows[row] = 1

    // Left of the first feature voxel, then each gap up to the next one, then the tail.
    let previous = firstFeature
    for (let i = 0; i <= firstFeature; i++) distance[target + i] = (firstFeature - i) * (firstFeature - i) * spacingSquared
    n++
    while (n < features.length) {
      const next = grid.locate(features[n])
      if (next.row !== row) break
      for (let i = previous + 1; i <= next.i; i++) {
        const steps = Math.min(i - previous, next.i - i)
        distance[target + i] = steps * steps * spacingSquared
      }
      previous = next.i
      n++
    }
    for (let i = previous + 1; i < nx; i++) distance[target + i] = (i - previous) * (i - previous) * spacingSquared
  }
  return seedRows
}

/**
 * Working arrays of the 1D lower envelope, allocated once per pass. The envelope of one line is
 * the lower envelope of the parabolas y = height + s² (x - vertex)² of its seeds, where s² is the
 * squared spacing along the line; `boundaries[t]` is the grid position from which parabola t is
 * the lowest, and `boundaries[0]` is -Infinity. The passes inline the build and the evaluation,
 * because a method call per voxel made the y pass about 40 % slower in V8 (Node 20).
 */
class Envelope {
  readonly vertices: Int32Array
  readonly heights: Float64Array
  readonly boundaries: Float64Array

  constructor(length: number) {
    this.vertices = new Int32Array(length)
    this.heights = new Float64Array(length)
    this.boundaries = new Float64Array(length + 1)
  }
}

/**
 * Builds the envelope of one line from its seeds: line positions `seeds[0..count)` in ascending
 * order, whose finite values are distance[first + stride · position]. Returns the index of the
 * last parabola, and sets `boundaries` past it to Infinity.
 */
function buildEnvelope(
  distance: Float64Array,
  first: number,
  stride: number,
  seeds: Int32Array,
  count: number,
  spacingSquared: number,
  envelope: Envelope,
): number {
  const { vertices, heights, boundaries } = envelope
  let top = 0
  vertices[0] = seeds[0]
  heights[0] = distance[first + stride * seeds[0]]
  boundaries[0] = -Infinity
  for (let s = 1; s < count; s++) {
    const q = seeds[s]
    const value = distance[first + stride * q]
    // Pop the parabolas that the new one hides; boundaries[0] = -Infinity stops the loop.
    let v = vertices[top]
    let intersection = (value - heights[top] + spacingSquared * (q * q - v * v)) / (2 * spacingSquared * (q - v))
    while (intersection <= boundaries[top]) {
      top--
      v = vertices[top]
      intersection = (value - heights[top] + spacingSquared * (q * q - v * v)) / (2 * spacingSquared * (q - v))
    }
    top++
    vertices[top] = q
    heights[top] = value
    boundaries[top] = intersection
  }
  boundaries[top + 1] = Infinity
  return top
}

/**
 * y pass: in each slice that contains a seed row, replaces every line along y by the 1D transform
 * of its seed rows. Slices without a seed row are left as they are. Returns the seed slices.
 */
function transformAlongY(distance: Float64Array, grid: BoxGrid, seedRows: Uint8Array, spacingMm: number): Int32Array {
  const { nx, ny, nz } = grid
  const spacingSquared = spacingMm * spacingMm
  const envelope = new Envelope(ny)
  const { vertices, heights, boundaries } = envelope
  const rows = new Int32Array(ny)
  const seedSlices: number[] = []

  for (let k = 0; k < nz; k++) {
    let rowCount = 0
    for (let j = 0; j < ny; j++) if (seedRows[j + ny * k] !== 0) rows[rowCount++] = j
    if (rowCount === 0) continue
    seedSlices.push(k)

    const sliceStart = nx * ny * k
    for (let i = 0; i < nx; i++) {
      const first = sliceStart + i

      buildEnvelope(distance, first, nx, rows, rowCount, spacingSquared, envelope)

      let segment = 0
      for (let j = 0; j < ny; j++) {
        while (boundaries[segment + 1] < j) segment++
        const offset = j - vertices[segment]
        distance[first + nx * j] = spacingSquared * offset * offset + heights[segment]
      }
    }
  }
  return Int32Array.from(seedSlices)
}

/** z pass over the whole box; fills every voxel, with Infinity when there is no seed slice. */
function transformAlongZ(distance: Float64Array, grid: BoxGrid, seedSlices: Int32Array, spacingMm: number): void {
  const { nx, ny, nz } = grid
  if (seedSlices.length === 0) {
    distance.fill(Infinity)
    return
  }
  const spacingSquared = spacingMm * spacingMm
  const sliceSize = nx * ny
  const envelope = new Envelope(nz)
  const { vertices, heights, boundaries } = envelope
  for (let column = 0; column < sliceSize; column++) {
    buildEnvelope(distance, column, sliceSize, seedSlices, seedSlices.length, spacingSquared, envelope)
    let segment = 0
    for (let k = 0; k < nz; k++) {
      while (boundaries[segment + 1] < k) segment++
      const offset = k - vertices[segment]
      distance[column + sliceSize * k] = spacingSquared * offset * offset + heights[segment]
    }
  }
}

/**
 * z pass at the query voxels only: groups the queries by box column (counting sort, which keeps
 * them in ascending z within a column) and finds each query's minimum over the seed slices.
 *
 * Near a surface the minimum sits in a nearby slice, so each query first scans the seed slices
 * outward from its own. It stops once s² Δz² alone reaches the best value found, because the
 * values are non-negative and farther slices cannot do better. When a column's scans have read more than
 * twice its seed count, its remaining queries use the lower envelope, which bounds the cost.
 */
function transformAlongZAt(
  distance: Float64Array,
  grid: BoxGrid,
  seedSlices: Int32Array,
  queries: Uint32Array,
  spacingMm: number,
  result: Float64Array,
): void {
  const { nx, ny, nz } = grid
  const spacingSquared = spacingMm * spacingMm
  const sliceSize = nx * ny
  const seedCount = seedSlices.length

  const columnOf = new Int32Array(queries.length)
  const sliceOf = new Int32Array(queries.length)
  const columnStart = new Int32Array(sliceSize + 1)
  for (let n = 0; n < queries.length; n++) {
    const { row, i } = grid.locate(queries[n])
    const j = row % ny
    columnOf[n] = i + nx * j
    sliceOf[n] = (row - j) / ny
    columnStart[columnOf[n] + 1]++
  }
  for (let column = 0; column < sliceSize; column++) columnStart[column + 1] += columnStart[column]
  const order = new Int32Array(queries.length)
  const fill = columnStart.slice(0, sliceSize)
  for (let n = 0; n < queries.length; n++) order[fill[columnOf[n]]++] = n

  // firstSeedFrom[k]: index in seedSlices of the first seed slice at or above slice k.
  const firstSeedFrom = new Int32Array(nz + 1)
  for (let k = nz - 1, s = seedCount; k >= 0; k--) {
    while (s > 0 && seedSlices[s - 1] >= k) s--
    firstSeedFrom[k] = s
  }

  const envelope = new Envelope(nz)
  const { vertices, heights, boundaries } = envelope
  for (let column = 0; column < sliceSize; column++) {
    let m = columnStart[column]
    const end = columnStart[column + 1]
    let reads = 0
    for (; m < end && reads <= 2 * seedCount; m++) {
      const n = order[m]
      const k = sliceOf[n]
      let best = Infinity
      for (let s = firstSeedFrom[k]; s < seedCount; s++) {
        const offset = seedSlices[s] - k
        const base = spacingSquared * offset * offset
        if (base >= best) break
        const candidate = base + distance[column + sliceSize * seedSlices[s]]
        if (candidate < best) best = candidate
        reads++
      }
      for (let s = firstSeedFrom[k] - 1; s >= 0; s--) {
        const offset = k - seedSlices[s]
        const base = spacingSquared * offset * offset
        if (base >= best) break
        const candidate = base + distance[column + sliceSize * seedSlices[s]]
        if (candidate < best) best = candidate
        reads++
      }
      result[n] = best
    }
    if (m === end) continue

    buildEnvelope(distance, column, sliceSize, seedSlices, seedCount, spacingSquared, envelope)
    let segment = 0
    for (; m < end; m++) {
      const n = order[m]
      const k = sliceOf[n]
      while (boundaries[segment + 1] < k) segment++
      const offset = k - vertices[segment]
      result[n] = spacingSquared * offset * offset + heights[segment]
    }
  }
}
