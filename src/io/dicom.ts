import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { readDicomTagsNode, readImageDicomFileSeriesNode } from '@itk-wasm/dicom'
import type { Image } from 'itk-wasm'
import { InputError } from '../errors.js'
import { readDicomHeader, type DicomHeader, type PixelDataExtent } from './dicom-header.js'
import { withItkConsoleHeld } from './itk-console.js'

const TAG_MODALITY = '0008|0060'
const TAG_IMAGE_TYPE = '0008|0008'
const TAG_SERIES_DESCRIPTION = '0008|103e'
const TAG_SERIES_UID = '0020|000e'
const TAG_ORIENTATION = '0020|0037'
const TAG_POSITION = '0020|0032'
const TAG_ROWS = '0028|0010'
const TAG_PATIENT_ID = '0010|0020'

/** One DICOM series found in a folder. */
export interface DicomSeries {
  uid: string
  /** PatientID of the series' first file ('' when absent). */
  patientId: string
  modality: string
  description: string
  files: string[]
  /** ImagePositionPatient of each file in mm, NaN where absent. */
  positions: number[][]
  /** Pixel data extent of each file, undefined where the fast header parse did not find it. */
  pixelData: (PixelDataExtent | undefined)[]
  /** ImageOrientationPatient of the series' first file. */
  orientation: number[]
  isLocalizer: boolean
  /** 'axial', 'coronal', 'sagittal' or 'oblique', from ImageOrientationPatient. */
  plane: string
}

export interface DicomFolderResult {
  image: Image
  description: string
  warnings: string[]
}

/**
 * Lists the files under a folder, recursively, skipping hidden files and DICOMDIR. Symbolic links
 * are followed; a folder reached twice (a link loop) is listed once.
 */
function listFiles(folder: string, visited = new Set<string>()): string[] {
  const realFolder = realpathSync(folder)
  if (visited.has(realFolder)) return []
  visited.add(realFolder)
  const files: string[] = []
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name.toUpperCase() === 'DICOMDIR') continue
    const path = join(folder, entry.name)
    // A broken link has no target, so it is skipped like any other entry that is not a file.
    const target = entry.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : entry
    if (target?.isDirectory()) files.push(...listFiles(path, visited))
    else if (target?.isFile()) files.push(path)
  }
  return files.sort()
}

/** File name endings of DICOM files. */
const DICOM_EXTENSIONS = ['.dcm', '.dicom', '.ima']

/** Returns true for a file named or marked as DICOM: a DICOM name ending, or "DICM" after the 128-byte preamble. */
function looksLikeDicom(file: string): boolean {
  if (DICOM_EXTENSIONS.some((extension) => file.toLowerCase().endsWith(extension))) return true
  const marker = Buffer.alloc(4)
  const fd = openSync(file, 'r')
  try {
    return readSync(fd, marker, 0, 4, 128) === 4 && marker.toString('latin1') === 'DICM'
  } finally {
    closeSync(fd)
  }
}

/**
 * Reads the series tags of one file: a fast header parse for the common transfer syntaxes, else
 * itk-wasm's full reader (about 70 ms per file, without the pixel data extent). Returns undefined
 * for a file that is not DICOM.
 */
async function readSeriesHeader(file: string, tags: string[]): Promise<DicomHeader | undefined> {
  const fast = readDicomHeader(file, tags)
  if (fast !== undefined) return fast
  try {
    // itk-wasm fails on a symbolic link to a file in another folder, so it is given the real path.
    const result = await withItkConsoleHeld(() => readDicomTagsNode(realpathSync(file), { tagsToRead: { tags } }))
    return { tags: new Map(result.tags.map(([tag, value]) => [tag.toLowerCase(), value.trim()])), pixelData: undefined }
  } catch {
    return undefined
  }
}

/** Names the anatomical plane of a slice from its ImageOrientationPatient row and column cosines. */
export function planeOfOrientation(orientation: number[]): string {
  if (orientation.length !== 6 || orientation.some((value) => !Number.isFinite(value))) return 'unknown'
  const [rx, ry, rz, cx, cy, cz] = orientation
  const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx]
  const dominant = normal.map(Math.abs)
  const largest = Math.max(...dominant)
  if (largest < 0.95) return 'oblique'
  return ['sagittal', 'coronal', 'axial'][dominant.indexOf(largest)]
}

/**
 * Groups the DICOM files of a folder into series by SeriesInstanceUID. Files that are not DICOM
 * are ignored. Files named or marked as DICOM that neither reader can read are listed as
 * unreadable.
 */
