import { closeSync, existsSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { readImageNode } from '@itk-wasm/image-io'
import type { Image } from 'itk-wasm'
import { InputError } from '../errors.js'
import type { Vec3, Volume, VoxelArray } from '../volume/volume.js'
import { readDicomFolder } from './dicom.js'
import { withItkConsoleHeld } from './itk-console.js'
import { checkFileNotTruncated } from './truncation.js'

export interface ReadOptions {
  /** SeriesInstanceUID to read from a DICOM folder; by default the axial CT series with most slices. */
  seriesUid?: string
}

export interface ReadResult {
  volume: Volume
  /** One line saying what was read, e.g. "NRRD file ct.nrrd" or the DICOM series taken. */
  description: string
  /** Notes on skipped or repaired input (other DICOM series, a 2D image promoted to one slice). */
  warnings: string[]
}

/** File name endings that colinet reads as image volumes, with the format each one means. */
const VOLUME_EXTENSIONS: ReadonlyArray<[string, string]> = [
  ['.nii.gz', 'NIfTI'],
  ['.nii', 'NIfTI'],
  ['.nrrd', 'NRRD'],
  ['.nhdr', 'NRRD'],
  ['.mha', 'MetaImage'],
  ['.mhd', 'MetaImage'],
  ['.dcm', 'DICOM'],
]

/** Returns the format name for a volume file path, or undefined when the extension is not supported. */
export function volumeFormatOf(path: string): string | undefined {
  const lower = path.toLowerCase()
  return VOLUME_EXTENSIONS.find(([extension]) => lower.endsWith(extension))?.[1]
}

/**
 * Reads a CT volume from a NIfTI, NRRD or MetaImage file or from a folder of DICOM files.
 * Voxel values are returned as stored after DICOM rescale slope/intercept; the HU check is the
 * caller's (see pipeline/input-checks). Throws InputError for a missing path, an unsupported
 * format, or an image that is not a single-component 2D or 3D volume.
 */
export async function readVolume(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  if (!existsSync(path)) {
    throw new InputError(`input not found: ${path} (expected a NIfTI, NRRD or MHA file or a DICOM folder)`)
  }
  if (statSync(path).isDirectory()) {
    const series = await readDicomFolder(path, options.seriesUid)
    const volume = imageToVolume(series.image, path, series.warnings)
    return { volume, description: series.description, warnings: series.warnings }
  }

  const format = volumeFormatOf(path)
  if (format === undefined) {
    // A .dcm file is one slice; the series is read from its folder.
    const supported = VOLUME_EXTENSIONS.filter(([, name]) => name !== 'DICOM').map(([extension]) => extension).join(', ')
    throw new InputError(`unsupported file format: ${basename(path)} (expected one of ${supported}, or a DICOM folder)`)
  }
  if (format === 'DICOM') {
    throw new InputError(`${path} is a single DICOM file; give the folder that contains the whole series instead`)
  }

  await checkFileNotTruncated(path, format)
  let image: Image
  try {
    // itk-wasm fails on a symbolic link to a file in another folder, so it is given the real path.
    image = await withItkConsoleHeld(() => readImageNode(realpathSync(path)))
  } catch (error) {
    // itk-wasm's message is often empty or only repeats the path, so the likely cause comes first.
    const message = (error as Error | undefined)?.message ?? ''
    let detail = ''
    if (message !== '' && !message.startsWith('Could not read')) detail = ` (${message})`
    const found = describeFileStart(path)
    throw new InputError(`could not read ${path} as ${format}: the file is damaged, truncated or not ${format} data${detail}${found ? `; ${found}` : ''}`)
  }
  const warnings: string[] = []
  const volume = imageToVolume(image, path, warnings)
  return { volume, description: `${format} file ${basename(path)}`, warnings }
}

/**
 * Describes what the start of a file that failed to read shows: empty, not gzip data under a
 * .gz name, or text. Returns undefined when the start looks like binary data.
 */
export function describeFileStart(path: string): string | undefined {
  const start = Buffer.alloc(64)
  const descriptor = openSync(path, 'r')
  let length: number
  try {
    length = readSync(descriptor, start, 0, start.length, 0)
  } finally {
    closeSync(descriptor)
  }
  if (length === 0) return 'the file is empty'
  const bytes = start.subarray(0, length)
  const parts: string[] = []
  // Every gzip stream starts with the bytes 1f 8b.
  if (path.toLowerCase().endsWith('.gz') && !(bytes[0] === 0x1f && bytes[1] === 0x8b)) parts.push('it is not gzip data although its name ends in .gz')
  const isText = bytes.every((byte) => byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f))
  if (isText) {
    const firstLine = bytes.toString('latin1').split(/\r?\n/)[0]!.slice(0, 40)
    parts.push(`it starts with the text "${firstLine}"`)
  }
  return parts.length > 0 ? parts.join(', and ') : undefined
}

/** Converts an itk-wasm image to a Volume, promoting a 2D image to a single slice. */
export function imageToVolume(image: Image, source: string, warnings: string[]): Volume {
  const { dimension, pixelType, components } = image.imageType
  if (components !== 1 || (pixelType !== 'Scalar' && String(pixelType) !== '1')) {
    throw new InputError(
      `${source}: expected a single-component grey-level image, got pixel type ${pixelType} with ${components} components (RGB or vector image?)`,
    )
  }
  if (dimension === 3 && image.size[2] === 1) {
    warnings.push('the input is a single slice: lung clean-up in 3D is limited')
  }
  if (dimension === 2) {
    warnings.push('the input is a 2D image: read as a single axial slice with 1 mm slice thickness')
    const direction2d = Array.from(image.direction as Float64Array)
    return {
      data: image.data as VoxelArray,
      size: [image.size[0], image.size[1], 1],
      spacingMm: [image.spacing[0], image.spacing[1], 1],
      origin: [image.origin[0], image.origin[1], 0],
      direction: Float64Array.from([direction2d[0], direction2d[1], 0, direction2d[2], direction2d[3], 0, 0, 0, 1]),
    }
  }
  if (dimension !== 3) {
    throw new InputError(`${source}: expected a 3D volume, got a ${dimension}D image (a time series or multi-volume file?)`)
  }
  if (image.data === null) throw new InputError(`${source}: the image contains no voxel data`)

  return {
    data: image.data as VoxelArray,
    size: Array.from(image.size) as Vec3,
    spacingMm: Array.from(image.spacing) as Vec3,
    origin: Array.from(image.origin) as Vec3,
    direction: Float64Array.from(image.direction as Float64Array),
  }
}
