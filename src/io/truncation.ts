/**
 * Detects image files that end before the voxel data their header calls for. The itk-wasm reader
 * (@itk-wasm/image-io 1.6.1) returns a cut .nii.gz file as all zeros and a cut .nii file with
 * zeros for the missing voxels, without an error. For a cut NRRD or MetaImage file it reports
 * only that reading failed.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib'
import { InputError } from '../errors.js'

/** Layout of the voxel data in a file: where they start and how many bytes the header calls for. */
interface DataLayout {
  /** Byte offset of the voxel data: in the decompressed stream when `gzip`, else in the file. */
  dataOffset: number
  /** Voxel data bytes that the header calls for. */
  dataBytes: number
  /** The header's voxel counts per axis and voxel size, for the message. */
  sizes: number[]
  bytesPerVoxel: number
  /** True when the data (for NIfTI, the whole file) form one gzip stream starting at `gzipStart`. */
  gzip: boolean
  gzipStart: number
  /** Name of the data bytes in the message: 'voxel data' unless the header counts compressed bytes. */
  dataKind?: string
}

/** Bytes of each NIfTI header version, from its sizeof_hdr field. */
const NIFTI1_HEADER_BYTES = 348
const NIFTI2_HEADER_BYTES = 540

/**
 * Throws InputError when a NIfTI (.nii, .nii.gz), NRRD (.nrrd with attached raw or gzip data) or
 * MetaImage (.mha) file contains fewer voxel bytes than its header calls for. The message gives
 * the bytes expected and found. Other formats and headers it cannot parse pass unchecked, so the
 * reader reports them.
 */
export async function checkFileNotTruncated(path: string, format: string): Promise<void> {
  const fileBytes = statSync(path).size
  const gzipName = path.toLowerCase().endsWith('.gz')
  if (format === 'NIfTI') {
    if (gzipName) await checkGzipNifti(path, format, fileBytes)
    else checkNifti(path, format, fileBytes)
  } else if (format === 'NRRD' && path.toLowerCase().endsWith('.nrrd')) {
    const layout = nrrdLayout(readBytes(path, 0, 65536))
    if (layout?.gzip === true) await checkGzipData(path, format, fileBytes, layout)
    else checkLayout(path, format, fileBytes, layout)
  } else if (format === 'MetaImage' && path.toLowerCase().endsWith('.mha')) {
    checkLayout(path, format, fileBytes, metaImageLayout(readBytes(path, 0, 65536)))
  }
}

/** Reads up to `length` bytes from `position`, fewer at the end of the file. */
function readBytes(path: string, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length)
  const descriptor = openSync(path, 'r')
  try {
    return buffer.subarray(0, readSync(descriptor, buffer, 0, length, position))
  } finally {
    closeSync(descriptor)
  }
}

/** Checks an uncompressed layout against the file length. */
function checkLayout(path: string, format: string, fileBytes: number, layout: DataLayout | undefined): void {
  if (layout === undefined) return
  const found = fileBytes - layout.dataOffset
  if (found < layout.dataBytes) throw truncatedError(path, format, fileBytes, `it contains ${Math.max(0, found)}`, layout)
}

/** Checks an uncompressed .nii file, including one that ends inside its header. */
function checkNifti(path: string, format: string, fileBytes: number): void {
  const start = readBytes(path, 0, NIFTI2_HEADER_BYTES)
  if (start.length >= 4 && start.length < NIFTI1_HEADER_BYTES && [start.readInt32LE(0), start.readInt32BE(0)].includes(NIFTI1_HEADER_BYTES)) {
    throw new InputError(
      `could not read ${path} as ${format}: the file is cut short: it ends after ${fileBytes} bytes, ` +
        `inside the ${NIFTI1_HEADER_BYTES}-byte NIfTI header; copy or download it again`,
    )
  }
  checkLayout(path, format, fileBytes, niftiLayout(start, false))
}

