import { labelComponents2D } from '../volume/components.js'
import { squaredDistanceTransform } from '../volume/distance.js'
import { voxelVolumeMl, type Vec3, type Volume } from '../volume/volume.js'

/**
 * Settings of includeMassesAtLungBorder. A mass is found slice by slice as a dense region that
 * a closing of the lung fills, and kept when the lung surrounds most of it.
 */
export interface MassInclusionSettings {
  /** Radius of the in-plane closing that fills the bite a mass makes in the lung outline, in mm. */
  closingRadiusMm: number
  /** Mean HU a filled region needs to count as solid tissue (a tumour, consolidation or collapse). */
  minMeanHu: number
  /** Length of the rays that test whether the lung surrounds a region, in mm. */
  rayLengthMm: number
  /** A region that starts an inclusion: at least this area in mm² and this many of 16 rays meeting lung. */
  seedAreaMm2: number
  seedSurround: number
  /** A region that continues an inclusion from the slice next to it. */
  continueAreaMm2: number
  continueSurround: number
}

// NOTE: set by looking at four scans (A0002 both kernels, CIP ct-64, CIP TestInput); a 500 mm²
// seed area took in the TestInput left hilum. Untested on other anatomy, so provisional.
export const MASS_INCLUSION_DEFAULTS: MassInclusionSettings = {
  closingRadiusMm: 20,
  minMeanHu: -150,
  rayLengthMm: 50,
  seedAreaMm2: 1000,
  seedSurround: 13,
  continueAreaMm2: 100,
  continueSurround: 10,
}

/** Rays cast from each pixel of a region to measure how much the lung surrounds it. */
const RAY_COUNT = 16
/** Pixels of a region sampled at most (about) for its surround. */
const SURROUND_SAMPLES = 400

/** Voxels added to the right (label 1) and the left (label 2) lung. */
export interface AddedVoxels {
  right: number
  left: number
  /** Index in the labels array of each added voxel. */
  indices: Uint32Array
}

/** A rectangle of pixels: x0, y0, width, height. */
type Rectangle = [number, number, number, number]

interface Candidate {
  /** Lung label the region would join: 1 right, 2 left. */
  side: number
  /** Pixel indices in the slice (x fastest over the two in-plane axes). */
  pixels: Int32Array
  seed: boolean
}

/**
 * Adds to each lung the solid masses (tumours, dense consolidation, collapse) that touch it and
 * that the lung surrounds, so that the lung outline follows the pleura behind them instead of
 * going around them. A lung mask made by thresholding or by a network that learned such masks
 * leaves them out, though they lie inside the pleural boundary.
 *
 * Per slice across `sliceAxis` and per side (label 1 right, 2 left in `labels`):
 *   1. the side is closed with a disc of `closingRadiusMm`; the closing fills concave bites in
 *      its outline whose mouth is narrower than the disc's diameter;
 *   2. each 4-connected filled region that belongs to no lung is measured: its area, its mean HU
 *      and its surround, the mean over its pixels of how many of 16 evenly spaced rays of
 *      `rayLengthMm` meet the side's lung. A bite that is deeper than wide scores near 16; a
 *      region beside the mediastinum or the heart, which the lung meets from one side only,
 *      scores 8 or less;
 *   3. regions with a mean HU below `minMeanHu` (air, fat, partial volume at the diaphragm dome)
 *      are never added. A region with seed area and surround is added. Then every region with
 *      continue area and surround that overlaps an added region in the next slice is added too,
 *      so a mass is followed to its ends (hysteresis, as in edge detection).
 * Writes the side's label into the added voxels of `labels` in place and returns the number of
 * voxels added to each side.
 */
