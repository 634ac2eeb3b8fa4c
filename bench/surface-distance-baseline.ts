/**
 * The surface-distance code as it was before the fast path (commit c9d2f02), kept unchanged so
 * that bench/evaluate.ts can time old and new in one process and check they agree.
 * Not used by colinet itself.
 */
import type { Vec3 } from '../src/volume/volume.js'

interface IndexBox {
  start: Vec3
  end: Vec3
}

export interface BaselineMetrics {
  meanSurfaceDistanceMm: number
  averageHausdorffDistanceMm: number
  hausdorff95Mm: number
  hausdorffDistanceMm: number
}

export function baselineSurfaceDistances(prediction: Uint8Array, reference: Uint8Array, size: Vec3, spacingMm: Vec3): BaselineMetrics {
  const predictionSurface = surfaceVoxels(prediction, size)
  const referenceSurface = surfaceVoxels(reference, size)
  const box = boundingBox([predictionSurface, referenceSurface], size)
  if (box === undefined) return { meanSurfaceDistanceMm: 0, averageHausdorffDistanceMm: 0, hausdorff95Mm: 0, hausdorffDistanceMm: 0 }
  const forward = distancesAt(predictionSurface, referenceSurface, size, spacingMm, box)
  const backward = distancesAt(referenceSurface, predictionSurface, size, spacingMm, box)
  if (forward.length === 0 || backward.length === 0) {
    return { meanSurfaceDistanceMm: NaN, averageHausdorffDistanceMm: NaN, hausdorff95Mm: NaN, hausdorffDistanceMm: NaN }
  }
  const forwardSum = sum(forward)
  const backwardSum = sum(backward)
  return {
    meanSurfaceDistanceMm: (forwardSum + backwardSum) / (forward.length + backward.length),
    averageHausdorffDistanceMm: Math.max(forwardSum / forward.length, backwardSum / backward.length),
    hausdorff95Mm: Math.max(percentile(forward, 95), percentile(backward, 95)),
    hausdorffDistanceMm: Math.max(max(forward), max(backward)),
  }
}

function surfaceVoxels(mask: Uint8Array, size: Vec3): Uint8Array {
  const [nx, ny, nz] = size
  const sliceSize = nx * ny
  const surface = new Uint8Array(mask.length)
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k)
      for (let i = 0; i < nx; i++) {
        const n = row + i
        if (mask[n] === 0) continue
        const onEdge = i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1
        if (
          onEdge ||
          mask[n - 1] === 0 ||
          mask[n + 1] === 0 ||
          mask[n - nx] === 0 ||
          mask[n + nx] === 0 ||
          mask[n - sliceSize] === 0 ||
          mask[n + sliceSize] === 0
        ) {
          surface[n] = 1
        }
      }
    }
  }
  return surface
}

function boundingBox(masks: Uint8Array[], size: Vec3): IndexBox | undefined {
  const [nx, ny] = size
  const start: Vec3 = [Infinity, Infinity, Infinity]
  const end: Vec3 = [-1, -1, -1]
  for (const mask of masks) {
    let n = 0
    for (let k = 0; k < size[2]; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, n++) {
          if (mask[n] === 0) continue
          if (i < start[0]) start[0] = i
          if (j < start[1]) start[1] = j
          if (k < start[2]) start[2] = k
          if (i > end[0]) end[0] = i
          if (j > end[1]) end[1] = j
          if (k > end[2]) end[2] = k
        }
      }
    }
  }
  if (end[0] < 0) return undefined
  return { start, end: [end[0] + 1, end[1] + 1, end[2] + 1] }
}

function distancesAt(from: Uint8Array, to: Uint8Array, size: Vec3, spacingMm: Vec3, box: IndexBox): Float64Array {
  const squared = squaredDistanceTransform(to, size, spacingMm, box)
  const [x0, y0, z0] = box.start
  const bx = box.end[0] - x0
  const by = box.end[1] - y0
  const values: number[] = []
  for (let k = z0; k < box.end[2]; k++) {
    for (let j = y0; j < box.end[1]; j++) {
      const row = size[0] * (j + size[1] * k)
      const boxRow = bx * (j - y0 + by * (k - z0)) - x0
      for (let i = x0; i < box.end[0]; i++) {
        if (from[row + i] !== 0) values.push(Math.sqrt(squared[boxRow + i]))
      }
    }
  }
  return Float64Array.from(values)
}

function squaredDistanceTransform(feature: Uint8Array, size: Vec3, spacingMm: Vec3, box: IndexBox): Float64Array {
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
  scanBinaryLines(distance, nx, ny * nz, spacingMm[0])
  transformAxis(distance, ny, nx, nx * nz, (line) => (line % nx) + nx * ny * Math.floor(line / nx), spacingMm[1], workspace)
  transformAxis(distance, nz, nx * ny, nx * ny, (line) => line, spacingMm[2], workspace)
  return distance
}

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
  vertices: Int32Array
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

function parabolaIntersection(values: Float64Array, v: number, q: number, spacingSquared: number): number {
  return (values[q] - values[v] + spacingSquared * (q * q - v * v)) / (2 * spacingSquared * (q - v))
}

function sum(values: Float64Array): number {
  let total = 0
  for (let n = 0; n < values.length; n++) total += values[n]
  return total
}

function max(values: Float64Array): number {
  let largest = -Infinity
  for (let n = 0; n < values.length; n++) if (values[n] > largest) largest = values[n]
  return largest
}

function percentile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort()
  const position = ((sorted.length - 1) * q) / 100
  const lower = Math.floor(position)
  const upper = Math.min(lower + 1, sorted.length - 1)
  return sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower])
}