/** Checks a .nii.gz file, which is one gzip stream, so its header comes from the decompressed start. */
async function checkGzipNifti(path: string, format: string, fileBytes: number): Promise<void> {
  const header = niftiLayout(inflateStart(path, 0), true)
  if (header !== undefined && hasGzipTrailerSize(path, fileBytes, header.dataOffset + header.dataBytes)) return

  const inflated = await inflate(path, 0, NIFTI2_HEADER_BYTES)
  const layout = niftiLayout(inflated.start, true)
  if (layout === undefined) {
    if (inflated.failure === 'truncated' && inflated.bytes < NIFTI1_HEADER_BYTES) {
      throw new InputError(
        `could not read ${path} as ${format}: the file is cut short: its gzip stream ends after ${inflated.bytes} bytes, ` +
          `inside the ${NIFTI1_HEADER_BYTES}-byte NIfTI header; the file is ${fileBytes} bytes long; copy or download it again`,
      )
    }
    return
  }
  checkInflated(path, format, fileBytes, layout, inflated)
}

/** Checks NRRD gzip data, decompressing them only when the gzip trailer's size does not match. */
async function checkGzipData(path: string, format: string, fileBytes: number, layout: DataLayout): Promise<void> {
  if (hasGzipTrailerSize(path, fileBytes, layout.dataBytes)) return
  checkInflated(path, format, fileBytes, layout, await inflate(path, layout.gzipStart, 0))
}

function checkInflated(path: string, format: string, fileBytes: number, layout: DataLayout, inflated: Inflated): void {
  const found = Math.max(0, inflated.bytes - layout.dataOffset)
  if (found >= layout.dataBytes) return
  const stop =
    inflated.failure === 'truncated'
      ? `its gzip stream ends after ${found}`
      : inflated.failure === undefined
        ? `its gzip stream is complete but contains ${found}`
        : `its gzip data are damaged (${inflated.failure}) after ${found}`
  throw truncatedError(path, format, fileBytes, stop, layout)
}

function truncatedError(path: string, format: string, fileBytes: number, found: string, layout: DataLayout): InputError {
  const voxels = `${layout.sizes.join(' x ')} voxels of ${layout.bytesPerVoxel} byte${layout.bytesPerVoxel === 1 ? '' : 's'}`
  return new InputError(
    `could not read ${path} as ${format}: the file is cut short: ${found} of the ${layout.dataBytes} bytes of ${layout.dataKind ?? 'voxel data'} ` +
      `that its header calls for (${voxels}); the file is ${fileBytes} bytes long; copy or download it again`,
  )
}

interface Inflated {
  /** Decompressed bytes before the stream ended or failed. */
  bytes: number
  /** The first decompressed bytes, up to the number requested. */
  start: Buffer
  /** 'truncated' when the gzip stream stops before its end, zlib's message for other damage. */
  failure?: string
}

/**
 * Returns true when the last 4 bytes of the file, the ISIZE field that ends a gzip stream
 * (RFC 1952), equal the expected decompressed length modulo 2^32. A file cut short ends in other
 * data, which match by chance once in 2^32. A file of several gzip members, or with bytes after
 * the stream, fails this test and is then decompressed in full.
 */
function hasGzipTrailerSize(path: string, fileBytes: number, expectedBytes: number): boolean {
  // A gzip stream has a 10-byte header and an 8-byte trailer, so a shorter file has no trailer.
  if (fileBytes < 18) return false
  return readBytes(path, fileBytes - 4, 4).readUInt32LE(0) === expectedBytes % 2 ** 32
}

/**
 * Decompresses the start of the gzip stream at `offset`, enough for a NIfTI header. Z_SYNC_FLUSH
 * lets zlib return what it decoded from input that stops in mid-stream instead of failing.
 */
function inflateStart(path: string, offset: number): Buffer {
  const compressed = readBytes(path, offset, 4096)
  try {
    return gunzipSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH })
  } catch {
    return Buffer.alloc(0)
  }
}

