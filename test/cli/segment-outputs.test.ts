import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { writeVolume } from '../../src/io/write.js'
import { describeGeometryMismatch } from '../../src/volume/volume.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { requireSharedData } from '../support/data.js'
import { runColinet } from '../support/cli.js'
import { createHuBandModel } from '../support/threshold-model.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-outputs-'))
after(() => rmSync(folder, { recursive: true, force: true }))

test('segment writes NRRD masks, report and overview', async () => {
  // The analytic chest with a tilted, flipped direction, saved as NRRD.
  const chest = createAnalyticChest([64, 56, 12], [5, 5, 8])
  const ct = { ...chest.ct, direction: Float64Array.from([-0.98, 0.2, 0, -0.2, -0.98, 0, 0, 0, 1]) }
  const input = join(folder, 'chest.nrrd')
  await writeVolume(input, ct)
  writeFileSync(join(folder, 'lung.onnx'), createHuBandModel(-950, -500, 'lung'))
  writeFileSync(join(folder, 'lesion.onnx'), createHuBandModel(-700, -300, 'lesion'))
  const output = join(folder, 'out')

  // --format takes any letter case.
  const run = runColinet(['segment', input, '-o', output, '--format', 'NRRD', '--json', '--quiet',
    '--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')])
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stderr, '')
  assert.deepEqual(readdirSync(output).sort(), ['labels.nrrd', 'lesion.nrrd', 'lung.nrrd', 'overview.png', 'report.csv', 'report.json'])

  const written = await readVolume(input)
  for (const name of ['lung', 'lesion', 'labels']) {
    const { volume } = await readVolume(join(output, `${name}.nrrd`))
    assert.equal(describeGeometryMismatch(volume, written.volume, 1e-4), undefined, name)
  }
  const report = JSON.parse(run.stdout)
  assert.deepEqual(JSON.parse(readFileSync(join(output, 'report.json'), 'utf8')), report)
  // Ellipsoid volumes 4/3·π·abc in voxels (semi-axes from createAnalyticChest on 64 x 56 x 12),
  // at 0.2 mL per 5 x 5 x 8 mm voxel: 677.8 mL at small i, 524.6 mL at large i. Index axis 0
  // points to the patient's right (-x) here, so the lung at large i is the right lung.
  const ellipsoidMl = (a: number, b: number, c: number): number => ((4 / 3) * Math.PI * a * b * c * 200) / 1000
  const rightMl = ellipsoidMl(0.14 * 64, 0.26 * 56, 0.4 * 12)
  const leftMl = ellipsoidMl(0.16 * 64, 0.28 * 56, 0.42 * 12)
  assert.ok(Math.abs(report.measurements.lungVolumeMl.right / rightMl - 1) < 0.03, `right ${report.measurements.lungVolumeMl.right} mL`)
  assert.ok(Math.abs(report.measurements.lungVolumeMl.left / leftMl - 1) < 0.03, `left ${report.measurements.lungVolumeMl.left} mL`)
  assert.equal(report.models.lung.trained, true)
  // The report names the exact model files by their SHA-256.
  assert.equal(report.models.lung.sha256, createHash('sha256').update(readFileSync(join(folder, 'lung.onnx'))).digest('hex'))
  assert.equal(report.models.lesion.sha256, createHash('sha256').update(readFileSync(join(folder, 'lesion.onnx'))).digest('hex'))
  assert.match(report.models.lesion.description, /^lesion model, trained/)
  assert.equal(readFileSync(join(output, 'overview.png')).subarray(1, 4).toString('latin1'), 'PNG')

  const csv = readFileSync(join(output, 'report.csv'), 'utf8').trim().split('\n')
  assert.equal(csv.length, 2)
  assert.ok(csv[0].split(',').includes('measurements.percentAffected.total'))
})

