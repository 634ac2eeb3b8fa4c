import { percentile } from '../metrics/surface-distance.js'

/** A named group of values for one box in a box plot, e.g. the Dice values of one centre. */
export interface BoxGroup {
  name: string
  values: number[]
}

const FONT = 'font-family="Noto Sans, DejaVu Sans, Arial, sans-serif"'

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Formats a number with `digits` significant digits (default 3), plainly up to 1e6. */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (value === 0) return '0'
  const magnitude = Math.abs(value)
  if (magnitude >= 1e6 || magnitude < 1e-3) return value.toExponential(digits - 1)
  if (magnitude >= 10 ** digits) return value.toFixed(0)
  return Number(value.toPrecision(digits)).toString()
}

/** Returns about `count` round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (low === high) return [low]
  const rawStep = (high - low) / count
  const power = 10 ** Math.floor(Math.log10(rawStep))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rawStep) ?? 10 * power
  const ticks: number[] = []
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)))
  return ticks
}

/**
 * Draws a box plot with one box per group. The box spans the 25th to 75th percentile with a line
 * at the median. Whiskers reach the most extreme values within 1.5 interquartile ranges of the
 * box (Tukey), and points beyond them are drawn as outliers. Undefined (NaN) values are left out and
 * the number used is printed under each box.
 */
export function boxPlotSvg(title: string, axisLabel: string, groups: BoxGroup[]): string {
  const width = Math.max(480, 120 + groups.length * 90)
  const left = 80
  const right = 20
  const top = 50
  const plotWidth = width - left - right
  const slot = plotWidth / Math.max(1, groups.length)
  const nameLines = groups.map((group) => wrapWords(group.name, Math.max(1, Math.floor((slot - 8) / COLUMN_CHARACTER_WIDTH))))
  const nameLineCount = Math.max(1, ...nameLines.map((lines) => lines.length))
  const bottom = 55 + nameLineCount * 15
  const height = 330 + bottom
  const plotHeight = height - top - bottom
  const cleaned = groups.map((group) => ({ name: group.name, values: group.values.filter(Number.isFinite) }))
  const all = cleaned.flatMap((group) => group.values)
  let low = all.length > 0 ? Math.min(...all) : 0
  let high = all.length > 0 ? Math.max(...all) : 1
  if (low === high) {
    low -= Math.abs(low) * 0.1 || 1
    high += Math.abs(high) * 0.1 || 1
  }
  const margin = (high - low) * 0.05
  low -= margin
  high += margin
  const y = (value: number): number => top + plotHeight * (1 - (value - low) / (high - low))

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="28" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`,
    `<text x="18" y="${top + plotHeight / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${top + plotHeight / 2})">${escapeXml(axisLabel)}</text>`,
  ]
  for (const tick of niceTicks(low, high)) {
    const ty = y(tick)
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}" stroke="#e4e4e4"/>`)
    parts.push(`<text x="${left - 6}" y="${ty + 4}" font-size="11" text-anchor="end">${formatNumber(tick)}</text>`)
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="#333"/>`)
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#333"/>`)

  cleaned.forEach((group, index) => {
    const cx = left + slot * (index + 0.5)
    const boxWidth = Math.min(50, slot * 0.6)
    const lines = nameLines[index]!
    parts.push(multilineText(cx, top + plotHeight + 20, lines, 15, 'font-size="12" text-anchor="middle"'))
    parts.push(`<text x="${cx}" y="${top + plotHeight + 21 + lines.length * 15}" font-size="10" fill="#555" text-anchor="middle">n = ${group.values.length}</text>`)
    if (group.values.length === 0) return
    const q1 = percentile(group.values, 25)
    const median = percentile(group.values, 50)
    const q3 = percentile(group.values, 75)
    const reach = 1.5 * (q3 - q1)
    const inside = group.values.filter((value) => value >= q1 - reach && value <= q3 + reach)
    const whiskerLow = Math.min(...inside)
    const whiskerHigh = Math.max(...inside)
    parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(whiskerLow)}" y2="${y(whiskerHigh)}" stroke="#333"/>`)
    for (const end of [whiskerLow, whiskerHigh]) {
      parts.push(`<line x1="${cx - boxWidth / 4}" x2="${cx + boxWidth / 4}" y1="${y(end)}" y2="${y(end)}" stroke="#333"/>`)
    }
    parts.push(
      `<rect x="${cx - boxWidth / 2}" y="${y(q3)}" width="${boxWidth}" height="${Math.max(1, y(q1) - y(q3))}" fill="#9ecae1" stroke="#2c5d87"/>`,
    )
    parts.push(`<line x1="${cx - boxWidth / 2}" x2="${cx + boxWidth / 2}" y1="${y(median)}" y2="${y(median)}" stroke="#08306b" stroke-width="2"/>`)
    for (const value of group.values) {
      if (value < whiskerLow || value > whiskerHigh) parts.push(`<circle cx="${cx}" cy="${y(value)}" r="3" fill="none" stroke="#b2182b"/>`)
    }
  })
  parts.push('</svg>')
  return parts.join('\n')
}

