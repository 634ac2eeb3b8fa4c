import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { HU_RELATIVE_ERROR_MIN_REFERENCE } from '../metrics/case.js'
import type { MetricSummary } from '../metrics/cohort.js'
import { FIRST_ORDER_FEATURES } from '../metrics/radiomics/firstorder.js'
import { SHAPE_FEATURES } from '../metrics/radiomics/shape.js'
import type { SummaryStatistics } from '../metrics/statistics.js'
import { formatCsv, formatCsvNumber } from './csv.js'
import { BOX_PLOT_METRICS, csvPrecisionOfMetric, describeMetric, labelWithUnit } from './metric-labels.js'
import { svgToPng } from './rasterize.js'
import { boxPlotSvg, escapeXml, formatNumber, heatmapSvg } from './svg-charts.js'

/** One evaluated case: its id, centre and flattened metrics. */
export interface CaseRow {
  caseId: string
  centre: string
  values: Record<string, number>
}

const OVERALL = 'overall'

const STATISTICS_NOTE =
  'Statistics: min, max, mean ± sample SD, and the 95 % confidence interval of the mean from the t distribution. ' +
  'The interval is not clipped to the range of the metric, so with few cases a Dice interval can reach below 0 or above 1.'

const UNDEFINED_VALUES_NOTE =
  'Undefined values (n/a) are left out and counted: a distance to an empty mask, for example, or the relative error of a value in HU ' +
  `(mean HU, or a first-order feature such as Maximum) whose reference lies within ${HU_RELATIVE_ERROR_MIN_REFERENCE} HU of 0, ` +
  'where HU, whose zero is arbitrary, makes a relative error meaningless. The difference in HU is given for those.'

/**
 * Writes the cohort report into `folder`, which must exist. cases.csv and cases.json have one row
 * per case. summary.csv and summary.json have min, max, mean, SD and 95 % CI per metric, per
 * centre and overall. The CSV files round each metric as csvPrecisionOfMetric sets, and the
 * JSON files keep full precision. report.md and report.html show those tables, and figures/ contains a box plot
 * per metric by centre and a heatmap of the mean radiomic-feature relative error by centre, each
 * as SVG and PNG.
 */
export function writeCohortReport(folder: string, cases: CaseRow[], summaries: MetricSummary[]): string[] {
  const written: string[] = []
  const write = (name: string, content: string | Buffer): void => {
    writeFileSync(join(folder, name), content)
    written.push(name)
  }
  const metrics = summaries.map((summary) => summary.metric)
  const centres = Object.keys(summaries[0]?.byCentre ?? {})

  const rounded = (metric: string, value: number | undefined): string | undefined =>
    value === undefined ? undefined : formatCsvNumber(value, csvPrecisionOfMetric(metric))
  write('cases.csv', formatCsv([['case', 'centre', ...metrics], ...cases.map((c) => [c.caseId, c.centre, ...metrics.map((m) => rounded(m, c.values[m]))])]))
  write('cases.json', JSON.stringify(cases, jsonNumbers, 2) + '\n')
  write('summary.csv', formatCsv([['metric', 'group', 'n', 'missing', 'min', 'max', 'mean', 'sd', 'ci95_low', 'ci95_high'], ...summaryRows(summaries)]))
  write('summary.json', JSON.stringify(summaries, jsonNumbers, 2) + '\n')

  mkdirSync(join(folder, 'figures'), { recursive: true })
  const figures: string[] = []
  for (const metric of metrics) {
    const name = metric.split('.').pop() ?? metric
    const isPlotted = BOX_PLOT_METRICS.includes(name) || metric.startsWith('lesionLungRatio.')
    if (!isPlotted || metric.includes('.radiomics.')) continue
    const groups = centres.map((centre) => ({ name: centre, values: cases.filter((c) => c.centre === centre).map((c) => c.values[metric] ?? NaN) }))
    const { label, unit } = describeMetric(metric)
    const svg = boxPlotSvg(`${label} by centre`, unit === '' ? label : `${label} (${unit})`, groups)
    figures.push(writeFigure(write, `box-${metric}`, svg))
  }
  for (const structure of ['lung', 'lesion']) {
    const svg = radiomicsHeatmap(structure, summaries, centres)
    if (svg !== undefined) figures.push(writeFigure(write, `heatmap-${structure}-radiomics`, svg))
  }

  write('report.md', markdownReport(summaries, centres, cases.length, figures))
  write('report.html', htmlReport(summaries, centres, cases.length, figures))
  return written
}

function writeFigure(write: (name: string, content: string | Buffer) => void, base: string, svg: string): string {
  write(`figures/${base}.svg`, svg)
  write(`figures/${base}.png`, svgToPng(svg))
  return base
}

