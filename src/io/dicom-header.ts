import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/**
 * A reader for the few header attributes that group DICOM files into series. It parses the
 * Part 10 file meta information and then the data set in explicit or implicit VR little endian.
 * It stops at the pixel data, so it reads a few KB per file where a full DICOM toolkit parses the
 * whole file. It returns undefined for anything it does not handle (no "DICM" preamble,
 * big-endian or deflated transfer syntax, requested tags beyond the first 64 KB), and the caller
 * then falls back to a full DICOM reader.
 */

const HEADER_BYTES = 64 * 1024
const IMPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2'
const EXPLICIT_BIG_ENDIAN = '1.2.840.10008.1.2.2'
const DEFLATED_EXPLICIT_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99'
const UNDEFINED_LENGTH = 0xffffffff
/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'])
/** Tags of VR US (unsigned 16-bit) among those read, for implicit VR where the file does not name the VR. */
const UNSIGNED_SHORT_TAGS = new Set(['0028|0010', '0028|0011', '0028|0100', '0028|0101', '0028|0102', '0028|0103'])

/** Position and length of a file's Pixel Data element (7FE0,0010) value. */
export interface PixelDataExtent {
  /** Byte offset of the first pixel data byte in the file. */
  offset: number
  /**
   * Bytes of pixel data from `offset`. For native pixel data, the element's length. For
   * compressed pixel data, the bytes up to the end of the sequence delimiter, or in a file cut
   * short, a lower bound: up to the end of the fragment that runs past the end of the file.
   */
  length: number
  /** True for compressed pixel data, stored as a sequence of fragments. */
  encapsulated: boolean
}

/** Header attributes of one DICOM file. */
export interface DicomHeader {
  /** The requested tags found, by 'gggg|eeee' key. */
  tags: Map<string, string>
  /**
   * Extent of the pixel data: undefined when the elements before them do not fit in the first
   * 64 KB, and when their fragments do not follow the standard.
   */
  pixelData: PixelDataExtent | undefined
}

/**
 * Reads the given tags ('gggg|eeee', lower-case hex) and the pixel data extent from the header
 * of a DICOM file, or returns undefined for a header this parser does not handle.
 */
export function readDicomHeader(path: string, tags: readonly string[]): DicomHeader | undefined {
  const bytes = readHeaderBytes(path)
  let header: DicomHeader | undefined
  try {
    header = parseHeader(bytes, new Set(tags))
  } catch {
    return undefined
  }
  if (header?.pixelData?.encapsulated === true) header.pixelData = measureFragments(path, header.pixelData.offset)
  return header
}

/**
 * Walks the item headers of compressed pixel data from `offset` to the sequence delimiter, reading
 * 8 bytes per fragment. Returns undefined for items that do not follow the standard.
 */
function measureFragments(path: string, offset: number): PixelDataExtent | undefined {
  const item = Buffer.alloc(8)
  const fd = openSync(path, 'r')
  try {
    const fileBytes = fstatSync(fd).size
    let position = offset
    for (;;) {
      // A file that ends here still needs at least this item header.
      if (position + 8 > fileBytes) return { offset, length: position + 8 - offset, encapsulated: true }
      readSync(fd, item, 0, 8, position)
      const group = item.readUInt16LE(0)
      const element = item.readUInt16LE(2)
      const length = item.readUInt32LE(4)
      if (group === 0xfffe && element === 0xe0dd) return { offset, length: position + 8 - offset, encapsulated: true }
      if (group !== 0xfffe || element !== 0xe000 || length === UNDEFINED_LENGTH) return undefined
      position += 8 + length
    }
  } finally {
    closeSync(fd)
  }
}

/** Reads the first HEADER_BYTES of a file, or the whole file when it is shorter. */
function readHeaderBytes(path: string): Buffer {
  const buffer = Buffer.alloc(HEADER_BYTES)
  const fd = openSync(path, 'r')
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, HEADER_BYTES, 0))
  } finally {
    closeSync(fd)
  }
}

interface Cursor {
  offset: number
}

/**
 * Returns a cursor at the first element after the file meta group, with the data set's VR
 * encoding, or undefined for a file that is not Part 10 or not in a little-endian transfer syntax.
 */
function dataSetStart(bytes: Buffer): (Cursor & { explicit: boolean }) | undefined {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined
  // The file meta group (0002) is always explicit VR little endian.
  const cursor: Cursor = { offset: 132 }
  let transferSyntax = ''
  while (cursor.offset + 8 <= bytes.length && bytes.readUInt16LE(cursor.offset) === 0x0002) {
    const element = readElement(bytes, cursor, true)
    if (element.key === '0002|0010') transferSyntax = element.text
  }
  // Every other transfer syntax, the compressed ones included, encodes the data set in explicit VR
  // little endian.
  if (transferSyntax === '' || transferSyntax === EXPLICIT_BIG_ENDIAN || transferSyntax === DEFLATED_EXPLICIT_LITTLE_ENDIAN) return undefined
  return { offset: cursor.offset, explicit: transferSyntax !== IMPLICIT_LITTLE_ENDIAN }
}