export function includeMassesAtLungBorder(
  labels: Uint8Array,
  ct: Volume,
  sliceAxis: 0 | 1 | 2,
  settings: MassInclusionSettings = MASS_INCLUSION_DEFAULTS,
): AddedVoxels {
  const planeAxes = ([0, 1, 2] as const).filter((axis) => axis !== sliceAxis) as [0 | 1 | 2, 0 | 1 | 2]
  const strides: Vec3 = [1, ct.size[0], ct.size[0] * ct.size[1]]
  const width = ct.size[planeAxes[0]]
  const height = ct.size[planeAxes[1]]
  const spacing: [number, number] = [ct.spacingMm[planeAxes[0]], ct.spacingMm[planeAxes[1]]]
  const voxelOf = (slice: number, pixel: number): number =>
    slice * strides[sliceAxis] + (pixel % width) * strides[planeAxes[0]] + Math.floor(pixel / width) * strides[planeAxes[1]]

  const plane = width * height
  const copy = new Uint8Array(sliceAxis === 2 ? 0 : plane)
  const planeOf = (slice: number): Uint8Array => {
    // Axial slices of a volume stored x fastest are contiguous, so they are read in place.
    if (sliceAxis === 2) return labels.subarray(slice * plane, (slice + 1) * plane)
    for (let pixel = 0; pixel < plane; pixel++) copy[pixel] = labels[voxelOf(slice, pixel)]
    return copy
  }
  const huOf = (slice: number) => (pixel: number): number => Number(ct.data[voxelOf(slice, pixel)])

  const sliceCount = ct.size[sliceAxis]
  const needed = slicesToSearch(sliceCount, planeOf, huOf, width, height, spacing, settings)
  const candidates: Candidate[][] = []
  for (let slice = 0; slice < sliceCount; slice++) {
    candidates.push(needed[slice] === 1 ? findCandidates(planeOf(slice), huOf(slice), width, height, spacing, settings) : [])
  }

  const added = followMasses(candidates, width * height)
  const counts = [0, 0, 0]
  const indices: number[] = []
  for (let slice = 0; slice < added.length; slice++) {
    for (const candidate of added[slice]) {
      for (const pixel of candidate.pixels) {
        const voxel = voxelOf(slice, pixel)
        if (labels[voxel] === 0) {
          labels[voxel] = candidate.side
          counts[candidate.side]++
          indices.push(voxel)
        }
      }
    }
  }
  return { right: counts[1], left: counts[2], indices: Uint32Array.from(indices) }
}

/**
 * Marks with 1 the slices that a mass may reach, and their neighbours, found by a search on
 * coarse pixels with looser thresholds. Only those slices are then searched at full resolution,
 * because most scans have no mass at all. Every slice is marked when the pixels are already coarse.
 */
function slicesToSearch(
  sliceCount: number,
  planeOf: (slice: number) => Uint8Array,
  huOf: (slice: number) => (pixel: number) => number,
  width: number,
  height: number,
  spacing: [number, number],
  settings: MassInclusionSettings,
): Uint8Array {
  const needed = new Uint8Array(sliceCount).fill(1)
  const coarseCandidates: Candidate[][] = []
  let coarsePlaneSize = 0
  for (let slice = 0; slice < sliceCount; slice++) {
    const coarse = coarsePlane(planeOf(slice), huOf(slice), width, height, spacing)
    if (coarse === undefined) return needed
    coarsePlaneSize = coarse.width * coarse.height
    coarseCandidates.push(findCandidates(coarse.labels, coarse.huAt, coarse.width, coarse.height, coarse.spacing, screenSettings(settings)))
  }

  needed.fill(0)
  followMasses(coarseCandidates, coarsePlaneSize).forEach((regions, slice) => {
    if (regions.length === 0) return
    for (const near of [slice - 1, slice, slice + 1]) if (near >= 0 && near < sliceCount) needed[near] = 1
  })
  return needed
}

/** Pixel size in mm of the coarse planes that screen a scan with fine pixels for masses. */
const SCREEN_PIXEL_MM = 1.5

/**
 * Returns the plane shrunk by an integer factor to pixels of about SCREEN_PIXEL_MM, or undefined
 * when its pixels are already that large. A coarse pixel takes the first lung label among its
 * fine pixels and their mean HU.
 */
