import type { Volume } from '../volume/volume.js'
import { COLINET_INPUT, type NetworkInputSpec, type SliceFrame } from './preprocess.js'

/** Tissue threshold that separates the body (and table) from the surrounding air. */
const BODY_THRESHOLD_HU = -500

/** Margin added on every side of the body's bounding box, as a fraction of its size. */
const BODY_MARGIN = 0.04

export interface PixelBox {
  xMin: number
  xMax: number
  yMin: number
  yMax: number
}

/**
 * Finds the in-plane bounding box of the body over all slices: the largest 4-connected region of
 * the slice-wise maximum projection above -500 HU. A CT table is usually separated from the
 * patient by air and so falls outside that region. Returns the whole slice when no tissue is found.
 */
export function findBodyBox(canonical: Volume): PixelBox {
  const [nx, ny, nz] = canonical.size
  const plane = nx * ny
  const projection = new Uint8Array(plane)
  const data = canonical.data
  for (let k = 0; k < nz; k++) {
    const offset = k * plane
    for (let p = 0; p < plane; p++) {
      if (data[offset + p] > BODY_THRESHOLD_HU) projection[p] = 1
    }
  }

  const box = largestRegionBox(projection, nx, ny)
  return box ?? { xMin: 0, xMax: nx - 1, yMin: 0, yMax: ny - 1 }
}

/** Bounding box of the largest 4-connected region of a 2D mask, or undefined if the mask is empty. */
function largestRegionBox(mask: Uint8Array, nx: number, ny: number): PixelBox | undefined {
  const visited = new Uint8Array(mask.length)
  const queue = new Int32Array(mask.length)
  let best: PixelBox | undefined
  let bestCount = 0

  for (let start = 0; start < mask.length; start++) {
    if (mask[start] === 0 || visited[start] === 1) continue
    let head = 0
    let tail = 0
    queue[tail++] = start
    visited[start] = 1
    const box: PixelBox = { xMin: nx, xMax: -1, yMin: ny, yMax: -1 }
    while (head < tail) {
      const p = queue[head++]
      const x = p % nx
      const y = (p - x) / nx
      if (x < box.xMin) box.xMin = x
      if (x > box.xMax) box.xMax = x
      if (y < box.yMin) box.yMin = y
      if (y > box.yMax) box.yMax = y
      const neighbours = [x > 0 ? p - 1 : -1, x < nx - 1 ? p + 1 : -1, y > 0 ? p - nx : -1, y < ny - 1 ? p + nx : -1]
      for (const q of neighbours) {
        if (q >= 0 && mask[q] === 1 && visited[q] === 0) {
          visited[q] = 1
          queue[tail++] = q
        }
      }
    }
    if (tail > bestCount) {
      bestCount = tail
      best = box
    }
  }
  return best
}

/**
 * Places the network grid over a pixel box. The box plus a margin is scaled to fit the grid with
 * the same mm per output pixel in both directions, so the box grows along its shorter side. The
 * grid is centred on the box. Parts of the grid outside the slice read as air.
 */
export function frameForBox(box: PixelBox, spacingMm: readonly number[], spec: NetworkInputSpec = COLINET_INPUT): SliceFrame {
  const widthMm = (box.xMax - box.xMin + 1) * spacingMm[0] * (1 + 2 * BODY_MARGIN)
  const heightMm = (box.yMax - box.yMin + 1) * spacingMm[1] * (1 + 2 * BODY_MARGIN)
  const mmPerPixel = Math.max(widthMm / spec.width, heightMm / spec.height)
  const stepX = mmPerPixel / spacingMm[0]
  const stepY = mmPerPixel / spacingMm[1]
  const centreX = (box.xMin + box.xMax) / 2
  const centreY = (box.yMin + box.yMax) / 2
  return {
    x0: centreX - (stepX * (spec.width - 1)) / 2,
    y0: centreY - (stepY * (spec.height - 1)) / 2,
    stepX,
    stepY,
    width: spec.width,
    height: spec.height,
  }
}

/** Fits the network grid to the body box of a canonical CT. */
export function frameForVolume(canonical: Volume, spec: NetworkInputSpec = COLINET_INPUT): SliceFrame {
  return frameForBox(findBodyBox(canonical), canonical.spacingMm, spec)
}
