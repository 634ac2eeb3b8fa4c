import { existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
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
  await writeFilesTogether([volumeFile(path, volume)], options)
}

/** One file for writeFilesTogether: where it goes, and how to write its content to a given path. */
export interface PendingFile {
  path: string
  write: (temporaryPath: string) => Promise<void>
}

/** Wraps a volume as a PendingFile; the extension of `path` chooses the format. */
export function volumeFile(path: string, volume: Volume): PendingFile {
  const format = volumeFormatOf(path)
  if (format === undefined || format === 'DICOM') {
    throw new InputError(`cannot write ${basename(path)}: expected an extension .nii.gz, .nii, .nrrd or .mha`)
  }
  return {
    path,
    write: async (temporaryPath) => {
      await writeImageNode(volumeToImage(volume, basename(path)), temporaryPath, { useCompression: true })
    },
  }
}

/**
 * Writes several files all or nothing: each is first written under a temporary name beside its
 * target (with the target's extension, which chooses the format), and the targets are replaced
 * only after every write has succeeded. Without `force`, an existing target is an error, raised
 * before anything is written.
 */
export async function writeFilesTogether(files: PendingFile[], options: WriteOptions = {}): Promise<void> {
  for (const { path } of files) {
    if (existsSync(path) && !options.force) throw new InputError(`${path} already exists; use --force to overwrite it`)
    checkOutputLocation(path)
  }
  const temporaries: string[] = []
  try {
    for (const { path, write } of files) {
      createFolder(dirname(path))
      const extension = path.toLowerCase().endsWith('.nii.gz') ? '.nii.gz' : extname(path)
      const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp${extension}`)
      temporaries.push(temporary)
      await write(temporary)
    }
  } catch (error) {
    for (const temporary of temporaries) rmSync(temporary, { force: true })
    throw error
  }
  files.forEach(({ path }, n) => renameSync(temporaries[n]!, path))
}

/**
 * Throws InputError, before any work, when two outputs are the same file or an output is one of
 * the inputs: writing would then lose one output, or destroy the input. Files are compared by
 * device and inode where they exist, so links count, and by absolute path where they do not.
 */
export function checkOutputsDistinct(outputs: { option: string; path: string }[], inputs: { option: string; path: string }[]): void {
  const inputIds = inputs.map((input) => ({ ...input, id: fileIdentity(input.path) }))
  const seen: { option: string; path: string; id: string }[] = []
  for (const output of outputs) {
    const id = fileIdentity(output.path)
    const input = inputIds.find((candidate) => candidate.id === id)
    if (input !== undefined) {
      throw new InputError(`${output.option} ${output.path} is the input ${input.path} (${input.option}), which writing would destroy, also with --force; choose another output file`)
    }
    const earlier = seen.find((candidate) => candidate.id === id)
    if (earlier !== undefined) {
      throw new InputError(`${output.option} and ${earlier.option} name the same file, ${output.path}; give each output its own file`)
    }
    seen.push({ ...output, id })
  }
}

function fileIdentity(path: string): string {
  if (existsSync(path)) {
    const { dev, ino } = statSync(path)
    return `file ${dev}:${ino}`
  }
  return `path ${realPathOfNewPath(path)}`
}

/**
 * Returns the real path of a file or folder that may not exist yet: its nearest existing
 * ancestor with links resolved, and the rest of the path appended.
 */
export function realPathOfNewPath(path: string): string {
  const rest: string[] = []
  let current = resolve(path)
  while (!existsSync(current) && dirname(current) !== current) {
    rest.unshift(basename(current))
    current = dirname(current)
  }
  return join(realpathSync(current), ...rest)
}

/**
 * Creates a folder and its missing parents, one level at a time, and turns any failure into an
 * InputError that names the folder. Node's recursive mkdirSync was seen to retry without end
 * under /proc, where creating a folder fails with ENOENT although its parent exists.
 */
export function createFolder(path: string): void {
  const missing: string[] = []
  let current = resolve(path)
  while (!existsSync(current)) {
    missing.unshift(current)
    const parent = dirname(current)
    if (parent === current) break
    current = parent
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder)
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException
      if (code === 'EEXIST' && statSync(folder).isDirectory()) continue
      throw new InputError(`cannot create the folder ${folder} (${code ?? message}); choose an output location where you can write`)
    }
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
