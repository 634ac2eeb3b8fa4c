import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { readDicomTagsNode } from '@itk-wasm/dicom'
import { chooseSeries, planeOfOrientation, type DicomSeries } from '../../src/io/dicom.js'
import { readDicomHeader } from '../../src/io/dicom-header.js'
import { readVolume } from '../../src/io/read.js'
import { describeGeometryMismatch } from '../../src/volume/volume.js'
import { requireSharedData } from '../support/data.js'

const TAGS = ['0008|0008', '0008|0060', '0008|103e', '0020|000e', '0020|0037', '0028|0010', '0028|0011', '0028|0100']

for (const folder of ['ct/cip/ct-64-dicom', 'ct/lung-pet-ct-dx/A0001-5mm-a']) {
  test(`header reader matches itk-wasm on ${folder}`, async (t) => {
    const path = requireSharedData(t, folder)
    if (path === undefined) return
    const file = join(path, readdirSync(path).sort()[0])

    const header = readDicomHeader(file, TAGS)
    const reference = await readDicomTagsNode(file, { tagsToRead: { tags: TAGS } })
    assert.ok(header !== undefined, 'the header reader handles this file')
    for (const [tag, value] of reference.tags) assert.equal(header.tags.get(tag.toLowerCase()), value.trim(), `tag ${tag}`)

    // Native pixel data: rows x columns x bits allocated / 8 bytes, ending within the file.
    const value = (tag: string): number => Number(reference.tags.find(([key]) => key.toLowerCase() === tag)?.[1])
    assert.ok(header.pixelData !== undefined, 'pixel data found')
    assert.equal(header.pixelData.length, (value('0028|0010') * value('0028|0011') * value('0028|0100')) / 8)
    assert.ok(header.pixelData.offset + header.pixelData.length <= statSync(file).size)
  })
}

test('planeOfOrientation names the slice plane', () => {
  assert.equal(planeOfOrientation([1, 0, 0, 0, 1, 0]), 'axial')
  assert.equal(planeOfOrientation([1, 0, 0, 0, 0, -1]), 'coronal')
  assert.equal(planeOfOrientation([0, 1, 0, 0, 0, -1]), 'sagittal')
  // Rows tilted 30 degrees between x and z: the normal is 30 degrees off z.
  assert.equal(planeOfOrientation([Math.cos(Math.PI / 6), 0, Math.sin(Math.PI / 6), 0, 1, 0]), 'oblique')
})

function series(uid: string, files: number, extra: Partial<DicomSeries> = {}): DicomSeries {
  return {
    uid,
    patientId: 'P1',
    modality: 'CT',
    description: '',
    files: Array.from({ length: files }, (_, i) => `${uid}-${i}`),
    positions: Array.from({ length: files }, (_, i) => [0, 0, 5 * i]),
    pixelData: Array.from({ length: files }, () => undefined),
    orientation: [1, 0, 0, 0, 1, 0],
    isLocalizer: false,
    plane: 'axial',
    ...extra,
  }
}

test('chooseSeries prefers the axial CT with most slices', () => {
  const candidates = [
    series('scout', 300, { isLocalizer: true }),
    series('coronal', 250, { plane: 'coronal' }),
    series('pet', 400, { modality: 'PT' }),
    series('thick', 60),
    series('thin', 240, { description: 'Lung 1.0 B70f' }),
  ]
  assert.equal(chooseSeries(candidates).uid, 'thin')
  assert.equal(chooseSeries(candidates, 'thick').uid, 'thick')
  // The error names each series with its description, plane, modality and file count.
  assert.throws(
    () => chooseSeries(candidates, '9.9.9'),
    (error: Error) =>
      error.message.startsWith('series 9.9.9 not found in the folder; the folder contains: series scout (localizer, 300 files); ') &&
      error.message.includes('series coronal (coronal CT, 250 files)') &&
      error.message.includes('series pet (axial PT, 400 files)') &&
      error.message.endsWith('series thin "Lung 1.0 B70f" (axial CT, 240 files)'),
  )
})