function coarsePlane(
  planeLabels: Uint8Array,
  huAt: (pixel: number) => number,
  width: number,
  height: number,
  spacing: [number, number],
): { labels: Uint8Array; huAt: (pixel: number) => number; width: number; height: number; spacing: [number, number] } | undefined {
  const factor = Math.round(SCREEN_PIXEL_MM / Math.max(spacing[0], spacing[1]))
  if (factor < 2) return undefined
  const coarseWidth = Math.ceil(width / factor)
  const coarseHeight = Math.ceil(height / factor)
  const labels = new Uint8Array(coarseWidth * coarseHeight)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const label = planeLabels[y * width + x]
      const coarse = Math.floor(y / factor) * coarseWidth + Math.floor(x / factor)
      if (label !== 0 && labels[coarse] === 0) labels[coarse] = label
    }
  }
  const coarseHuAt = (pixel: number): number => {
    const x0 = (pixel % coarseWidth) * factor
    const y0 = Math.floor(pixel / coarseWidth) * factor
    let sum = 0
    let count = 0
    for (let y = y0; y < Math.min(height, y0 + factor); y++) {
      for (let x = x0; x < Math.min(width, x0 + factor); x++) {
        sum += huAt(y * width + x)
        count++
      }
    }
    return sum / count
  }
  return { labels, huAt: coarseHuAt, width: coarseWidth, height: coarseHeight, spacing: [spacing[0] * factor, spacing[1] * factor] }
}

/**
 * Returns looser settings for the coarse screen, so that a region that passes at full
 * resolution also passes there. The coarse lung covers up to one coarse pixel more, which takes
 * a rim of about 1.5 mm off a region: 30 % of the area of a 10 cm² region, a ray of surround.
 */
function screenSettings(settings: MassInclusionSettings): MassInclusionSettings {
  return {
    ...settings,
    minMeanHu: settings.minMeanHu - 50,
    continueAreaMm2: settings.continueAreaMm2 * 0.5,
    continueSurround: settings.continueSurround - 1,
    seedAreaMm2: settings.seedAreaMm2 * 0.7,
    seedSurround: settings.seedSurround - 1,
  }
}

/**
 * Finds the regions of one slice that a closing adds to either side, with their seed test. Each
 * side is processed in its own rectangle (see sideBoxes).
 */
function findCandidates(
  planeLabels: Uint8Array,
  huAt: (pixel: number) => number,
  width: number,
  height: number,
  spacing: [number, number],
  settings: MassInclusionSettings,
): Candidate[] {
  const found: Candidate[] = []
  const pixelAreaMm2 = spacing[0] * spacing[1]
  for (const { side, box, lung, unlabelled } of sideBoxes(planeLabels, width, height, spacing, settings.closingRadiusMm)) {
    const [x0, y0, boxWidth, boxHeight] = box
    const toPlane = (p: number): number => (y0 + Math.floor(p / boxWidth)) * width + x0 + (p % boxWidth)

    const filled = closingAdditions(lung, unlabelled, boxWidth, boxHeight, spacing, settings.closingRadiusMm)
    const regions = labelComponents2D(filled, boxWidth, boxHeight, 4)
    for (const pixels of groupPixels(regions.labels, regions.count)) {
      const areaMm2 = pixels.length * pixelAreaMm2
      if (areaMm2 < settings.continueAreaMm2) continue
      let huSum = 0
      for (const p of pixels) huSum += huAt(toPlane(p))
      if (huSum / pixels.length < settings.minMeanHu) continue
      const surround = meanSurround(pixels, lung, boxWidth, boxHeight, spacing, settings.rayLengthMm)
      if (surround < settings.continueSurround) continue
      const seed = areaMm2 >= settings.seedAreaMm2 && surround >= settings.seedSurround
      found.push({ side, pixels: pixels.map(toPlane), seed })
    }
  }
  return found
}

/**
 * Returns the bounding rectangles of labels 1 and 2 in a plane, indexed by label, each grown by
 * `margin` so that it may pass the plane's edges. An absent label gets undefined.
 */
