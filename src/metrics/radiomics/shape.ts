import type { Vec3 } from '../../volume/volume.js'
import { boundingBox } from '../mask.js'
import { meshDiameters } from './diameters.js'
import { tabulateConfigurations } from './marching-cubes.js'

/** Names of the 14 PyRadiomics 3D shape features, in the order colinet reports them. */
export const SHAPE_FEATURES = [
  'MeshVolume',
  'VoxelVolume',
  'SurfaceArea',
  'SurfaceVolumeRatio',
  'Sphericity',
  'Maximum3DDiameter',
  'Maximum2DDiameterSlice',
  'Maximum2DDiameterColumn',
  'Maximum2DDiameterRow',
  'MajorAxisLength',
  'MinorAxisLength',
  'LeastAxisLength',
  'Elongation',
  'Flatness',
] as const

export type ShapeFeature = (typeof SHAPE_FEATURES)[number]

/**
 * Computes the 14 3D shape features of a binary mask as PyRadiomics 3 defines them
 * (radiomics/shape.py). Lengths are in mm, areas in mm², volumes in mm³, all from voxel indices
 * times the spacing (the direction matrix does not change them).
 *
 * - MeshVolume V and SurfaceArea A come from a marching-cubes mesh with its vertices halfway
 *   along the edges between voxels inside and outside the mask (see marching-cubes.ts):
 *   V = Σ det(a, b, c) / 6 and A = Σ |(b - a) × (c - a)| / 2 over its triangles.
 * - VoxelVolume = number of voxels · voxel volume.
 * - SurfaceVolumeRatio = A / V; Sphericity = (36 π V²)^(1/3) / A.
 * - Maximum3DDiameter: largest distance between two mesh vertices; Maximum2DDiameterSlice,
 *   Column and Row: the same among vertices with equal z, equal y and equal x respectively.
 * - Principal axes from the eigenvalues λ_major ≥ λ_minor ≥ λ_least of the covariance (divided
 *   by N) of the voxel-centre coordinates: MajorAxisLength = 4 √λ_major, MinorAxisLength =
 *   4 √λ_minor, LeastAxisLength = 4 √λ_least, Elongation = √(λ_minor / λ_major),
 *   Flatness = √(λ_least / λ_major).
 *
 * Throws for an empty mask, where no feature is defined.
 */
export function computeShapeFeatures(mask: Uint8Array, size: Vec3, spacingMm: Vec3): Record<ShapeFeature, number> {
  const box = boundingBox([mask], size)
  if (box === undefined) throw new Error('computeShapeFeatures: the mask is empty')

  const padded = cropWithMargin(mask, size, box)
  const { areaMm2, volumeMm3, vertices } = meshMeasures(padded.data, padded.size, spacingMm)
  const diameters = meshDiameters(vertices, spacingMm)
  const axes = principalAxes(mask, size, spacingMm)
  const voxelVolumeMm3 = axes.count * spacingMm[0] * spacingMm[1] * spacingMm[2]

  return {
    MeshVolume: volumeMm3,
    VoxelVolume: voxelVolumeMm3,
    SurfaceArea: areaMm2,
    SurfaceVolumeRatio: areaMm2 / volumeMm3,
    Sphericity: Math.cbrt(36 * Math.PI * volumeMm3 * volumeMm3) / areaMm2,
    Maximum3DDiameter: diameters.maximum3DMm,
    Maximum2DDiameterSlice: diameters.maximumInSliceMm,
    Maximum2DDiameterColumn: diameters.maximumInColumnMm,
    Maximum2DDiameterRow: diameters.maximumInRowMm,
    MajorAxisLength: 4 * Math.sqrt(axes.major),
    MinorAxisLength: 4 * Math.sqrt(axes.minor),
    LeastAxisLength: 4 * Math.sqrt(axes.least),
    Elongation: Math.sqrt(axes.minor / axes.major),
    Flatness: Math.sqrt(axes.least / axes.major),
  }
}

/** Copies the box of the mask into a grid with one empty voxel on every side, so the mesh closes. */
function cropWithMargin(mask: Uint8Array, size: Vec3, box: { start: Vec3; end: Vec3 }): { data: Uint8Array; size: Vec3 } {
  const inner = [box.end[0] - box.start[0], box.end[1] - box.start[1], box.end[2] - box.start[2]]
  const paddedSize: Vec3 = [inner[0] + 2, inner[1] + 2, inner[2] + 2]
  const data = new Uint8Array(paddedSize[0] * paddedSize[1] * paddedSize[2])
  for (let k = 0; k < inner[2]; k++) {
    for (let j = 0; j < inner[1]; j++) {
      const source = box.start[0] + size[0] * (box.start[1] + j + size[1] * (box.start[2] + k))
      const target = 1 + paddedSize[0] * (j + 1 + paddedSize[1] * (k + 1))
      for (let i = 0; i < inner[0]; i++) data[target + i] = mask[source + i] !== 0 ? 1 : 0
    }
  }
  return { data, size: paddedSize }
}

/**
 * Marches the cubes of a zero-padded mask, summing area and signed volume from the
 * per-configuration table, and lists the mesh vertices (one per edge whose two voxels differ) in
 * half-voxel units, x, y, z interleaved.
 */
