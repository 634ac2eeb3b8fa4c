import { createRgbImage, type RgbImage } from '../report/png.js'
import type { Vec3, Volume } from '../volume/volume.js'
import { axisRoles, stridesOf } from './label-orientation.js'

/**
 * Overlay images for checking lung labels by eye: evenly spaced axial slices through the
 * labelled region and one coronal slice, in radiological convention (patient's right on the
 * image's left, anterior and superior at the top) whatever the volume's direction matrix.
 * CT in a lung window (-1350..150 HU); right lung tinted red, left lung tinted blue, and the
 * outline of an optional reference mask in yellow.
 */

export interface OverlayOptions {
  /** Outline drawn in yellow, e.g. a reference mask (nonzero = inside). */
  reference?: ArrayLike<number>
  /** Number of axial panels; default 5. */
  axialCount?: number
  /** Width of each panel in pixels; default 200. */
  panelPx?: number
  /** Whether to tint the labelled voxels; default true. The labels still choose the slices shown. */
  tintLabels?: boolean
}

const WINDOW_LOW_HU = -1350
const WINDOW_HIGH_HU = 150
const TINTS: Record<number, [number, number, number]> = { 1: [255, 60, 60], 2: [60, 140, 255] }
const REFERENCE_COLOUR: [number, number, number] = [255, 230, 0]
const GAP_PX = 4

interface Panel {
  width: number
  height: number
  /** Voxel index shown at each pixel, or -1 outside the volume. */
  voxels: Int32Array
}

export function renderLungOverlay(ct: Volume, labels: ArrayLike<number>, options: OverlayOptions = {}): RgbImage {
  const panelPx = options.panelPx ?? 200
  const roles = axisRoles(ct)
  const { sliceAxis, leftRightAxis } = roles
  const apAxis = ([0, 1, 2] as const).find((axis) => axis !== sliceAxis && axis !== leftRightAxis)!
  const posteriorStep = ct.direction[3 + apAxis] >= 0 ? 1 : -1

  const extent = slicesWithLabels(labels, ct.size, sliceAxis)
  const panels: Panel[] = []
  const count = options.axialCount ?? 5
  if (extent !== undefined) {
    for (let n = 0; n < count; n++) {
      const fraction = (n + 1) / (count + 1)
      // Panels run from the head down, so the first panel shows the apices.
      const fromTop = roles.superiorStep > 0 ? extent[1] - fraction * (extent[1] - extent[0]) : extent[0] + fraction * (extent[1] - extent[0])
      panels.push(planePanel(ct, Math.round(fromTop), sliceAxis, leftRightAxis, roles.leftStep, apAxis, posteriorStep, panelPx))
    }
    const middleAp = Math.round(labelCentroid(labels, ct.size, apAxis))
    panels.push(planePanel(ct, middleAp, apAxis, leftRightAxis, roles.leftStep, sliceAxis, -roles.superiorStep as 1 | -1, panelPx))
  }

  const width = panels.reduce((sum, panel) => sum + panel.width + GAP_PX, GAP_PX)
  const height = panels.reduce((max, panel) => Math.max(max, panel.height), 0) + 2 * GAP_PX
  const image = createRgbImage(Math.max(width, 1), Math.max(height, 1))
  let left = GAP_PX
  for (const panel of panels) {
    drawPanel(image, panel, left, GAP_PX, ct.data, options.tintLabels === false ? undefined : labels, options.reference)
    left += panel.width + GAP_PX
  }
  return image
}

/** First and last index along `axis` that contain a label, or undefined when there is none. */
function slicesWithLabels(labels: ArrayLike<number>, size: Vec3, axis: 0 | 1 | 2): [number, number] | undefined {
  let low = Infinity
  let high = -Infinity
  const strides = stridesOf(size)
  for (let v = 0; v < labels.length; v++) {
    if (labels[v] === 0) continue
    const coordinate = Math.floor(v / strides[axis]) % size[axis]
    if (coordinate < low) low = coordinate
    if (coordinate > high) high = coordinate
  }
  return high < 0 ? undefined : [low, high]
}