/** Decompresses the gzip stream that starts at `offset` and counts its bytes, keeping only the first `keep`. */
async function inflate(path: string, offset: number, keep: number): Promise<Inflated> {
  let bytes = 0
  const startChunks: Buffer[] = []
  let startBytes = 0
  try {
    await pipeline(createReadStream(path, { start: offset }), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        bytes += chunk.length
        if (startBytes < keep) {
          startChunks.push(chunk.subarray(0, keep - startBytes))
          startBytes += startChunks.at(-1)!.length
        }
      }
    })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // zlib reports a stream that stops before its end as Z_BUF_ERROR ("unexpected end of file").
    const failure = code === 'Z_BUF_ERROR' ? 'truncated' : (error as Error).message
    return { bytes, start: Buffer.concat(startChunks), failure }
  }
  return { bytes, start: Buffer.concat(startChunks) }
}

/**
 * Reads the data layout from the start of a NIfTI-1 or NIfTI-2 single file (magic n+1 or n+2):
 * dim (the voxel counts), bitpix (bits per voxel) and vox_offset (where the data start).
 */
function niftiLayout(header: Buffer, gzip: boolean): DataLayout | undefined {
  if (header.length < NIFTI1_HEADER_BYTES) return undefined
  for (const littleEndian of [true, false]) {
    const int16 = (at: number): number => (littleEndian ? header.readInt16LE(at) : header.readInt16BE(at))
    const int32 = (at: number): number => (littleEndian ? header.readInt32LE(at) : header.readInt32BE(at))
    if (int32(0) === NIFTI1_HEADER_BYTES && header.toString('latin1', 344, 347) === 'n+1') {
      const dims = Array.from({ length: 8 }, (_, axis) => int16(40 + 2 * axis))
      const voxOffset = littleEndian ? header.readFloatLE(108) : header.readFloatBE(108)
      return niftiDataLayout(dims, int16(72), Math.max(voxOffset, NIFTI1_HEADER_BYTES + 4), gzip)
    }
    if (int32(0) === NIFTI2_HEADER_BYTES && header.length >= NIFTI2_HEADER_BYTES && header.toString('latin1', 4, 7) === 'n+2') {
      const int64 = (at: number): number => Number(littleEndian ? header.readBigInt64LE(at) : header.readBigInt64BE(at))
      const dims = Array.from({ length: 8 }, (_, axis) => int64(16 + 8 * axis))
      return niftiDataLayout(dims, int16(14), Math.max(int64(168), NIFTI2_HEADER_BYTES + 4), gzip)
    }
  }
  return undefined
}

function niftiDataLayout(dims: number[], bitsPerVoxel: number, dataOffset: number, gzip: boolean): DataLayout | undefined {
  const axes = dims[0]!
  if (axes < 1 || axes > 7 || bitsPerVoxel < 1) return undefined
  const sizes = dims.slice(1, axes + 1)
  if (sizes.some((size) => size < 1)) return undefined
  const voxelCount = sizes.reduce((product, size) => product * size, 1)
  return { dataOffset, dataBytes: Math.ceil((voxelCount * bitsPerVoxel) / 8), sizes, bytesPerVoxel: bitsPerVoxel / 8, gzip, gzipStart: 0 }
}

/** Bytes per voxel of the NRRD type names, with their alternative spellings. */
const NRRD_TYPE_BYTES: Record<string, number> = {}
for (const [bytes, names] of [
  [1, 'signed char,int8,int8_t,uchar,unsigned char,uint8,uint8_t'],
  [2, 'short,short int,signed short,signed short int,int16,int16_t,ushort,unsigned short,unsigned short int,uint16,uint16_t'],
  [4, 'int,signed int,int32,int32_t,uint,unsigned int,uint32,uint32_t,float'],
  [8, 'longlong,long long,long long int,signed long long,signed long long int,int64,int64_t,ulonglong,unsigned long long,unsigned long long int,uint64,uint64_t,double'],
] as const) {
  for (const name of names.split(',')) NRRD_TYPE_BYTES[name] = bytes
}

/**
 * Reads the data layout of an NRRD file with attached raw or gzip data, whose data start after
 * the first empty line. Returns undefined for detached data, skipped lines or bytes, and other
 * encodings, which this check leaves to the reader.
 */
