import type { Volume } from '../volume/volume.js'
import { planReorientation, toCanonical } from '../pipeline/orientation.js'
import { createRgbImage, encodePng, type RgbImage } from './png.js'
import { svgToPng } from './rasterize.js'

/** Text drawn above the montage. */
export interface OverviewCaption {
  /** Text naming the input, e.g. its file name and size. fitOverviewTitle fits it to the image width. */
  title: string
  /** True when a model has untrained weights: the image then shows a red warning. */
  untrained: boolean
}

const CAPTION_PX = 46
/** Height of a second title line, when the title needs one. */
const TITLE_LINE_PX = 16
/**
 * Width allowed per title character. Measured with resvg in Noto Sans Bold at 13 px, digits and
 * the average lower-case letter are 7.3 to 7.4 px wide, and a title of UID and path 6.5 px per character.
 */
const TITLE_CHARACTER_PX = 7.4
/** Maximum length of an identifier (DICOM UID or path) kept whole when the title is too long. */
const TITLE_IDENTIFIER_CHARACTERS = 32

/** Lung window for display: level -600 HU, width 1500 HU. */
const WINDOW_LEVEL_HU = -600
const WINDOW_WIDTH_HU = 1500

const CELL_PX = 240
const AXIAL_COLUMNS = 4
const AXIAL_ROWS = 3
const GAP_PX = 4

const RIGHT_LUNG_COLOUR: [number, number, number] = [64, 220, 64]
const LEFT_LUNG_COLOUR: [number, number, number] = [64, 160, 255]
const LESION_COLOUR: [number, number, number] = [255, 48, 48]

/** A 2D view: `at(u, v)` gives the flat voxel index shown at display pixel (u, v). */
interface View {
  widthPx: number
  heightPx: number
  at: (u: number, v: number) => number
}

/**
 * Draws an overview PNG of a segmentation: 12 axial slices with lung (lung window, patient right
 * on the image's left, anterior up) and one coronal slice through the lungs (superior up). The
 * right lung is outlined in green, the left lung in blue and lesions in red.
 */
export function renderOverviewPng(ct: Volume, lung: Volume<Uint8Array>, lesion: Volume<Uint8Array>, caption?: OverviewCaption): Buffer {
  const plan = planReorientation(ct.direction)
  const canonicalCt = toCanonical(ct, plan)
  const canonicalLung = toCanonical(lung, plan)
  const canonicalLesion = toCanonical(lesion, plan)
  const [nx, ny, nz] = canonicalCt.size
  const [sx, sy, sz] = canonicalCt.spacingMm

  const slices = chooseAxialSlices(canonicalLung.data, nx * ny, nz, AXIAL_COLUMNS * AXIAL_ROWS)
  const axialScale = CELL_PX / Math.max(nx * sx, ny * sy)
  const coronalRow = chooseCoronalRow(canonicalLung.data, nx, ny, nz)
  const coronalHeightPx = AXIAL_ROWS * CELL_PX + (AXIAL_ROWS - 1) * GAP_PX
  const coronalScale = Math.min(coronalHeightPx / (nz * sz), CELL_PX / (nx * sx))

  const width = AXIAL_COLUMNS * (CELL_PX + GAP_PX) + Math.round(nx * sx * coronalScale) + GAP_PX
  const image = createRgbImage(width, coronalHeightPx, [0, 0, 0])
  const tileLabels: Array<{ x: number; y: number; text: string }> = []

  slices.forEach((k, index) => {
    const view: View = {
      widthPx: Math.max(1, Math.round(nx * sx * axialScale)),
      heightPx: Math.max(1, Math.round(ny * sy * axialScale)),
      at: (u, v) => k * nx * ny + Math.min(ny - 1, Math.floor(v / (sy * axialScale))) * nx + Math.min(nx - 1, Math.floor(u / (sx * axialScale))),
    }
    const left = (index % AXIAL_COLUMNS) * (CELL_PX + GAP_PX)
    const top = Math.floor(index / AXIAL_COLUMNS) * (CELL_PX + GAP_PX)
    drawView(image, view, left, top, canonicalCt.data, canonicalLung.data, canonicalLesion.data)
    tileLabels.push({ x: left + 4, y: top + 14, text: `axial ${k + 1}/${nz}` })
  })

  const coronal: View = {
    widthPx: Math.max(1, Math.round(nx * sx * coronalScale)),
    heightPx: Math.max(1, Math.round(nz * sz * coronalScale)),
    at: (u, v) => {
      const k = nz - 1 - Math.min(nz - 1, Math.floor(v / (sz * coronalScale)))
      return k * nx * ny + coronalRow * nx + Math.min(nx - 1, Math.floor(u / (sx * coronalScale)))
    },
  }
  drawView(image, coronal, AXIAL_COLUMNS * (CELL_PX + GAP_PX), 0, canonicalCt.data, canonicalLung.data, canonicalLesion.data)
  tileLabels.push({ x: AXIAL_COLUMNS * (CELL_PX + GAP_PX) + 4, y: 14, text: 'coronal' })
  if (caption === undefined) return encodePng(image)
  return svgToPng(captionedSvg(image, caption, tileLabels), 1)
}