function labelCentroid(labels: ArrayLike<number>, size: Vec3, axis: 0 | 1 | 2): number {
  const strides = stridesOf(size)
  let sum = 0
  let count = 0
  for (let v = 0; v < labels.length; v++) {
    if (labels[v] === 0) continue
    sum += Math.floor(v / strides[axis]) % size[axis]
    count++
  }
  return count === 0 ? (size[axis] - 1) / 2 : sum / count
}

/**
 * Samples the plane `fixedIndex` across `fixedAxis`: columns along `columnAxis` (patient right
 * to left), rows along `rowAxis` (`rowStep` +1 when the index grows downward in the image).
 * Pixels are square in mm, nearest-neighbour sampled, and the panel is `panelPx` wide.
 */
function planePanel(
  ct: Volume,
  fixedIndex: number,
  fixedAxis: 0 | 1 | 2,
  columnAxis: 0 | 1 | 2,
  leftStep: 1 | -1,
  rowAxis: 0 | 1 | 2,
  rowStep: 1 | -1,
  panelPx: number,
): Panel {
  const { size, spacingMm } = ct
  const strides = stridesOf(size)
  const columnExtentMm = size[columnAxis] * spacingMm[columnAxis]
  const rowExtentMm = size[rowAxis] * spacingMm[rowAxis]
  const mmPerPixel = columnExtentMm / panelPx
  const width = panelPx
  const height = Math.max(1, Math.round(rowExtentMm / mmPerPixel))
  const voxels = new Int32Array(width * height)

  for (let r = 0; r < height; r++) {
    let rowIndex = Math.min(size[rowAxis] - 1, Math.floor(((r + 0.5) * mmPerPixel) / spacingMm[rowAxis]))
    if (rowStep < 0) rowIndex = size[rowAxis] - 1 - rowIndex
    for (let c = 0; c < width; c++) {
      let columnIndex = Math.min(size[columnAxis] - 1, Math.floor(((c + 0.5) * mmPerPixel) / spacingMm[columnAxis]))
      // The image's left is the patient's right, the end of smaller LPS x.
      if (leftStep < 0) columnIndex = size[columnAxis] - 1 - columnIndex
      voxels[c + width * r] = fixedIndex * strides[fixedAxis] + columnIndex * strides[columnAxis] + rowIndex * strides[rowAxis]
    }
  }
  return { width, height, voxels }
}

function drawPanel(
  image: RgbImage,
  panel: Panel,
  left: number,
  top: number,
  hu: ArrayLike<number>,
  labels: ArrayLike<number> | undefined,
  reference: ArrayLike<number> | undefined,
): void {
  const { width, height, voxels } = panel
  const isReferenceEdge = (c: number, r: number): boolean => {
    if (reference === undefined) return false
    const inside = reference[voxels[c + width * r]] !== 0
    if (!inside) return false
    for (const [dc, dr] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const cc = c + dc
      const rr = r + dr
      if (cc < 0 || rr < 0 || cc >= width || rr >= height) return true
      if (reference[voxels[cc + width * rr]] === 0) return true
    }
    return false
  }

  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = voxels[c + width * r]
      const grey = Math.round((255 * (Math.min(WINDOW_HIGH_HU, Math.max(WINDOW_LOW_HU, hu[v])) - WINDOW_LOW_HU)) / (WINDOW_HIGH_HU - WINDOW_LOW_HU))
      let colour: [number, number, number] = [grey, grey, grey]
      const tint = labels === undefined ? undefined : TINTS[labels[v]]
      if (tint !== undefined) colour = [0, 1, 2].map((channel) => Math.round(0.6 * grey + 0.4 * tint[channel])) as [number, number, number]
      if (isReferenceEdge(c, r)) colour = REFERENCE_COLOUR
      image.pixels.set(colour, 3 * (left + c + image.width * (top + r)))
    }
  }
}