export async function findDicomSeries(folder: string): Promise<{ series: DicomSeries[]; unreadable: string[] }> {
  const bySeries = new Map<string, DicomSeries>()
  const unreadable: string[] = []
  const tagsToRead = { tags: [TAG_MODALITY, TAG_IMAGE_TYPE, TAG_SERIES_DESCRIPTION, TAG_PATIENT_ID, TAG_SERIES_UID, TAG_ORIENTATION, TAG_POSITION, TAG_ROWS] }

  for (const file of listFiles(folder)) {
    // The smallest Part 10 file is the 128-byte preamble and the "DICM" marker with elements after them.
    const header = statSync(file).size > 132 ? await readSeriesHeader(file, tagsToRead.tags) : undefined
    if (header === undefined) {
      if (looksLikeDicom(file)) unreadable.push(file)
      continue
    }
    const tags = header.tags
    const uid = tags.get(TAG_SERIES_UID)
    if (uid === undefined || tags.get(TAG_ROWS) === undefined) continue

    let series = bySeries.get(uid)
    if (series === undefined) {
      const orientation = (tags.get(TAG_ORIENTATION) ?? '').split('\\').map(Number)
      series = {
        uid,
        patientId: tags.get(TAG_PATIENT_ID) ?? '',
        modality: tags.get(TAG_MODALITY) ?? '',
        description: tags.get(TAG_SERIES_DESCRIPTION) ?? '',
        files: [],
        positions: [],
        pixelData: [],
        orientation,
        isLocalizer: (tags.get(TAG_IMAGE_TYPE) ?? '').toUpperCase().includes('LOCALIZER'),
        plane: planeOfOrientation(orientation),
      }
      bySeries.set(uid, series)
    }
    series.files.push(file)
    const position = (tags.get(TAG_POSITION) ?? '').split('\\').map(Number)
    series.positions.push(position.length === 3 ? position : [NaN, NaN, NaN])
    series.pixelData.push(header.pixelData)
  }
  return { series: [...bySeries.values()], unreadable }
}

/**
 * Chooses the series to segment: the one named by `seriesUid`, else the CT series that is not a
 * localizer with the most slices, preferring axial ones.
 */
export function chooseSeries(series: DicomSeries[], seriesUid?: string): DicomSeries {
  if (seriesUid !== undefined) {
    const chosen = series.find((candidate) => candidate.uid === seriesUid)
    if (chosen === undefined) {
      const available = series.map(describeSeries).join('; ')
      throw new InputError(`series ${seriesUid} not found in the folder; the folder contains: ${available}`)
    }
    return chosen
  }

  const volumetric = series.filter((candidate) => !candidate.isLocalizer && candidate.files.length > 1)
  const ct = volumetric.filter((candidate) => candidate.modality === 'CT')
  let pool = series
  if (ct.length > 0) pool = ct
  else if (volumetric.length > 0) pool = volumetric
  return [...pool].sort((a, b) => seriesRank(b) - seriesRank(a))[0]
}

/** Ranks series for automatic choice: axial first, then by number of files. */
function seriesRank(candidate: DicomSeries): number {
  return (candidate.plane === 'axial' ? 1e6 : 0) + candidate.files.length
}

function describeSeries(series: DicomSeries): string {
  const label = series.description ? ` "${series.description}"` : ''
  const kind = series.isLocalizer ? 'localizer' : `${series.plane} ${series.modality || 'unknown modality'}`
  return `series ${series.uid}${label} (${kind}, ${series.files.length} files)`
}

/** Reads the chosen series of a DICOM folder as one volume with HU from rescale slope/intercept. */
export async function readDicomFolder(input: string, seriesUid?: string): Promise<DicomFolderResult> {
  // itk-wasm's series reader fails on relative file paths.
  const folder = resolve(input)
  const { series, unreadable } = await findDicomSeries(folder)
  if (unreadable.length > 0) {
    const listed = unreadable.slice(0, 3).map((file) => `${basename(file)} (${statSync(file).size} bytes)`).join(', ')
    const more = unreadable.length > 3 ? ` and ${unreadable.length - 3} more` : ''
    throw new InputError(
      `could not read ${unreadable.length} DICOM file(s) in folder ${folder}: ${listed}${more}; ` +
        'they are probably cut short or damaged, and a slice of the series may be among them; copy the series again, or remove files that do not belong to it',
    )
  }
  if (series.length === 0) {
    throw new InputError(`no DICOM image files found in folder ${folder} (expected a CT series, or a NIfTI/NRRD/MHA file)`)
  }

  const patients = [...new Set(series.map((candidate) => candidate.patientId))]
  if (patients.length > 1 && seriesUid === undefined) {
    const listing = series.map((candidate) => `${candidate.patientId || '(no PatientID)'}: ${describeSeries(candidate)}`).join('; ')
    throw new InputError(
      `folder ${folder} contains series of ${patients.length} patients; give the folder of one patient, or pick a series with --series <uid>. Found ${listing}`,
    )
  }

  const chosen = chooseSeries(series, seriesUid)
  const warnings: string[] = []
  const ties = series.filter((candidate) => candidate !== chosen && seriesRank(candidate) === seriesRank(chosen) && candidate.modality === chosen.modality)
  if (seriesUid === undefined && ties.length > 0) {
    warnings.push(`${ties.length + 1} series have ${chosen.files.length} slices; took ${chosen.uid}, pick another with --series <uid>`)
  }
  warnings.push(...series
    .filter((candidate) => candidate !== chosen)
    .map((candidate) => `skipped DICOM ${describeSeries(candidate)}`))
  if (chosen.modality !== 'CT') warnings.push(`the chosen series has modality ${chosen.modality || 'unknown'}, not CT`)

  checkFilesComplete(chosen)
  checkSliceSpacing(chosen)
  let image: Image
  try {
    const result = await withItkConsoleHeld(() => readImageDicomFileSeriesNode({ inputImages: chosen.files.map((file) => realpathSync(file)), singleSortedSeries: false }))
    image = result.outputImage
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new InputError(`could not read DICOM ${describeSeries(chosen)}: ${message}`)
  }
  return { image, description: `DICOM ${describeSeries(chosen)} from ${folder}`, warnings }
}

