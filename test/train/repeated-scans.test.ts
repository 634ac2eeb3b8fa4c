import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runTrainCommand } from '../../src/cli/train.js'
import { InputError } from '../../src/errors.js'
import { writeVolume } from '../../src/io/write.js'
import { fingerprintScan } from '../../src/train/dataset.js'
import { runColinet } from '../support/cli.js'
import { tinyChest } from './support.js'

let root: string

// The settings of train-command.test.ts: a 4-channel network on 48 x 32 slices, seconds per run.
const TINY = ['--channels', '4,4,4', '--input-size', '48x32', '--batch-size', '4', '--steps-per-epoch', '2', '--threads', '1', '--epochs', '1']

/**
 * Writes four chests and a manifest whose rows 2 and 3 are one scan, once as NIfTI and once as
 * NRRD, with `copyPatient` as the patient of row 3. Rows 4 and 5 are other scans.
 */
async function writeRepeatedManifest(name: string, copyPatient: string): Promise<string> {
  const folder = join(root, name)
  const first = tinyChest(0)
  await writeVolume(join(folder, 'ct-a.nii.gz'), first.ct)
  await writeVolume(join(folder, 'ct-a-copy.nrrd'), first.ct)
  await writeVolume(join(folder, 'lungs-a.nii.gz'), first.lungs)
  for (const [index, shift] of [[1, -1], [2, 1]]) {
    const chest = tinyChest(shift)
    await writeVolume(join(folder, `ct-${index}.nii.gz`), chest.ct)
    await writeVolume(join(folder, `lungs-${index}.nii.gz`), chest.lungs)
  }
  const manifest = join(folder, 'manifest.csv')
  writeFileSync(
    manifest,
    'image,label,patient,centre\n' +
      'ct-a.nii.gz,lungs-a.nii.gz,patient-a,A\n' +
      `ct-a-copy.nrrd,lungs-a.nii.gz,${copyPatient},A\n` +
      'ct-1.nii.gz,lungs-1.nii.gz,patient-1,A\n' +
      'ct-2.nii.gz,lungs-2.nii.gz,patient-2,A\n',
  )
  return manifest
}

before(() => {
  root = mkdtempSync(join(os.tmpdir(), 'colinet-repeated-'))
})

after(() => rmSync(root, { recursive: true, force: true }))

test('fingerprint ignores the stored type', () => {
  const { ct } = tinyChest(0)
  const asFloat = { ...ct, data: Float32Array.from(ct.data) }
  assert.equal(fingerprintScan(asFloat).voxelHash, fingerprintScan(ct).voxelHash)

  const changed = { ...ct, data: Int16Array.from(ct.data) }
  changed.data[100] += 1
  assert.notEqual(fingerprintScan(changed).voxelHash, fingerprintScan(ct).voxelHash)
})

test('repeated scan across split is rejected', async () => {
  const manifest = await writeRepeatedManifest('across', 'patient-copy')
  const run = join(root, 'across-run')
  await assert.rejects(
    () => runTrainCommand(['--task', 'lung', '--data', manifest, '-o', run, '--validation-patients', 'patient-copy', '-q', ...TINY]),
    (error: unknown) => {
      assert.ok(error instanceof InputError)
      assert.match(error.message, /validation would measure scans seen in training/)
      assert.match(error.message, /rows 2 and 3 contain the same CT \(size, spacing and voxel values\): \S*ct-a\.nii\.gz \(patient patient-a\) and \S*ct-a-copy\.nrrd \(patient patient-copy\), one in training and one in validation/)
      return true
    },
  )
  assert.equal(existsSync(run), false)
})

test('repeated scan on one side warns', async () => {
  const manifest = await writeRepeatedManifest('same-side', 'patient-a')
  const result = runColinet(['train', '--task', 'lung', '--data', manifest, '-o', join(root, 'same-side-run'), '--validation-patients', 'patient-2', ...TINY], 300_000)
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stderr, /warning: \S*manifest\.csv: rows 2 and 3 contain the same CT .*both in training, so the scan counts twice; list it once/)
  // Rows 4 and 5 are other scans, so they are named in no warning.
  assert.doesNotMatch(result.stderr, /rows [45] and/)
})