function meshMeasures(
  data: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
): { areaMm2: number; volumeMm3: number; vertices: Int32Array } {
  const [nx, ny, nz] = size
  const sliceSize = nx * ny
  const table = tabulateConfigurations(spacingMm)
  let area = 0
  let sixfoldVolume = 0

  for (let k = 0; k + 1 < nz; k++) {
    const z = k * spacingMm[2]
    for (let j = 0; j + 1 < ny; j++) {
      const y = j * spacingMm[1]
      let n = nx * (j + ny * k)
      for (let i = 0; i + 1 < nx; i++, n++) {
        const configuration =
          data[n] |
          (data[n + 1] << 1) |
          (data[n + 1 + nx] << 2) |
          (data[n + nx] << 3) |
          (data[n + sliceSize] << 4) |
          (data[n + 1 + sliceSize] << 5) |
          (data[n + 1 + nx + sliceSize] << 6) |
          (data[n + nx + sliceSize] << 7)
        if (configuration === 0 || configuration === 255) continue
        area += table.areaMm2[configuration]
        const c = 3 * configuration
        sixfoldVolume +=
          table.localDeterminant[configuration] +
          i * spacingMm[0] * table.normalSum[c] +
          y * table.normalSum[c + 1] +
          z * table.normalSum[c + 2]
      }
    }
  }

  return { areaMm2: area, volumeMm3: sixfoldVolume / 6, vertices: meshVertices(data, size) }
}

function meshVertices(data: Uint8Array, size: Vec3): Int32Array {
  const [nx, ny, nz] = size
  const sliceSize = nx * ny
  const coordinates: number[] = []
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let n = nx * (j + ny * k)
      for (let i = 0; i < nx; i++, n++) {
        const value = data[n]
        if (i + 1 < nx && data[n + 1] !== value) coordinates.push(2 * i + 1, 2 * j, 2 * k)
        if (j + 1 < ny && data[n + nx] !== value) coordinates.push(2 * i, 2 * j + 1, 2 * k)
        if (k + 1 < nz && data[n + sliceSize] !== value) coordinates.push(2 * i, 2 * j, 2 * k + 1)
      }
    }
  }
  return Int32Array.from(coordinates)
}

/** Eigenvalues of the population covariance of the voxel-centre coordinates (mm²) and the voxel count. */
function principalAxes(mask: Uint8Array, size: Vec3, spacingMm: Vec3): { major: number; minor: number; least: number; count: number } {
  const [nx, ny, nz] = size
  let count = 0
  const sum = [0, 0, 0]
  const products = [0, 0, 0, 0, 0, 0] // xx, yy, zz, xy, xz, yz
  let n = 0
  for (let k = 0; k < nz; k++) {
    const z = k * spacingMm[2]
    for (let j = 0; j < ny; j++) {
      const y = j * spacingMm[1]
      for (let i = 0; i < nx; i++, n++) {
        if (mask[n] === 0) continue
        const x = i * spacingMm[0]
        count++
        sum[0] += x
        sum[1] += y
        sum[2] += z
        products[0] += x * x
        products[1] += y * y
        products[2] += z * z
        products[3] += x * y
        products[4] += x * z
        products[5] += y * z
      }
    }
  }
  const mean = sum.map((s) => s / count)
  const covariance = [
    products[0] / count - mean[0] * mean[0],
    products[1] / count - mean[1] * mean[1],
    products[2] / count - mean[2] * mean[2],
    products[3] / count - mean[0] * mean[1],
    products[4] / count - mean[0] * mean[2],
    products[5] / count - mean[1] * mean[2],
  ]
  const [least, minor, major] = symmetricEigenvalues(covariance)
  return { major, minor, least, count }
}

/**
 * Returns the eigenvalues, ascending, of the symmetric 3 x 3 matrix given as xx, yy, zz, xy, xz,
 * yz, by the trigonometric solution of the characteristic cubic (Smith, Communications of the
 * ACM 4:168, 1961).
 */
export function symmetricEigenvalues(m: number[]): [number, number, number] {
  const [a, b, c, d, e, f] = m
  const offDiagonal = d * d + e * e + f * f
  if (offDiagonal === 0) return [a, b, c].sort((p, q) => p - q) as [number, number, number]

  const trace = (a + b + c) / 3
  const p2 = (a - trace) ** 2 + (b - trace) ** 2 + (c - trace) ** 2 + 2 * offDiagonal
  const p = Math.sqrt(p2 / 6)
  // B = (M - trace I) / p; r = det(B) / 2, clamped against rounding.
  const ba = (a - trace) / p
  const bb = (b - trace) / p
  const bc = (c - trace) / p
  const bd = d / p
  const be = e / p
  const bf = f / p
  const determinant = ba * (bb * bc - bf * bf) - bd * (bd * bc - bf * be) + be * (bd * bf - bb * be)
  const r = Math.min(1, Math.max(-1, determinant / 2))
  const phi = Math.acos(r) / 3
  const largest = trace + 2 * p * Math.cos(phi)
  const smallest = trace + 2 * p * Math.cos(phi + (2 * Math.PI) / 3)
  const middle = 3 * trace - largest - smallest
  return [smallest, middle, largest]
}
