/**
 * Shared parts of the data set importers: the rows they produce, finding files in a
 * downloaded data set folder, deciding which lung label value is the right lung, and writing
 * the manifest.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import { InputError } from '../../errors.js'
import { readVolume } from '../../io/read.js'
import { indexToPhysical, type Volume } from '../../volume/volume.js'
import { writeFileAtomic } from '../run-folder.js'
import type { Task } from '../labels.js'
import { formatCsvField } from '../../report/csv.js'

export interface ImportRow {
  /** Absolute paths. */
  image: string
  label: string
  patient: string
  centre: string
  /** label_map field (see labels.ts), or undefined for the task's default rule. */
  labelMap?: string
}

export interface ImportResult {
  rows: ImportRow[]
  /** Lines for the user: what was found, assumed or left out. */
  notes: string[]
}

export interface Importer {
  /** Name on the command line, e.g. 'medseg'. */
  name: string
  description: string
  importFolder(folder: string, task: Task, log: (message: string) => void): Promise<ImportResult>
}

/** NIfTI file extensions the data sets use; the first match wins. */
const NIFTI_EXTENSIONS = ['.nii.gz', '.nii']

/** Strips a NIfTI extension from a file name, or returns undefined for other files. */
export function niftiStem(name: string): string | undefined {
  const extension = NIFTI_EXTENSIONS.find((e) => name.toLowerCase().endsWith(e))
  return extension === undefined ? undefined : name.slice(0, name.length - extension.length)
}

/** NIfTI files directly in `folder`, keyed by stem, sorted by name. */
export function niftiFiles(folder: string): Map<string, string> {
  const files = new Map<string, string>()
  for (const name of readdirSync(folder).sort()) {
    const stem = niftiStem(name)
    if (stem !== undefined && statSync(join(folder, name)).isFile() && !files.has(stem)) files.set(stem, join(folder, name))
  }
  return files
}

/**
 * Finds a file or folder by name (case-insensitive) in `root` or its subfolders down to
 * `depth` levels, so a data set unpacked into an extra folder is still found. Returns the
 * shallowest match.
 */
export function findEntry(root: string, names: readonly string[], kind: 'file' | 'folder', depth = 3): string | undefined {
  const wanted = new Set(names.map((n) => n.toLowerCase()))
  let level = [root]
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = []
    for (const folder of level) {
      for (const name of readdirSync(folder).sort()) {
        const path = join(folder, name)
        const isFolder = statSync(path).isDirectory()
        if (wanted.has(name.toLowerCase()) && isFolder === (kind === 'folder')) return path
        if (isFolder && !name.startsWith('.')) next.push(path)
      }
    }
    level = next
  }
  return undefined
}

/** Finds the first of several NIfTI file names (without extension) under `root`. */
export function findNifti(root: string, stem: string): string | undefined {
  return findEntry(root, NIFTI_EXTENSIONS.map((e) => `${stem}${e}`), 'file')
}

export function requireFolder(folder: string, dataset: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`${folder} is not a folder; pass the folder into which the ${dataset} data set was unpacked`)
  }
}

/**
 * Decides which of two lung label values is the patient's right lung from the label's
 * geometry: the value whose voxels lie at the smaller LPS x (x grows towards the patient's
 * left). Returns the label_map for the row and the side found for each value, or undefined
 * when the label does not hold exactly the values `values`.
 */
export async function lungSidesFromGeometry(labelPath: string, values: [number, number]): Promise<{ labelMap: string; rightValue: number } | undefined> {
  const label = (await readVolume(labelPath)).volume
  const centres = valueCentroidsX(label, values)
  if (centres === undefined) return undefined
  const rightValue = centres[0] < centres[1] ? values[0] : values[1]
  const leftValue = rightValue === values[0] ? values[1] : values[0]
  return { labelMap: `${rightValue}:1 ${leftValue}:2`, rightValue }
}

/** LPS x (mm) of the centroid of each of the two values, or undefined when one is absent. */
export function valueCentroidsX(label: Volume, values: [number, number]): [number, number] | undefined {
  const [nx, ny] = label.size
  const sums = [[0, 0, 0, 0], [0, 0, 0, 0]]
  for (let v = 0; v < label.data.length; v++) {
    const value = label.data[v]!
    const which = values.indexOf(value)
    if (which < 0) continue
    const i = v % nx
    const j = Math.floor(v / nx) % ny
    const k = Math.floor(v / (nx * ny))
    const sum = sums[which]!
    sum[0]! += i
    sum[1]! += j
    sum[2]! += k
    sum[3]! += 1
  }
  if (sums[0]![3] === 0 || sums[1]![3] === 0) return undefined
  const x = sums.map((s) => indexToPhysical(label, [s[0]! / s[3]!, s[1]! / s[3]!, s[2]! / s[3]!])[0])
  return [x[0]!, x[1]!]
}

/**
 * Writes the rows as a manifest CSV at `path` (paths relative to the manifest's folder when
 * they lie below it), refusing to overwrite an existing file unless `force`.
 */
export function writeManifest(path: string, rows: readonly ImportRow[], force: boolean): void {
  if (existsSync(path) && !force) throw new InputError(`${path} already exists; use --force to overwrite it, or choose another path with -o`)
  if (rows.length === 0) {
    throw new InputError('found no image with a label to list; check the folder, its layout (the table of data sets in docs/training.md) and --task')
  }
  const folder = dirname(path)
  const relativeTo = (file: string) => {
    const rel = relative(folder, file)
    return rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/')
  }
  const lines = ['image,label,patient,centre,label_map']
  for (const row of rows) {
    lines.push([relativeTo(row.image), relativeTo(row.label), row.patient, row.centre, row.labelMap ?? ''].map(formatCsvField).join(','))
  }
  writeFileAtomic(path, `${lines.join('\n')}\n`)
}

/** Counts rows per centre for a summary line. */
export function describeRows(rows: readonly ImportRow[]): string {
  const byCentre = new Map<string, number>()
  for (const row of rows) byCentre.set(row.centre, (byCentre.get(row.centre) ?? 0) + 1)
  const patients = new Set(rows.map((r) => r.patient)).size
  return `${rows.length} CT(s) of ${patients} patient(s): ${[...byCentre].map(([centre, n]) => `${n} from ${centre}`).join(', ')}`
}
