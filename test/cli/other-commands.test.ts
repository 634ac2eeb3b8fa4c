import assert from 'node:assert/strict'
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { writeVolume } from '../../src/io/write.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { runColinet } from '../support/cli.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-commands-'))
after(() => rmSync(folder, { recursive: true, force: true }))

/** Writes the analytic chest's CT and lung labels as `<prefix>-ct.nii.gz` and `<prefix>-lung.nii.gz`. */
async function writeChest(prefix: string): Promise<{ ct: string; lung: string }> {
  const chest = createAnalyticChest([48, 40, 6])
  const paths = { ct: join(folder, `${prefix}-ct.nii.gz`), lung: join(folder, `${prefix}-lung.nii.gz`) }
  await writeVolume(paths.ct, chest.ct)
  await writeVolume(paths.lung, chest.lung)
  return paths
}

test('evaluate rejects a label neither mask has', async () => {
  const chest = createAnalyticChest([32, 28, 6])
  const mask = join(folder, 'lung.nii.gz')
  await writeVolume(mask, chest.lung)
  const run = runColinet(['evaluate', '--pred', mask, '--ref', mask, '--label', '3'])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /--label 3: neither the predicted nor the reference mask contains label 3/)
})

test('evaluate warns of a label one mask lacks', async () => {
  const chest = createAnalyticChest([32, 28, 6])
  const both = join(folder, 'both-lungs.nii.gz')
  const rightOnly = join(folder, 'right-lung.nii.gz')
  await writeVolume(both, chest.lung)
  await writeVolume(rightOnly, { ...chest.lung, data: chest.lung.data.map((label) => (label === 2 ? 0 : label)) })

  // Label 2 (left lung) is only in the reference: no voxel is a true positive, so Dice = 2·0 / (0 + FN) = 0.
  const missingInPrediction = runColinet(['evaluate', '--pred', rightOnly, '--ref', both, '--label', '2', '--json', '--no-radiomics'])
  assert.equal(missingInPrediction.status, 0)
  assert.match(missingInPrediction.stderr, /warning: --label 2: the reference mask \S*both-lungs\.nii\.gz contains label 2 but the predicted mask \S*right-lung\.nii\.gz does not/)
  const metrics = JSON.parse(missingInPrediction.stdout).metrics
  assert.equal(metrics.dice, 0)
  assert.equal(metrics.hausdorffDistanceMm, null)

  const missingInReference = runColinet(['evaluate', '--pred', both, '--ref', rightOnly, '--label', '2', '--json', '--no-radiomics'])
  assert.equal(missingInReference.status, 0)
  assert.match(missingInReference.stderr, /warning: --label 2: the predicted mask \S*both-lungs\.nii\.gz contains label 2 but the reference mask \S*right-lung\.nii\.gz does not/)

  const inBoth = runColinet(['evaluate', '--pred', rightOnly, '--ref', both, '--label', '1', '--json', '--no-radiomics'])
  assert.equal(inBoth.status, 0)
  assert.doesNotMatch(inBoth.stderr, /warning/)
  assert.equal(JSON.parse(inBoth.stdout).metrics.dice, 1)
})

test('evaluate rejects a CT that is not in HU', async () => {
  const chest = createAnalyticChest([32, 28, 6])
  const mask = join(folder, 'lung-hu.nii.gz')
  const ct = join(folder, 'eight-bit.nii.gz')
  await writeVolume(mask, chest.lung)
  await writeVolume(ct, { ...chest.ct, data: Uint8Array.from(chest.ct.data, (hu) => Math.round((hu + 1000) / 8)) })
  const run = runColinet(['evaluate', '--pred', mask, '--ref', mask, '--ct', ct])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /expected a CT in Hounsfield units/)
})

test('label-lungs without lungs exits 2 and writes nothing', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'no-lungs.nii.gz')
  await writeVolume(input, { ...chest.ct, data: Int16Array.from(chest.ct.data, (hu) => (hu === -850 ? 40 : hu)) })
  const output = join(folder, 'label.nii.gz')
  const run = runColinet(['label-lungs', input, '-o', output])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /no lung found in .*no-lungs\.nii\.gz/)
  assert.equal(existsSync(output), false)
})

