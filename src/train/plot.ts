/**
 * The training-curve figure of a run: training loss per epoch on the left, validation Dice per
 * class and their mean on the right, as SVG (and PNG through resvg with the bundled font).
 */
import { escapeXml, formatNumber, niceTicks } from '../report/svg-charts.js'
import type { EpochRecord } from './metrics-log.js'

const FONT = 'font-family="Noto Sans, DejaVu Sans, Arial, sans-serif"'
const SERIES_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e']

interface Series {
  name: string
  colour: string
  points: [number, number][]
  dashed?: boolean
}

interface Panel {
  title: string
  yLabel: string
  series: Series[]
  /** Fixed y range, or undefined to fit the data. */
  yRange?: [number, number]
}

/**
 * Draws the two panels for the epochs recorded so far. `crossEntropyWeight` names the loss in the
 * panel title when the run adds the cross-entropy term.
 */
export function trainingCurvesSvg(records: readonly EpochRecord[], classNames: readonly string[], title: string, crossEntropyWeight = 0): string {
  const lossPanel: Panel = {
    title: crossEntropyWeight > 0 ? `Training loss (soft Dice + ${crossEntropyWeight} x cross-entropy)` : 'Training loss (soft Dice)',
    yLabel: 'loss',
    series: [{ name: 'training loss', colour: SERIES_COLOURS[0]!, points: finitePoints(records, (r) => r.trainLoss) }],
  }
  if (crossEntropyWeight > 0) {
    lossPanel.series.push({ name: 'its soft-Dice part', colour: SERIES_COLOURS[0]!, dashed: true, points: finitePoints(records, (r) => r.trainDiceLoss) })
  }
  const diceSeries: Series[] = classNames.slice(1).map((name, k) => ({
    name,
    colour: SERIES_COLOURS[(k + 1) % SERIES_COLOURS.length]!,
    points: finitePoints(records, (r) => r.validationDice[k] ?? NaN),
  }))
  if (classNames.length > 2) {
    diceSeries.push({ name: 'mean', colour: '#000000', dashed: true, points: finitePoints(records, (r) => r.validationMeanDice) })
  }
  const dicePanel: Panel = { title: 'Validation Dice (3D, per patient)', yLabel: 'Dice', series: diceSeries, yRange: [0, 1] }

  const panelWidth = 440
  const height = 360
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * panelWidth}" height="${height}" viewBox="0 0 ${2 * panelWidth} ${height}" ${FONT}>`,
    `<rect width="${2 * panelWidth}" height="${height}" fill="white"/>`,
    `<text x="${panelWidth}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`,
    drawPanel(lossPanel, 0, 30, panelWidth, height - 30),
    drawPanel(dicePanel, panelWidth, 30, panelWidth, height - 30),
    '</svg>',
  ]
  return `${parts.join('\n')}\n`
}

function finitePoints(records: readonly EpochRecord[], pick: (record: EpochRecord) => number): [number, number][] {
  return records.map((r) => [r.epoch, pick(r)] as [number, number]).filter(([, y]) => Number.isFinite(y))
}

function drawPanel(panel: Panel, x0: number, y0: number, width: number, height: number): string {
  const left = x0 + 60
  const right = x0 + width - 20
  const top = y0 + 30
  const bottom = y0 + height - 70
  const all = panel.series.flatMap((s) => s.points)
  const epochs = all.map(([x]) => x)
  const xLow = Math.min(1, ...epochs)
  const xHigh = Math.max(xLow + 1, ...epochs)
  let [yLow, yHigh] = panel.yRange ?? [Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y))]
  if (!Number.isFinite(yLow) || !Number.isFinite(yHigh)) [yLow, yHigh] = [0, 1]
  if (yLow === yHigh) [yLow, yHigh] = [yLow - 0.5, yHigh + 0.5]
  if (panel.yRange === undefined) {
    const margin = 0.05 * (yHigh - yLow)
    ;[yLow, yHigh] = [yLow - margin, yHigh + margin]
  }
  const sx = (x: number) => left + ((x - xLow) / (xHigh - xLow)) * (right - left)
  const sy = (y: number) => bottom - ((y - yLow) / (yHigh - yLow)) * (bottom - top)

  const parts = [
    `<text x="${(left + right) / 2}" y="${y0 + 18}" font-size="13" text-anchor="middle">${escapeXml(panel.title)}</text>`,
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`,
  ]
  for (const tick of niceTicks(yLow, yHigh, 5)) {
    parts.push(`<line x1="${left}" x2="${right}" y1="${sy(tick)}" y2="${sy(tick)}" stroke="#e4e4e4"/>`)
    parts.push(`<text x="${left - 6}" y="${sy(tick) + 4}" font-size="11" text-anchor="end">${formatNumber(tick)}</text>`)
  }
  for (const tick of niceTicks(xLow, xHigh, 6).filter((t) => Number.isInteger(t))) {
    parts.push(`<text x="${sx(tick)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${tick}</text>`)
  }
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" font-size="12" text-anchor="middle">epoch</text>`)
  parts.push(`<text x="${x0 + 16}" y="${(top + bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 + 16} ${(top + bottom) / 2})">${escapeXml(panel.yLabel)}</text>`)

  panel.series.forEach((series, index) => {
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : ''
    if (series.points.length > 1) {
      const path = series.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')
      parts.push(`<polyline points="${path}" fill="none" stroke="${series.colour}" stroke-width="2"${dash}/>`)
    }
    for (const [x, y] of series.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${series.colour}"/>`)
    const legendX = left + index * 120
    parts.push(`<line x1="${legendX}" x2="${legendX + 20}" y1="${bottom + 52}" y2="${bottom + 52}" stroke="${series.colour}" stroke-width="2"${dash}/>`)
    parts.push(`<text x="${legendX + 26}" y="${bottom + 56}" font-size="11">${escapeXml(series.name)}</text>`)
  })
  return parts.join('\n')
}