function sideRectangles(
  planeLabels: Uint8Array,
  width: number,
  height: number,
  margin: [number, number],
): (Rectangle | undefined)[] {
  // Per label: x min, x max, y min, y max.
  const bounds = [0, 1, 2].map(() => [width, -1, height, -1])
  for (let y = 0; y < height; y++) {
    const row = y * width
    for (let x = 0; x < width; x++) {
      const label = planeLabels[row + x]
      if (label !== 1 && label !== 2) continue
      const b = bounds[label]
      if (x < b[0]) b[0] = x
      if (x > b[1]) b[1] = x
      if (y < b[2]) b[2] = y
      b[3] = y
    }
  }
  return bounds.map(([xMin, xMax, yMin, yMax], label) =>
    label === 0 || xMax < 0
      ? undefined
      : [xMin - margin[0], yMin - margin[1], xMax - xMin + 1 + 2 * margin[0], yMax - yMin + 1 + 2 * margin[1]],
  )
}

/**
 * Sets to 1 in `target` the unlabelled voxels that an in-plane closing of each lung side with a
 * disc of `radiusMm` adds, slice by slice along the third axis. These are the bites that dense
 * tissue makes in the lung outline. Only the slices `searched` accepts are processed, and other
 * voxels of `target` are left as they are.
 */
export function markLungOutlineBites(
  labels: Uint8Array,
  volume: Pick<Volume, 'size' | 'spacingMm'>,
  radiusMm: number,
  target: Uint8Array,
  searched: (slice: number) => boolean = () => true,
): void {
  const [width, height, depth] = volume.size
  const spacing: [number, number] = [volume.spacingMm[0], volume.spacingMm[1]]
  const plane = width * height
  for (let z = 0; z < depth; z++) {
    if (!searched(z)) continue
    const planeLabels = labels.subarray(z * plane, (z + 1) * plane)
    for (const { box, lung, unlabelled } of sideBoxes(planeLabels, width, height, spacing, radiusMm)) {
      const [x0, y0, boxWidth, boxHeight] = box
      const filled = closingAdditions(lung, unlabelled, boxWidth, boxHeight, spacing, radiusMm)
      for (let p = 0; p < filled.length; p++) {
        if (filled[p] === 1) target[z * plane + (y0 + Math.floor(p / boxWidth)) * width + x0 + (p % boxWidth)] = 1
      }
    }
  }
}

/** One lung side of a plane in its rectangle: the side's pixels and the unlabelled pixels. */
interface SideBox {
  side: number
  box: Rectangle
  lung: Uint8Array
  unlabelled: Uint8Array
}

/**
 * Cuts each side of a plane out in its bounding rectangle grown by `radiusMm`: a closing with
 * that radius lies inside the side's convex hull, and the margin keeps the dilation's outside
 * in view. Where the margin reaches past the plane's edge it counts as neither lung nor
 * unlabelled.
 */
function sideBoxes(planeLabels: Uint8Array, width: number, height: number, spacing: [number, number], radiusMm: number): SideBox[] {
  const rectangles = sideRectangles(planeLabels, width, height, [Math.ceil(radiusMm / spacing[0]) + 1, Math.ceil(radiusMm / spacing[1]) + 1])
  const boxes: SideBox[] = []
  for (const side of [1, 2]) {
    const box = rectangles[side]
    if (box === undefined) continue
    const [x0, y0, boxWidth, boxHeight] = box
    const lung = new Uint8Array(boxWidth * boxHeight)
    const unlabelled = new Uint8Array(lung.length)
    for (let p = 0; p < lung.length; p++) {
      const x = x0 + (p % boxWidth)
      const y = y0 + Math.floor(p / boxWidth)
      if (x < 0 || y < 0 || x >= width || y >= height) continue
      const label = planeLabels[y * width + x]
      lung[p] = label === side ? 1 : 0
      unlabelled[p] = label === 0 ? 1 : 0
    }
    boxes.push({ side, box, lung, unlabelled })
  }
  return boxes
}

