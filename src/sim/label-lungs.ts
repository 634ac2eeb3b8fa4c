import { InputError } from '../errors.js'
import { labelComponents, largestLabels } from '../volume/components.js'
import { fillHoles2D, fillHoles3D } from '../volume/fill.js'
import { closeMask, dilateMask, radiusInVoxels } from '../volume/morphology.js'
import { geometryOf, indexToPhysical, voxelVolumeMl, type Vec3, type Volume } from '../volume/volume.js'
import { findCentralAirways } from './label-airways.js'
import { cropBox, maskBoundingBox, pasteBox, type IndexBox } from './label-box.js'
import { axisRoles, coordinateAlong, type AxisRoles } from './label-orientation.js'
import { describeIncludedMasses, includeMassesAtLungBorder } from '../pipeline/pleural-masses.js'

/**
 * A classical lung labeller for chest CT, used to make training labels for real scans (the
 * COLI-Net authors made theirs the same way before manual correction):
 *
 * 1. threshold: voxels below -400 HU are air or lung;
 * 2. the body is everything not reachable from the slice border through such voxels, so air
 *    outside the patient drops out;
 * 3. the largest low-density components inside the body are the lungs and airways;
 * 4. the trachea is found in the upper slices and grown with a rising threshold until it leaks,
 *    and the grown trachea and main bronchi, widened by about 2 mm, are removed;
 * 5. the two largest remaining components are the lungs, right and left by their centroids in
 *    LPS (right = smaller x); when they touch, the single component is cut at the thinnest
 *    left-right position near the midline, slice by slice;
 * 6. each lung is closed and has its holes filled, slice by slice and in 3D, which takes in
 *    vessels, airways and dense lesions inside the pleural boundary;
 * 7. solid masses that touch a lung and that it surrounds (a tumour at the pleura) are added
 *    (includeMassesAtLungBorder), so the outline follows the pleura behind them.
 *
 * Work happens in index space; the slice axis, up and left come from the direction matrix.
 */

export const RIGHT_LUNG = 1
export const LEFT_LUNG = 2

export interface LabelLungsOptions {
  /**
   * Voxels below this HU count as air or lung; default -400, about halfway between lung
   * parenchyma (-850) and soft tissue (+40), so partial-volume voxels at the pleura split evenly.
   */
  thresholdHu?: number
  /** Radius of the closing applied to each lung, in mm; default 5. */
  closingRadiusMm?: number
  /** Margin removed around the grown trachea and main bronchi, in mm; default 2 (at least 1 voxel in-plane). */
  airwayMarginMm?: number
}

export interface LungLabelResult {
  /** 0 background, 1 right lung, 2 left lung, on the input's grid. */
  lung: Volume<Uint8Array>
  warnings: string[]
}

/** A second component smaller than this fraction of the largest is not a lung. */
const MIN_SECOND_LUNG_FRACTION = 0.1

export function labelLungs(ct: Volume, options: LabelLungsOptions = {}): LungLabelResult {
  const thresholdHu = options.thresholdHu ?? -400
  const closingRadiusMm = options.closingRadiusMm ?? 5
  const airwayMarginMm = options.airwayMarginMm ?? 2
  const size = ct.size
  if (ct.data.length !== size[0] * size[1] * size[2]) {
    throw new InputError(`label-lungs: the CT has ${ct.data.length} voxels but its size ${size.join(' x ')} needs ${size[0] * size[1] * size[2]}`)
  }
  const warnings: string[] = []
  const roles = axisRoles(ct)

  const { candidates, body } = findAirInsideBody(ct, thresholdHu, roles)
  const airways = findCentralAirways(ct, candidates, body, roles, warnings)
  const lungs = keepLungComponents(candidates, size, warnings, 'the air inside the body')
  if (airways !== undefined) removeAirways(lungs, airways.mask, ct, airwayMarginMm, roles)

  const sides = separateLungs(lungs, ct, roles, warnings)
  const labels = new Uint8Array(lungs.length)
  for (const [side, mask] of sides) fillLung(mask, ct, closingRadiusMm, roles, side, labels)
  // Thresholding leaves out tumours and dense consolidation, though they lie inside the pleura.
  const massNote = describeIncludedMasses(includeMassesAtLungBorder(labels, ct, roles.sliceAxis), labels, ct, roles, 'overlay')
  if (massNote !== undefined) warnings.push(massNote)

  checkVolume(labels, ct, warnings)
  return { lung: { ...geometryOf(ct), data: labels }, warnings }
}

/**
 * Clears the trachea and main bronchi from a lung mask on the CT's grid, found as labelLungs
 * finds them and widened by `marginMm`. The cut can leave small airway fragments: the caller
 * keeps the lung components afterwards. Returns warnings (for example when no trachea is in view).
 */
