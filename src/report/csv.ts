import { InputError } from '../errors.js'

export interface CsvRecord {
  /** Line on which the record starts (1-based). */
  row: number
  fields: string[]
}

/**
 * Splits CSV text into records (RFC 4180: comma separator, double-quoted fields that may hold
 * commas, line breaks and doubled quotes; LF or CRLF line ends), keeping the line each record
 * starts on. Lines that are empty or hold only spaces are skipped.
 */
export function parseCsvRecords(text: string, path: string): CsvRecord[] {
  const records: CsvRecord[] = []
  let fields: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let recordLine = 1

  const endRecord = () => {
    fields.push(field)
    if (fields.length > 1 || fields[0]!.trim() !== '') records.push({ row: recordLine, fields })
    fields = []
    field = ''
  }

  for (let n = 0; n < text.length; n++) {
    const character = text[n]!
    if (quoted) {
      if (character === '"' && text[n + 1] === '"') {
        field += '"'
        n++
      } else if (character === '"') {
        quoted = false
      } else {
        if (character === '\n') line++
        field += character
      }
      continue
    }
    if (character === '"') {
      quoted = true
    } else if (character === ',') {
      fields.push(field)
      field = ''
    } else if (character === '\n' || character === '\r') {
      if (character === '\r' && text[n + 1] === '\n') n++
      endRecord()
      line++
      recordLine = line
    } else {
      field += character
    }
  }
  if (quoted) throw new InputError(`${path} row ${recordLine}: a quoted field is not closed; add the closing double quote`)
  endRecord()
  return records
}

/**
 * Returns a hint for a header that reads as one field holding semicolons, else ''. Spreadsheets
 * set to a locale with decimal commas often save CSV with semicolons between fields.
 */
export function semicolonSeparatorHint(header: readonly string[]): string {
  return header.length === 1 && header[0]!.includes(';') ? '; the file seems to use semicolons, and colinet expects commas between fields' : ''
}

/** Parses CSV text into rows of fields (see parseCsvRecords); `source` names it in errors. */
export function parseCsv(text: string, source = 'CSV text'): string[][] {
  return parseCsvRecords(text, source).map((record) => record.fields)
}

/**
 * Rounding of a number written to a CSV cell. Fixed decimals suit a quantity whose useful
 * resolution is known (0.01 mL, 0.1 HU). Significant digits suit quantities whose scale varies
 * from case to case (radiomic features, false-positive rates).
 */
export type CsvPrecision = { decimals: number } | { significantDigits: number }

/**
 * Formats a number for a CSV cell, rounded to `precision`. NaN (an undefined value) becomes an
 * empty cell, and infinities are written as Infinity and -Infinity.
 */
export function formatCsvNumber(value: number, precision: CsvPrecision): string {
  if (Number.isNaN(value)) return ''
  if (!Number.isFinite(value)) return String(value)
  const rounded = 'decimals' in precision ? value.toFixed(precision.decimals) : value.toPrecision(precision.significantDigits)
  // Number() drops trailing zeros and turns -0 into 0.
  return String(Number(rounded))
}

/** Formats one CSV field, quoting it when it contains a comma, a quote or a line break. */
export function formatCsvField(value: string | number | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'number') return Number.isNaN(value) ? '' : String(value)
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

export function formatCsv(rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  return rows.map((row) => row.map(formatCsvField).join(',')).join('\n') + '\n'
}