/** Pixels that a closing of `lung` with a disc of `radiusMm` adds and that are `unlabelled`. */
function closingAdditions(
  lung: Uint8Array,
  unlabelled: Uint8Array,
  width: number,
  height: number,
  spacing: [number, number],
  radiusMm: number,
): Uint8Array {
  const size: Vec3 = [width, height, 1]
  const spacing3: Vec3 = [spacing[0], spacing[1], 1]
  const radius2 = radiusMm * radiusMm
  const toLung = squaredDistanceTransform(lung, size, spacing3)
  const outsideDilation = new Uint8Array(lung.length)
  for (let p = 0; p < lung.length; p++) outsideDilation[p] = toLung[p] > radius2 ? 1 : 0
  const toOutside = squaredDistanceTransform(outsideDilation, size, spacing3)
  const additions = new Uint8Array(lung.length)
  for (let p = 0; p < lung.length; p++) {
    // With no pixel outside the dilation the distance is Infinity and the closing covers all.
    if (toOutside[p] > radius2 && unlabelled[p] === 1) additions[p] = 1
  }
  return additions
}

/** Pixel indices of each component, for labels 1..count. */
function groupPixels(componentLabels: Int32Array, count: number): Int32Array[] {
  const sizes = new Int32Array(count + 1)
  for (const label of componentLabels) sizes[label]++
  const groups = Array.from({ length: count }, (_, c) => new Int32Array(sizes[c + 1]))
  const filledUpTo = new Int32Array(count + 1)
  for (let p = 0; p < componentLabels.length; p++) {
    const label = componentLabels[p]
    if (label > 0) groups[label - 1][filledUpTo[label]++] = p
  }
  return groups
}

/**
 * Mean over the pixels of how many of 16 rays, evenly spaced in angle and `rayLengthMm` long,
 * meet a lung pixel. Rays step by the smaller pixel spacing. A large region is sampled at every
 * n-th pixel in storage order, at most about SURROUND_SAMPLES pixels.
 */
function meanSurround(
  pixels: Int32Array,
  lung: Uint8Array,
  width: number,
  height: number,
  spacing: [number, number],
  rayLengthMm: number,
): number {
  const stepMm = Math.min(spacing[0], spacing[1])
  const steps = Math.floor(rayLengthMm / stepMm)
  const directions = Array.from({ length: RAY_COUNT }, (_, a) => {
    const angle = (2 * Math.PI * a) / RAY_COUNT
    return [(Math.cos(angle) * stepMm) / spacing[0], (Math.sin(angle) * stepMm) / spacing[1]]
  })
  const every = Math.max(1, Math.floor(pixels.length / SURROUND_SAMPLES))
  let hits = 0
  let sampled = 0
  for (let i = 0; i < pixels.length; i += every) {
    const p = pixels[i]
    sampled++
    const x0 = p % width
    const y0 = (p - x0) / width
    for (const [dx, dy] of directions) {
      for (let t = 1; t <= steps; t++) {
        const x = Math.round(x0 + dx * t)
        const y = Math.round(y0 + dy * t)
        if (x < 0 || y < 0 || x >= width || y >= height) break
        if (lung[y * width + x] === 1) {
          hits++
          break
        }
      }
    }
  }
  return hits / sampled
}

/**
 * Returns the seed regions and, slice after slice in both directions, every continue region of
 * the same side that shares a pixel with an added region in the neighbouring slice.
 */
function followMasses(candidates: Candidate[][], planeSize: number): Candidate[][] {
  const added = candidates.map((slice) => new Set(slice.filter((candidate) => candidate.seed)))
  const footprint = new Uint8Array(planeSize)
  let changed = true
  while (changed) {
    changed = false
    for (let slice = 0; slice < candidates.length; slice++) {
      for (const neighbour of [slice - 1, slice + 1]) {
        if (neighbour < 0 || neighbour >= candidates.length || added[neighbour].size === 0) continue
        for (const side of [1, 2]) {
          const open = candidates[slice].filter((candidate) => candidate.side === side && !added[slice].has(candidate))
          if (open.length === 0) continue
          footprint.fill(0)
          for (const region of added[neighbour]) if (region.side === side) for (const p of region.pixels) footprint[p] = 1
          for (const candidate of open) {
            if (candidate.pixels.some((p) => footprint[p] === 1)) {
              added[slice].add(candidate)
              changed = true
            }
          }
        }
      }
    }
  }
  return added.map((slice) => [...slice])
}