/**
 * Fits an overview title into lines of at most `maxCharacters`. A title that is too long first
 * has its long identifiers shortened: a DICOM UID keeps its first 9 and last 22 characters around
 * an ellipsis, and a path keeps its last folders behind one. The end of each, which distinguishes
 * series and files, so stays readable. If the title is still too long it wraps at a space onto a
 * second line, which ends in an ellipsis if it too is too long.
 */
export function fitOverviewTitle(title: string, maxCharacters: number): string[] {
  if (title.length <= maxCharacters) return [title]
  const shortened = title.replace(/\S+/g, shortenIdentifier)
  if (shortened.length <= maxCharacters) return [shortened]

  const breakAt = shortened.lastIndexOf(' ', maxCharacters)
  const first = breakAt > 0 ? shortened.slice(0, breakAt) : shortened.slice(0, maxCharacters)
  const second = shortened.slice(first.length).trimStart()
  return [first, second.length <= maxCharacters ? second : `${second.slice(0, maxCharacters - 1)}…`]
}

/** Shortens one whitespace-free word of a title if it is a long DICOM UID or path (see fitOverviewTitle). */
function shortenIdentifier(word: string): string {
  // Punctuation after the identifier, such as the comma after a folder, is kept as it is.
  const [, identifier, punctuation] = /^(.*?)([,;:)]*)$/.exec(word)!
  if (identifier.length <= TITLE_IDENTIFIER_CHARACTERS) return word
  if (/^\d+(\.\d+)+$/.test(identifier)) return `${identifier.slice(0, 9)}…${identifier.slice(-22)}${punctuation}`
  if (!/[/\\]/.test(identifier)) return word

  const parts = identifier.split(/(?=[/\\])/)
  let tail = parts.pop()!
  while (parts.length > 0 && parts[parts.length - 1].length + tail.length < TITLE_IDENTIFIER_CHARACTERS) tail = parts.pop()! + tail
  if (tail.length >= TITLE_IDENTIFIER_CHARACTERS) tail = tail.slice(-(TITLE_IDENTIFIER_CHARACTERS - 1))
  return `…${tail}${punctuation}`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function rgb(colour: [number, number, number]): string {
  return `rgb(${colour.join(',')})`
}

/**
 * Wraps the montage in an SVG with a caption band (input, legend, window, and a red warning for
 * untrained models) and a label on each tile, for rasterising with the bundled font.
 */