export function removeCentralAirways(ct: Volume, lungMask: Uint8Array, marginMm = 2): string[] {
  const warnings: string[] = []
  const roles = axisRoles(ct)
  const { candidates, body } = findAirInsideBody(ct, -400, roles)
  const airways = findCentralAirways(ct, candidates, body, roles, warnings)
  if (airways !== undefined) cutAirways(lungMask, airways.mask, ct, marginMm, roles)
  return warnings
}

/** Returns the low-density voxels inside the body, and the body (filled slice by slice). */
function findAirInsideBody(ct: Volume, thresholdHu: number, roles: AxisRoles): { candidates: Uint8Array; body: Uint8Array } {
  const data = ct.data
  const dense = new Uint8Array(data.length)
  for (let v = 0; v < data.length; v++) dense[v] = data[v] < thresholdHu ? 0 : 1
  const body = fillHoles2D(dense, ct.size, roles.sliceAxis)
  const candidates = new Uint8Array(data.length)
  for (let v = 0; v < data.length; v++) candidates[v] = body[v] === 1 && dense[v] === 0 ? 1 : 0
  return { candidates, body }
}

/** Keeps the largest 6-connected component, and the second largest when it is big enough to be a lung. */
function keepLungComponents(mask: Uint8Array, size: Vec3, warnings: string[], source: string): Uint8Array {
  const components = labelComponents(mask, size, 6)
  const kept = new Uint8Array(mask.length)
  if (components.count === 0) {
    warnings.push(`no lung found: ${source} contains no low-density region`)
    return kept
  }
  const [largest, second] = largestLabels(components, 2)
  const keepSecond = second !== undefined && components.voxelCounts[second] >= MIN_SECOND_LUNG_FRACTION * components.voxelCounts[largest]
  const labels = components.labels
  for (let v = 0; v < labels.length; v++) {
    if (labels[v] === largest || (keepSecond && labels[v] === second)) kept[v] = 1
  }
  return kept
}

function removeAirways(lungs: Uint8Array, airway: Uint8Array, ct: Volume, marginMm: number, roles: AxisRoles): void {
  cutAirways(lungs, airway, ct, marginMm, roles)

  // The cut can leave airway fragments: keep only the lung components.
  const components = labelComponents(lungs, ct.size, 6)
  const [largest, second] = largestLabels(components, 2)
  const keepSecond = second !== undefined && components.voxelCounts[second] >= MIN_SECOND_LUNG_FRACTION * components.voxelCounts[largest]
  for (let v = 0; v < lungs.length; v++) {
    const label = components.labels[v]
    lungs[v] = label !== 0 && (label === largest || (keepSecond && label === second)) ? 1 : 0
  }
}

/** Clears the airway mask, widened by `marginMm` (at least one voxel in-plane), from the lungs. */
function cutAirways(lungs: Uint8Array, airway: Uint8Array, ct: Volume, marginMm: number, roles: AxisRoles): void {
  const box = maskBoundingBox(airway, ct.size)
  if (box === undefined) return
  const radius = radiusInVoxels(marginMm, ct.spacingMm)
  for (const axis of [0, 1, 2] as const) {
    if (axis !== roles.sliceAxis) radius[axis] = Math.max(1, radius[axis])
  }
  const padded = box.padded(radius, ct.size)
  const widened = dilateMask(cropBox(airway, ct.size, padded), padded.size, radius)
  const lungsInBox = cropBox(lungs, ct.size, padded)
  for (let v = 0; v < widened.length; v++) if (widened[v] === 1) lungsInBox[v] = 0
  pasteBox(lungs, ct.size, padded, lungsInBox)
}

/** Returns the right and left lung masks, each paired with its label. */
function separateLungs(lungs: Uint8Array, ct: Volume, roles: AxisRoles, warnings: string[]): [number, Uint8Array][] {
  const components = labelComponents(lungs, ct.size, 6)
  const [largest, second] = largestLabels(components, 2)
  if (largest === undefined) return []

  const masks: Uint8Array[] = []
  if (second !== undefined && components.voxelCounts[second] >= MIN_SECOND_LUNG_FRACTION * components.voxelCounts[largest]) {
    for (const label of [largest, second]) {
      const mask = new Uint8Array(lungs.length)
      for (let v = 0; v < mask.length; v++) mask[v] = components.labels[v] === label ? 1 : 0
      masks.push(mask)
    }
  } else {
    const [first, other, cutSlices] = splitAtMidline(lungs, ct.size, roles)
    masks.push(first, other)
    warnings.push(`the lungs touch: split at the thinnest left-right position near the midline in ${cutSlices} slices`)
  }

  const x = masks.map((mask) => centroidX(mask, ct))
  if (masks.length === 2 && Number.isNaN(x[1])) return [[RIGHT_LUNG, masks[0]]]
  return x[0] <= x[1]
    ? [
        [RIGHT_LUNG, masks[0]],
        [LEFT_LUNG, masks[1]],
      ]
    : [
        [RIGHT_LUNG, masks[1]],
        [LEFT_LUNG, masks[0]],
      ]
}