/**
 * Draws a heatmap with one row per feature and one column per group, each cell coloured by its
 * value on a diverging blue-white-red scale symmetric around 0 and labelled with the value.
 * Column names and the legend wrap at spaces to fit, and a column is widened to its longest word.
 */
export function heatmapSvg(title: string, legendLabel: string, rows: string[], columns: string[], values: number[][]): string {
  const longestWord = Math.max(0, ...columns.flatMap((column) => column.split(' ').map((word) => word.length)))
  const cellWidth = Math.max(90, Math.ceil(longestWord * COLUMN_CHARACTER_WIDTH) + 12)
  const cellHeight = 22
  const left = 260
  const width = Math.max(640, left + columns.length * cellWidth + 40)
  const finite = values.flat().filter(Number.isFinite)
  const limit = Math.max(1e-12, ...finite.map(Math.abs))
  const legendLines = wrapWords(`${legendLabel}; colour scale ±${formatNumber(limit)}`, Math.floor((width - 40) / LEGEND_CHARACTER_WIDTH))
  const columnLines = columns.map((column) => wrapWords(column, Math.floor((cellWidth - 12) / COLUMN_CHARACTER_WIDTH)))
  const headerLineCount = Math.max(1, ...columnLines.map((lines) => lines.length))
  const top = 52 + legendLines.length * 16 + headerLineCount * 15
  const height = top + rows.length * cellHeight + 40

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="26" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`,
    multilineText(width / 2, 46, legendLines, 16, 'font-size="12" text-anchor="middle" fill="#444"'),
  ]
  columnLines.forEach((lines, c) => {
    // The last line of every column name sits just above the cells.
    const firstLineY = top - 8 - (lines.length - 1) * 15
    parts.push(multilineText(left + (c + 0.5) * cellWidth, firstLineY, lines, 15, 'font-size="12" text-anchor="middle"'))
  })
  rows.forEach((row, r) => {
    const ry = top + r * cellHeight
    parts.push(`<text x="${left - 8}" y="${ry + cellHeight / 2 + 4}" font-size="11" text-anchor="end">${escapeXml(row)}</text>`)
    columns.forEach((_, c) => {
      const value = values[r][c]
      const fill = Number.isFinite(value) ? divergingColour(value / limit) : '#dddddd'
      parts.push(`<rect x="${left + c * cellWidth}" y="${ry}" width="${cellWidth}" height="${cellHeight}" fill="${fill}" stroke="white"/>`)
      parts.push(
        `<text x="${left + (c + 0.5) * cellWidth}" y="${ry + cellHeight / 2 + 4}" font-size="10" text-anchor="middle">${formatNumber(value)}</text>`,
      )
    })
  })
  parts.push('</svg>')
  return parts.join('\n')
}

/**
 * Average advance of a Noto Sans character at font size 12, in pixels, for wrapping text: estimates
 * of 0.55 em for the legend and 0.6 em for names, which must not run into their neighbours.
 */
const COLUMN_CHARACTER_WIDTH = 7.2
const LEGEND_CHARACTER_WIDTH = 6.6

/** Splits text at spaces into lines of at most `maxCharacters`. A longer word gets a line of its own. */
export function wrapWords(text: string, maxCharacters: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line === '') line = word
    else if (line.length + 1 + word.length <= maxCharacters) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
  }
  lines.push(line)
  return lines
}

/** Returns an SVG text element with one tspan per line, the first line's baseline at y. */
function multilineText(x: number, y: number, lines: string[], lineHeight: number, attributes: string): string {
  const spans = lines.map((line, n) => `<tspan x="${x}" y="${y + n * lineHeight}">${escapeXml(line)}</tspan>`).join('')
  return `<text ${attributes}>${spans}</text>`
}

/** Maps t in [-1, 1] to blue (negative) through white (0) to red (positive). */
function divergingColour(t: number): string {
  const clamped = Math.max(-1, Math.min(1, t))
  const toward = clamped < 0 ? [33, 102, 172] : [178, 24, 43]
  const weight = Math.abs(clamped)
  const channel = (index: number): number => Math.round(255 + (toward[index] - 255) * weight)
  return `rgb(${channel(0)},${channel(1)},${channel(2)})`
}
