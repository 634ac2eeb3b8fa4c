/**
 * Parses CSV text (RFC 4180: comma separator, double-quoted fields that may hold commas, quotes
 * doubled inside quotes, CRLF or LF line ends) into rows of fields. Empty lines are skipped.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let n = 0; n < text.length; n++) {
    const character = text[n]
    if (quoted) {
      if (character === '"' && text[n + 1] === '"') {
        field += '"'
        n++
      } else if (character === '"') {
        quoted = false
      } else {
        field += character
      }
      continue
    }
    if (character === '"') {
      quoted = true
    } else if (character === ',') {
      row.push(field)
      field = ''
    } else if (character === '\n' || character === '\r') {
      if (character === '\r' && text[n + 1] === '\n') n++
      row.push(field)
      if (row.length > 1 || row[0] !== '') rows.push(row)
      row = []
      field = ''
    } else {
      field += character
    }
  }
  row.push(field)
  if (row.length > 1 || row[0] !== '') rows.push(row)
  return rows
}

/** Formats one CSV field, quoting it when it holds a comma, a quote or a line break. */
export function formatCsvField(value: string | number | undefined): string {
  if (value === undefined) return ''
  if (typeof value === 'number') return Number.isNaN(value) ? '' : String(value)
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

export function formatCsv(rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>): string {
  return rows.map((row) => row.map(formatCsvField).join(',')).join('\n') + '\n'
}