/** JSON replacer that writes NaN and infinities as null, since JSON has no such numbers. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value
}

function summaryRows(summaries: MetricSummary[]): Array<Array<string | number>> {
  const rows: Array<Array<string | number>> = []
  for (const summary of summaries) {
    const precision = csvPrecisionOfMetric(summary.metric)
    const groups: Array<[string, SummaryStatistics]> = [...Object.entries(summary.byCentre), [OVERALL, summary.overall]]
    for (const [group, s] of groups) {
      const statistics = [s.minimum, s.maximum, s.mean, s.standardDeviation, ...s.confidenceInterval95]
      rows.push([summary.metric, group, s.count, s.missing, ...statistics.map((value) => formatCsvNumber(value, precision))])
    }
  }
  return rows
}

function radiomicsHeatmap(structure: string, summaries: MetricSummary[], centres: string[]): string | undefined {
  const features = [
    ...FIRST_ORDER_FEATURES.map((name) => `original_firstorder_${name}`),
    ...SHAPE_FEATURES.map((name) => `original_shape_${name}`),
  ]
  const rows: string[] = []
  const values: number[][] = []
  for (const feature of features) {
    const summary = summaries.find((s) => s.metric === `${structure}.radiomics.${feature}.relativeErrorPercent`)
    if (summary === undefined) continue
    rows.push(feature.replace('original_', '').replace('_', ' '))
    values.push([...centres.map((centre) => summary.byCentre[centre].mean), summary.overall.mean])
  }
  if (rows.length === 0) return undefined
  const title = `${structure[0].toUpperCase()}${structure.slice(1)} radiomic features: mean relative error by centre`
  const legend = `mean of (prediction - reference) / |reference| (%), for HU features over the cases with |reference| of at least ${HU_RELATIVE_ERROR_MIN_REFERENCE} HU`
  return heatmapSvg(title, legend, rows, [...centres, OVERALL], values)
}

function cellText(s: SummaryStatistics): string[] {
  return [
    `${s.count}${s.missing > 0 ? ` (+${s.missing} n/a)` : ''}`,
    formatNumber(s.minimum),
    formatNumber(s.maximum),
    `${formatNumber(s.mean)} ± ${formatNumber(s.standardDeviation)}`,
    `${formatNumber(s.confidenceInterval95[0])} to ${formatNumber(s.confidenceInterval95[1])}`,
  ]
}

const TABLE_HEADER = ['Metric', 'n', 'Min', 'Max', 'Mean ± SD', '95 % CI']

function groupTables(summaries: MetricSummary[], centres: string[]): Array<{ title: string; rows: string[][] }> {
  return [...centres, OVERALL].map((group) => ({
    title: group === OVERALL ? 'All centres' : `Centre ${group}`,
    rows: summaries.map((summary) => [
      labelWithUnit(summary.metric),
      ...cellText(group === OVERALL ? summary.overall : summary.byCentre[group]),
    ]),
  }))
}

function markdownReport(summaries: MetricSummary[], centres: string[], caseCount: number, figures: string[]): string {
  const lines = [
    '# Segmentation evaluation',
    '',
    `${caseCount} cases from ${centres.length} centre(s). ${STATISTICS_NOTE} ${UNDEFINED_VALUES_NOTE}`,
    '',
  ]
  for (const table of groupTables(summaries, centres)) {
    lines.push(`## ${table.title}`, '', `| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map(() => '---').join('|')}|`)
    for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`)
    lines.push('')
  }
  lines.push('## Figures', '')
  for (const figure of figures) lines.push(`![${figure}](figures/${figure}.svg)`, '')
  return lines.join('\n')
}

function htmlReport(summaries: MetricSummary[], centres: string[], caseCount: number, figures: string[]): string {
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Segmentation evaluation</title>',
    '<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin-bottom:2em}' +
      'td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:1em 0}</style>',
    '</head><body>',
    '<h1>Segmentation evaluation</h1>',
    `<p>${caseCount} cases from ${centres.length} centre(s). ${escapeXml(STATISTICS_NOTE)} ${escapeXml(UNDEFINED_VALUES_NOTE)}</p>`,
  ]
  for (const table of groupTables(summaries, centres)) {
    parts.push(`<h2>${escapeXml(table.title)}</h2><table><tr>${TABLE_HEADER.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`)
    for (const row of table.rows) parts.push(`<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`)
    parts.push('</table>')
  }
  parts.push('<h2>Figures</h2>')
  for (const figure of figures) parts.push(`<img src="figures/${figure}.svg" alt="${escapeXml(figure)}">`)
  parts.push('</body></html>')
  return parts.join('\n') + '\n'
}