function tagKey(group: number, element: number): string {
  return `${group.toString(16).padStart(4, '0')}|${element.toString(16).padStart(4, '0')}`
}

function parseHeader(bytes: Buffer, requested: Set<string>): DicomHeader | undefined {
  const tags = new Map<string, string>()
  const lastRequested = Math.max(...[...requested].map((tag) => parseInt(tag.replace('|', ''), 16)))
  const cursor = dataSetStart(bytes)
  if (cursor === undefined) return undefined

  // Past the last requested tag, a header that runs beyond the bytes read hides only the pixel data.
  let pastRequested = false
  try {
    while (cursor.offset + 8 <= bytes.length) {
      const group = bytes.readUInt16LE(cursor.offset)
      const elementNumber = bytes.readUInt16LE(cursor.offset + 2)
      if (group === 0x7fe0 && elementNumber === 0x0010) return { tags, pixelData: pixelDataAt(bytes, cursor.offset, cursor.explicit) }
      pastRequested = group * 0x10000 + elementNumber > lastRequested
      const element = readElement(bytes, cursor, cursor.explicit)
      if (requested.has(element.key)) tags.set(element.key, element.text)
    }
  } catch (error) {
    if (!pastRequested) throw error
  }
  return pastRequested ? { tags, pixelData: undefined } : undefined
}

/** Reads the extent of the Pixel Data element whose header starts at `offset`. */
function pixelDataAt(bytes: Buffer, offset: number, explicit: boolean): PixelDataExtent | undefined {
  // Pixel data are OB or OW, so in explicit VR their header has the long form.
  const headerLength = explicit ? 12 : 8
  if (offset + headerLength > bytes.length) return undefined
  const length = bytes.readUInt32LE(offset + headerLength - 4)
  // Compressed pixel data have an undefined length, and readDicomHeader measures their fragments.
  return { offset: offset + headerLength, length, encapsulated: length === UNDEFINED_LENGTH }
}

function readElement(bytes: Buffer, cursor: Cursor, explicit: boolean): { key: string; text: string } {
  const group = bytes.readUInt16LE(cursor.offset)
  const element = bytes.readUInt16LE(cursor.offset + 2)
  let vr = ''
  let length: number
  if (explicit) {
    vr = bytes.toString('latin1', cursor.offset + 4, cursor.offset + 6)
    if (LONG_VRS.has(vr)) {
      length = bytes.readUInt32LE(cursor.offset + 8)
      cursor.offset += 12
    } else {
      length = bytes.readUInt16LE(cursor.offset + 6)
      cursor.offset += 8
    }
  } else {
    length = bytes.readUInt32LE(cursor.offset + 4)
    cursor.offset += 8
  }

  if (length === UNDEFINED_LENGTH) {
    skipUndefinedLengthSequence(bytes, cursor, explicit)
    return { key: tagKey(group, element), text: '' }
  }
  if (cursor.offset + length > bytes.length) throw new RangeError('element runs past the bytes read')
  const key = tagKey(group, element)
  const text = decodeValue(bytes, cursor.offset, length, vr || (UNSIGNED_SHORT_TAGS.has(key) ? 'US' : ''))
  cursor.offset += length
  return { key, text }
}

/** Decodes a value as DICOM text (multiple values joined by backslashes); binary VRs other than US are left empty. */
function decodeValue(bytes: Buffer, offset: number, length: number, vr: string): string {
  if (vr === 'US') {
    const values: number[] = []
    for (let at = offset; at + 2 <= offset + length; at += 2) values.push(bytes.readUInt16LE(at))
    return values.join('\\')
  }
  if (['SQ', 'OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN', 'UL', 'SL', 'SS', 'FL', 'FD', 'AT', 'SV', 'UV'].includes(vr)) return ''
  return bytes.toString('latin1', offset, offset + length).replace(/\0/g, '').trim()
}

/** Skips the items of a sequence of undefined length up to and including its delimiter. */
function skipUndefinedLengthSequence(bytes: Buffer, cursor: Cursor, explicit: boolean): void {
  for (;;) {
    const group = bytes.readUInt16LE(cursor.offset)
    const element = bytes.readUInt16LE(cursor.offset + 2)
    const length = bytes.readUInt32LE(cursor.offset + 4)
    cursor.offset += 8
    if (group !== 0xfffe) throw new Error('expected an item or sequence delimiter')
    if (element === 0xe0dd) return
    if (element !== 0xe000) throw new Error('expected an item tag')
    if (length !== UNDEFINED_LENGTH) {
      cursor.offset += length
      continue
    }
    // An item of undefined length contains elements up to an item delimiter (FFFE,E00D).
    while (!(bytes.readUInt16LE(cursor.offset) === 0xfffe && bytes.readUInt16LE(cursor.offset + 2) === 0xe00d)) {
      readElement(bytes, cursor, explicit)
    }
    cursor.offset += 8
  }
}