/**
 * Formats the warning with the volume of solid tissue that includeMassesAtLungBorder added to
 * each lung and the axial slices it lies in, or returns undefined when it added none. `labels` is
 * the array includeMassesAtLungBorder wrote into, on the grid `geometry.size`, with axial slices
 * across `slices.sliceAxis`. Slices are counted from 1 at the feet to the number of slices at the
 * head (`slices.superiorStep` gives the direction), as the axial tiles of segment's overview are
 * labelled. The user checks the tissue in the image the command writes (`imageName`).
 */
export function describeIncludedMasses(
  added: AddedVoxels,
  labels: Uint8Array,
  geometry: { size: Vec3; spacingMm: Vec3 },
  slices: { sliceAxis: 0 | 1 | 2; superiorStep: 1 | -1 },
  imageName: 'overview' | 'overlay',
): string | undefined {
  const { size, spacingMm } = geometry
  const sliceCount = size[slices.sliceAxis]
  const stride = [1, size[0], size[0] * size[1]][slices.sliceAxis]
  // inSlice[side][n] is 1 when the tissue added to that side (1 right, 2 left) lies in slice n (1-based).
  const inSlice = [new Uint8Array(sliceCount + 1), new Uint8Array(sliceCount + 1), new Uint8Array(sliceCount + 1)]
  for (const voxel of added.indices) {
    const index = Math.floor(voxel / stride) % sliceCount
    inSlice[labels[voxel]][slices.superiorStep === 1 ? index + 1 : sliceCount - index] = 1
  }

  // Formats runs of consecutive slices, e.g. "axial slices 3-5, 9 and 12-16".
  const formatSlices = (marks: Uint8Array): string => {
    const runs: string[] = []
    for (let first = 1; first <= sliceCount; first++) {
      if (marks[first] === 0) continue
      let last = first
      while (last < sliceCount && marks[last + 1] === 1) last++
      runs.push(last === first ? `${first}` : `${first}-${last}`)
      first = last
    }
    const list = runs.length === 1 ? runs[0] : `${runs.slice(0, -1).join(', ')} and ${runs[runs.length - 1]}`
    return runs.length === 1 && !runs[0].includes('-') ? `axial slice ${list}` : `axial slices ${list}`
  }

  const voxelMl = voxelVolumeMl(spacingMm)
  const parts: string[] = []
  if (added.right > 0) parts.push(`${(added.right * voxelMl).toFixed(1)} mL in the right lung (${formatSlices(inSlice[1])})`)
  if (added.left > 0) parts.push(`${(added.left * voxelMl).toFixed(1)} mL in the left lung (${formatSlices(inSlice[2])})`)
  if (parts.length === 0) return undefined
  const numbering = `slices counted 1 to ${sliceCount} from the feet${imageName === 'overview' ? ', as the overview labels them' : ''}`
  return (
    `solid tissue that the lung surrounds (a tumour or dense consolidation at the pleura?) was included: ${parts.join(', ')}; ` +
    `check it in the ${imageName} (${numbering})`
  )
}

/**
 * Formats a warning when part of the lesion mask (nonzero in `lesion`) lies in the solid tissue
 * that includeMassesAtLungBorder added: there the lesion may be the tumour rather than
 * pneumonia. Returns undefined when none does.
 */
export function describeLesionInMasses(lesion: Uint8Array, added: AddedVoxels, spacingMm: Vec3): string | undefined {
  let voxels = 0
  for (const voxel of added.indices) if (lesion[voxel] !== 0) voxels++
  if (voxels === 0) return undefined
  return (
    `${(voxels * voxelVolumeMl(spacingMm)).toFixed(1)} mL of the lesion mask lies in that included solid tissue, ` +
    'which may be a tumour rather than pneumonia'
  )
}
