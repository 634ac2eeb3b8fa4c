import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { writeImageNode } from '@itk-wasm/image-io'
import { FloatTypes, Image, ImageType, IntTypes, PixelTypes } from 'itk-wasm'
import { InputError } from '../errors.js'
import type { Volume, VoxelArray } from '../volume/volume.js'
import { volumeFormatOf } from './read.js'

export interface WriteOptions {
  /** Replace an existing file; without it an existing file is an error. */
  force?: boolean
}

function componentTypeOf(data: VoxelArray): Image['imageType']['componentType'] {
  if (data instanceof Uint8Array) return IntTypes.UInt8
  if (data instanceof Int8Array) return IntTypes.Int8
  if (data instanceof Int16Array) return IntTypes.Int16
  if (data instanceof Uint16Array) return IntTypes.UInt16
  if (data instanceof Int32Array) return IntTypes.Int32
  if (data instanceof Uint32Array) return IntTypes.UInt32
  if (data instanceof Float32Array) return FloatTypes.Float32
  return FloatTypes.Float64
}

/** Wraps a Volume as an itk-wasm image (sharing its voxels). */
export function volumeToImage(volume: Volume, name = 'image'): Image {
  const image = new Image(new ImageType(3, componentTypeOf(volume.data), PixelTypes.Scalar, 1))
  image.name = name
  image.size = [...volume.size]
  image.spacing = [...volume.spacingMm]
  image.origin = [...volume.origin]
  image.direction = Float64Array.from(volume.direction)
  image.data = volume.data
  return image
}

/**
 * Writes a volume as NIfTI (.nii, .nii.gz), NRRD (.nrrd) or MetaImage (.mha), chosen by the
 * extension, with its size, spacing, origin and direction. The file is written under a temporary
 * name in the same folder and renamed into place, so a failure leaves no partial file.
 */
export async function writeVolume(path: string, volume: Volume, options: WriteOptions = {}): Promise<void> {
  const format = volumeFormatOf(path)
  if (format === undefined || format === 'DICOM') {
    throw new InputError(`cannot write ${basename(path)}: expected an extension .nii.gz, .nii, .nrrd or .mha`)
  }
  if (existsSync(path) && !options.force) {
    throw new InputError(`${path} already exists; use --force to overwrite it`)
  }

  checkOutputLocation(path)
  mkdirSync(dirname(path), { recursive: true })
  const extension = path.toLowerCase().endsWith('.nii.gz') ? '.nii.gz' : path.slice(path.lastIndexOf('.'))
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp${extension}`)
  try {
    await writeImageNode(volumeToImage(volume, basename(path)), temporary, { useCompression: true })
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}

/**
 * Checks that a file can be created at `path`: its nearest existing ancestor must be a folder
 * (missing folders in between are created when the file is written). Throws InputError naming
 * the file that blocks the path, so a command can check its outputs before it starts work.
 */
export function checkOutputLocation(path: string): void {
  let ancestor = dirname(path)
  while (!existsSync(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor)
  if (existsSync(ancestor) && !statSync(ancestor).isDirectory()) {
    throw new InputError(`cannot write ${path}: ${ancestor} is a file, not a folder`)
  }
}
