import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { formatMetricsTable } from '../../src/cli/evaluate.js'
import { evaluateStructure, flattenCaseMetrics, relativeDifferencePercent, type StructureMetrics } from '../../src/metrics/case.js'
import { similarCentreWarnings, summarizeCohort } from '../../src/metrics/cohort.js'
import { writeCohortReport } from '../../src/report/cohort-report.js'
import { createVolume, type Geometry } from '../../src/volume/volume.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-relative-error-'))
after(() => rmSync(folder, { recursive: true, force: true }))

function close(actual: number | undefined, expected: number, tolerance = 1e-9): void {
  assert.notEqual(actual, undefined)
  assert.ok(Math.abs(actual! - expected) <= tolerance, `${actual} vs ${expected}`)
}

test('relative difference of HU values', () => {
  // (-700 - -800) / 800 · 100 = 12.5 %, and (-850 - -800) / 800 · 100 = -6.25 %.
  assert.equal(relativeDifferencePercent(-700, -800, 100), 12.5)
  assert.equal(relativeDifferencePercent(-850, -800, 100), -6.25)
  // |reference| = 100 HU is not below the limit: (150 - 100) / 100 · 100 = 50 %.
  assert.equal(relativeDifferencePercent(150, 100, 100), 50)
  // 5 HU against 1 HU would be 400 %, but within 100 HU of 0 it is undefined.
  assert.ok(Number.isNaN(relativeDifferencePercent(5, 1, 100)))
  assert.ok(Number.isNaN(relativeDifferencePercent(-99, -99.5, 100)))
})

test('relative difference without limit', () => {
  assert.equal(relativeDifferencePercent(5, 1), 400)
  assert.equal(relativeDifferencePercent(0, 0), 0)
  assert.ok(Number.isNaN(relativeDifferencePercent(3, 0)))
})

/*
 * A 4 x 4 x 4 grid of 1 mm voxels. The reference is the 2 x 2 x 2 block at i, j, k in {1, 2},
 * with CT values -800 (six voxels), -440 and 40 HU. The prediction adds voxel (3, 1, 1) at 400 HU.
 */
