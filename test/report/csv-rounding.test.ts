import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { summarizeCohort } from '../../src/metrics/cohort.js'
import { writeCohortReport, type CaseRow } from '../../src/report/cohort-report.js'
import { formatCsvNumber, parseCsv } from '../../src/report/csv.js'
import { RADIOMIC_FEATURE_NAMES } from '../../src/metrics/radiomics/radiomics.js'
import { csvPrecisionOfMetric } from '../../src/report/metric-labels.js'
import { reportCsvPrecision, reportToCsv, reportToText, type SegmentationReport } from '../../src/report/report.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-csv-rounding-'))
after(() => rmSync(folder, { recursive: true, force: true }))

test('CSV number to decimals', () => {
  assert.equal(formatCsvNumber(5492.1533877182, { decimals: 2 }), '5492.15')
  assert.equal(formatCsvNumber(-812.4669736157879, { decimals: 1 }), '-812.5')
  assert.equal(formatCsvNumber(20, { decimals: 2 }), '20')
  // -0.0000001 rounds to -0.000000, written as 0.
  assert.equal(formatCsvNumber(-0.0000001, { decimals: 6 }), '0')
})

test('CSV number to significant digits', () => {
  assert.equal(formatCsvNumber(1086427790699, { significantDigits: 6 }), '1086430000000')
  assert.equal(formatCsvNumber(0.07294614510083894, { significantDigits: 6 }), '0.0729461')
  assert.equal(formatCsvNumber(0.0000123456789, { significantDigits: 6 }), '0.0000123457')
})

test('CSV number undefined and infinite', () => {
  assert.equal(formatCsvNumber(NaN, { decimals: 2 }), '')
  assert.equal(formatCsvNumber(Infinity, { significantDigits: 6 }), 'Infinity')
})

/** Builds a report with the numbers of a real A0001 run, five of its lung features and no lesion features. */
function sampleReport(): SegmentationReport {
  return {
    colinetVersion: '0.1.0',
    input: {
      path: 'ct.nii.gz',
      description: 'NIfTI file ct.nii.gz',
      size: [512, 512, 64],
      spacingMm: [0.841796875, 0.841796875, 5],
      origin: [-228.036842, -93.0631599, -439],
      direction: [1, 0, 0, 0, 0.9999999403953552, 0.000345, 0, -0.000345, 0.9999999403953552],
    },
    models: { lung: { name: 'lung.onnx', description: 'v1', sha256: 'a1', trained: true, threshold: 0.5, thresholdSource: 'default', mirrorAveraged: false }, lesion: { name: 'lesion.onnx', description: 'v2', sha256: 'b2', trained: true, threshold: 0.8, thresholdSource: 'model metadata', mirrorAveraged: true } },
    removedLesionRegions: { minRegionMl: 2, regions: 31, volumeMl: 10.4569821, surfaceSlivers: { regions: 2, volumeMl: 6.4849 } },
    measurements: {
      lungVolumeMl: { total: 5492.1533877182, right: 3187.6721954727172, left: 2304.4811922454833 },
      lesionVolumeMl: { total: 20.564209823608397, right: 7.571625843048095, left: 12.992583980560301 },
      percentAffected: { total: 0.3744289056018539, right: 0.237528371135579, left: null },
      lungHu: { mean: -812.4669736157879, sd: 201.930912641023, voxels: 1550094 },
      lesionHu: { mean: null, sd: null, voxels: 0 },
      massIncludedInLungMl: { total: 46.1234567, right: 46.1234567, left: 0 },
    },
    radiomics: {
      lung: {
        original_firstorder_Energy: 1086427790699,
        original_firstorder_Entropy: 4.290364999850349,
        original_firstorder_Median: -865,
        original_firstorder_Mean: -812.4669736157937,
        original_firstorder_Uniformity: 0.07294614510083894,
      },
      lesion: null,
    },
    slices: { total: 64, withLung: 54, lungNetwork: 64, lesionNetwork: 54 },
    timingSeconds: { read: 0.566429396, lungNetwork: 1.648085036, total: 2.214514432 },
    nonNetworkTimeFraction: 0.6227823068476446,
    warnings: ['a, b', 'c'],
  }
}