test('colinet without a command exits 2', () => {
  const run = runColinet([])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /Usage: colinet <command>/)
})

test('label-lungs never overwrites its input', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'label-input.nii.gz')
  await writeVolume(input, chest.ct)
  const before = readFileSync(input)
  const link = join(folder, 'label-input-link.nii.gz')
  linkSync(input, link)
  for (const output of [input, link]) {
    const run = runColinet(['label-lungs', input, '-o', output, '--force'])
    assert.equal(run.status, 2, output)
    assert.match(run.stderr, /-o .*label-input(-link)?\.nii\.gz is the input .*label-input\.nii\.gz \(the CT\), which writing would destroy, also with --force/)
  }
  assert.deepEqual(readFileSync(input), before)
})

test('simulate-lesions never overwrites its inputs', async () => {
  const { ct, lung } = await writeChest('simulate')
  const before = [readFileSync(ct), readFileSync(lung)]
  const lesion = join(folder, 'simulate-lesion.nii.gz')
  const cases: [string[], RegExp][] = [
    [['-o', ct, '--lesion-output', lesion], /-o .*simulate-ct\.nii\.gz is the input .*simulate-ct\.nii\.gz \(the CT\)/],
    [['-o', join(folder, 'simulated.nii.gz'), '--lesion-output', lung], /--lesion-output .*simulate-lung\.nii\.gz is the input .*simulate-lung\.nii\.gz \(--lung\)/],
  ]
  for (const [outputs, message] of cases) {
    const run = runColinet(['simulate-lesions', ct, '--lung', lung, ...outputs, '--force'])
    assert.equal(run.status, 2, outputs.join(' '))
    assert.match(run.stderr, message)
  }
  assert.deepEqual([readFileSync(ct), readFileSync(lung)], before)
  assert.equal(existsSync(lesion), false)
  assert.equal(existsSync(join(folder, 'simulated.nii.gz')), false)
})

test('simulate-lesions rejects one file for both outputs', async () => {
  const { ct, lung } = await writeChest('both')
  const output = join(folder, 'both-out.nii.gz')
  for (const force of [[], ['--force']]) {
    const run = runColinet(['simulate-lesions', ct, '--lung', lung, '-o', output, '--lesion-output', output, ...force])
    assert.equal(run.status, 2)
    assert.match(run.stderr, /--lesion-output and -o name the same file, .*both-out\.nii\.gz; give each output its own file/)
    assert.equal(existsSync(output), false)
  }
})

test('radiomics writes CSV and JSON files', async () => {
  const { ct, lung } = await writeChest('radiomics')
  const printed = runColinet(['radiomics', '--ct', ct, '--mask', lung, '--label', '2', '--json', '-o', join(folder, 'features.csv')])
  assert.equal(printed.status, 0, printed.stderr)
  const features = JSON.parse(printed.stdout) as Record<string, number>
  const [header, row, ...rest] = readFileSync(join(folder, 'features.csv'), 'utf8').trimEnd().split('\n')
  assert.equal(rest.length, 0)
  assert.deepEqual(header!.split(','), ['ct', 'mask', 'label', ...Object.keys(features)])
  const cells = row!.split(',')
  assert.deepEqual(cells.slice(0, 3), [ct, lung, '2'])
  Object.values(features).forEach((value, n) => assert.ok(Math.abs(Number(cells[3 + n]) - value) <= Math.abs(value) * 1e-9, header!.split(',')[3 + n]))

  const json = join(folder, 'features.json')
  assert.equal(runColinet(['radiomics', '--ct', ct, '--mask', lung, '-o', json]).status, 0)
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).label, null)
  const again = runColinet(['radiomics', '--ct', ct, '--mask', lung, '-o', json])
  assert.equal(again.status, 2)
  assert.match(again.stderr, /features\.json already exists; add --force to overwrite it/)
})

test('radiomics rejects a mask given as CT', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const lung = join(folder, 'radiomics-mask-as-ct.nii.gz')
  await writeVolume(lung, chest.lung)
  const run = runColinet(['radiomics', '--ct', lung, '--mask', lung])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /--ct .*radiomics-mask-as-ct\.nii\.gz: expected a CT in Hounsfield units/)
})
