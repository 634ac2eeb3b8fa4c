import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { writeImageNode } from '@itk-wasm/image-io'
import { Image, ImageType, IntTypes, PixelTypes } from 'itk-wasm'
import { writeVolume } from '../../src/io/write.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { runColinet } from '../support/cli.js'
import { writeRawNifti } from '../support/nifti.js'

const folder = mkdtempSync(join(tmpdir(), 'colinet-bad-input-'))
after(() => rmSync(folder, { recursive: true, force: true }))

/** Runs segment on `input` into a fresh output folder and checks exit status 2, the message and that no output exists. */
function expectRejected(input: string, message: RegExp): void {
  const output = join(folder, `out-${Math.random().toString(36).slice(2)}`)
  const run = runColinet(['segment', input, '-o', output, '--quiet'])
  assert.equal(run.status, 2, `stderr: ${run.stderr}`)
  assert.match(run.stderr, message)
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace for bad input')
  assert.equal(existsSync(output), false, 'no output folder is left behind')
}

test('segment rejects a missing input', () => {
  expectRejected(join(folder, 'absent.nii.gz'), /input not found: .*absent\.nii\.gz/)
})

test('segment rejects an unknown format', () => {
  const path = join(folder, 'notes.txt')
  writeFileSync(path, 'not an image')
  expectRejected(path, /unsupported file format: notes\.txt \(expected one of \.nii\.gz, \.nii, \.nrrd, \.nhdr, \.mha, \.mhd, or a DICOM folder\)/)
})

test('segment rejects a damaged NRRD quietly', () => {
  const path = join(folder, 'truncated.nrrd')
  writeFileSync(path, 'NRRD0004\ntype: short\ndimension: 3\nsizes: 10 10 10\nencoding: raw\n\nabc')
  // 10 x 10 x 10 short voxels need 2000 bytes after the header's blank line; the file has 3.
  expectRejected(path, /could not read .*truncated\.nrrd as NRRD: the file is cut short: it contains 3 of the 2000 bytes of voxel data/)
  // itk-wasm prints a debugging banner on this file; only colinet's message may reach the user.
  const run = runColinet(['segment', path, '-o', join(folder, 'out-truncated'), '--quiet'])
  assert.doesNotMatch(run.stdout + run.stderr, /Exception while running pipeline|Debug mode/)
})

test('segment rejects a cut .nii.gz', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const whole = join(folder, 'whole.nii.gz')
  await writeVolume(whole, chest.ct)
  const cut = join(folder, 'cut.nii.gz')
  const bytes = readFileSync(whole)
  writeFileSync(cut, bytes.subarray(0, bytes.length - 100))
  // 48 x 40 x 6 int16 voxels are 23040 bytes of voxel data.
  expectRejected(cut, new RegExp(`could not read .*cut\\.nii\\.gz as NIfTI: the file is cut short: its gzip stream ends after \\d+ of the 23040 bytes .*the file is ${bytes.length - 100} bytes long`))
})

test('segment rejects a 4D series', () => {
  const path = join(folder, 'series.nii')
  writeRawNifti(path, [8, 8, 4, 3], new Int16Array(8 * 8 * 4 * 3).fill(-1000))
  expectRejected(path, /expected a 3D volume, got a 4D image/)
})

test('segment rejects an RGB image', async () => {
  const path = join(folder, 'photo.mha')
  const image = new Image(new ImageType(3, IntTypes.UInt8, PixelTypes.RGB, 3))
  image.size = [8, 8, 4]
  image.spacing = [1, 1, 1]
  image.origin = [0, 0, 0]
  image.direction = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1])
  image.data = new Uint8Array(8 * 8 * 4 * 3)
  await writeImageNode(image, path)
  expectRejected(path, /expected a single-component grey-level image, got pixel type .*3 components/)
})

test('segment rejects an 8-bit image', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const data = Uint8Array.from(chest.ct.data, (hu) => Math.round((hu + 1000) / 8))
  const path = join(folder, 'eight-bit.nii.gz')
  await writeVolume(path, { ...chest.ct, data })
  expectRejected(path, /expected a CT in Hounsfield units .*got values 0\.\.130 \(an 8-bit image/)
})

test('segment rejects raw values without intercept', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const data = Int16Array.from(chest.ct.data, (hu) => hu + 1024)
  const path = join(folder, 'raw.nii.gz')
  await writeVolume(path, { ...chest.ct, data })
  expectRejected(path, /got values 24\.\.1064 with no negative values: raw stored values without the rescale intercept/)
})

test('segment rejects a CT without lung air', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const data = Int16Array.from(chest.ct.data, (hu) => (hu === -850 ? 40 : hu))
  const path = join(folder, 'no-lungs.nii.gz')
  await writeVolume(path, { ...chest.ct, data })
  expectRejected(path, /no lung-like air region found: air below -400 HU enclosed by the body is 0\.00 %/)
})

test('segment keeps existing outputs without --force', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'chest.nii.gz')
  await writeVolume(input, chest.ct, { force: true })
  const output = join(folder, 'existing')
  mkdirSync(output)
  writeFileSync(join(output, 'report.json'), '{"kept": true}')

  const run = runColinet(['segment', input, '-o', output, '--quiet'])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /already has report\.json; use --force to overwrite/)
  assert.equal(readFileSync(join(output, 'report.json'), 'utf8'), '{"kept": true}')
})

test('segment rejects a file that is not an ONNX model', async () => {
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'chest-for-model.nii.gz')
  await writeVolume(input, chest.ct, { force: true })
  const model = join(folder, 'broken.onnx')
  writeFileSync(model, 'not a model')
  const output = join(folder, 'out-model')

  const run = runColinet(['segment', input, '-o', output, '--lung-model', model, '--quiet'])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /broken\.onnx: not an ONNX model/)
  assert.equal(existsSync(output), false)
})

test('segment rejects a lung model as lesion model', async () => {
  const { DEFAULT_LUNG_MODEL } = await import('../../src/pipeline/models.js')
  const chest = createAnalyticChest([48, 40, 6])
  const input = join(folder, 'chest-for-task.nii.gz')
  await writeVolume(input, chest.ct, { force: true })
  const output = join(folder, 'out-task')

  const run = runColinet(['segment', input, '-o', output, '--lesion-model', DEFAULT_LUNG_MODEL, '--quiet'])
  assert.equal(run.status, 2)
  assert.match(run.stderr, /lung\.onnx is a lung model \(its metadata task is "lung"\); --lesion-model expects a lesion model/)
  assert.equal(existsSync(output), false)
})
