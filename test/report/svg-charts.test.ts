import assert from 'node:assert/strict'
import { test } from 'node:test'
import { boxPlotSvg, heatmapSvg, wrapWords } from '../../src/report/svg-charts.js'

test('wrapWords breaks at spaces only', () => {
  assert.deepEqual(wrapWords('CIP Boston', 12), ['CIP Boston'])
  assert.deepEqual(wrapWords('TCIA Lung-PET-CT-Dx', 12), ['TCIA', 'Lung-PET-CT-Dx'])
  assert.deepEqual(wrapWords('a bb ccc dddd', 6), ['a bb', 'ccc', 'dddd'])
  assert.deepEqual(wrapWords('overall', 3), ['overall'])
})

test('heatmap widens columns to their longest word', () => {
  const columns = ['CIP Boston', 'TCIA Lung-PET-CT-Dx', 'overall']
  const svg = heatmapSvg('title', 'legend', ['shape Flatness'], columns, [[1, -2, 0]])
  // "Lung-PET-CT-Dx" is 14 characters: 14 x 7.2 + 12 = 112.8, so each cell is 113 px wide.
  assert.match(svg, /<rect x="260" y="\d+" width="113" height="22"/)
  assert.match(svg, /<tspan x="429.5" y="\d+">TCIA<\/tspan><tspan x="429.5" y="\d+">Lung-PET-CT-Dx<\/tspan>/)
  assert.doesNotMatch(svg, /≥/)
})

test('heatmap legend wraps within the figure', () => {
  const legend = 'mean of (prediction - reference) / |reference| (%), for HU features over the cases with |reference| of at least 100 HU'
  const svg = heatmapSvg('title', legend, ['row'], ['A', 'B'], [[1, 2]])
  const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1])
  const lines = [...svg.matchAll(/<tspan x="[\d.]+" y="\d+">([^<]*)<\/tspan>/g)].map((match) => match[1]!)
  assert.ok(lines.length >= 3, `legend lines ${lines.length}`)
  // At 6.6 px a character, every line fits between 20 px margins.
  for (const line of lines) assert.ok(line.length * 6.6 <= width - 40, line)
})

test('box plot names wrap under their box', () => {
  const groups = [{ name: 'Hospital of the Very Long Name Centre', values: [0.9, 0.95] }, { name: 'B', values: [0.8] }]
  const svg = boxPlotSvg('title', 'Dice', groups)
  const spans = [...svg.matchAll(/<tspan x="([\d.]+)" y="(\d+)">([^<]*)<\/tspan>/g)]
  assert.ok(spans.length >= 3, `name lines ${spans.length}`)
  assert.equal(spans.map((span) => span[3]).join(' '), 'Hospital of the Very Long Name Centre B')
  // The count sits under the last line of its group's name.
  const lastNameLineY = Number(spans[spans.length - 2]![2])
  const countY = Number(/<text x="[\d.]+" y="([\d.]+)" font-size="10" fill="#555" text-anchor="middle">n = 2</.exec(svg)![1])
  assert.ok(countY > lastNameLineY, `count at ${countY}, last name line at ${lastNameLineY}`)
})
