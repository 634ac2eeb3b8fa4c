import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runImportCommand } from '../../src/cli/import.js'
import { InputError } from '../../src/errors.js'
import { writeVolume } from '../../src/io/write.js'
import { COLINET_INPUT } from '../../src/pipeline/preprocess.js'
import type { Volume } from '../../src/volume/volume.js'
import { loadCases } from '../../src/train/dataset.js'
import { medsegImporter } from '../../src/train/importers/medseg.js'
import { mosmedImporter } from '../../src/train/importers/mosmed.js'
import { zenodoCaseKey, zenodoCovidImporter } from '../../src/train/importers/zenodo-covid.js'
import { runLabelRule } from '../../src/train/labels.js'
import { readManifest } from '../../src/train/manifest.js'
import { tinyChest } from './support.js'

let root: string
const chest = tinyChest()
const quiet = () => {}

/** The tiny chest's lungs with values 1 and 2 exchanged: value 1 on the patient's left. */
const swappedLungs: Volume<Uint8Array> = { ...chest.lungs, data: chest.lungs.data.map((v) => (v === 0 ? 0 : 3 - v)) }
/** Lesion labels in the MedSeg coding: ground-glass 1, consolidation 2, effusion 3. */
const medsegLesions: Volume<Uint8Array> = { ...chest.lesion, data: new Uint8Array(chest.lesion.data.length) }
chest.lesion.data.forEach((value, i) => {
  if (value !== 0) medsegLesions.data[i] = 1 + (i % 2)
  else if (chest.lungs.data[i] === 2 && i % 7 === 0) medsegLesions.data[i] = 3
})

async function write(path: string, volume: Volume): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true })
  await writeVolume(path, volume)
}

before(async () => {
  root = mkdtempSync(join(os.tmpdir(), 'colinet-import-'))

  // MedSeg: the SIRM stack at the top and two Radiopaedia volumes, all inside an extra folder.
  const medseg = join(root, 'medseg', 'download')
  await write(join(medseg, 'tr_im.nii.gz'), chest.ct)
  await write(join(medseg, 'tr_mask.nii.gz'), medsegLesions)
  await write(join(medseg, 'tr_lungmasks_updated.nii.gz'), chest.lungs)
  for (const n of [1, 2]) {
    await write(join(medseg, 'rp_im', `${n}.nii.gz`), chest.ct)
    await write(join(medseg, 'rp_msk', `${n}.nii.gz`), medsegLesions)
  }
  await write(join(medseg, 'rp_lung_msk', '1.nii.gz'), chest.lungs)
  // Volume 2 stored with the x axis reversed: the same voxels now put value 1 on the patient's left.
  await write(join(medseg, 'rp_lung_msk', '2.nii.gz'), { ...chest.lungs, direction: Float64Array.from([-1, 0, 0, 0, 1, 0, 0, 0, 1]) })
  await write(join(medseg, 'rp_im', '3.nii.gz'), chest.ct)

  // Zenodo: three CTs, two of them series of one Radiopaedia case; lung masks as documented (2 = right).
  const zenodo = join(root, 'zenodo')
  for (const name of ['coronacases_001', 'radiopaedia_10_85902_1', 'radiopaedia_10_85902_3']) {
    await write(join(zenodo, 'COVID-19-CT-Seg_20cases', `${name}.nii.gz`), chest.ct)
    await write(join(zenodo, 'Lung_Mask', `${name}.nii.gz`), swappedLungs)
    await write(join(zenodo, 'Infection_Mask', `${name}.nii.gz`), chest.lesion)
  }

  // MosMedData: one study without mask in CT-0, two with masks in CT-1.
  const mosmed = join(root, 'mosmed', 'COVID19_1110')
  await write(join(mosmed, 'studies', 'CT-0', 'study_0001.nii.gz'), chest.ct)
  for (const id of ['0255', '0256']) {
    await write(join(mosmed, 'studies', 'CT-1', `study_${id}.nii.gz`), chest.ct)
    await write(join(mosmed, 'masks', `study_${id}_mask.nii.gz`), chest.lesion)
  }
})

after(() => rmSync(root, { recursive: true, force: true }))

test('medseg lesion rows', async () => {
  const { rows } = await medsegImporter.importFolder(join(root, 'medseg'), 'lesion', quiet)
  assert.deepEqual(rows.map((r) => r.patient), ['medseg-sirm-100-slices', 'medseg-radiopaedia-1', 'medseg-radiopaedia-2'])
  assert.ok(rows.every((r) => r.labelMap === '1:1 2:1 3:0'))
  assert.match(rows[0]!.centre, /SIRM/)
  assert.match(rows[1]!.centre, /Radiopaedia/)
  assert.match(rows[0]!.label, /tr_mask\.nii\.gz$/)
})

test('medseg lung sides from geometry', async () => {
  const { rows, notes } = await medsegImporter.importFolder(join(root, 'medseg'), 'lung', quiet)
  assert.equal(rows.length, 3)
  assert.match(rows[0]!.label, /tr_lungmasks_updated\.nii\.gz$/)
  assert.equal(rows[1]!.labelMap, '1:1 2:2')
  // Reversed x axis: value 2 lies on the patient's right.
  assert.equal(rows[2]!.labelMap, '2:1 1:2')
  assert.ok(notes.some((n) => /rp_im\/3 has no label/.test(n)))
})