test('segment --force replaces masks of the other format', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'small.nii.gz')
  await writeVolume(input, chest.ct)
  const output = join(folder, 'formats')
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  assert.equal(runColinet(['segment', input, '-o', output, '--quiet', ...models]).status, 0)

  const run = runColinet(['segment', input, '-o', output, '--quiet', '--force', '--format', 'nrrd', ...models])
  assert.equal(run.status, 0, run.stderr)
  assert.deepEqual(readdirSync(output).sort(), ['labels.nrrd', 'lesion.nrrd', 'lung.nrrd', 'overview.png', 'report.csv', 'report.json'])
})

test('segment without --force refuses a folder with masks in the other format', async () => {
  // Masks alone, as left when a user deleted the report: new NRRD masks beside them would make
  // the folder hold two sets that look alike.
  const output = join(folder, 'old-masks')
  mkdirSync(output)
  writeFileSync(join(output, 'lung.nii.gz'), 'earlier mask')
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const run = runColinet(['segment', join(folder, 'small.nii.gz'), '-o', output, '--format', 'nrrd', ...models])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /already has lung\.nii\.gz \(earlier outputs in the other format, which --force removes\); use --force/)
  assert.deepEqual(readdirSync(output), ['lung.nii.gz'])
  assert.equal(readFileSync(join(output, 'lung.nii.gz'), 'utf8'), 'earlier mask')
})

test('segment never overwrites or removes its input, also with --force', async () => {
  // An input named like an output, inside the output folder: as the NRRD mask it would be
  // overwritten, and beside NIfTI output it would be removed as an earlier mask.
  const output = join(folder, 'input-inside')
  mkdirSync(output)
  const input = join(output, 'lung.nrrd')
  await writeVolume(input, createAnalyticChest([48, 40, 6]).ct)
  const before = readFileSync(input)
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  for (const format of ['nrrd', 'nifti']) {
    const run = runColinet(['segment', input, '-o', output, '--force', '--format', format, ...models])
    assert.equal(run.status, 2, format)
    assert.match(run.stderr, /the input .*lung\.nrrd is lung\.nrrd in the output folder .*, which this run would overwrite or remove, also with --force/, format)
    assert.deepEqual(readdirSync(output), ['lung.nrrd'], format)
    assert.ok(readFileSync(input).equals(before), format)
  }
})

test('demo keeps results of segment without --force', async () => {
  const output = join(folder, 'formats')
  const before = readFileSync(join(output, 'report.json'), 'utf8')
  const run = runColinet(['demo', '-o', output, '--size', '32,32,8', '--quiet',
    '--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /already has .*report\.json.*; use --force to overwrite/)
  assert.equal(readFileSync(join(output, 'report.json'), 'utf8'), before)
})

test('demo takes --threads', () => {
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const run = runColinet(['demo', '-o', join(folder, 'demo-threads'), '--size', '32,32,8', '--quiet', '--threads', '1', ...models])
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /Dice vs truth lung \d\.\d{3}/)
  const bad = runColinet(['demo', '-o', join(folder, 'demo-bad-threads'), '--threads', '0', ...models])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--threads expects a whole number from 1 to \d+ \(4 times the \d+ cores here\), got "0"/)
  assert.equal(existsSync(join(folder, 'demo-bad-threads')), false)
})

test('segment rejects conflicting options', () => {
  // Each exits 2 before reading the input, so nothing is written.
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const cases: [string[], RegExp][] = [
    [['--threads', '999999'], /--threads expects a whole number from 1 to \d+ \(4 times the \d+ cores here\), got "999999"/],
    [['--threads', '1.5'], /--threads expects a whole number from 1 to \d+/],
    [['--batch-size', '100000'], /--batch-size expects a whole number from 1 to 64, got "100000"/],
    [['-q', '-v'], /--quiet and --verbose cannot be combined: use one of them/],
    [['--series', '1.2.3'], /--series selects a series in a DICOM folder, but .*chest\.nrrd is a file; leave out --series or give the folder/],
    [['--threads', '1', '--batch-size', '4', '--threads', '2'], /--threads was given twice \("1" and "2"\); give it once/],
    [['-o', join(folder, 'other')], /--output \(-o\) was given twice \(".*rejected" and ".*other"\); give it once/],
    [['--format', 'nrrd', '--format=nifti'], /--format was given twice \("nrrd" and "nifti"\); give it once/],
  ]
  for (const [options, message] of cases) {
    const output = join(folder, 'rejected')
    const run = runColinet(['segment', join(folder, 'chest.nrrd'), '-o', output, ...options, ...models])
    assert.equal(run.status, 2, options.join(' '))
    assert.match(run.stderr, message)
    assert.equal(existsSync(output), false, options.join(' '))
  }
})

