import type { Vec3 } from './volume.js'

/**
 * Connected-component labelling of binary masks (any nonzero voxel is foreground).
 *
 * The labeller works on runs: maximal stretches of foreground along x. A first pass joins each
 * run to the overlapping runs of the already visited neighbour rows with union-find; a second
 * pass numbers the sets and writes the labels. Memory is the Int32 label array plus a few
 * integers per run, which keeps a 512 x 512 x 300 mask within a few hundred MB.
 */

/** 6: voxels sharing a face are connected; 26: sharing a face, an edge or a corner. */
export type Connectivity3D = 6 | 26

/** 4: pixels sharing an edge are connected; 8: sharing an edge or a corner. */
export type Connectivity2D = 4 | 8

export interface ComponentLabels {
  /** Label per voxel: 0 for background, 1..count for components numbered by their first voxel in storage order. */
  labels: Int32Array
  /** Number of components. */
  count: number
  /** Voxels per label, indexed by label; voxelCounts[0] is 0 because background is not counted. */
  voxelCounts: Float64Array
}

/** Labels the connected components of a 3D mask stored x fastest. */
export function labelComponents(mask: ArrayLike<number>, size: Vec3, connectivity: Connectivity3D = 26): ComponentLabels {
  checkMaskSize('labelComponents', mask, size)
  if (connectivity !== 6 && connectivity !== 26) {
    throw new Error(`labelComponents: connectivity must be 6 or 26, got ${String(connectivity)}`)
  }
  const runs = findRuns(mask, size)
  joinNeighbourRuns(runs, size, connectivity)
  return writeLabels(runs, size)
}

/** Labels the connected components of one 2D image stored row by row (x fastest). */
export function labelComponents2D(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  connectivity: Connectivity2D = 8,
): ComponentLabels {
  if (connectivity !== 4 && connectivity !== 8) {
    throw new Error(`labelComponents2D: connectivity must be 4 or 8, got ${String(connectivity)}`)
  }
  // A single slice has no neighbours across z, so 6- and 26-connectivity reduce to 4 and 8.
  return labelComponents(mask, [width, height, 1], connectivity === 4 ? 6 : 26)
}

/**
 * Returns a 0/1 mask of the `keep` largest components. Components of equal size are ranked by
 * label, so the result does not depend on sort stability.
 */
export function keepLargestComponents(
  mask: ArrayLike<number>,
  size: Vec3,
  keep: number,
  connectivity: Connectivity3D = 26,
): Uint8Array {
  const components = labelComponents(mask, size, connectivity)
  const kept = largestLabels(components, keep)
  const isKept = new Uint8Array(components.count + 1)
  for (const label of kept) isKept[label] = 1

  const result = new Uint8Array(components.labels.length)
  const labels = components.labels
  for (let v = 0; v < labels.length; v++) result[v] = isKept[labels[v]]
  return result
}

/** Returns the labels of the `keep` largest components, largest first (ties: smaller label first). */
export function largestLabels(components: ComponentLabels, keep: number): number[] {
  const order: number[] = []
  for (let label = 1; label <= components.count; label++) order.push(label)
  order.sort((a, b) => components.voxelCounts[b] - components.voxelCounts[a] || a - b)
  return order.slice(0, Math.max(0, keep))
}

function checkMaskSize(operation: string, mask: ArrayLike<number>, size: Vec3): void {
  const expected = size[0] * size[1] * size[2]
  if (mask.length !== expected) {
    throw new Error(`${operation}: mask has ${mask.length} voxels but size ${size.join(' x ')} needs ${expected}`)
  }
}

/** Runs of foreground along x, grouped by row (row = j + ny * k), with their union-find parents. */
interface Runs {
  /** First x of each run. */
  start: Int32Array
  /** Last x of each run (inclusive). */
  end: Int32Array
  /** Union-find parent of each run. */
  parent: Int32Array
  /** Runs of row r are rowOffsets[r] .. rowOffsets[r + 1] - 1. */
  rowOffsets: Int32Array
  count: number
}