test('report CSV keeps columns and rounds', () => {
  const [header, row, ...rest] = parseCsv(reportToCsv(sampleReport()))
  assert.equal(rest.length, 0)
  assert.deepEqual(header, [
    'colinetVersion', 'input.path', 'input.description', 'input.size', 'input.spacingMm', 'input.origin', 'input.direction',
    'models.lung.name', 'models.lung.description', 'models.lung.sha256', 'models.lung.trained', 'models.lung.threshold', 'models.lung.thresholdSource', 'models.lung.mirrorAveraged',
    'models.lesion.name', 'models.lesion.description', 'models.lesion.sha256', 'models.lesion.trained', 'models.lesion.threshold', 'models.lesion.thresholdSource', 'models.lesion.mirrorAveraged',
    'removedLesionRegions.minRegionMl', 'removedLesionRegions.regions', 'removedLesionRegions.volumeMl',
    'removedLesionRegions.surfaceSlivers.regions', 'removedLesionRegions.surfaceSlivers.volumeMl',
    'measurements.lungVolumeMl.total', 'measurements.lungVolumeMl.right', 'measurements.lungVolumeMl.left',
    'measurements.lesionVolumeMl.total', 'measurements.lesionVolumeMl.right', 'measurements.lesionVolumeMl.left',
    'measurements.percentAffected.total', 'measurements.percentAffected.right', 'measurements.percentAffected.left',
    'measurements.lungHu.mean', 'measurements.lungHu.sd', 'measurements.lungHu.voxels',
    'measurements.lesionHu.mean', 'measurements.lesionHu.sd', 'measurements.lesionHu.voxels',
    'measurements.massIncludedInLungMl.total', 'measurements.massIncludedInLungMl.right', 'measurements.massIncludedInLungMl.left',
    'radiomics.lung.original_firstorder_Energy', 'radiomics.lung.original_firstorder_Entropy', 'radiomics.lung.original_firstorder_Median',
    'radiomics.lung.original_firstorder_Mean', 'radiomics.lung.original_firstorder_Uniformity',
    ...RADIOMIC_FEATURE_NAMES.map((name) => `radiomics.lesion.${name}`),
    'slices.total', 'slices.withLung', 'slices.lungNetwork', 'slices.lesionNetwork',
    'timingSeconds.read', 'timingSeconds.lungNetwork', 'timingSeconds.total', 'nonNetworkTimeFraction', 'warnings',
  ])
  // Rounded by hand: volumes and % to 0.01, HU to 0.1, seconds to 0.01, the time fraction to
  // 1e-4 and geometry to 1e-6 (0.9999999404 is 1). Features keep 6 significant digits and counts stay whole.
  assert.deepEqual(row, [
    '0.1.0', 'ct.nii.gz', 'NIfTI file ct.nii.gz', '512 512 64', '0.841797 0.841797 5', '-228.036842 -93.06316 -439',
    '1 0 0 0 1 0.000345 0 -0.000345 1',
    'lung.onnx', 'v1', 'a1', 'true', '0.5', 'default', 'false', 'lesion.onnx', 'v2', 'b2', 'true', '0.8', 'model metadata', 'true',
    '2', '31', '10.46', '2', '6.48',
    '5492.15', '3187.67', '2304.48',
    '20.56', '7.57', '12.99',
    '0.37', '0.24', '',
    '-812.5', '201.9', '1550094',
    '', '', '0',
    '46.12', '46.12', '0',
    '1086430000000', '4.29036', '-865', '-812.467', '0.0729461',
    ...RADIOMIC_FEATURE_NAMES.map(() => ''),
    '64', '54', '64', '54',
    '0.57', '1.65', '2.21', '0.6228', 'a, b | c',
  ])
})

test('report CSV columns do not depend on the lesion', () => {
  // Rows of scans with and without lesion must line up when appended into one table.
  const withLesion = sampleReport()
  withLesion.radiomics.lesion = Object.fromEntries(RADIOMIC_FEATURE_NAMES.map((name) => [name, 1]))
  const [headerWith] = parseCsv(reportToCsv(withLesion))
  const [headerWithout, rowWithout] = parseCsv(reportToCsv(sampleReport()))
  assert.deepEqual(headerWithout, headerWith)
  assert.equal(rowWithout.length, headerWith.length)
  assert.equal(headerWith.filter((name) => name.startsWith('radiomics.lesion.')).length, 32)
})

test('report CSV rounds every number column', () => {
  const [header, row] = parseCsv(reportToCsv(sampleReport()))
  const numeric = header.filter((_, index) => row[index] !== '' && row[index].split(' ').every((part) => Number.isFinite(Number(part))))
  for (const column of numeric) assert.notEqual(reportCsvPrecision(column), undefined, `${column} has no rounding rule`)
})