function nrrdLayout(start: Buffer): DataLayout | undefined {
  const text = start.toString('latin1')
  if (!text.startsWith('NRRD')) return undefined
  const end = /\r?\n\r?\n/.exec(text)
  if (end === null) return undefined
  const fields = new Map<string, string>()
  for (const line of text.slice(0, end.index).split(/\r?\n/)) {
    const match = /^([^:#]+):=?\s*(.*)$/.exec(line)
    if (match !== null) fields.set(match[1]!.trim().toLowerCase().replace(/\s+/g, ' '), match[2]!.trim())
  }
  const detached = ['data file', 'datafile', 'line skip', 'lineskip', 'byte skip', 'byteskip'].some((name) => fields.has(name))
  const encoding = fields.get('encoding')?.toLowerCase()
  const bytesPerVoxel = NRRD_TYPE_BYTES[fields.get('type')?.toLowerCase() ?? '']
  const sizes = (fields.get('sizes') ?? '').split(/\s+/).map(Number)
  if (detached || bytesPerVoxel === undefined || sizes.some((size) => !Number.isInteger(size) || size < 1)) return undefined
  if (encoding !== 'raw' && encoding !== 'gzip' && encoding !== 'gz') return undefined

  const dataStart = Buffer.byteLength(text.slice(0, end.index + end[0].length), 'latin1')
  const dataBytes = sizes.reduce((product, size) => product * size, bytesPerVoxel)
  const gzip = encoding !== 'raw'
  return { dataOffset: gzip ? 0 : dataStart, dataBytes, sizes, bytesPerVoxel, gzip, gzipStart: dataStart }
}

/** Bytes per voxel of the MetaImage element types whose size does not depend on the platform. */
const META_IMAGE_TYPE_BYTES: Record<string, number> = {
  MET_CHAR: 1,
  MET_UCHAR: 1,
  MET_SHORT: 2,
  MET_USHORT: 2,
  MET_INT: 4,
  MET_UINT: 4,
  MET_LONG_LONG: 8,
  MET_ULONG_LONG: 8,
  MET_FLOAT: 4,
  MET_DOUBLE: 8,
}

/**
 * Reads the data layout of a MetaImage file with its data inside (ElementDataFile = LOCAL, the
 * last header line). Compressed data are checked against CompressedDataSize. Returns undefined
 * for a header it cannot use (compressed without that size, a HeaderSize skip, other types).
 */
function metaImageLayout(start: Buffer): DataLayout | undefined {
  const text = start.toString('latin1')
  const fields = new Map<string, string>()
  let dataStart: number | undefined
  let position = 0
  while (dataStart === undefined) {
    const lineEnd = text.indexOf('\n', position)
    if (lineEnd < 0) return undefined
    const match = /^\s*(\w+)\s*=\s*(.*?)\s*$/.exec(text.slice(position, lineEnd))
    if (match === null) return undefined
    fields.set(match[1]!, match[2]!)
    position = lineEnd + 1
    if (match[1] === 'ElementDataFile') dataStart = position
  }
  if (fields.get('ElementDataFile') !== 'LOCAL' || fields.has('HeaderSize')) return undefined

  const sizes = (fields.get('DimSize') ?? '').split(/\s+/).map(Number)
  const channels = Number(fields.get('ElementNumberOfChannels') ?? '1')
  const bytesPerVoxel = META_IMAGE_TYPE_BYTES[fields.get('ElementType') ?? '']
  if (bytesPerVoxel === undefined || !Number.isInteger(channels) || channels < 1) return undefined
  if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 1)) return undefined
  const layout = { dataOffset: dataStart, sizes, bytesPerVoxel: bytesPerVoxel * channels, gzip: false, gzipStart: 0 }

  if (/^true$/i.test(fields.get('CompressedData') ?? '')) {
    const compressedBytes = Number(fields.get('CompressedDataSize'))
    if (!Number.isInteger(compressedBytes) || compressedBytes < 1) return undefined
    return { ...layout, dataBytes: compressedBytes, dataKind: 'compressed voxel data' }
  }
  return { ...layout, dataBytes: sizes.reduce((product, size) => product * size, bytesPerVoxel * channels) }
}