function findRuns(mask: ArrayLike<number>, size: Vec3): Runs {
  const [nx, ny, nz] = size
  const rowCount = ny * nz
  const rowOffsets = new Int32Array(rowCount + 1)
  let start: Int32Array = new Int32Array(1024)
  let end: Int32Array = new Int32Array(1024)
  let count = 0

  for (let row = 0; row < rowCount; row++) {
    rowOffsets[row] = count
    const base = row * nx
    let x = 0
    while (x < nx) {
      if (mask[base + x] === 0) {
        x++
        continue
      }
      const runStart = x
      while (x < nx && mask[base + x] !== 0) x++
      if (count === start.length) {
        start = grow(start)
        end = grow(end)
      }
      start[count] = runStart
      end[count] = x - 1
      count++
    }
  }
  rowOffsets[rowCount] = count

  const parent = new Int32Array(count)
  for (let r = 0; r < count; r++) parent[r] = r
  return { start, end, parent, rowOffsets, count }
}

function grow(array: Int32Array): Int32Array {
  const larger = new Int32Array(array.length * 2)
  larger.set(array)
  return larger
}

function joinNeighbourRuns(runs: Runs, size: Vec3, connectivity: Connectivity3D): void {
  const [, ny, nz] = size
  // Runs in a diagonal neighbour row touch when they are one voxel apart along x.
  const gap = connectivity === 26 ? 1 : 0
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = j + ny * k
      if (runs.rowOffsets[row] === runs.rowOffsets[row + 1]) continue
      if (j > 0) joinRows(runs, row, row - 1, gap)
      if (k > 0) {
        joinRows(runs, row, row - ny, gap)
        if (connectivity === 26) {
          if (j > 0) joinRows(runs, row, row - ny - 1, gap)
          if (j < ny - 1) joinRows(runs, row, row - ny + 1, gap)
        }
      }
    }
  }
}

/** Joins every pair of runs from two rows whose x extents overlap (or lie within `gap`). */
function joinRows(runs: Runs, rowA: number, rowB: number, gap: number): void {
  const { start, end, rowOffsets } = runs
  let a = rowOffsets[rowA]
  let b = rowOffsets[rowB]
  const aEnd = rowOffsets[rowA + 1]
  const bEnd = rowOffsets[rowB + 1]
  while (a < aEnd && b < bEnd) {
    if (end[a] + gap < start[b]) {
      a++
    } else if (end[b] + gap < start[a]) {
      b++
    } else {
      union(runs.parent, a, b)
      // The run that ends first cannot reach the next run of the other row.
      if (end[a] < end[b]) a++
      else b++
    }
  }
}

function find(parent: Int32Array, run: number): number {
  while (parent[run] !== run) {
    parent[run] = parent[parent[run]]
    run = parent[run]
  }
  return run
}

function union(parent: Int32Array, a: number, b: number): void {
  const rootA = find(parent, a)
  const rootB = find(parent, b)
  if (rootA < rootB) parent[rootB] = rootA
  else if (rootB < rootA) parent[rootA] = rootB
}

function writeLabels(runs: Runs, size: Vec3): ComponentLabels {
  const [nx, ny, nz] = size
  const labels = new Int32Array(nx * ny * nz)
  const labelOfRoot = new Int32Array(runs.count)
  const counts: number[] = [0]
  let count = 0

  for (let row = 0; row < ny * nz; row++) {
    const base = row * nx
    for (let run = runs.rowOffsets[row]; run < runs.rowOffsets[row + 1]; run++) {
      const root = find(runs.parent, run)
      if (labelOfRoot[root] === 0) {
        count++
        labelOfRoot[root] = count
        counts.push(0)
      }
      const label = labelOfRoot[root]
      labels.fill(label, base + runs.start[run], base + runs.end[run] + 1)
      counts[label] += runs.end[run] - runs.start[run] + 1
    }
  }
  return { labels, count, voxelCounts: Float64Array.from(counts) }
}
