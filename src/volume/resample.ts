import { createVolume, indexToPhysical, invert3x3, type Geometry, type Volume, type VoxelArray } from './volume.js'

/**
 * Resamples a volume onto another grid by nearest neighbour in physical (LPS) space: each target
 * voxel takes the value of the source voxel whose centre is closest in index space after mapping
 * through both geometries. Target voxels that fall outside the source get 0. Labels stay labels,
 * which is why masks are resampled this way.
 */
export function resampleNearest<T extends VoxelArray>(volume: Volume<T>, targetGeometry: Geometry): Volume<T> {
  const ArrayType = volume.data.constructor as { new (length: number): T }
  const target = createVolume(targetGeometry, ArrayType)
  const [sx, sy, sz] = volume.size

  // Source index = A · target index + b, with A = S_src⁻¹ D_src⁻¹ D_tgt S_tgt.
  const inverse = invert3x3(volume.direction)
  const origin = indexToPhysical(targetGeometry, [0, 0, 0])
  const toSource = (point: number[]): number[] => {
    const offset = [point[0] - volume.origin[0], point[1] - volume.origin[1], point[2] - volume.origin[2]]
    return [0, 1, 2].map(
      (row) => (inverse[3 * row] * offset[0] + inverse[3 * row + 1] * offset[1] + inverse[3 * row + 2] * offset[2]) / volume.spacingMm[row],
    )
  }
  const base = toSource(origin)
  const stepAlong = [0, 1, 2].map((axis) => {
    const unit: [number, number, number] = [0, 0, 0]
    unit[axis] = 1
    const moved = toSource(indexToPhysical(targetGeometry, unit))
    return [moved[0] - base[0], moved[1] - base[1], moved[2] - base[2]]
  })

  const [nx, ny, nz] = targetGeometry.size
  let n = 0
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = [0, 1, 2].map((c) => base[c] + j * stepAlong[1][c] + k * stepAlong[2][c])
      for (let i = 0; i < nx; i++, n++) {
        const x = Math.round(row[0] + i * stepAlong[0][0])
        const y = Math.round(row[1] + i * stepAlong[0][1])
        const z = Math.round(row[2] + i * stepAlong[0][2])
        if (x < 0 || y < 0 || z < 0 || x >= sx || y >= sy || z >= sz) continue
        target.data[n] = volume.data[x + sx * (y + sy * z)]
      }
    }
  }
  return target
}