test('unknown option points to help', () => {
  const run = runColinet(['segment', '--bogus'])
  assert.equal(run.status, 2)
  assert.equal(run.stderr.trim(), "colinet segment: Unknown option '--bogus'; see colinet segment --help")
})

test('negative option value gets a hint', () => {
  const run = runColinet(['segment', 'chest.nii.gz', '-o', join(folder, 'unused'), '--threads', '-1'])
  assert.equal(run.status, 2)
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr)
  assert.match(run.stderr, /--threads is followed by an argument that starts with "-": write such a value as --threads=<value>/)
})

test('lesion threshold option overrides model', async () => {
  // A sphere of radius 20 mm at -680 HU in the right lung, to which the lesion band model
  // [-700, -300] HU gives σ(60 · 0.02) = 0.77: lesion at 0.5, none at 0.9.
  const chest = createAnalyticChest([64, 56, 12], [5, 5, 8])
  const [nx, ny, nz] = chest.ct.size
  const centre = [(nx - 1) / 2 - 0.2 * nx, (ny - 1) / 2 + 0.05 * ny, (nz - 1) / 2 - 0.06 * nz]
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (((i - centre[0]) * 5) ** 2 + ((j - centre[1]) * 5) ** 2 + ((k - centre[2]) * 8) ** 2 <= 20 ** 2) chest.ct.data[i + nx * (j + ny * k)] = -680
      }
    }
  }
  const input = join(folder, 'threshold.nii.gz')
  await writeVolume(input, chest.ct)
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const atDefault = runColinet(['segment', input, '-o', join(folder, 'threshold-default'), '--quiet', '--json', ...models])
  assert.equal(atDefault.status, 0, atDefault.stderr)
  const strict = runColinet(['segment', input, '-o', join(folder, 'threshold-0.9'), '--quiet', '--json', '--lesion-threshold', '0.9', ...models])
  assert.equal(strict.status, 0, strict.stderr)

  const defaultReport = JSON.parse(atDefault.stdout)
  const strictReport = JSON.parse(strict.stdout)
  assert.deepEqual([defaultReport.models.lesion.threshold, defaultReport.models.lesion.thresholdSource], [0.5, 'default'])
  assert.deepEqual([strictReport.models.lesion.threshold, strictReport.models.lesion.thresholdSource], [0.9, '--lesion-threshold'])
  assert.deepEqual([strictReport.models.lung.threshold, strictReport.models.lung.thresholdSource], [0.5, 'default'])
  // The sphere is 4/3 π 20³ mm³ = 33.5 mL; the voxelised one is within a few mL of it.
  const lesionMl = (report: { measurements: { lesionVolumeMl: { total: number } } }) => report.measurements.lesionVolumeMl.total
  assert.ok(Math.abs(lesionMl(defaultReport) - 33.5) < 8, `${lesionMl(defaultReport)} mL at 0.5`)
  assert.equal(lesionMl(strictReport), 0)
})

test('min-lesion-ml removes and counts regions', () => {
  // The 33.5 mL sphere of the test before, found at threshold 0.5: kept with the default minimum
  // of 2 mL, removed as one region with a minimum of 40 mL.
  const input = join(folder, 'threshold.nii.gz')
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const atDefault = JSON.parse(readFileSync(join(folder, 'threshold-default', 'report.json'), 'utf8'))
  assert.deepEqual(atDefault.removedLesionRegions, { minRegionMl: 2, regions: 0, volumeMl: 0, surfaceSlivers: { regions: 0, volumeMl: 0 } })
  const run = runColinet(['segment', input, '-o', join(folder, 'min-40'), '--quiet', '--min-lesion-ml', '40', ...models])
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(readFileSync(join(folder, 'min-40', 'report.json'), 'utf8'))
  assert.equal(report.measurements.lesionVolumeMl.total, 0)
  assert.equal(report.removedLesionRegions.minRegionMl, 40)
  assert.equal(report.removedLesionRegions.regions, 1)
  assert.ok(Math.abs(report.removedLesionRegions.volumeMl - atDefault.measurements.lesionVolumeMl.total) < 1e-9, JSON.stringify(report.removedLesionRegions))
  assert.match(run.stdout, /1 region under 40 mL removed \(\d+\.\d mL in all; --min-lesion-ml 0 keeps them\)/)
  assert.match(run.stdout, /\(the lesion network ran on the \d+ with lung and on their left-right mirror images\)/)
})

