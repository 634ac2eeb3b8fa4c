import { writeFileSync } from 'node:fs'

/**
 * Writes a minimal NIfTI-1 file (.nii, int16, no orientation codes) with up to 7 dimensions.
 * Tests use it to make inputs that itk-wasm's writer cannot produce, such as a 4D series.
 */
export function writeRawNifti(path: string, dims: number[], voxels: Int16Array): void {
  const header = Buffer.alloc(352)
  header.writeInt32LE(348, 0)
  header.writeInt16LE(dims.length, 40)
  dims.forEach((size, axis) => header.writeInt16LE(size, 42 + 2 * axis))
  for (let axis = dims.length; axis < 7; axis++) header.writeInt16LE(1, 42 + 2 * axis)
  header.writeInt16LE(4, 70) // datatype: int16
  header.writeInt16LE(16, 72) // bits per voxel
  header.writeFloatLE(1, 76) // pixdim[0]: qfac
  for (let axis = 1; axis <= 7; axis++) header.writeFloatLE(1, 76 + 4 * axis)
  header.writeFloatLE(352, 108) // vox_offset
  header.writeFloatLE(1, 112) // scl_slope
  header.write('n+1\0', 344, 'latin1')
  writeFileSync(path, Buffer.concat([header, Buffer.from(voxels.buffer, voxels.byteOffset, voxels.byteLength)]))
}
