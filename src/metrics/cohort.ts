import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { InputError } from '../errors.js'
import { parseCsvRecords, semicolonSeparatorHint } from '../report/csv.js'
import { summarize, type SummaryStatistics } from './statistics.js'

/** Columns a cohort manifest must have, one row per case. */
export const COHORT_COLUMNS = ['case', 'centre', 'ct', 'pred_lung', 'ref_lung', 'pred_lesion', 'ref_lesion'] as const

/** One case of a cohort manifest, with paths resolved against the manifest's folder. */
export interface CohortCase {
  /** Row number in the file, counting the header as row 1 (a spreadsheet's row number). */
  row: number
  caseId: string
  centre: string
  /** CT path, or undefined when the cell is empty (no mean HU or radiomics then). */
  ct?: string
  lung?: { prediction: string; reference: string }
  lesion?: { prediction: string; reference: string }
}

/** Other spellings of column names, as in the training manifest. */
const COLUMN_ALIASES: Record<string, string> = { center: 'centre' }

/**
 * Reads and checks a cohort manifest (CSV with the columns of COHORT_COLUMNS, named in any letter
 * case; `center` is accepted too). A case may leave both lung cells or both lesion cells empty to
 * skip that structure. Every named file must exist. Throws InputError naming the row (as a
 * spreadsheet numbers it) and column of the first problem, before any volume is read.
 */
export function readCohortManifest(path: string): CohortCase[] {
  if (!existsSync(path)) throw new InputError(`cohort manifest not found: ${path}`)
  const records = parseCsvRecords(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''), path)
  if (records.length < 2) throw new InputError(`${path}: expected a header row and at least one case row, found ${records.length} rows`)
  const header = records[0]!.fields.map((name) => {
    const lower = name.trim().toLowerCase()
    return COLUMN_ALIASES[lower] ?? lower
  })
  const missing = COHORT_COLUMNS.filter((column) => !header.includes(column))
  if (missing.length > 0) {
    throw new InputError(
      `${path}: missing column(s) ${missing.join(', ')} (found ${header.join(', ') || 'nothing'})${semicolonSeparatorHint(header)}; ` +
        `expected the columns ${COHORT_COLUMNS.join(', ')}`,
    )
  }

  const folder = dirname(resolve(path))
  const cell = (row: string[], column: string): string => (row[header.indexOf(column)] ?? '').trim()
  const seen = new Set<string>()
  return records.slice(1).map(({ row: rowNumber, fields: row }) => {
    const where = `${path} row ${rowNumber}`
    const caseId = cell(row, 'case')
    if (caseId === '') throw new InputError(`${where}: the case column is empty; give every case an id`)
    if (seen.has(caseId)) throw new InputError(`${where}: case id ${caseId} appears twice; case ids must be unique`)
    seen.add(caseId)

    const file = (column: string): string | undefined => {
      const value = cell(row, column)
      if (value === '') return undefined
      const absolute = resolve(folder, value)
      if (!existsSync(absolute)) throw new InputError(`${where} (case ${caseId}), column ${column}: file not found: ${absolute}`)
      return absolute
    }
    const pair = (structure: 'lung' | 'lesion'): { prediction: string; reference: string } | undefined => {
      const prediction = file(`pred_${structure}`)
      const reference = file(`ref_${structure}`)
      if (prediction === undefined && reference === undefined) return undefined
      if (prediction === undefined || reference === undefined) {
        throw new InputError(`${where} (case ${caseId}): give both pred_${structure} and ref_${structure}, or leave both empty`)
      }
      return { prediction, reference }
    }
    const lung = pair('lung')
    const lesion = pair('lesion')
    if (lung === undefined && lesion === undefined) {
      throw new InputError(`${where} (case ${caseId}): no lung or lesion masks given; fill pred_lung/ref_lung or pred_lesion/ref_lesion`)
    }
    return { row: rowNumber, caseId, centre: cell(row, 'centre') || 'unknown', ct: file('ct'), lung, lesion }
  })
}

/**
 * Returns a warning for each set of centre names that differ only in letter case or spaces
 * ("CIP Boston", "cip  boston"), which count as separate centres.
 */
export function similarCentreWarnings(cases: readonly CohortCase[]): string[] {
  const byKey = new Map<string, Set<string>>()
  for (const { centre } of cases) {
    const key = centre.toLowerCase().replace(/\s+/g, ' ')
    if (!byKey.has(key)) byKey.set(key, new Set())
    byKey.get(key)!.add(centre)
  }
  return [...byKey.values()]
    .filter((names) => names.size > 1)
    .map((names) => `the centres ${[...names].map((name) => `"${name}"`).join(', ')} differ only in letter case or spaces and count as ${names.size} centres; write them alike if they are one`)
}

/** One metric's statistics per centre and over all cases. */
export interface MetricSummary {
  metric: string
  byCentre: Record<string, SummaryStatistics>
  overall: SummaryStatistics
}

/**
 * Summarises every metric of the flattened case rows, per centre (sorted by name) and overall.
 * A case counts for the metrics it has: one without lesion masks, or without a CT for the HU
 * metrics, is left out of those, while an undefined value it has (NaN) counts as missing.
 */
export function summarizeCohort(rows: Array<{ centre: string; values: Record<string, number> }>): MetricSummary[] {
  const metrics = [...new Set(rows.flatMap((row) => Object.keys(row.values)))]
  const centres = [...new Set(rows.map((row) => row.centre))].sort()
  return metrics.map((metric) => {
    const measured = rows.filter((row) => metric in row.values)
    const byCentre: Record<string, SummaryStatistics> = {}
    for (const centre of centres) {
      byCentre[centre] = summarize(measured.filter((row) => row.centre === centre).map((row) => row.values[metric]!))
    }
    return { metric, byCentre, overall: summarize(measured.map((row) => row.values[metric]!)) }
  })
}
