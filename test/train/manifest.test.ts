import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { writeVolume } from '../../src/io/write.js'
import { COLINET_INPUT } from '../../src/pipeline/preprocess.js'
import { loadCases } from '../../src/train/dataset.js'
import { buildClassLookup, parseLabelMap, runLabelRule } from '../../src/train/labels.js'
import { parseManifest, readManifest } from '../../src/train/manifest.js'
import { tinyChest } from './support.js'

let folder: string

before(async () => {
  folder = mkdtempSync(join(os.tmpdir(), 'colinet-manifest-'))
  const chest = tinyChest()
  for (const name of ['ct.nii.gz', 'ct2.nii.gz', 'ct3.nii.gz']) await writeVolume(join(folder, name), chest.ct)
  await writeVolume(join(folder, 'lungs.nii.gz'), chest.lungs)
  // The same lungs on a grid shifted by 1 mm: a label that does not overlay its CT.
  await writeVolume(join(folder, 'shifted.nii.gz'), { ...chest.lungs, origin: [1, 0, 0] })
  // A label with a value outside the lung classes (7) and one with a fractional value.
  await writeVolume(join(folder, 'seven.nii.gz'), { ...chest.lungs, data: chest.lungs.data.map((v) => (v === 2 ? 7 : v)) })
  await writeVolume(join(folder, 'fraction.nii.gz'), { ...chest.lungs, data: Float32Array.from(chest.lungs.data, (v) => v * 0.5) })
  await writeVolume(join(folder, 'negative.nii.gz'), { ...chest.lungs, data: Int16Array.from(chest.lungs.data, (v) => -v) })
  // An 8-bit grey-level image in place of a CT.
  await writeVolume(join(folder, 'grey.nii.gz'), { ...chest.ct, data: Uint8Array.from(chest.ct.data, (v) => (v > 0 ? 200 : 10)) })
})

after(() => rmSync(folder, { recursive: true, force: true }))

const LUNG2 = { task: 'lung' as const, classCount: 2, spec: { ...COLINET_INPUT, width: 48, height: 32 }, defaultRule: runLabelRule('lung', 2, undefined) }

function manifestOf(lines: string[], checkFiles = false) {
  return parseManifest(`${lines.join('\n')}\n`, join(folder, 'manifest.csv'), { checkFiles })
}

