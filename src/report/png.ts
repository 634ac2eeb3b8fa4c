import { crc32, deflateSync } from 'node:zlib'

/** An 8-bit RGB raster, row-major from the top-left pixel, 3 bytes per pixel. */
export interface RgbImage {
  width: number
  height: number
  pixels: Uint8Array
}

export function createRgbImage(width: number, height: number, background: [number, number, number] = [0, 0, 0]): RgbImage {
  const pixels = new Uint8Array(width * height * 3)
  for (let p = 0; p < width * height; p++) pixels.set(background, 3 * p)
  return { width, height, pixels }
}

/** Encodes an RGB raster as a PNG file (8-bit truecolour, no interlace, filter 0 on every row). */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, pixels } = image
  if (pixels.length !== width * height * 3) {
    throw new Error(`encodePng: expected ${width * height * 3} bytes for ${width} x ${height} RGB, got ${pixels.length}`)
  }

  const rowBytes = width * 3
  const filtered = Buffer.alloc((rowBytes + 1) * height)
  for (let y = 0; y < height; y++) {
    filtered[y * (rowBytes + 1)] = 0
    filtered.set(pixels.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1)
  }

  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // colour type: truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(filtered, { level: 6 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

function pngChunk(type: string, body: Buffer): Buffer {
  const typeAndBody = Buffer.concat([Buffer.from(type, 'latin1'), body])
  const chunk = Buffer.alloc(12 + body.length)
  chunk.writeUInt32BE(body.length, 0)
  typeAndBody.copy(chunk, 4)
  chunk.writeUInt32BE(crc32(typeAndBody) >>> 0, 8 + body.length)
  return chunk
}