/**
 * Throws InputError when a file of the series ends before the pixel data its header calls for.
 * The series reader would fill the missing part of a native slice with zeros without an error.
 * Files whose headers the fast parser does not handle are not checked.
 */
function checkFilesComplete(series: DicomSeries): void {
  const cut: string[] = []
  for (const [index, file] of series.files.entries()) {
    const extent = series.pixelData[index]
    if (extent === undefined) continue
    const found = Math.max(0, statSync(file).size - extent.offset)
    if (found >= extent.length) continue
    cut.push(
      extent.encapsulated
        ? `${basename(file)} contains ${found} bytes of compressed pixel data, at least ${extent.length} expected`
        : `${basename(file)} contains ${found} of ${extent.length} bytes`,
    )
  }
  if (cut.length === 0) return
  const listed = cut.slice(0, 3).join('; ') + (cut.length > 3 ? `; and ${cut.length - 3} more` : '')
  throw new InputError(
    `could not read DICOM ${describeSeries(series)}: ${cut.length} file(s) are cut short before the end of their pixel data ` +
      `(${listed}); copy the series again`,
  )
}

/** Largest distance in mm between two slice positions that counts as the same position. */
const SAME_POSITION_MM = 0.01

/**
 * Throws InputError when the slice positions along the slice normal have a gap of more than 1.5
 * times the usual step, as where a file is missing, or when two files lie at the same position.
 * The series reader spreads the slices at one spacing, so the volume and its masks would not lie
 * where the CT was scanned.
 */
function checkSliceSpacing(series: DicomSeries): void {
  const [rx, ry, rz, cx, cy, cz] = series.orientation
  const normal = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx]
  const slices = series.positions
    .map((position, file) => ({ file, at: position[0]! * normal[0]! + position[1]! * normal[1]! + position[2]! * normal[2]! }))
    .filter((slice) => Number.isFinite(slice.at))
    .sort((a, b) => a.at - b.at)
  const along = slices.map((slice) => slice.at)
  if (along.length < 3) return
  const steps = along.slice(1).map((value, i) => value - along[i]!)
  // The usual step comes from the steps between distinct positions, so that a folder copied in
  // twice, where half of the steps are 0, is still found below.
  const distinct = steps.filter((step) => step > SAME_POSITION_MM).sort((a, b) => a - b)
  const usual = distinct.length > 0 ? distinct[Math.floor(distinct.length / 2)]! : 0
  // Two files at one position (a file copied or linked twice) would add a slice, and the reader
  // would spread the slices over the scan's extent at a smaller spacing.
  const same = steps.map((step, i) => (step <= SAME_POSITION_MM || step < 0.1 * usual ? i : -1)).filter((i) => i >= 0)
  if (same.length > 0) {
    const first = same[0]!
    const names = [slices[first]!, slices[first + 1]!].map((slice) => basename(series.files[slice.file]!)).join(' and ')
    const others = same.length > 1 ? ` (and ${same.length - 1} more such pair(s))` : ''
    throw new InputError(
      `could not read DICOM ${describeSeries(series)}: ${names} lie at the same slice position (${along[first]!.toFixed(2)} mm)${others}, ` +
        'so the folder probably contains copies; remove the duplicate files from the folder',
    )
  }
  if (!(usual > 0)) return
  const gap = steps.findIndex((step) => step > 1.5 * usual)
  if (gap < 0) return
  throw new InputError(
    `could not read DICOM ${describeSeries(series)}: the slices are ${usual.toFixed(2)} mm apart except for a gap of ` +
      `${steps[gap]!.toFixed(2)} mm between slice positions ${along[gap]!.toFixed(2)} and ${along[gap + 1]!.toFixed(2)} mm; ` +
      'a file is probably missing from the folder, and the slices would be placed evenly across the gap, so the masks would not overlay the CT; copy the series again',
  )
}