/** LPS x (mm) of the mask's centroid; NaN for an empty mask. */
function centroidX(mask: Uint8Array, ct: Volume): number {
  const sum = [0, 0, 0]
  let count = 0
  const [nx, ny] = ct.size
  for (let v = 0; v < mask.length; v++) {
    if (mask[v] === 0) continue
    sum[0] += v % nx
    sum[1] += Math.floor(v / nx) % ny
    sum[2] += Math.floor(v / (nx * ny))
    count++
  }
  if (count === 0) return NaN
  return indexToPhysical(ct, [sum[0] / count, sum[1] / count, sum[2] / count])[0]
}

/**
 * Cuts one component holding both lungs into two. In every slice the cut is the left-right
 * index with the fewest lung voxels within 15% of the mask's left-right extent around the
 * centre of that extent (the anterior junction lies there). Returns both parts and the number
 * of slices where the cut crossed lung.
 */
function splitAtMidline(lungs: Uint8Array, size: Vec3, roles: AxisRoles): [Uint8Array, Uint8Array, number] {
  const { sliceAxis, leftRightAxis } = roles
  let low = Infinity
  let high = -Infinity
  for (let v = 0; v < lungs.length; v++) {
    if (lungs[v] === 0) continue
    const coordinate = coordinateAlong(v, size, leftRightAxis)
    if (coordinate < low) low = coordinate
    if (coordinate > high) high = coordinate
  }
  const centre = (low + high) / 2
  const halfWindow = Math.max(1, Math.round(0.15 * (high - low)))

  const counts = new Float64Array(size[sliceAxis] * size[leftRightAxis])
  for (let v = 0; v < lungs.length; v++) {
    if (lungs[v] === 0) continue
    counts[coordinateAlong(v, size, sliceAxis) * size[leftRightAxis] + coordinateAlong(v, size, leftRightAxis)]++
  }
  const cutOf = new Int32Array(size[sliceAxis])
  let cutSlices = 0
  for (let s = 0; s < size[sliceAxis]; s++) {
    let best = Math.round(centre)
    for (let c = Math.max(0, Math.round(centre) - halfWindow); c <= Math.min(size[leftRightAxis] - 1, Math.round(centre) + halfWindow); c++) {
      if (counts[s * size[leftRightAxis] + c] < counts[s * size[leftRightAxis] + best]) best = c
    }
    cutOf[s] = best
    if (counts[s * size[leftRightAxis] + best] > 0) cutSlices++
  }

  const first = new Uint8Array(lungs.length)
  const other = new Uint8Array(lungs.length)
  for (let v = 0; v < lungs.length; v++) {
    if (lungs[v] === 0) continue
    if (coordinateAlong(v, size, leftRightAxis) < cutOf[coordinateAlong(v, size, sliceAxis)]) first[v] = 1
    else other[v] = 1
  }
  return [first, other, cutSlices]
}

/** Closes one lung and fills its holes (per slice, then in 3D) inside its padded bounding box, then writes `side` into `labels` where no label is yet. */
function fillLung(mask: Uint8Array, ct: Volume, closingRadiusMm: number, roles: AxisRoles, side: number, labels: Uint8Array): void {
  const box: IndexBox | undefined = maskBoundingBox(mask, ct.size)
  if (box === undefined) return
  const radius = radiusInVoxels(closingRadiusMm, ct.spacingMm)
  const padded = box.padded(radius, ct.size)
  let local = cropBox(mask, ct.size, padded)
  if (radius.some((r) => r > 0)) local = closeMask(local, padded.size, radius)
  local = fillHoles2D(local, padded.size, roles.sliceAxis)
  local = fillHoles3D(local, padded.size)

  const current = cropBox(labels, ct.size, padded)
  for (let v = 0; v < local.length; v++) if (local[v] === 1 && current[v] === 0) current[v] = side
  pasteBox(labels, ct.size, padded, current)
}

function checkVolume(labels: Uint8Array, ct: Volume, warnings: string[]): void {
  const counts = [0, 0, 0]
  for (let v = 0; v < labels.length; v++) counts[labels[v]]++
  const voxelMl = voxelVolumeMl(ct.spacingMm)
  const names = ['', 'right', 'left']
  for (const side of [RIGHT_LUNG, LEFT_LUNG]) {
    const volumeMl = counts[side] * voxelMl
    if (volumeMl < 300) warnings.push(`the ${names[side]} lung label is ${volumeMl.toFixed(0)} mL, below the 300 mL expected of an adult lung; check the overlay`)
  }
}