test('medseg effusion is background', async () => {
  const manifestPath = join(root, 'medseg-lesion.csv')
  const { rows } = await medsegImporter.importFolder(join(root, 'medseg'), 'lesion', quiet)
  const { writeManifest } = await import('../../src/train/importers/common.js')
  writeManifest(manifestPath, rows.slice(0, 1), false)
  const manifest = await readManifest(manifestPath)
  const { cases } = await loadCases(manifest, { task: 'lesion', classCount: 2, spec: { ...COLINET_INPUT, width: 48, height: 32 }, defaultRule: runLabelRule('lesion', 2, undefined) })
  // The tiny chest's lesion covers slices 2 and 3 only; effusion voxels (3) on other slices are not lesion.
  assert.deepEqual([...cases[0]!.hasTarget], [0, 0, 1, 1, 0, 0])
})

test('zenodo patients and centres', async () => {
  const { rows } = await zenodoCovidImporter.importFolder(join(root, 'zenodo'), 'lesion', quiet)
  assert.deepEqual(rows.map((r) => r.patient), ['coronacases_001', 'radiopaedia_10', 'radiopaedia_10'])
  assert.match(rows[0]!.centre, /Coronacases/)
  assert.match(rows[1]!.centre, /Radiopaedia/)
  assert.match(rows[1]!.label, /Infection_Mask/)
})

test('zenodo lung sides as documented', async () => {
  const { rows, notes } = await zenodoCovidImporter.importFolder(join(root, 'zenodo'), 'lung', quiet)
  assert.ok(rows.every((r) => r.labelMap === '2:1 1:2'))
  assert.ok(notes.some((n) => /every lung mask has value 2 on the patient's right/.test(n)))
})

test('zenodo kaggle names match masks', () => {
  assert.equal(zenodoCaseKey('coronacases_org_001'), 'coronacases_001')
  assert.equal(zenodoCaseKey('radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm'), 'radiopaedia_4_85506_1')
  assert.equal(zenodoCaseKey('radiopaedia_4_85506_1'), 'radiopaedia_4_85506_1')
})

test('mosmed studies with masks only', async () => {
  const { rows, notes } = await mosmedImporter.importFolder(join(root, 'mosmed'), 'lesion', quiet)
  assert.deepEqual(rows.map((r) => r.patient), ['study_0255', 'study_0256'])
  assert.ok(rows.every((r) => r.centre === 'MosMedData (Moscow)'))
  assert.match(notes[0]!, /^1 studies have no mask/)
})

test('mosmed has no lung masks', async () => {
  await assert.rejects(() => mosmedImporter.importFolder(join(root, 'mosmed'), 'lung', quiet), (e: unknown) => e instanceof InputError && /lesion masks only/.test(e.message))
})

test('import command writes a manifest', async () => {
  const output = join(root, 'out', 'zenodo-lung.csv')
  mkdirSync(join(root, 'out'), { recursive: true })
  const status = await runImportCommand(['zenodo-covid', join(root, 'zenodo'), '--task', 'lung', '-o', output, '-q'])
  assert.equal(status, 0)
  const lines = readFileSync(output, 'utf8').trim().split('\n')
  assert.equal(lines[0], 'image,label,patient,centre,label_map')
  // Files outside the manifest's folder keep absolute paths.
  const zenodo = join(root, 'zenodo')
  assert.equal(lines[1], `${zenodo}/COVID-19-CT-Seg_20cases/coronacases_001.nii.gz,${zenodo}/Lung_Mask/coronacases_001.nii.gz,coronacases_001,Zenodo COVID-19-CT-Seg Coronacases,2:1 1:2`)
  await assert.rejects(() => runImportCommand(['zenodo-covid', zenodo, '--task', 'lung', '-o', output, '-q']), /already exists/)
})

test('import manifest paths relative below it', async () => {
  const output = join(root, 'zenodo', 'lesion.csv')
  await runImportCommand(['zenodo-covid', join(root, 'zenodo'), '--task', 'lesion', '-o', output, '-q'])
  const lines = readFileSync(output, 'utf8').trim().split('\n')
  assert.equal(lines[3], 'COVID-19-CT-Seg_20cases/radiopaedia_10_85902_3.nii.gz,Infection_Mask/radiopaedia_10_85902_3.nii.gz,radiopaedia_10,Zenodo COVID-19-CT-Seg Radiopaedia,1:1')
})

test('import command unknown data set', async () => {
  await assert.rejects(() => runImportCommand(['kaggle', root, '--task', 'lung', '-o', join(root, 'x.csv')]), /unknown data set "kaggle"; expected one of medseg, zenodo-covid, mosmed/)
})

test('import needs a task', async () => {
  await assert.rejects(() => runImportCommand(['zenodo-covid', join(root, 'zenodo'), '-o', join(root, 'x.csv')]), /import needs --task lung or --task lesion: which masks to list/)
  await assert.rejects(() => runImportCommand(['zenodo-covid', join(root, 'zenodo'), '--task', 'liver', '-o', join(root, 'x.csv')]), /--task expects lung or lesion, got "liver"/)
})

test('import of an empty folder names the layout', async () => {
  const empty = join(root, 'empty-zenodo')
  mkdirSync(empty, { recursive: true })
  const { rows, notes } = await zenodoCovidImporter.importFolder(empty, 'lung', quiet)
  assert.equal(rows.length, 0)
  // No mask was read, so no note may describe the masks' values.
  assert.ok(notes.every((note) => !/lung mask has value/.test(note)), notes.join('; '))
  await assert.rejects(
    () => runImportCommand(['zenodo-covid', empty, '--task', 'lung', '-o', join(root, 'empty.csv'), '-q']),
    /found no image with a label to list; check the folder, its layout \(the table of data sets in docs\/training\.md\) and --task/,
  )
})