test('printed report names removed regions', () => {
  const lines = reportToText(sampleReport()).split('\n')
  assert.ok(lines.includes('             31 regions under 2 mL removed (10.5 mL in all; --min-lesion-ml 0 keeps them)'), lines.join('\n'))
  assert.ok(lines.includes("             2 regions in one slice on the lung's top or bottom surface removed (6.5 mL in all; --min-lesion-ml 0 keeps them)"), lines.join('\n'))
})

test('printed report splits the time', () => {
  // 2.21 s in all with a fraction of 0.6228 outside the networks: 0.83 s and 1.38 s (by hand).
  const lines = reportToText(sampleReport()).split('\n')
  assert.ok(lines.includes('time         2.2 s (networks 0.8 s, reading, clean-up, measuring and writing 1.4 s)'), lines.join('\n'))
})

test('printed report qualifies the built-in lesion model', () => {
  const note = (name: string) => reportToText({ ...sampleReport(), models: { ...sampleReport().models, lesion: { ...sampleReport().models.lesion, name } } })
  assert.match(note('models/lesion.onnx'), /\n {13}the built-in lesion model learned from simulated pneumonia only \(Dice on simulated lesions in a held-out scan: 0\.74 at 5 % of the lung to 0\.85 at 35 %/)
  assert.doesNotMatch(note('lesion.onnx'), /simulated pneumonia/)
})

test('metric CSV precision by unit', () => {
  assert.deepEqual(csvPrecisionOfMetric('lesion.hausdorff95Mm'), { decimals: 3 })
  assert.deepEqual(csvPrecisionOfMetric('lung.referenceVolumeMl'), { decimals: 2 })
  assert.deepEqual(csvPrecisionOfMetric('lung.predictedMeanHu'), { decimals: 1 })
  assert.deepEqual(csvPrecisionOfMetric('lesion.radiomics.original_firstorder_Mean.relativeErrorPercent'), { decimals: 2 })
  assert.deepEqual(csvPrecisionOfMetric('lesion.dice'), { significantDigits: 6 })
  assert.deepEqual(csvPrecisionOfMetric('lesionLungRatio.predictedRatio'), { significantDigits: 6 })
})

test('cohort CSV files round', () => {
  const cases: CaseRow[] = [
    { caseId: 'c1', centre: 'A', values: { 'lesion.dice': 6 / 7, 'lesion.hausdorff95Mm': 1.2345678, 'lesion.predictedVolumeMl': 12.345678, 'lesion.falsePositiveRate': 0.0000123456789 } },
    { caseId: 'c2', centre: 'A', values: { 'lesion.dice': 1, 'lesion.hausdorff95Mm': 0.5, 'lesion.predictedVolumeMl': 10, 'lesion.falsePositiveRate': 0 } },
  ]
  const output = join(folder, 'cohort')
  mkdirSync(output)
  writeCohortReport(output, cases, summarizeCohort(cases))

  const casesCsv = readFileSync(join(output, 'cases.csv'), 'utf8').trim().split('\n')
  assert.equal(casesCsv[0], 'case,centre,lesion.dice,lesion.hausdorff95Mm,lesion.predictedVolumeMl,lesion.falsePositiveRate')
  assert.equal(casesCsv[1], 'c1,A,0.857143,1.235,12.35,0.0000123457')
  assert.equal(casesCsv[2], 'c2,A,1,0.5,10,0')

  // Dice 6/7 and 1: mean 13/14 = 0.9285714, SD (1/7)/√2 = 0.1010153, CI half-width
  // t(0.975, 1) · SD / √2 = 12.7062047 / 14 = 0.9075861, so 0.0209854 to 1.836157.
  const summaryCsv = readFileSync(join(output, 'summary.csv'), 'utf8').trim().split('\n')
  assert.equal(summaryCsv[0], 'metric,group,n,missing,min,max,mean,sd,ci95_low,ci95_high')
  assert.ok(summaryCsv.includes('lesion.dice,A,2,0,0.857143,1,0.928571,0.101015,0.0209854,1.83616'), summaryCsv.join('\n'))
  // HD95 1.2345678 and 0.5 mm to 0.001 mm: mean 0.8672839, SD 0.7345678 / √2 = 0.5194179, CI
  // 0.8672839 ∓ 12.7062047 · 0.5194179 / √2 = -3.7995005 to 5.5340683.
  assert.ok(summaryCsv.includes('lesion.hausdorff95Mm,overall,2,0,0.5,1.235,0.867,0.519,-3.8,5.534'), summaryCsv.join('\n'))
})