function captionedSvg(image: RgbImage, caption: OverviewCaption, tileLabels: Array<{ x: number; y: number; text: string }>): string {
  const png = encodePng(image).toString('base64')
  const titleLines = fitOverviewTitle(caption.title, Math.floor((image.width - 16) / TITLE_CHARACTER_PX))
  const shift = (titleLines.length - 1) * TITLE_LINE_PX
  const captionPx = CAPTION_PX + shift
  const height = image.height + captionPx
  const title = titleLines
    .map((line, index) => `<text x="8" y="${18 + index * TITLE_LINE_PX}" font-size="13" font-weight="bold">${escapeXml(line)}</text>`)
    .join('')
  const legend = [
    `<rect x="8" y="${28 + shift}" width="10" height="10" fill="${rgb(RIGHT_LUNG_COLOUR)}"/><text x="22" y="${37 + shift}">right lung</text>`,
    `<rect x="100" y="${28 + shift}" width="10" height="10" fill="${rgb(LEFT_LUNG_COLOUR)}"/><text x="114" y="${37 + shift}">left lung</text>`,
    `<rect x="186" y="${28 + shift}" width="10" height="10" fill="${rgb(LESION_COLOUR)}"/><text x="200" y="${37 + shift}">lesion</text>`,
    `<text x="260" y="${37 + shift}">lung window: level ${WINDOW_LEVEL_HU} HU, width ${WINDOW_WIDTH_HU} HU; patient right on the left; axial slices numbered from the feet</text>`,
  ].join('')
  const warning = caption.untrained
    ? `<text x="${image.width - 8}" y="${37 + shift}" text-anchor="end" fill="rgb(255,64,64)" font-weight="bold">UNTRAINED MODEL: masks are meaningless</text>`
    : ''
  const labels = tileLabels
    .map((label) => `<text x="${label.x}" y="${label.y + captionPx}" font-size="11" fill="rgb(255,255,160)" stroke="black" stroke-width="3" paint-order="stroke">${escapeXml(label.text)}</text>`)
    .join('')
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${height}" font-family="Noto Sans" font-size="12" fill="white">` +
    `<rect width="${image.width}" height="${height}" fill="black"/>` +
    `${title}${legend}${warning}` +
    `<image x="0" y="${captionPx}" width="${image.width}" height="${image.height}" href="data:image/png;base64,${png}"/>${labels}</svg>`
  )
}

/** Picks up to `count` evenly spaced slices among those with lung (all slices if none has lung). */
function chooseAxialSlices(lung: Uint8Array, plane: number, nz: number, count: number): number[] {
  const withLung: number[] = []
  for (let k = 0; k < nz; k++) {
    for (let p = k * plane; p < (k + 1) * plane; p++) {
      if (lung[p] !== 0) {
        withLung.push(k)
        break
      }
    }
  }
  const pool = withLung.length > 0 ? withLung : Array.from({ length: nz }, (_, k) => k)
  if (pool.length <= count) return pool.reverse()
  // Superior slices first, as a reader scrolls from apex to base.
  return Array.from({ length: count }, (_, i) => pool[Math.round(((count - 1 - i) * (pool.length - 1)) / (count - 1))])
}

/** Returns the anterior-posterior row with the most lung voxels (the middle row if there is no lung). */
function chooseCoronalRow(lung: Uint8Array, nx: number, ny: number, nz: number): number {
  const perRow = new Float64Array(ny)
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const offset = (k * ny + j) * nx
      for (let i = 0; i < nx; i++) if (lung[offset + i] !== 0) perRow[j]++
    }
  }
  let best = Math.floor(ny / 2)
  for (let j = 0; j < ny; j++) if (perRow[j] > perRow[best]) best = j
  return best
}

function drawView(
  image: RgbImage,
  view: View,
  left: number,
  top: number,
  ct: ArrayLike<number>,
  lung: Uint8Array,
  lesion: Uint8Array,
): void {
  const low = WINDOW_LEVEL_HU - WINDOW_WIDTH_HU / 2
  for (let v = 0; v < view.heightPx; v++) {
    for (let u = 0; u < view.widthPx; u++) {
      const x = left + u
      const y = top + v
      if (x >= image.width || y >= image.height) continue
      const voxel = view.at(u, v)
      const grey = Math.max(0, Math.min(255, Math.round(((ct[voxel] - low) / WINDOW_WIDTH_HU) * 255)))
      let colour: [number, number, number] = [grey, grey, grey]
      if (isOutline(view, u, v, lesion, voxel)) colour = LESION_COLOUR
      else if (isOutline(view, u, v, lung, voxel)) colour = lung[voxel] === 1 ? RIGHT_LUNG_COLOUR : LEFT_LUNG_COLOUR
      image.pixels.set(colour, 3 * (y * image.width + x))
    }
  }
}

/** True when a labelled display pixel has a 4-neighbour with another label (or the view's edge). */
function isOutline(view: View, u: number, v: number, labels: Uint8Array, voxel: number): boolean {
  const label = labels[voxel]
  if (label === 0) return false
  if (u === 0 || v === 0 || u === view.widthPx - 1 || v === view.heightPx - 1) return true
  return (
    labels[view.at(u - 1, v)] !== label ||
    labels[view.at(u + 1, v)] !== label ||
    labels[view.at(u, v - 1)] !== label ||
    labels[view.at(u, v + 1)] !== label
  )
}