test('folder with two series reads the chosen one', async (t) => {
  const sharp = requireSharedData(t, 'ct/lung-pet-ct-dx/A0002-8mm-B70f')
  const soft = requireSharedData(t, 'ct/lung-pet-ct-dx/A0002-8mm-B40f')
  if (sharp === undefined || soft === undefined) return
  const folder = mkdtempSync(join(tmpdir(), 'colinet-dicom-'))
  try {
    // Copies of both reconstructions in one folder; the soft one gets more slices by keeping all of them.
    mkdirSync(join(folder, 'sharp'))
    for (const name of readdirSync(sharp).sort().slice(0, 20)) copyFileSync(join(sharp, name), join(folder, 'sharp', name))
    for (const name of readdirSync(soft)) copyFileSync(join(soft, name), join(folder, `soft-${name}`))

    const chosen = await readVolume(folder)
    assert.equal(chosen.volume.size[2], 30)
    assert.equal(chosen.warnings.length, 1)
    assert.match(chosen.warnings[0], /skipped DICOM series .*axial CT, 20 files/)

    const sharpUid = chosen.warnings[0].match(/series (\S+)/)![1]
    const picked = await readVolume(folder, { seriesUid: sharpUid })
    assert.equal(picked.volume.size[2], 20)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('folder with two patients is rejected', async (t) => {
  const first = requireSharedData(t, 'ct/lung-pet-ct-dx/A0001-5mm-a')
  const second = requireSharedData(t, 'ct/lung-pet-ct-dx/A0002-8mm-B40f')
  if (first === undefined || second === undefined) return
  const folder = mkdtempSync(join(tmpdir(), 'colinet-dicom-'))
  try {
    for (const [source, name] of [[first, 'a'], [second, 'b']]) {
      mkdirSync(join(folder, name))
      for (const file of readdirSync(source).sort().slice(0, 3)) copyFileSync(join(source, file), join(folder, name, file))
    }
    await assert.rejects(readVolume(folder), /contains series of 2 patients; give the folder of one patient, or pick a series with --series <uid>/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

/** Copies a shared DICOM series into a new temporary folder, runs `check` on the copy and removes it. */
async function withSeriesCopy(t: TestContext, source: string, check: (folder: string) => Promise<void>): Promise<void> {
  const series = requireSharedData(t, source)
  if (series === undefined) return
  const folder = mkdtempSync(join(tmpdir(), 'colinet-dicom-'))
  try {
    for (const name of readdirSync(series)) copyFileSync(join(series, name), join(folder, name))
    await check(folder)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

test('DICOM folder read by relative path', (t) =>
  withSeriesCopy(t, 'ct/lung-pet-ct-dx/A0002-8mm-B70f', async (folder) => {
    // A folder named from its parent as the working directory, as a user types it.
    const start = process.cwd()
    process.chdir(dirname(folder))
    try {
      const { volume } = await readVolume(basename(folder))
      assert.deepEqual(volume.size, [512, 512, 30])
    } finally {
      process.chdir(start)
    }
  }))

test('DICOM file copied twice rejected', (t) =>
  withSeriesCopy(t, 'ct/cip/ct-64-dicom', async (folder) => {
    // With the copy, 80 slices would be spread over the 79 positions' extent.
    copyFileSync(join(folder, 'IMG0010.dcm'), join(folder, 'IMG0010-copy.dcm'))
    await assert.rejects(readVolume(folder), (error: Error) => {
      assert.match(error.message, /IMG0010-copy\.dcm and IMG0010\.dcm lie at the same slice position \(-?\d+\.\d\d mm\), so/)
      assert.match(error.message, /remove the duplicate files from the folder$/)
      return true
    })
  }))

test('DICOM series copied in twice rejected', (t) =>
  withSeriesCopy(t, 'ct/cip/ct-64-dicom', async (folder) => {
    // Every position twice: half of the steps between sorted positions are 0 mm.
    for (const name of readdirSync(folder)) copyFileSync(join(folder, name), join(folder, `copy-${name}`))
    await assert.rejects(readVolume(folder), (error: Error) => {
      assert.match(error.message, /IMG0001\.dcm and copy-IMG0001\.dcm lie at the same slice position/)
      assert.match(error.message, /\(and 78 more such pair\(s\)\)/)
      return true
    })
  }))

test('DICOM series read through symbolic links', async (t) => {
  // A folder of links to the files, a link to the folder, and a link loop inside the folder:
  // each reads the same voxels and geometry as the folder itself.
  const series = requireSharedData(t, 'ct/cip/ct-64-dicom')
  if (series === undefined) return
  const folder = mkdtempSync(join(tmpdir(), 'colinet-links-'))
  try {
    const links = join(folder, 'links')
    mkdirSync(links)
    for (const name of readdirSync(series)) symlinkSync(join(series, name), join(links, name))
    symlinkSync(links, join(links, 'loop'))
    symlinkSync(series, join(folder, 'folder-link'))

    const reference = (await readVolume(series)).volume
    for (const path of [links, join(folder, 'folder-link')]) {
      const { volume } = await readVolume(path)
      assert.deepEqual(volume.size, reference.size, path)
      assert.equal(describeGeometryMismatch(volume, reference), undefined, path)
      assert.deepEqual(volume.data, reference.data, path)
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('DICOM file cut short rejected', (t) =>
  withSeriesCopy(t, 'ct/lung-pet-ct-dx/A0002-8mm-B70f', async (folder) => {
    truncateSync(join(folder, '1-15.dcm'), 300_000)
    // 512 x 512 pixels of 16 bits are 524288 bytes of pixel data.
    await assert.rejects(readVolume(folder), /1 file\(s\) are cut short before the end of their pixel data \(1-15\.dcm contains \d+ of 524288 bytes\); copy the series again/)
  }))

test('DICOM header cut short rejected', (t) =>
  withSeriesCopy(t, 'ct/cip/ct-64-dicom', async (folder) => {
    // IMG0001 (the series end, where no gap shows) cut past the DICM marker (300 bytes) and inside
    // the preamble (100 bytes), and IMG0040 in the middle: each is named, not skipped or taken
    // for a missing file.
    for (const [name, bytes] of [['IMG0001.dcm', 300], ['IMG0001.dcm', 100], ['IMG0040.dcm', 100]] as const) {
      const backup = join(folder, `${name}.whole`)
      copyFileSync(join(folder, name), backup)
      truncateSync(join(folder, name), bytes)
      await assert.rejects(
        readVolume(folder),
        new RegExp(`could not read 1 DICOM file\\(s\\) in folder .*: ${name.replace('.', '\\.')} \\(${bytes} bytes\\); they are probably cut short or damaged`),
      )
      rmSync(join(folder, name))
      copyFileSync(backup, join(folder, name))
      rmSync(backup)
    }
  }))

test('DICOM series with missing slice rejected', (t) =>
  withSeriesCopy(t, 'ct/lung-pet-ct-dx/A0002-8mm-B70f', async (folder) => {
    rmSync(join(folder, '1-15.dcm'))
    // The series has 8 mm between slices, so one missing file leaves a 16 mm gap.
    await assert.rejects(readVolume(folder), /the slices are 8\.00 mm apart except for a gap of 16\.00 mm between slice positions/)
  }))

/** Encodes one explicit-VR little-endian element with a short (2-byte) length. */
function shortElement(group: number, element: number, vr: string, value: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt16LE(group, 0)
  header.writeUInt16LE(element, 2)
  header.write(vr, 4, 'latin1')
  header.writeUInt16LE(value.length, 6)
  return Buffer.concat([header, value])
}

/** Pads a text value to an even length, as DICOM requires (UIDs with a null byte, others with a space). */
function text(value: string, vr: string): Buffer {
  return Buffer.from(value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' '), 'latin1')
}

function itemHeader(element: number, length: number): Buffer {
  const header = Buffer.alloc(8)
  header.writeUInt16LE(0xfffe, 0)
  header.writeUInt16LE(element, 2)
  header.writeUInt32LE(length, 4)
  return header
}

/**
 * Builds a DICOM file in the JPEG lossless transfer syntax whose pixel data are a sequence of an
 * empty offset table and one 100-byte fragment, then the sequence delimiter: 124 bytes in all.
 */
function compressedDicomFile(slicePositionMm: number): Buffer {
  const meta = shortElement(0x0002, 0x0010, 'UI', text('1.2.840.10008.1.2.4.70', 'UI'))
  const rows = Buffer.alloc(2)
  rows.writeUInt16LE(8)
  const pixelHeader = Buffer.alloc(12)
  pixelHeader.writeUInt16LE(0x7fe0, 0)
  pixelHeader.writeUInt16LE(0x0010, 2)
  pixelHeader.write('OB', 4, 'latin1')
  pixelHeader.writeUInt32LE(0xffffffff, 8)
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    meta,
    shortElement(0x0008, 0x0060, 'CS', text('CT', 'CS')),
    shortElement(0x0010, 0x0020, 'LO', text('P1', 'LO')),
    shortElement(0x0020, 0x000e, 'UI', text('1.2.3.4', 'UI')),
    shortElement(0x0020, 0x0032, 'DS', text(`0\\0\\${slicePositionMm}`, 'DS')),
    shortElement(0x0020, 0x0037, 'DS', text('1\\0\\0\\0\\1\\0', 'DS')),
    shortElement(0x0028, 0x0010, 'US', rows),
    shortElement(0x0028, 0x0011, 'US', rows),
    pixelHeader,
    itemHeader(0xe000, 0),
    itemHeader(0xe000, 100),
    Buffer.alloc(100, 7),
    itemHeader(0xe0dd, 0),
  ])
}

test('compressed pixel data extent', () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-dicom-'))
  try {
    const file = join(folder, 'slice.dcm')
    const bytes = compressedDicomFile(0)
    writeFileSync(file, bytes)
    const whole = readDicomHeader(file, ['0008|0060', '0028|0010'])
    assert.equal(whole?.tags.get('0008|0060'), 'CT')
    // The pixel data start after the 12-byte element header and run to the end of the file.
    assert.deepEqual(whole?.pixelData, { offset: bytes.length - 124, length: 124, encapsulated: true })

    // Cut inside the fragment: 94 of the 124 bytes remain, and the fragment alone calls for 116
    // plus the 8-byte delimiter.
    truncateSync(file, bytes.length - 30)
    assert.deepEqual(readDicomHeader(file, ['0008|0060'])?.pixelData, { offset: bytes.length - 124, length: 124, encapsulated: true })
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('compressed DICOM file cut short rejected', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-dicom-'))
  try {
    for (const k of [0, 1, 2]) writeFileSync(join(folder, `${k}.dcm`), compressedDicomFile(5 * k))
    const cut = join(folder, '1.dcm')
    truncateSync(cut, statSync(cut).size - 30)
    await assert.rejects(
      readVolume(folder),
      /1 file\(s\) are cut short before the end of their pixel data \(1\.dcm contains 94 bytes of compressed pixel data, at least 124 expected\)/,
    )
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})
