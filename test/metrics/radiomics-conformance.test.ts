import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test, type TestContext } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { computeRadiomics, type RadiomicsOptions } from '../../src/metrics/radiomics/radiomics.js'
import { parseCsv } from '../../src/report/csv.js'
import { requireSharedData } from '../support/data.js'

/**
 * Checks colinet's features against PyRadiomics' own baseline CSVs: one column per test case and
 * settings variant, one row per feature, and a diagnostics_Configuration_Settings row with the
 * settings of each column as a Python dict. Columns whose image is present and whose settings
 * colinet supports (no resampling) are checked.
 */
const FOLDER = 'radiomics/pyradiomics'
const CASES = ['brain1', 'breast1']

/** Features built on the marching-cubes mesh, whose triangulation differs slightly from PyRadiomics'. */
const MESH_FEATURES = new Set(['MeshVolume', 'SurfaceArea', 'SurfaceVolumeRatio', 'Sphericity'])
const MESH_TOLERANCE = 5e-3
const TOLERANCE = 1e-4

interface BaselineColumn {
  name: string
  caseName: string
  settings: string
  values: Map<string, number>
}

function readBaseline(path: string): BaselineColumn[] {
  const rows = parseCsv(readFileSync(path, 'utf8'))
  const header = rows[0]
  const columns: BaselineColumn[] = []
  for (let c = 1; c < header.length; c++) {
    const values = new Map<string, number>()
    let settings = ''
    let caseName = ''
    for (const row of rows.slice(1)) {
      if (row[0] === 'diagnostics_Configuration_Settings') settings = row[c]
      if (row[0] === 'diagnostics_Configuration_TestCase') caseName = row[c]
      if (row[0].startsWith('original_')) values.set(row[0], Number(row[c]))
    }
    columns.push({ name: header[c], caseName, settings, values })
  }
  return columns
}

/** Reads one setting from the Python dict text, e.g. 'binWidth': 25 or 'resegmentRange': [-3, 3]. */
function setting(settings: string, key: string): string | undefined {
  const match = new RegExp(`'${key}': ('[^']*'|\\[[^\\]]*\\]|[^,}]+)`).exec(settings)
  return match?.[1].trim()
}

/** Translates a column's settings into RadiomicsOptions, or returns why they are not supported. */
function optionsFromSettings(settings: string): RadiomicsOptions | string {
  const spacing = setting(settings, 'resampledPixelSpacing')
  if (spacing !== undefined && spacing !== 'None') return `resampling to ${spacing} mm is not supported`
  const outliers = setting(settings, 'removeOutliers')
  if (outliers !== undefined && outliers !== 'None') return 'removeOutliers is not supported'
  const options: RadiomicsOptions = {
    label: Number(setting(settings, 'label') ?? 1),
    binWidth: Number(setting(settings, 'binWidth') ?? 25),
    voxelArrayShift: Number(setting(settings, 'voxelArrayShift') ?? 0),
    normalize: setting(settings, 'normalize') === 'True',
    normalizeScale: Number(setting(settings, 'normalizeScale') ?? 1),
  }
  const range = setting(settings, 'resegmentRange')
  if (range !== undefined && range !== 'None') {
    const bounds = JSON.parse(range) as [number, number]
    options.resegmentRange = bounds
    options.resegmentMode = setting(settings, 'resegmentMode') === "'sigma'" ? 'sigma' : 'absolute'
  }
  return options
}

async function checkBaseline(t: TestContext, file: string, family: 'firstorder' | 'shape'): Promise<void> {
  const baselinePath = requireSharedData(t, `${FOLDER}/${file}`)
  if (baselinePath === undefined) return
  let checkedColumns = 0
  for (const column of readBaseline(baselinePath)) {
    if (!CASES.includes(column.caseName)) continue
    const options = optionsFromSettings(column.settings)
    if (typeof options === 'string') {
      t.diagnostic(`${column.name}: not checked, ${options}`)
      continue
    }
    const image = (await readVolume(requireSharedData(t, `${FOLDER}/${column.caseName}_image.nrrd`)!)).volume
    const mask = (await readVolume(requireSharedData(t, `${FOLDER}/${column.caseName}_label.nrrd`)!)).volume
    const features = computeRadiomics(image, mask, options)

    for (const [name, expected] of column.values) {
      if (!name.startsWith(`original_${family}_`)) continue
      const feature = name.slice(`original_${family}_`.length)
      const actual = features[name]
      assert.ok(actual !== undefined, `${column.name}: colinet does not compute ${name}`)
      const tolerance = MESH_FEATURES.has(feature) ? MESH_TOLERANCE : TOLERANCE
      const relative = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12)
      assert.ok(relative <= tolerance, `${column.name} ${name}: ${actual} vs PyRadiomics ${expected} (relative ${relative.toExponential(2)})`)
    }
    checkedColumns++
  }
  // The default-settings columns of both cases must be among those checked.
  assert.ok(checkedColumns >= 2, `only ${checkedColumns} baseline columns checked`)
}

test('first-order features match PyRadiomics', async (t) => {
  await checkBaseline(t, 'baseline_firstorder.csv', 'firstorder')
})

test('shape features match PyRadiomics', async (t) => {
  await checkBaseline(t, 'baseline_shape.csv', 'shape')
})