/** Runs `action` and returns the InputError message it throws. */
async function inputErrorOf(action: () => unknown): Promise<string> {
  try {
    await action()
  } catch (error) {
    assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`)
    return error.message
  }
  assert.fail('expected an InputError')
}

test('manifest quoted fields and blank lines', () => {
  const manifest = manifestOf(['Image,Label,Patient,Center', '', '"a, b.nii.gz",lab.nii.gz,"p ""1""",X', '   ', '/abs/c.nii,/abs/d.nii,p2,Y'])
  assert.equal(manifest.rows.length, 2)
  assert.equal(manifest.rows[0]!.image, join(folder, 'a, b.nii.gz'))
  assert.equal(manifest.rows[0]!.patient, 'p "1"')
  assert.equal(manifest.rows[0]!.row, 3)
  assert.equal(manifest.rows[1]!.image, '/abs/c.nii')
  assert.equal(manifest.rows[1]!.centre, 'Y')
  assert.equal(manifest.rows[1]!.row, 5)
})

test('manifest header required', async () => {
  const message = await inputErrorOf(() => manifestOf(['ct.nii.gz,lungs.nii.gz,p1,A']))
  assert.match(message, /header row lacks columns image, label, patient, centre/)
  assert.doesNotMatch(message, /semicolons/)
  const semicolons = await inputErrorOf(() => manifestOf(['image;label;patient;centre', 'ct.nii.gz;lungs.nii.gz;p1;A']))
  assert.match(semicolons, /\(found image;label;patient;centre\); the file seems to use semicolons, and colinet expects commas between fields/)
})

test('manifest field count names row', async () => {
  const message = await inputErrorOf(() => manifestOf(['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'ct2.nii.gz,lungs.nii.gz,p1']))
  assert.match(message, /row 3: expected 4 fields/)
})

test('manifest empty patient names row', async () => {
  const message = await inputErrorOf(() => manifestOf(['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz, ,A']))
  assert.match(message, /row 2: the patient field is empty/)
})

test('manifest duplicate image names both rows', async () => {
  const message = await inputErrorOf(() => manifestOf(['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'ct.nii.gz,lungs.nii.gz,p2,A']))
  assert.match(message, /row 3: image .*ct\.nii\.gz is already listed in row 2/)
})

test('manifest duplicate under another spelling', async () => {
  symlinkSync(join(folder, 'ct.nii.gz'), join(folder, 'link.nii.gz'))
  const message = await inputErrorOf(() => manifestOf([
    'image,label,patient,centre',
    'ct.nii.gz,lungs.nii.gz,p1,A',
    './sub/../ct.nii.gz,lungs.nii.gz,p2,A',
    `${folder}/./ct.nii.gz,lungs.nii.gz,p3,A`,
    'link.nii.gz,lungs.nii.gz,p4,A',
  ]))
  assert.match(message, /: 3 row problems;/)
  assert.match(message, /row 3: image .*ct\.nii\.gz is already listed in row 2/)
  assert.match(message, /row 4: image .*ct\.nii\.gz is already listed in row 2/)
  assert.match(message, /row 5: image .*link\.nii\.gz is already listed in row 2/)
})

test('missing files named with rows', async () => {
  const lines = ['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'nothere.nii.gz,lungs.nii.gz,p2,A', 'ct.nii,gone.nii.gz,p3,A']
  assert.equal(manifestOf(lines).rows.length, 3, 'without checkFiles the paths are not looked at')
  const message = await inputErrorOf(() => manifestOf(lines, true))
  assert.match(message, /row 3: image not found: .*nothere\.nii\.gz/)
  assert.match(message, /row 4: image not found: .*ct\.nii\b/)
  assert.match(message, /row 4: label not found: .*gone\.nii\.gz/)
  assert.doesNotMatch(message, /row 2/)
})

test('missing files left out with skipMissing', () => {
  const lines = ['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'nothere.nii.gz,lungs.nii.gz,p2,A', 'ct.nii,gone.nii.gz,p3,A']
  const manifest = parseManifest(`${lines.join('\n')}\n`, join(folder, 'manifest.csv'), { checkFiles: true, skipMissing: true })
  assert.deepEqual(manifest.rows.map((row) => row.row), [2])
  assert.equal(manifest.leftOut.length, 3)
  assert.match(manifest.leftOut[0]!, /^row 3: image not found: .*nothere\.nii\.gz$/)
  assert.match(manifest.leftOut[2]!, /^row 4: label not found: .*gone\.nii\.gz$/)
  // With no row left, training cannot start.
  assert.throws(
    () => parseManifest(`${[lines[0], lines[2]].join('\n')}\n`, join(folder, 'manifest.csv'), { checkFiles: true, skipMissing: true }),
    /1 row problem; every row names a missing file, so no row is left to train on/,
  )
})

test('every row problem in one message', async () => {
  const message = await inputErrorOf(() => manifestOf([
    'image,label,patient,centre',
    'ct.nii.gz,lungs.nii.gz,p1,A',
    'ct.nii.gz,lungs.nii.gz,p2,A',
    'ct2.nii.gz,lungs.nii.gz',
    'ct3.nii.gz,,,A',
    'ct4.nii.gz,lungs.nii.gz,p4,A',
  ], true))
  assert.match(message, /: 4 row problems;/)
  assert.match(message, /row 3: image .*ct\.nii\.gz is already listed in row 2/)
  assert.match(message, /row 4: expected 4 fields like the header, found 2/)
  assert.match(message, /row 5: the label and patient fields are empty/)
  assert.match(message, /row 6: image not found: .*ct4\.nii\.gz/)
  assert.doesNotMatch(message, /row 2:/)
})

test('missing manifest file', async () => {
  const message = await inputErrorOf(() => readManifest(join(folder, 'none.csv')))
  assert.match(message, /cannot read manifest .*none\.csv: file not found/)
})

test('geometry mismatch names row and label', async () => {
  const manifest = manifestOf(['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'ct2.nii.gz,shifted.nii.gz,p2,A'])
  const message = await inputErrorOf(() => loadCases(manifest, LUNG2))
  assert.match(message, /row 3: .*shifted\.nii\.gz: the label's geometry differs from its image \(image vs label: origin/)
  assert.doesNotMatch(message, /row 2/)
})

test('unexpected label values name row', async () => {
  const manifest = manifestOf([
    'image,label,patient,centre',
    'ct.nii.gz,seven.nii.gz,p1,A',
    'ct2.nii.gz,fraction.nii.gz,p2,A',
    'ct3.nii.gz,negative.nii.gz,p3,A',
  ])
  const threeClasses = { ...LUNG2, classCount: 3, defaultRule: runLabelRule('lung', 3, undefined) }
  const message = await inputErrorOf(() => loadCases(manifest, threeClasses))
  assert.match(message, /row 2: .*seven\.nii\.gz: unexpected label value 7/)
  assert.match(message, /row 3: .*fraction\.nii\.gz: label values must be non-negative integers, found 0\.5/)
  assert.match(message, /row 4: .*negative\.nii\.gz: label values must be non-negative integers, found -2, -1/)
})

test('image not in HU names row', async () => {
  const manifest = manifestOf(['image,label,patient,centre', 'grey.nii.gz,lungs.nii.gz,p1,A'])
  const message = await inputErrorOf(() => loadCases(manifest, LUNG2))
  assert.match(message, /row 2: .*grey\.nii\.gz: expected a CT in Hounsfield units/)
})

test('skip invalid keeps good rows', async () => {
  const manifest = manifestOf(['image,label,patient,centre', 'ct.nii.gz,lungs.nii.gz,p1,A', 'ct2.nii.gz,shifted.nii.gz,p2,A'])
  const warnings: string[] = []
  const result = await loadCases(manifest, { ...LUNG2, skipInvalid: true, onWarning: (w) => warnings.push(w) })
  assert.equal(result.cases.length, 1)
  assert.equal(result.skipped.length, 1)
  assert.equal(result.skipped[0]!.row.row, 3)
  assert.match(warnings[0]!, /left out row 3/)
})

test('loaded case classes and target slices', async () => {
  const manifest = manifestOf(['image,label,patient,centre,label_map', 'ct.nii.gz,lungs.nii.gz,p1,A,', 'ct2.nii.gz,lungs.nii.gz,p2,A,1:2 2:1'])
  const three = await loadCases(manifest, { ...LUNG2, classCount: 3, defaultRule: runLabelRule('lung', 3, undefined) })
  const [direct, swapped] = three.cases
  // Slices 0 and 5 of the tiny chest have no lung: 4 of 6 slices hold the target.
  assert.deepEqual([...direct!.hasTarget], [0, 1, 1, 1, 1, 0])
  assert.equal(direct!.images.length, 6 * 48 * 32)
  // The label_map "1:2 2:1" swaps the sides: wherever the first row has 1 the second has 2.
  let checked = 0
  for (let p = 0; p < direct!.labels.length; p++) {
    if (direct!.labels[p] === 1) {
      assert.equal(swapped!.labels[p], 2)
      checked++
    }
  }
  assert.ok(checked > 50, `${checked} right-lung pixels compared`)
})

test('label value rule maps listed values only', () => {
  const rule = runLabelRule('lesion', 2, [2])
  const result = buildClassLookup(new Map([[0, 10], [1, 5], [2, 3]]), rule)
  assert.ok('lookup' in result)
  assert.equal(result.lookup.get(1), 0)
  assert.equal(result.lookup.get(2), 1)
})

test('label map must list every value', () => {
  const rule = parseLabelMap('1:1 2:1', 'lesion', 2, 'row 2')
  const result = buildClassLookup(new Map([[0, 10], [1, 5], [3, 3]]), rule)
  assert.ok('error' in result)
  assert.match(result.error, /unexpected label value 3/)
})

test('label map malformed entry', () => {
  assert.throws(() => parseLabelMap('1=1', 'lesion', 2, 'row 4'), /row 4: label_map entry "1=1" is not value:class/)
  assert.throws(() => parseLabelMap('1:2', 'lesion', 2, 'row 4'), /row 4: label_map maps value 1 to class 2/)
})

test('three lung classes need both sides', () => {
  const result = buildClassLookup(new Map([[0, 10], [1, 5]]), runLabelRule('lung', 3, undefined))
  assert.ok('error' in result)
  assert.match(result.error, /no voxel of class 2/)
})

test('manifest file round trip', async () => {
  const path = join(folder, 'written.csv')
  writeFileSync(path, 'image,label,patient,centre\r\nct.nii.gz,lungs.nii.gz,p1,A\r\n')
  const manifest = await readManifest(path)
  assert.equal(manifest.rows[0]!.label, join(folder, 'lungs.nii.gz'))
  assert.equal(manifest.rows[0]!.centre, 'A')
})
