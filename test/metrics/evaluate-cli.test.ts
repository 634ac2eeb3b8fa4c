import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { runEvaluateCommand } from '../../src/cli/evaluate.js'
import { InputError } from '../../src/errors.js'
import { writeVolume } from '../../src/io/write.js'
import { createVolume, type Geometry } from '../../src/volume/volume.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-evaluate-'))
after(() => rmSync(folder, { recursive: true, force: true }))

const geometry: Geometry = { size: [24, 20, 12], spacingMm: [1.5, 1.5, 2.5], origin: [-10, 5, 30], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }

/** Writes a box mask [x0, x1) x [4, 16) x [2, 10) with the given label, and a CT of -800 HU lung and 0 HU elsewhere. */
async function writeBox(name: string, x0: number, x1: number, label = 1, g: Geometry = geometry): Promise<string> {
  const volume = createVolume(g, Uint8Array)
  for (let k = 2; k < 10; k++) for (let j = 4; j < 16; j++) for (let i = x0; i < x1; i++) volume.data[i + g.size[0] * (j + g.size[1] * k)] = label
  const path = join(folder, name)
  await writeVolume(path, volume, { force: true })
  return path
}

async function writeCt(): Promise<string> {
  const ct = createVolume(geometry, Int16Array)
  for (let n = 0; n < ct.data.length; n++) ct.data[n] = n % 7 === 0 ? -700 : -850
  const path = join(folder, 'ct.nrrd')
  await writeVolume(path, ct, { force: true })
  return path
}

test('evaluate single case writes metrics', async () => {
  const prediction = await writeBox('pred.nrrd', 4, 14)
  const reference = await writeBox('ref.nrrd', 6, 16, 2)
  const ct = await writeCt()
  const output = join(folder, 'single')
  const status = await runEvaluateCommand(['--pred', prediction, '--ref', reference, '--ct', ct, '-o', output, '--json'])
  assert.equal(status, 0)
  const document = JSON.parse(readFileSync(join(output, 'metrics.json'), 'utf8'))
  // Boxes of 10 voxels along x offset by 2: TP 8, FP 2, FN 2 per line → Dice 16 / 20.
  assert.equal(document.metrics.dice, 0.8)
  assert.ok(readFileSync(join(output, 'metrics.csv'), 'utf8').includes('hausdorffDistanceMm,3'))
})

test('evaluate rejects different grids', async () => {
  const shifted = { ...geometry, origin: [-9, 5, 30] as [number, number, number] }
  const prediction = await writeBox('pred-shifted.nrrd', 4, 14, 1, shifted)
  const reference = await writeBox('ref-grid.nrrd', 6, 16)
  await assert.rejects(runEvaluateCommand(['--pred', prediction, '--ref', reference]), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /different grids.*--resample nearest/s)
    return true
  })
})

test('evaluate resamples with --resample nearest', async () => {
  // The prediction grid is shifted by exactly one voxel (1.5 mm) in x, so resampling is exact.
  const shifted = { ...geometry, origin: [-8.5, 5, 30] as [number, number, number] }
  const prediction = await writeBox('pred-one-voxel.nrrd', 5, 15, 1, shifted)
  const reference = await writeBox('ref-one-voxel.nrrd', 6, 16)
  const output = join(folder, 'resampled')
  await runEvaluateCommand(['--pred', prediction, '--ref', reference, '--resample', 'nearest', '-o', output, '--no-radiomics'])
  const document = JSON.parse(readFileSync(join(output, 'metrics.json'), 'utf8'))
  assert.equal(document.metrics.dice, 1)
})

test('evaluate --force replaces earlier results only', async () => {
  const prediction = await writeBox('pred-force.nrrd', 4, 14)
  const reference = await writeBox('ref-force.nrrd', 6, 16)
  const output = join(folder, 'forced')
  const run = (...extra: string[]): Promise<number> =>
    runEvaluateCommand(['--pred', prediction, '--ref', reference, '-o', output, '--no-radiomics', '--json', ...extra])
  await run()
  await assert.rejects(run(), /already exists and is not empty.*--force/)

  // Dice of the boxes x 4..13 and x 6..15 is 16 / 20; after --force with the reference as the
  // prediction the file holds Dice 1.
  await runEvaluateCommand(['--pred', reference, '--ref', reference, '-o', output, '--no-radiomics', '--json', '--force'])
  assert.equal(JSON.parse(readFileSync(join(output, 'metrics.json'), 'utf8')).metrics.dice, 1)

  writeFileSync(join(output, 'notes.txt'), 'kept')
  await assert.rejects(run('--force'), /also contains notes\.txt/)
  assert.equal(readFileSync(join(output, 'notes.txt'), 'utf8'), 'kept')
})

test('evaluate rejects a file as output folder', async () => {
  const prediction = await writeBox('pred-file-output.nrrd', 4, 14)
  const output = join(folder, 'not-a-folder.txt')
  writeFileSync(output, 'kept')
  await assert.rejects(runEvaluateCommand(['--pred', prediction, '--ref', prediction, '-o', output]), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /output path .*not-a-folder\.txt is a file; expected a folder/)
    return true
  })
  assert.equal(readFileSync(output, 'utf8'), 'kept')
})

test('evaluate reports a missing file', async () => {
  await assert.rejects(runEvaluateCommand(['--pred', join(folder, 'absent.nrrd'), '--ref', join(folder, 'absent.nrrd')]), /file not found/)
})