function blockCase(): StructureMetrics {
  const geometry: Geometry = { size: [4, 4, 4], spacingMm: [1, 1, 1], origin: [0, 0, 0], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
  const index = (i: number, j: number, k: number): number => i + 4 * (j + 4 * k)
  const ct = createVolume(geometry, Int16Array).data.fill(-1000)
  const reference = createVolume(geometry, Uint8Array)
  const prediction = createVolume(geometry, Uint8Array)
  const block = [1, 2].flatMap((k) => [1, 2].flatMap((j) => [1, 2].map((i) => index(i, j, k))))
  const blockHu = [-800, -800, -800, -800, -800, -800, -440, 40]
  block.forEach((voxel, n) => {
    ct[voxel] = blockHu[n]
    reference.data[voxel] = 1
    prediction.data[voxel] = 1
  })
  ct[index(3, 1, 1)] = 400
  prediction.data[index(3, 1, 1)] = 1
  return evaluateStructure(prediction, reference, { ct: { ...geometry, data: ct } })
}

test('feature near 0 HU has no relative error', () => {
  const radiomics = blockCase().radiomics!
  // Maximum 400 HU against 40 HU: the difference is 360 HU, and the relative error (900 %) is undefined.
  assert.equal(radiomics.prediction.original_firstorder_Maximum, 400)
  assert.equal(radiomics.reference.original_firstorder_Maximum, 40)
  assert.equal(radiomics.difference.original_firstorder_Maximum, 360)
  assert.ok(Number.isNaN(radiomics.relativeErrorPercent.original_firstorder_Maximum))
  // Minimum -800 against -800: 0 %.
  assert.equal(radiomics.relativeErrorPercent.original_firstorder_Minimum, 0)
  // Mean -4800 / 9 = -533.333 against -5200 / 8 = -650: (116.667 / 650) · 100 = 17.9487 %.
  close(radiomics.difference.original_firstorder_Mean, 650 - 4800 / 9)
  close(radiomics.relativeErrorPercent.original_firstorder_Mean, ((650 - 4800 / 9) / 650) * 100)
  // Range is a spread, not a grey level: 1200 against 840 is (360 / 840) · 100 = 42.857 %.
  close(radiomics.relativeErrorPercent.original_firstorder_Range, (360 / 840) * 100)
})

test('mean HU difference and relative error', () => {
  const metrics = blockCase()
  close(metrics.meanHuDifference, 650 - 4800 / 9)
  close(metrics.relativeMeanHuDifferencePercent, ((650 - 4800 / 9) / 650) * 100)
})

test('flattened case has HU differences', () => {
  const row = flattenCaseMetrics({ lesion: blockCase() })
  assert.equal(row['lesion.radiomics.original_firstorder_Maximum.difference'], 360)
  assert.ok(Number.isNaN(row['lesion.radiomics.original_firstorder_Maximum.relativeErrorPercent']))
  // Only the six features in HU enter with their difference.
  assert.equal(row['lesion.radiomics.original_firstorder_Range.difference'], undefined)
  assert.equal(Object.keys(row).filter((key) => key.endsWith('.difference')).length, 6)
})

test('cohort leaves undefined errors out', () => {
  // Case c2 is c1's row with the Maximum's relative error that a reference of -200 HU would
  // give: (400 - -200) / 200 · 100 = 300 %.
  const c1 = flattenCaseMetrics({ lesion: blockCase() })
  const c2 = { ...c1, 'lesion.radiomics.original_firstorder_Maximum.relativeErrorPercent': 300 }
  const cases = [
    { caseId: 'c1', centre: 'A', values: c1 },
    { caseId: 'c2', centre: 'A', values: c2 },
  ]
  const summaries = summarizeCohort(cases)
  const maximum = summaries.find((summary) => summary.metric === 'lesion.radiomics.original_firstorder_Maximum.relativeErrorPercent')!
  assert.equal(maximum.overall.count, 1)
  assert.equal(maximum.overall.missing, 1)
  assert.equal(maximum.overall.mean, 300)

  const output = join(folder, 'cohort')
  mkdirSync(output)
  writeCohortReport(output, cases, summaries)
  const markdown = readFileSync(join(output, 'report.md'), 'utf8')
  assert.ok(markdown.includes('The interval is not clipped to the range of the metric'), markdown)
  assert.ok(markdown.includes('| Lesion Maximum (firstorder) relative error (%) | 1 (+1 n/a) | 300 | 300 | 300 ± n/a | n/a to n/a |'), markdown)
  assert.ok(markdown.includes('| Lesion Maximum (firstorder) difference (HU) | 2 | 360 | 360 | 360 ± 0 | 360 to 360 |'), markdown)
  const casesCsv = readFileSync(join(output, 'cases.csv'), 'utf8').split('\n')
  const header = casesCsv[0].split(',')
  const column = header.indexOf('lesion.radiomics.original_firstorder_Maximum.relativeErrorPercent')
  assert.equal(casesCsv[1].split(',')[column], '')
  assert.equal(casesCsv[2].split(',')[column], '300')
})

test('metrics table shows n/a and difference', () => {
  const table = formatMetricsTable(blockCase())
  assert.match(table, /^firstorder_Maximum +400 \| 40 \| 360 \| n\/a$/m)
  assert.match(table, /n\/a: the relative error of a value in HU is undefined when \|reference\| < 100 HU$/)
})

test('cohort counts a case only for metrics it has', () => {
  // c2 has no lesion masks, so no lesion metric at all: it is left out, not counted as missing.
  const withLesion = flattenCaseMetrics({ lesion: blockCase() })
  const cases = [
    { caseId: 'c1', centre: 'A', values: { ...withLesion, 'lung.dice': 0.9 } },
    { caseId: 'c2', centre: 'A', values: { 'lung.dice': 0.8 } },
  ]
  const summaries = summarizeCohort(cases)
  const lesionDice = summaries.find((summary) => summary.metric === 'lesion.dice')!
  assert.equal(lesionDice.overall.count, 1)
  assert.equal(lesionDice.overall.missing, 0)
  assert.equal(lesionDice.byCentre.A!.count, 1)
  const lungDice = summaries.find((summary) => summary.metric === 'lung.dice')!
  assert.equal(lungDice.overall.count, 2)
  assert.ok(Math.abs(lungDice.overall.mean - 0.85) < 1e-12)
})

test('centre names that differ in case are flagged', () => {
  const entry = (caseId: string, centre: string) => ({ row: 2, caseId, centre })
  const warnings = similarCentreWarnings([entry('a', 'CIP Boston'), entry('b', 'cip  boston'), entry('c', 'Lung-PET-CT-Dx'), entry('d', 'CIP Boston')])
  assert.deepEqual(warnings, ['the centres "CIP Boston", "cip  boston" differ only in letter case or spaces and count as 2 centres; write them alike if they are one'])
  assert.deepEqual(similarCentreWarnings([entry('a', 'A'), entry('b', 'B')]), [])
})
