import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { SegmentationModel } from '../../src/pipeline/model.js'
import { BUILT_IN_LESION_MODEL_NAME, describeLesionWithinFalsePositiveRange } from '../../src/pipeline/models.js'
import type { LungMeasurements } from '../../src/report/measurements.js'
import { lesionVolumeCautions } from '../../src/report/report.js'
import { runColinet } from '../support/cli.js'
import { requireSharedData } from '../support/data.js'

test('small lesion volume gets a caution', () => {
  // 10 mL of a 4000 mL lung is 0.25 %, shown as 0.3 %.
  const caution = describeLesionWithinFalsePositiveRange(10, 4000)
  assert.match(caution ?? '', /^the lesion mask is 10\.0 mL \(0\.3 % of the lung\), within what the built-in lesion model marks/)
  assert.match(caution ?? '', /up to 17 mL/)
})

test('caution bounds: empty, at and above the range', () => {
  assert.equal(describeLesionWithinFalsePositiveRange(0, 4000), undefined)
  assert.notEqual(describeLesionWithinFalsePositiveRange(17, 4000), undefined)
  assert.equal(describeLesionWithinFalsePositiveRange(17.1, 4000), undefined)
})

test('caution only for built-in model', () => {
  const measurements = { lesionVolumeMl: { total: 10, right: 10, left: 0 }, lungVolumeMl: { total: 5000, right: 2500, left: 2500 } } as unknown as LungMeasurements
  const model = (name: string, threshold: number) => ({ name, threshold, modelThreshold: 0.7 }) as SegmentationModel
  const averaged = (minRegionMl: number) => ({ minRegionMl, mirrorAveraged: true })
  assert.equal(lesionVolumeCautions(model('runs/lesion/best.onnx', 0.7), measurements, averaged(2)).length, 0)
  assert.equal(lesionVolumeCautions(model('runs/lesion/best.onnx', 0.5), measurements, averaged(0)).length, 0)

  // With its own settings or stricter ones the built-in model's false positives are at most the measured ones.
  const atOwn = lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.7), measurements, averaged(2))
  assert.equal(atOwn.length, 1)
  assert.match(atOwn[0]!, /within what the built-in lesion model marks/)
  assert.match(lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.9), measurements, averaged(5))[0] ?? '', /within what the built-in lesion model marks/)

  const below = lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.5), measurements, averaged(2))
  assert.equal(below.length, 1)
  assert.match(below[0]!, /^the lesion threshold 0\.5 is below the built-in lesion model's 0\.7; with its own settings the model marks up to 17 mL/)
  const smaller = lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.7), measurements, averaged(0.5))
  assert.match(smaller[0] ?? '', /^lesion regions from 0\.5 mL are kept instead of from 2 mL; with its own settings/)
  const both = lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.6), measurements, averaged(0))
  assert.match(both[0] ?? '', /^the lesion threshold 0\.6 is below the built-in lesion model's 0\.7 and every lesion region is kept \(--min-lesion-ml 0\), also those under 2 mL and one-slice slivers on the lung's top or bottom surface; with its own settings/)

  const single = lesionVolumeCautions(model(BUILT_IN_LESION_MODEL_NAME, 0.7), measurements, { minRegionMl: 2, mirrorAveraged: false })
  assert.match(single[0] ?? '', /^the lesion network ran without mirror averaging \(--no-mirror-average\); with its own settings/)
  assert.match(single[0] ?? '', /its false positives were not measured and may be larger; check the lesion mask in the overview$/)
  assert.equal(lesionVolumeCautions(model('runs/lesion/best.onnx', 0.7), measurements, { minRegionMl: 2, mirrorAveraged: false }).length, 0)
})

test('segment cautions on the lesion-free CIP scan', (t) => {
  const input = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  if (input === undefined) return
  const output = mkdtempSync(join(tmpdir(), 'colinet-caution-'))
  try {
    const run = runColinet(['segment', input, '-o', join(output, 'out')])
    assert.equal(run.status, 0, run.stderr)
    // The CIP patient has no pneumonia, and the shipped model marks 16.93 mL there (models/lesion.md).
    const report = JSON.parse(readFileSync(join(output, 'out', 'report.json'), 'utf8')) as { warnings: string[] }
    assert.ok(report.warnings.some((w) => w.includes('within what the built-in lesion model marks')), report.warnings.join('\n'))
    assert.match(run.stderr, /it may contain no pneumonia/)
  } finally {
    rmSync(output, { recursive: true, force: true })
  }
})