test('cohort writes tables and figures', async () => {
  const ct = await writeCt()
  const lungPrediction = await writeBox('lung-pred.nrrd', 2, 20)
  const lungReference = await writeBox('lung-ref.nrrd', 2, 21)
  const lesionA = await writeBox('lesion-a.nrrd', 6, 10)
  const lesionB = await writeBox('lesion-b.nrrd', 7, 10)
  const manifest = join(folder, 'cohort.csv')
  writeFileSync(
    manifest,
    'case,centre,ct,pred_lung,ref_lung,pred_lesion,ref_lesion\n' +
      `c1,A,ct.nrrd,lung-pred.nrrd,lung-ref.nrrd,lesion-a.nrrd,lesion-b.nrrd\n` +
      `c2,A,${ct},${lungReference},${lungReference},${lesionB},${lesionB}\n` +
      `c3,B,ct.nrrd,lung-ref.nrrd,lung-pred.nrrd,lesion-b.nrrd,lesion-a.nrrd\n`,
  )
  const output = join(folder, 'cohort-results')
  assert.equal(await runEvaluateCommand(['--cohort', manifest, '-o', output]), 0)
  for (const file of ['cases.csv', 'summary.csv', 'summary.json', 'report.md', 'report.html', 'figures/box-lung.dice.svg', 'figures/box-lesion.dice.png', 'figures/heatmap-lesion-radiomics.png']) {
    assert.ok(existsSync(join(output, file)), `${file} missing`)
  }
  const summary = JSON.parse(readFileSync(join(output, 'summary.json'), 'utf8')) as Array<{ metric: string; byCentre: Record<string, { count: number; mean: number }> }>
  const lesionDice = summary.find((entry) => entry.metric === 'lesion.dice')!
  // Centre A: c1 has 4 vs 3 voxels along x with 3 shared → Dice 6 / 7, c2 is identical → 1.
  assert.equal(lesionDice.byCentre.A.count, 2)
  assert.ok(Math.abs(lesionDice.byCentre.A.mean - (6 / 7 + 1) / 2) < 1e-12)
})

test('cohort rejects a missing column', async () => {
  const manifest = join(folder, 'bad-columns.csv')
  writeFileSync(manifest, 'case,centre,ct,pred_lung,ref_lung\nc1,A,ct.nrrd,lung-pred.nrrd,lung-ref.nrrd\n')
  await assert.rejects(runEvaluateCommand(['--cohort', manifest, '-o', join(folder, 'never')]), /missing column\(s\) pred_lesion, ref_lesion \(found case, centre, ct, pred_lung, ref_lung\)/)
  assert.equal(existsSync(join(folder, 'never')), false)
  // A spreadsheet in a locale with decimal commas writes semicolons between fields.
  writeFileSync(manifest, 'case;centre;ct;pred_lung;ref_lung;pred_lesion;ref_lesion\nc1;A;;lung-pred.nrrd;lung-ref.nrrd;;\n')
  await assert.rejects(runEvaluateCommand(['--cohort', manifest, '-o', join(folder, 'never')]), /the file seems to use semicolons, and colinet expects commas between fields/)
})

test('cohort names the spreadsheet row of a missing file', async () => {
  const manifest = join(folder, 'bad-file.csv')
  // Header names in any letter case, and center for centre, as in the training manifest.
  writeFileSync(manifest, 'Case,Center,CT,pred_lung,ref_lung,pred_lesion,ref_lesion\nc1,A,,lung-pred.nrrd,lung-ref.nrrd,,\nc2,A,,nowhere.nrrd,lung-ref.nrrd,,\n')
  await assert.rejects(runEvaluateCommand(['--cohort', manifest, '-o', join(folder, 'never2')]), /row 3 \(case c2\), column pred_lung: file not found/)
  assert.equal(existsSync(join(folder, 'never2')), false)
})

test('cohort warns of a label one mask lacks', async () => {
  await writeBox('lung-label-one.nrrd', 2, 20)
  await writeBox('lesion-label-two.nrrd', 6, 10, 2)
  const manifest = join(folder, 'label-cohort.csv')
  writeFileSync(
    manifest,
    'case,centre,ct,pred_lung,ref_lung,pred_lesion,ref_lesion\n' +
      'c1,A,,lung-label-one.nrrd,lung-label-one.nrrd,lung-label-one.nrrd,lesion-label-two.nrrd\n',
  )
  const messages: string[] = []
  const printError = console.error
  console.error = (...args: unknown[]) => messages.push(args.join(' '))
  try {
    await runEvaluateCommand(['--cohort', manifest, '-o', join(folder, 'label-cohort'), '--label', '1', '--no-radiomics'])
  } finally {
    console.error = printError
  }
  const warnings = messages.filter((message) => message.startsWith('warning:'))
  // The lung pair contains label 1 on both sides; only the lesion reference lacks it.
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!, /row 2 \(case c1\): --label 1: the predicted mask \S*lung-label-one\.nrrd contains label 1 but the reference mask \S*lesion-label-two\.nrrd does not/)
  const cases = JSON.parse(readFileSync(join(folder, 'label-cohort', 'cases.json'), 'utf8')) as Array<{ values: Record<string, number | null> }>
  assert.equal(cases[0]!.values['lesion.dice'], 0)
})
