import { InputError } from '../errors.js'
import type { Vec3, Volume, VoxelArray } from '../volume/volume.js'

/**
 * Mapping of an input volume's index axes onto the canonical axial orientation. In canonical
 * orientation index axis 0 runs from patient right to left (+x in LPS), axis 1 from anterior to
 * posterior (+y) and axis 2 from inferior to superior (+z). Each input axis is assigned to the LPS axis it is closest to,
 * so reorienting only permutes and flips voxels: no interpolation, and the mapping back is exact.
 */
export interface Reorientation {
  /** `lpsAxisOf[c]` is the canonical (LPS) axis that input index axis c is assigned to. */
  lpsAxisOf: Vec3
  /** `flipped[c]` is true when input index axis c points along the negative LPS axis. */
  flipped: [boolean, boolean, boolean]
  /** Largest angle in degrees between an input axis and the LPS axis it was assigned to. */
  obliquityDegrees: number
  isIdentity: boolean
}

/** Assigns each input index axis to its closest LPS axis (a permutation with signs). */
export function planReorientation(direction: Float64Array): Reorientation {
  const lpsAxisOf: Vec3 = [0, 0, 0]
  const flipped: [boolean, boolean, boolean] = [false, false, false]
  const taken = new Set<number>()

  // Assign axes in order of how clearly each one points along an LPS axis, so a 45-degree axis
  // takes what the other two leave.
  const order = [0, 1, 2].sort((a, b) => maxAbsComponent(direction, b) - maxAbsComponent(direction, a))
  let obliquityDegrees = 0
  for (const column of order) {
    let best = -1
    for (let row = 0; row < 3; row++) {
      if (taken.has(row)) continue
      if (best < 0 || Math.abs(direction[3 * row + column]) > Math.abs(direction[3 * best + column])) best = row
    }
    taken.add(best)
    lpsAxisOf[column] = best
    const cosine = direction[3 * best + column]
    flipped[column] = cosine < 0
    obliquityDegrees = Math.max(obliquityDegrees, (Math.acos(Math.min(1, Math.abs(cosine))) * 180) / Math.PI)
  }

  const isIdentity = lpsAxisOf.every((axis, column) => axis === column) && !flipped.some(Boolean)
  return { lpsAxisOf, flipped, obliquityDegrees, isIdentity }
}

function maxAbsComponent(direction: Float64Array, column: number): number {
  return Math.max(Math.abs(direction[column]), Math.abs(direction[3 + column]), Math.abs(direction[6 + column]))
}

/** Size of the canonical volume for an input of the given size. */
function canonicalSize(size: Vec3, plan: Reorientation): Vec3 {
  const result: Vec3 = [0, 0, 0]
  for (let column = 0; column < 3; column++) result[plan.lpsAxisOf[column]] = size[column]
  return result
}

/**
 * Calls `visit(inputOffset, canonicalOffset)` for every voxel. The canonical offset is stepped by
 * per-axis strides, so both directions of the copy are one pass without index arithmetic.
 */
function forEachVoxelPair(size: Vec3, plan: Reorientation, visit: (inputOffset: number, canonicalOffset: number) => void): void {
  const outSize = canonicalSize(size, plan)
  const canonicalStrides = [1, outSize[0], outSize[0] * outSize[1]]
  const strides = [0, 0, 0]
  let base = 0
  for (let column = 0; column < 3; column++) {
    const stride = canonicalStrides[plan.lpsAxisOf[column]]
    strides[column] = plan.flipped[column] ? -stride : stride
    if (plan.flipped[column]) base += (size[column] - 1) * stride
  }

  let inputOffset = 0
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      let canonicalOffset = base + k * strides[2] + j * strides[1]
      for (let i = 0; i < size[0]; i++) {
        visit(inputOffset, canonicalOffset)
        inputOffset++
        canonicalOffset += strides[0]
      }
    }
  }
}

/**
 * Returns the input in canonical axial orientation (see Reorientation). The canonical volume's
 * direction is the input's with columns permuted and negated, so every voxel keeps its physical
 * position. An input already in canonical orientation is returned as it is, without a copy.
 */
export function toCanonical<T extends VoxelArray>(volume: Volume<T>, plan: Reorientation): Volume<T> {
  if (plan.isIdentity) return volume

  const size = canonicalSize(volume.size, plan)
  const spacingMm: Vec3 = [0, 0, 0]
  const direction = new Float64Array(9)
  for (let column = 0; column < 3; column++) {
    const axis = plan.lpsAxisOf[column]
    const sign = plan.flipped[column] ? -1 : 1
    spacingMm[axis] = volume.spacingMm[column]
    for (let row = 0; row < 3; row++) direction[3 * row + axis] = sign * volume.direction[3 * row + column]
  }

  // The canonical origin is the input voxel that lands at canonical index (0, 0, 0).
  const originIndex = [0, 1, 2].map((column) => (plan.flipped[column] ? volume.size[column] - 1 : 0))
  const origin = [0, 1, 2].map(
    (row) =>
      volume.origin[row] +
      [0, 1, 2].reduce(
        (sum, column) => sum + volume.direction[3 * row + column] * volume.spacingMm[column] * originIndex[column],
        0,
      ),
  ) as Vec3

  const data = new (volume.data.constructor as { new (length: number): T })(volume.data.length)
  const source = volume.data
  forEachVoxelPair(volume.size, plan, (inputOffset, canonicalOffset) => {
    data[canonicalOffset] = source[inputOffset]
  })
  return { data, size, spacingMm, origin, direction }
}

/** Copies canonical-orientation voxels back onto the input grid (inverse of toCanonical). */
export function fromCanonical<T extends VoxelArray>(canonical: T, inputSize: Vec3, plan: Reorientation): T {
  if (plan.isIdentity) return canonical
  if (canonical.length !== inputSize[0] * inputSize[1] * inputSize[2]) {
    throw new InputError(`fromCanonical: expected ${inputSize.join(' x ')} voxels, got ${canonical.length}`)
  }
  const data = new (canonical.constructor as { new (length: number): T })(canonical.length)
  forEachVoxelPair(inputSize, plan, (inputOffset, canonicalOffset) => {
    data[inputOffset] = canonical[canonicalOffset]
  })
  return data
}
