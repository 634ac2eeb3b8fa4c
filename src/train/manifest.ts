/**
 * The training manifest: a CSV file with a header row and one row per CT with its label file.
 *
 * Columns (names are case-insensitive, in any order):
 *   image      CT file or DICOM folder, relative to the manifest's folder or absolute
 *   label      label file on the same voxel grid as the image
 *   patient    patient id; the train/validation split never separates one patient's rows
 *   centre     where the CT comes from (hospital or data set); `center` is accepted too
 *   label_map  optional: which label values are which class, e.g. "1:1 2:1 3:0" (see labels.ts)
 *
 * Fields may be double-quoted (RFC 4180) to hold commas; blank lines are ignored. Rows are
 * numbered like spreadsheet rows: the header is row 1.
 */
import { existsSync, realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InputError } from '../errors.js'
import { parseCsvRecords, semicolonSeparatorHint } from '../report/csv.js'

export interface ManifestRow {
  /** Row number in the file, counting the header as row 1 (a spreadsheet's row number). */
  row: number
  /** Absolute paths, resolved against the manifest's folder. */
  image: string
  label: string
  patient: string
  centre: string
  /** The row's label_map field, or undefined when the column is absent or the field blank. */
  labelMap?: string
}

export interface Manifest {
  /** Absolute path of the manifest file. */
  path: string
  rows: ManifestRow[]
  /** Rows left out for missing files with `skipMissing`, one message each ("row 3: image not found: ..."). */
  leftOut: string[]
}

const REQUIRED_COLUMNS = ['image', 'label', 'patient', 'centre'] as const
const COLUMN_ALIASES: Record<string, string> = { center: 'centre', label_values: 'label_map' }

export interface ManifestOptions {
  /** Also check that each row's image and label exist, and list missing ones with the other row problems. */
  checkFiles?: boolean
  /** With checkFiles, leave out rows with a missing file (listed in `leftOut`) instead of failing. */
  skipMissing?: boolean
}

/**
 * Reads and parses a manifest file; throws InputError for a missing or malformed file. With
 * `checkFiles`, one InputError lists every row problem: malformed rows, repeated images and
 * missing files.
 */
export async function readManifest(path: string, options: ManifestOptions = {}): Promise<Manifest> {
  const absolute = resolve(path)
  let text: string
  try {
    text = await readFile(absolute, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(`cannot read manifest ${path}: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}; pass a CSV file with columns ${REQUIRED_COLUMNS.join(', ')}`)
  }
  return parseManifest(text, absolute, options)
}

/**
 * Parses manifest text; `path` is the file's absolute path, used to resolve relative paths and in
 * messages. A missing or incomplete header throws at once. Row problems are collected and thrown
 * together, so that one run of the command names every row to fix.
 */
export function parseManifest(text: string, path: string, options: ManifestOptions = {}): Manifest {
  const records = parseCsvRecords(text.replace(/^\uFEFF/, ''), path)
  if (records.length === 0) {
    throw new InputError(`${path}: the manifest is empty; expected a header row with columns ${REQUIRED_COLUMNS.join(', ')} and one row per CT`)
  }

  const header = records[0]!.fields.map((name) => {
    const lower = name.trim().toLowerCase()
    return COLUMN_ALIASES[lower] ?? lower
  })
  const missing = REQUIRED_COLUMNS.filter((column) => !header.includes(column))
  if (missing.length > 0) {
    throw new InputError(
      `${path}: the header row lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(found ${header.join(', ') || 'nothing'})${semicolonSeparatorHint(header)}; the first row must name the columns ${REQUIRED_COLUMNS.join(', ')}`,
    )
  }
  const column = (name: string) => header.indexOf(name)
  const folder = dirname(path)
  const rows: ManifestRow[] = []
  const seenImages = new Map<string, number>()

  const problems: string[] = []
  const leftOut: string[] = []

  for (const record of records.slice(1)) {
    if (record.fields.length !== header.length) {
      problems.push(`row ${record.row}: expected ${header.length} fields like the header, found ${record.fields.length}; quote fields that contain commas`)
      continue
    }
    const field = (name: string) => (column(name) >= 0 ? record.fields[column(name)]!.trim() : '')
    const empty = REQUIRED_COLUMNS.filter((name) => field(name) === '')
    if (empty.length > 0) {
      problems.push(`row ${record.row}: the ${listWithAnd(empty)} field${empty.length > 1 ? 's are' : ' is'} empty; every row needs ${REQUIRED_COLUMNS.join(', ')}`)
      continue
    }
    const image = resolvePath(folder, field('image'))
    const earlier = seenImages.get(fileKey(image))
    if (earlier !== undefined) {
      problems.push(`row ${record.row}: image ${image} is already listed in row ${earlier}; list each CT once`)
      continue
    }
    seenImages.set(fileKey(image), record.row)

    const labelMap = field('label_map')
    const row: ManifestRow = {
      row: record.row,
      image,
      label: resolvePath(folder, field('label')),
      patient: field('patient'),
      centre: field('centre'),
      ...(labelMap !== '' ? { labelMap } : {}),
    }
    const missing = options.checkFiles ? missingFiles(row) : []
    if (missing.length > 0 && options.skipMissing) {
      leftOut.push(...missing)
      continue
    }
    problems.push(...missing)
    rows.push(row)
  }
  if (problems.length > 0) {
    throw new InputError(formatProblems(path, problems, 'fix these rows (relative paths start at the manifest\'s folder)'))
  }
  if (rows.length === 0 && leftOut.length > 0) {
    throw new InputError(formatProblems(path, leftOut, 'every row names a missing file, so no row is left to train on'))
  }
  if (rows.length === 0) throw new InputError(`${path}: the manifest has a header but no rows; add one row per CT`)
  return { path, rows, leftOut }
}

/** Lists the row's image and label paths that do not exist, as row problems. */
function missingFiles(row: ManifestRow): string[] {
  const problems: string[] = []
  if (!existsSync(row.image)) problems.push(`row ${row.row}: image not found: ${row.image}`)
  if (!existsSync(row.label)) problems.push(`row ${row.row}: label not found: ${row.label}`)
  return problems
}

/** Formats a list of row problems as one message, showing at most 10. */
export function formatProblems(path: string, problems: string[], fix: string): string {
  const shown = problems.slice(0, 10).map((problem) => `  ${problem}`)
  if (problems.length > 10) shown.push(`  ... and ${problems.length - 10} more`)
  return `${path}: ${problems.length} row problem${problems.length > 1 ? 's' : ''}; ${fix}:\n${shown.join('\n')}`
}

function listWithAnd(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

/** Resolves a path against the manifest's folder, normalised (no `.` or `..` parts). */
function resolvePath(folder: string, path: string): string {
  return resolve(folder, path)
}

/**
 * Returns the key that identifies a file for the repeated-image check: its real path when it
 * exists, so that a symbolic link or another spelling of the path still counts as the same file.
 */
function fileKey(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

