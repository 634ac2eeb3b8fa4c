import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { runColinet } from '../support/cli.js'
import { requireSharedData } from '../support/data.js'
import { describeGeometryMismatch } from '../../src/volume/volume.js'

// End-to-end runs of `colinet segment` with the models in models/ on every real CT in the
// shared data folder. Each run checks the exit status and that every mask has the input's grid.

const folder = mkdtempSync(join(tmpdir(), 'colinet-real-'))
after(() => rmSync(folder, { recursive: true, force: true }))

async function segmentAndCheck(input: string, name: string): Promise<{ lung: Uint8Array; lesion: Uint8Array }> {
  const output = join(folder, name)
  const run = runColinet(['segment', input, '-o', output, '--quiet', '--json'], 900_000)
  assert.equal(run.status, 0, run.stderr)
  const report = JSON.parse(run.stdout) as { input: { size: number[] }; slices: { total: number } }

  const ct = (await readVolume(input)).volume
  assert.deepEqual(report.input.size, ct.size)
  assert.equal(report.slices.total, ct.size[2])
  for (const file of ['report.json', 'report.csv', 'overview.png']) assert.ok(existsSync(join(output, file)), `${file} written`)
  const masks: Record<string, Uint8Array> = {}
  for (const mask of ['lung', 'lesion', 'labels']) {
    const { volume } = await readVolume(join(output, `${mask}.nii.gz`))
    assert.equal(describeGeometryMismatch(volume, ct, 1e-4), undefined, `${mask} grid of ${name}`)
    masks[mask] = volume.data as Uint8Array
  }
  return { lung: masks.lung, lesion: masks.lesion }
}

test('CIP NRRD and DICOM copies segment alike', async (t) => {
  const nrrd = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const dicom = requireSharedData(t, 'ct/cip/ct-64-dicom')
  if (nrrd === undefined || dicom === undefined) return

  const fromNrrd = await segmentAndCheck(nrrd, 'cip-nrrd')
  const fromDicom = await segmentAndCheck(dicom, 'cip-dicom')
  assert.deepEqual(fromDicom.lung, fromNrrd.lung)
  assert.deepEqual(fromDicom.lesion, fromNrrd.lesion)
})

for (const series of ['A0001-5mm-a', 'A0001-5mm-b', 'A0002-8mm-B70f', 'A0002-8mm-B40f']) {
  test(`Lung-PET-CT-Dx ${series} segments end to end`, async (t) => {
    const input = requireSharedData(t, `ct/lung-pet-ct-dx/${series}`)
    if (input === undefined) return
    await segmentAndCheck(input, series)
  })
}