test('no-mirror-average runs one lesion pass', async () => {
  // The band model computes each pixel from its own HU, so the mirrored pass, mirrored back, gives
  // the same probabilities, and the masks of the sphere case must be equal voxel for voxel.
  const input = join(folder, 'threshold.nii.gz')
  const models = ['--lung-model', join(folder, 'lung.onnx'), '--lesion-model', join(folder, 'lesion.onnx')]
  const run = runColinet(['segment', input, '-o', join(folder, 'one-pass'), '--quiet', '--no-mirror-average', ...models])
  assert.equal(run.status, 0, run.stderr)
  const single = JSON.parse(readFileSync(join(folder, 'one-pass', 'report.json'), 'utf8'))
  const averaged = JSON.parse(readFileSync(join(folder, 'threshold-default', 'report.json'), 'utf8'))
  assert.equal(single.models.lesion.mirrorAveraged, false)
  assert.equal(averaged.models.lesion.mirrorAveraged, true)
  assert.equal(averaged.models.lung.mirrorAveraged, false)
  assert.match(run.stdout, /\(the lesion network ran on the \d+ with lung\)\n/)
  const masks = await Promise.all(['one-pass', 'threshold-default'].map((name) => readVolume(join(folder, name, 'lesion.nii.gz'))))
  assert.ok(masks[0].volume.data.some((value) => value === 1), 'the sphere is found')
  assert.deepEqual(masks[0].volume.data, masks[1].volume.data)
})

test('negative or non-numeric --min-lesion-ml rejected', () => {
  for (const text of ['-1', 'two', '', 'Infinity', '0x10', '-0', '1e9']) {
    const output = join(folder, `bad-min-${text}`)
    const run = runColinet(['segment', 'chest.nii.gz', '-o', output, `--min-lesion-ml=${text}`])
    assert.equal(run.status, 2)
    assert.ok(run.stderr.includes(`--min-lesion-ml expects a volume in mL of 0 or more, written as a decimal number such as 2 or 0.5, got "${text}"`), run.stderr)
    assert.equal(existsSync(output), false)
  }
})

test('lesion threshold outside (0, 1) rejected', () => {
  for (const text of ['1', '0', '1.5', 'most']) {
    const output = join(folder, `bad-threshold-${text}`)
    const run = runColinet(['segment', 'chest.nii.gz', '-o', output, `--lesion-threshold=${text}`])
    assert.equal(run.status, 2)
    assert.match(run.stderr, new RegExp(`--lesion-threshold expects a probability between 0 and 1 \\(exclusive\\), got "${text}"`))
    assert.equal(existsSync(output), false)
  }
})

test('segment keeps outputs out of a DICOM input folder', (t) => {
  const dicom = requireSharedData(t, 'ct/cip/ct-64-dicom')
  if (dicom === undefined) return
  // A link to the folder counts as the folder.
  const link = join(folder, 'dicom-link')
  symlinkSync(dicom, link)
  const before = readdirSync(dicom).sort()
  for (const output of [dicom, join(dicom, 'out'), join(link, 'out', 'deeper')]) {
    const run = runColinet(['segment', dicom, '-o', output, '--force', '--threads', '1'])
    assert.equal(run.status, 2, output)
    assert.match(run.stderr, /the output folder .* lies inside the DICOM folder .*ct-64-dicom that segment reads/, output)
  }
  assert.deepEqual(readdirSync(dicom).sort(), before)
})
