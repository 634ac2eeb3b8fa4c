import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readVolume } from '../../src/io/read.js'
import { createFolder, volumeFile, writeFilesTogether, writeVolume } from '../../src/io/write.js'
import { InputError } from '../../src/errors.js'
import { describeGeometryMismatch, type Volume } from '../../src/volume/volume.js'
import { requireSharedData } from '../support/data.js'

function obliqueVolume(): Volume<Int16Array> {
  const angle = (20 * Math.PI) / 180
  const c = Math.cos(angle)
  const s = Math.sin(angle)
  const data = new Int16Array(4 * 3 * 2)
  for (let i = 0; i < data.length; i++) data[i] = i * 10 - 1000
  return {
    data,
    size: [4, 3, 2],
    spacingMm: [0.7, 0.8, 2.5],
    origin: [-12.5, 30.25, 101],
    // Rotation about z by 20 degrees, then the first axis reversed.
    direction: Float64Array.from([-c, -s, 0, -s, c, 0, 0, 0, 1]),
  }
}

for (const extension of ['.nii.gz', '.nrrd', '.mha']) {
  test(`write then read ${extension} keeps voxels and geometry`, async () => {
    const folder = mkdtempSync(join(tmpdir(), 'colinet-io-'))
    try {
      const original = obliqueVolume()
      const path = join(folder, `volume${extension}`)
      await writeVolume(path, original)
      const { volume } = await readVolume(path)
      assert.equal(describeGeometryMismatch(volume, original, 1e-4), undefined)
      assert.deepEqual(Array.from(volume.data), Array.from(original.data))
      assert.deepEqual(readdirSync(folder), [`volume${extension}`])
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
}

test('writeVolume refuses to overwrite without force', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-io-'))
  try {
    const path = join(folder, 'mask.nii.gz')
    await writeVolume(path, obliqueVolume())
    await assert.rejects(writeVolume(path, obliqueVolume()), /already exists; use --force/)
    await writeVolume(path, obliqueVolume(), { force: true })
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('file read through a symbolic link', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-link-'))
  try {
    const data = Int16Array.from({ length: 4 * 3 * 2 }, (_, v) => v * 10 - 1000)
    const volume: Volume = { data, size: [4, 3, 2], spacingMm: [0.5, 0.75, 2], origin: [1, 2, 3], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
    // The link lies in another folder than the file, as when scans are linked into a study folder.
    mkdirSync(join(folder, 'data'))
    mkdirSync(join(folder, 'study'))
    await writeVolume(join(folder, 'data', 'ct.nii.gz'), volume)
    symlinkSync(join(folder, 'data', 'ct.nii.gz'), join(folder, 'study', 'link.nii.gz'))
    const read = await readVolume(join(folder, 'study', 'link.nii.gz'))
    assert.deepEqual(Array.from(read.volume.data), Array.from(data))
    assert.equal(describeGeometryMismatch(read.volume, volume), undefined)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('readVolume rejects a missing path', async () => {
  await assert.rejects(readVolume('/nonexistent/ct.nii.gz'), (error: Error) => {
    assert.ok(error instanceof InputError)
    assert.match(error.message, /input not found: \/nonexistent\/ct.nii.gz/)
    return true
  })
})

test('readVolume rejects an unknown extension', async () => {
  await assert.rejects(readVolume(import.meta.filename), /unsupported file format: read-write.test.ts/)
})

test('readVolume names a damaged file', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-io-'))
  try {
    for (const [name, content, format] of [
      ['notes.nii.gz', 'plain text, not an image', 'NIfTI'],
      ['broken.nrrd', 'NRRD0004\n###garbage', 'NRRD'],
    ]) {
      const path = join(folder, name)
      writeFileSync(path, content)
      await assert.rejects(readVolume(path), (error: Error) => {
        assert.ok(error instanceof InputError)
        assert.match(error.message, new RegExp(`could not read .*${name} as ${format}: the file is damaged, truncated or not ${format} data`))
        assert.doesNotMatch(error.message, /undefined/)
        return true
      })
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('damaged file message says what the file holds', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-io-'))
  try {
    const text = join(folder, 'notes.nii.gz')
    writeFileSync(text, 'plain text, not an image\nsecond line')
    await assert.rejects(readVolume(text), /; it is not gzip data although its name ends in \.gz, and it starts with the text "plain text, not an image"$/)
    const empty = join(folder, 'empty.nrrd')
    writeFileSync(empty, '')
    await assert.rejects(readVolume(empty), /; the file is empty$/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

/** Returns a 32 x 32 x 8 int16 volume of pseudo-random HU, which gzip cannot shrink much. */
function noiseVolume(): Volume<Int16Array> {
  const data = new Int16Array(32 * 32 * 8)
  let state = 12345
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648
    data[i] = (state % 2000) - 1000
  }
  return { data, size: [32, 32, 8], spacingMm: [1, 1, 2], origin: [0, 0, 0], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
}

/** Writes noiseVolume() with the project's writer, keeps only its first `keep(length)` bytes and returns the cut file's path and length. */
async function writeCut(folder: string, name: string, keep: (length: number) => number): Promise<{ path: string; length: number }> {
  const whole = join(folder, `whole-${name}`)
  await writeVolume(whole, noiseVolume())
  const bytes = readFileSync(whole)
  const path = join(folder, name)
  const length = keep(bytes.length)
  writeFileSync(path, bytes.subarray(0, length))
  return { path, length }
}

/** Runs `check` with a new temporary folder, which is removed afterwards. */
async function inTemporaryFolder(check: (folder: string) => Promise<void>): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-io-'))
  try {
    await check(folder)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

test('cut gzip files name expected bytes', () =>
  inTemporaryFolder(async (folder) => {
    for (const [name, format] of [['cut.nii.gz', 'NIfTI'], ['cut.nrrd', 'NRRD']]) {
      const { path, length } = await writeCut(folder, name, (whole) => Math.floor(whole / 2))
      // 32 x 32 x 8 int16 voxels: 16384 bytes of voxel data.
      await assert.rejects(readVolume(path), (error: Error) => {
        assert.ok(error instanceof InputError)
        assert.match(error.message, new RegExp(`^could not read .*${name} as ${format}: the file is cut short: its gzip stream ends after \\d+ of the 16384 bytes of voxel data`))
        assert.match(error.message, /\(32 x 32 x 8 voxels of 2 bytes\)/)
        assert.match(error.message, new RegExp(`the file is ${length} bytes long; copy or download it again$`))
        return true
      })
    }
  }))

test('cut .nii names bytes found', () =>
  inTemporaryFolder(async (folder) => {
    // The NIfTI-1 header with its 4 extension bytes takes 352 bytes, so 352 + 10000 bytes contain 10000 of the 16384.
    const { path } = await writeCut(folder, 'cut.nii', () => 352 + 10000)
    await assert.rejects(readVolume(path), /the file is cut short: it contains 10000 of the 16384 bytes of voxel data that its header calls for \(32 x 32 x 8 voxels of 2 bytes\); the file is 10352 bytes long/)
  }))

test('cut compressed .mha names bytes found', () =>
  inTemporaryFolder(async (folder) => {
    const { path } = await writeCut(folder, 'cut.mha', (whole) => whole - 100)
    const header = readFileSync(join(folder, 'whole-cut.mha'), 'latin1')
    const compressedBytes = Number(/CompressedDataSize = (\d+)/.exec(header)![1])
    // The header ends after its ElementDataFile line, so 100 bytes fewer leave compressedBytes - 100.
    await assert.rejects(
      readVolume(path),
      new RegExp(`as MetaImage: the file is cut short: it contains ${compressedBytes - 100} of the ${compressedBytes} bytes of compressed voxel data that its header calls for \\(32 x 32 x 8 voxels of 2 bytes\\)`),
    )
  }))

test('raw .mha read whole, rejected cut', () =>
  inTemporaryFolder(async (folder) => {
    // 4 x 4 x 2 int16 voxels are 64 bytes after the header.
    const header = 'ObjectType = Image\nNDims = 3\nDimSize = 4 4 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n'
    const voxels = Buffer.from(Int16Array.from({ length: 32 }, (_, v) => 10 * v - 1000).buffer)
    writeFileSync(join(folder, 'whole.mha'), Buffer.concat([Buffer.from(header, 'latin1'), voxels]))
    const { volume } = await readVolume(join(folder, 'whole.mha'))
    assert.deepEqual(volume.size, [4, 4, 2])
    assert.equal(volume.data[31], -690)

    writeFileSync(join(folder, 'cut.mha'), Buffer.concat([Buffer.from(header, 'latin1'), voxels.subarray(0, 40)]))
    await assert.rejects(readVolume(join(folder, 'cut.mha')), /it contains 40 of the 64 bytes of voxel data that its header calls for \(4 x 4 x 2 voxels of 2 bytes\)/)
  }))

test('.nii cut inside header rejected', () =>
  inTemporaryFolder(async (folder) => {
    const { path } = await writeCut(folder, 'header.nii', () => 100)
    await assert.rejects(readVolume(path), /header\.nii as NIfTI: the file is cut short: it ends after 100 bytes, inside the 348-byte NIfTI header/)
  }))

test('gzip cut inside NIfTI header', () =>
  inTemporaryFolder(async (folder) => {
    const { path } = await writeCut(folder, 'header.nii.gz', () => 30)
    await assert.rejects(readVolume(path), /the file is cut short: its gzip stream ends after \d+ bytes, inside the 348-byte NIfTI header; the file is 30 bytes long/)
  }))

test('CIP NRRD and its DICOM copy give one volume', async (t) => {
  const nrrdPath = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  const dicomPath = requireSharedData(t, 'ct/cip/ct-64-dicom')
  if (nrrdPath === undefined || dicomPath === undefined) return

  const nrrd = (await readVolume(nrrdPath)).volume
  const dicom = await readVolume(dicomPath)
  assert.deepEqual(nrrd.size, [64, 64, 79])
  // The DICOM headers store positions rounded to 1e-3 mm and the slice spacing as 3.98734 mm.
  assert.equal(describeGeometryMismatch(dicom.volume, nrrd, 2e-3), undefined)
  assert.deepEqual(Array.from(dicom.volume.data), Array.from(nrrd.data))
  assert.match(dicom.description, /axial CT, 79 files/)
})

test('Lung-PET-CT-Dx DICOM series reads in HU', async (t) => {
  const folder = requireSharedData(t, 'ct/lung-pet-ct-dx/A0002-8mm-B40f')
  if (folder === undefined) return

  const { volume } = await readVolume(folder)
  assert.deepEqual(volume.size, [512, 512, 30])
  assert.ok(Math.abs(volume.spacingMm[2] - 8) < 1e-3)
  let minimum = Infinity
  for (const value of volume.data) minimum = Math.min(minimum, value)
  // Air outside the patient is -1024 HU once RescaleIntercept -1024 is applied.
  assert.ok(minimum <= -1000 && minimum >= -1100, `minimum ${minimum}`)
})

test('writeFilesTogether writes all or nothing', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-together-'))
  try {
    const first = join(folder, 'first.nii.gz')
    writeFileSync(first, 'earlier content')
    const failing = { path: join(folder, 'second.nii.gz'), write: async () => { throw new Error('disk full') } }
    await assert.rejects(writeFilesTogether([volumeFile(first, obliqueVolume()), failing], { force: true }), /disk full/)
    // The first file was written to a temporary name, which is removed; the target is untouched.
    assert.equal(readFileSync(first, 'utf8'), 'earlier content')
    assert.deepEqual(readdirSync(folder), ['first.nii.gz'])

    const second = join(folder, 'second.nrrd')
    await writeFilesTogether([volumeFile(first, obliqueVolume()), volumeFile(second, obliqueVolume())], { force: true })
    for (const path of [first, second]) {
      const { volume } = await readVolume(path)
      assert.deepEqual(Array.from(volume.data), Array.from(obliqueVolume().data), path)
    }
    assert.deepEqual(readdirSync(folder).sort(), ['first.nii.gz', 'second.nrrd'])
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('createFolder makes parents and names a folder it cannot make', (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'colinet-folders-'))
  try {
    createFolder(join(folder, 'a', 'b', 'c'))
    assert.deepEqual(readdirSync(join(folder, 'a', 'b')), ['c'])
    createFolder(join(folder, 'a', 'b', 'c'))
    writeFileSync(join(folder, 'file'), '')
    assert.throws(() => createFolder(join(folder, 'file', 'sub')), (error: unknown) => error instanceof InputError && /cannot create the folder .*file\/sub \(ENOTDIR\)/.test(error.message))
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
  // Creating a folder under /proc fails with ENOENT although /proc exists; Node's recursive
  // mkdirSync retried that without end.
  if (process.platform !== 'linux') return t.skip('needs /proc')
  assert.throws(() => createFolder('/proc/colinet-no-such-folder/out'), /cannot create the folder \/proc\/colinet-no-such-folder \(ENOENT\)/)
})
