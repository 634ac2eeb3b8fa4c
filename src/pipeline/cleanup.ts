import { fillHolesInPlane } from '../volume/fill.js'
import { labelComponents, largestLabels } from '../volume/components.js'
import { voxelVolumeMl, type Vec3 } from '../volume/volume.js'

export const RIGHT_LUNG = 1
export const LEFT_LUNG = 2

/** A second component smaller than this fraction of the largest is not taken as a lung. */
const MIN_SECOND_LUNG_FRACTION = 0.05

/**
 * Touching lungs split at a sagittal plane get a warning when the plane cuts more than this
 * fraction of the mean voxels per column, or when one side is more than twice the other. On the
 * four test scans whose lungs touch (CIP ct-64 and TestInput, A0001 a and b) the plane cut 3 to
 * 9 % and the right lung was 1.1 to 1.4 times the left. NOTE: both limits are set from those
 * four scans only.
 */
const SPLIT_WARNING_CONTACT_FRACTION = 0.15
const SPLIT_WARNING_SIDE_RATIO = 2

export interface LungCleanupResult {
  /** 0 background, 1 right lung, 2 left lung, on the canonical grid. */
  labels: Uint8Array
  warnings: string[]
}

/** Lung in the first or last axial slice, in mL, from which segment warns that the scan may cut the lung off. */
export const LUNG_AT_SCAN_END_MIN_ML = 1

/**
 * Returns a warning when the lung fills at least LUNG_AT_SCAN_END_MIN_ML of the lowest or the
 * highest axial slice of the canonical grid (axis 2 from feet to head). The scan may then end
 * inside the lung, and the lung volume and % affected cover only the part scanned.
 */
export function describeLungAtScanEnds(labels: Uint8Array, size: Vec3, spacingMm: Vec3): string | undefined {
  const plane = size[0] * size[1]
  const voxelMl = voxelVolumeMl(spacingMm)
  const lungMlIn = (k: number): number => {
    let count = 0
    for (let p = k * plane; p < (k + 1) * plane; p++) if (labels[p] !== 0) count++
    return count * voxelMl
  }
  const ends = [
    { ml: lungMlIn(0), name: 'lowest', part: 'base' },
    ...(size[2] > 1 ? [{ ml: lungMlIn(size[2] - 1), name: 'highest', part: 'apex' }] : []),
  ].filter((end) => end.ml >= LUNG_AT_SCAN_END_MIN_ML)
  if (ends.length === 0) return undefined
  const where = ends.map((end) => `the ${end.name} axial slice (${end.ml.toFixed(1)} mL)`).join(' and ')
  const parts = ends.map((end) => end.part).join(' or ')
  return `the lung reaches ${where}, so the scan may cut off part of the lung ${parts}; lung volume and % affected then cover only the part scanned`
}

/**
 * Cleans a binary lung mask on the canonical grid, where axis 0 runs from patient right to left.
 * It keeps the two largest 6-connected components and labels them right and left by position
 * along axis 0. Holes are filled slice by slice in each lung separately, so the mediastinum
 * between the lungs stays out.
 * When the lungs touch and form one component, it is split at the sagittal plane where the mask
 * is thinnest in the middle of its extent. Airways outside the lungs are dropped with the other
 * small components. `spacingMm` places that split in mm in its warning.
 */
export function cleanLungMask(mask: Uint8Array, size: Vec3, spacingMm: Vec3): LungCleanupResult {
  const warnings: string[] = []
  const labels = labelLungSides(mask, size, spacingMm, warnings)
  fillHolesPerSide(labels, size)
  return { labels, warnings }
}

/** Keeps the two largest components and labels them by side; the component labels are freed on return. */
function labelLungSides(mask: Uint8Array, size: Vec3, spacingMm: Vec3, warnings: string[]): Uint8Array {
  const components = labelComponents(mask, size, 6)
  const labels = new Uint8Array(mask.length)
  if (components.count === 0) {
    warnings.push('no lung found')
    return labels
  }

  const [largest, second] = largestLabels(components, 2)
  const hasTwoLungs =
    second !== undefined && components.voxelCounts[second] >= MIN_SECOND_LUNG_FRACTION * components.voxelCounts[largest]
  const nx = size[0]

  if (hasTwoLungs) {
    const [largestColumn, secondColumn] = meanColumns(components.labels, nx, largest, second)
    const rightLabel = largestColumn < secondColumn ? largest : second
    for (let v = 0; v < labels.length; v++) {
      const component = components.labels[v]
      if (component === largest || component === second) labels[v] = component === rightLabel ? RIGHT_LUNG : LEFT_LUNG
    }
  } else {
    const { column: split, contactFraction } = thinnestColumn(components.labels, size, largest)
    let right = 0
    let left = 0
    for (let v = 0; v < labels.length; v++) {
      if (components.labels[v] !== largest) continue
      if (v % nx < split) {
        labels[v] = RIGHT_LUNG
        right++
      } else {
        labels[v] = LEFT_LUNG
        left++
      }
    }
    const sideRatio = Math.max(right, left) / Math.max(1, Math.min(right, left))
    if (contactFraction > SPLIT_WARNING_CONTACT_FRACTION || sideRatio > SPLIT_WARNING_SIDE_RATIO) {
      const splitMm = (split * spacingMm[0]).toFixed(1)
      warnings.push(
        `the lungs form one connected region; split into right and left where it is thinnest, ${splitMm} mm from the patient's right edge ` +
          `of the volume, through ${(100 * contactFraction).toFixed(0)} % of a mean column, with one side ${sideRatio.toFixed(1)} times the other`,
      )
    }
  }
  return labels
}

/**
 * Fills holes in each axial slice of each lung separately. Each side is filled within its
 * bounding rectangle in the slice, grown by one pixel so the border flood goes around it.
 */
function fillHolesPerSide(labels: Uint8Array, size: Vec3): void {
  const [nx, ny, nz] = size
  const plane = nx * ny
  const work = new Uint8Array(plane)
  // Bounding rectangle per side (index = label): x0, x1, y0, y1.
  const boxes = [new Int32Array(4), new Int32Array(4), new Int32Array(4)]
  const emptyBox = Int32Array.from([nx, -1, ny, -1])
  for (let k = 0; k < nz; k++) {
    const offset = k * plane
    for (const box of boxes) box.set(emptyBox)
    for (let y = 0; y < ny; y++) {
      const row = offset + y * nx
      for (let x = 0; x < nx; x++) {
        const label = labels[row + x]
        if (label === 0) continue
        const box = boxes[label]
        if (x < box[0]) box[0] = x
        if (x > box[1]) box[1] = x
        if (y < box[2]) box[2] = y
        box[3] = y
      }
    }
    for (const side of [RIGHT_LUNG, LEFT_LUNG]) {
      const box = boxes[side]
      if (box[1] < 0) continue
      const x0 = Math.max(0, box[0] - 1)
      const y0 = Math.max(0, box[2] - 1)
      const width = Math.min(nx - 1, box[1] + 1) - x0 + 1
      const height = Math.min(ny - 1, box[3] + 1) - y0 + 1
      const local = work.subarray(0, width * height)
      for (let y = 0; y < height; y++) {
        const row = offset + (y0 + y) * nx + x0
        for (let x = 0; x < width; x++) local[y * width + x] = labels[row + x] === side ? 1 : 0
      }
      fillHolesInPlane(local, width, height)
      for (let y = 0; y < height; y++) {
        const row = offset + (y0 + y) * nx + x0
        for (let x = 0; x < width; x++) if (local[y * width + x] === 1 && labels[row + x] === 0) labels[row + x] = side
      }
    }
  }
}

/** Mean axis-0 index of the voxels of two components, in one pass. */
function meanColumns(componentLabels: Int32Array, nx: number, first: number, second: number): [number, number] {
  const sums = [0, 0]
  const counts = [0, 0]
  for (let row = 0; row < componentLabels.length; row += nx) {
    for (let x = 0; x < nx; x++) {
      const component = componentLabels[row + x]
      if (component === first) {
        sums[0] += x
        counts[0]++
      } else if (component === second) {
        sums[1] += x
        counts[1]++
      }
    }
  }
  return [sums[0] / Math.max(1, counts[0]), sums[1] / Math.max(1, counts[1])]
}

/**
 * Returns the column (axis-0 index) with the fewest voxels of the component within the middle
 * 40 % of its extent, and its voxels as a fraction of the component's mean voxels per column.
 */
function thinnestColumn(componentLabels: Int32Array, size: Vec3, label: number): { column: number; contactFraction: number } {
  const nx = size[0]
  const perColumn = new Float64Array(nx)
  for (let v = 0; v < componentLabels.length; v++) if (componentLabels[v] === label) perColumn[v % nx]++

  let first = 0
  while (first < nx - 1 && perColumn[first] === 0) first++
  let last = nx - 1
  while (last > 0 && perColumn[last] === 0) last--
  const from = Math.round(first + 0.3 * (last - first))
  const to = Math.round(first + 0.7 * (last - first))
  let best = from
  for (let x = from; x <= to; x++) if (perColumn[x] < perColumn[best]) best = x
  let voxels = 0
  for (let x = first; x <= last; x++) voxels += perColumn[x]
  const meanPerColumn = voxels / (last - first + 1)
  return { column: best, contactFraction: perColumn[best] / meanPerColumn }
}

/**
 * Lung probability above which a lesion voxel outside the lung mask may still join the lung.
 * Chosen on the validation patient's scans with simulated lesions: 0.02 and 0.1 both raised the
 * lesion and lung Dice over keeping lesions inside the lung mask only, 0.02 slightly more.
 */
export const LESION_JOIN_LUNG_PROBABILITY = 0.02

/**
 * Radius in mm of the in-plane closing whose additions to the lung outline (bites) a lesion may
 * also extend into, as where the lung probability is above LESION_JOIN_LUNG_PROBABILITY. It was
 * chosen by the mean lesion Dice of the validation patient's five scans with simulated lesions,
 * with the 148 x 108 lesion model then shipped: none 0.679, 10 mm 0.682, 20 mm 0.685, 35 mm
 * 0.684. The false-positive volume on the patient's lesion-free scans stayed the same up to
 * 20 mm and rose by 6 and 4 mL at 35 mm.
 */
export const LESION_JOIN_BITE_RADIUS_MM = 20

/**
 * Smallest lesion region that segment keeps, in mL (a ball of 15.6 mm diameter). The lesion
 * network marks scattered specks in normal lung: at threshold 0.7, 214 regions on the validation
 * patient's two lesion-free scans, 197 of them under 0.5 mL and 6 over 2 mL. The minimum was
 * chosen with the threshold on the validation patient, by the mean 3D lesion Dice of its five
 * scans with simulated lesions and the false-positive mL on its two lesion-free scans. At
 * threshold 0.7: no minimum 0.768 and 38.6 mL, 1 mL 0.770 and 24.0 mL, 2 mL 0.772 and 17.9 mL
 * (models/lesion.md has the whole table).
 */
export const MIN_LESION_REGION_ML = 2

export interface RemovedLesionRegions {
  /** The smallest region kept, in mL. */
  minRegionMl: number
  /** Regions removed because they were smaller. */
  regions: number
  /** Their total volume in mL. */
  volumeMl: number
  /** Regions from the minimum up removed as slivers on the lung's top or bottom surface (see removeSurfaceSlivers). */
  surfaceSlivers: { regions: number; volumeMl: number }
}

/**
 * Reconciles the lesion mask with the lung mask. Dense consolidation against the chest wall can
 * look like soft tissue to the lung network, so it falls out of the lung mask while the lesion
 * network finds it. A lesion voxel outside the lung mask is kept when `looseLung` contains it
 * and its 6-connected lesion component overlaps the lung. In segment, `looseLung` is the lung
 * network's output at a low probability threshold plus the bites that a closing adds to the
 * lung outline. Other lesion voxels outside the lung are removed. Then the 26-connected lesion
 * regions smaller than `minRegionMl` are removed, and the voxels outside the lung of the regions
 * kept join the side that most of their component's lung voxels belong to. Holes are filled
 * again per side. Changes `lesion` and `lungLabels` and returns what the minimum removed.
 */
export function joinLesionsToLung(
  lesion: Uint8Array,
  lungLabels: Uint8Array,
  looseLung: Uint8Array,
  size: Vec3,
  spacingMm: Vec3,
  minRegionMl: number,
): RemovedLesionRegions {
  for (let v = 0; v < lesion.length; v++) if (lungLabels[v] === 0 && looseLung[v] === 0) lesion[v] = 0

  const components = labelComponents(lesion, size, 6)
  const labels = components.labels
  const rightCount = new Float64Array(components.count + 1)
  const leftCount = new Float64Array(components.count + 1)
  for (let v = 0; v < labels.length; v++) {
    const component = labels[v]
    if (component === 0) continue
    if (lungLabels[v] === RIGHT_LUNG) rightCount[component]++
    else if (lungLabels[v] === LEFT_LUNG) leftCount[component]++
  }
  for (let v = 0; v < labels.length; v++) {
    const component = labels[v]
    if (component !== 0 && rightCount[component] + leftCount[component] === 0) lesion[v] = 0
  }

  // A 6-connected component lies within one 26-connected region, so the counts above still
  // hold for the components that the minimum keeps.
  const removed = removeSmallRegions(lesion, size, spacingMm, minRegionMl)
  const surfaceSlivers = minRegionMl > 0 ? removeSurfaceSlivers(lesion, lungLabels, size, spacingMm) : { regions: 0, volumeMl: 0 }
  let joined = false
  for (let v = 0; v < labels.length; v++) {
    if (lesion[v] === 0 || lungLabels[v] !== 0) continue
    const component = labels[v]
    lungLabels[v] = rightCount[component] >= leftCount[component] ? RIGHT_LUNG : LEFT_LUNG
    joined = true
  }
  if (joined) fillHolesPerSide(lungLabels, size)
  return { ...removed, surfaceSlivers }
}

/**
 * Removes the 26-connected lesion regions that lie in one axial slice with every voxel on the
 * lung's top or bottom surface: no lung at that position in the slice above, or none in the
 * slice below. A thick slice that cuts the diaphragm dome or the lung apex averages lung with
 * soft tissue into the HU of ground glass, and the lesion network marks such layers. On the
 * lesion-free scans of this project with 5 and 8 mm slices, they were 8.8, 6.6 and 6.5 mL of
 * the 11.4, 8.8 and 6.5 mL of false-positive lesion. A slice beyond the volume counts as lung,
 * so a scan that ends inside the lung loses nothing at its first and last slices.
 * NOTE: checked on simulated lesions only, and none was lost. A real basal or apical lesion seen
 * in a single thick slice would be removed too, so report.json counts what this removes.
 */
export function removeSurfaceSlivers(lesion: Uint8Array, lungLabels: Uint8Array, size: Vec3, spacingMm: Vec3): { regions: number; volumeMl: number } {
  const [nx, ny, nz] = size
  const plane = nx * ny
  const components = labelComponents(lesion, size, 26)
  const firstSlice = new Int32Array(components.count + 1).fill(-1)
  // 1 while every voxel seen so far lies in the region's first slice and on the lung surface.
  const sliver = new Uint8Array(components.count + 1).fill(1)
  for (let v = 0; v < lesion.length; v++) {
    const label = components.labels[v]!
    if (label === 0 || sliver[label] === 0) continue
    const z = Math.floor(v / plane)
    if (firstSlice[label] === -1) firstSlice[label] = z
    const lungAbove = z + 1 >= nz || lungLabels[v + plane] !== 0
    const lungBelow = z === 0 || lungLabels[v - plane] !== 0
    if (z !== firstSlice[label] || (lungAbove && lungBelow)) sliver[label] = 0
  }
  let regions = 0
  let voxels = 0
  for (let label = 1; label <= components.count; label++) {
    if (sliver[label] === 0) continue
    regions++
    voxels += components.voxelCounts[label]!
  }
  if (regions > 0) {
    for (let v = 0; v < lesion.length; v++) if (sliver[components.labels[v]!] === 1) lesion[v] = 0
  }
  return { regions, volumeMl: voxels * voxelVolumeMl(spacingMm) }
}

/** Removes the 26-connected regions of `mask` smaller than `minRegionMl` and returns what it removed. */
function removeSmallRegions(mask: Uint8Array, size: Vec3, spacingMm: Vec3, minRegionMl: number): Omit<RemovedLesionRegions, 'surfaceSlivers'> {
  const voxelMl = voxelVolumeMl(spacingMm)
  const components = labelComponents(mask, size, 26)
  const removed = new Uint8Array(components.count + 1)
  let regions = 0
  let voxels = 0
  for (let label = 1; label <= components.count; label++) {
    if (components.voxelCounts[label] * voxelMl >= minRegionMl) continue
    removed[label] = 1
    regions++
    voxels += components.voxelCounts[label]
  }
  if (regions > 0) {
    for (let v = 0; v < mask.length; v++) if (removed[components.labels[v]] === 1) mask[v] = 0
  }
  return { minRegionMl, regions, volumeMl: voxels * voxelMl }
}

/** Removes lesion voxels outside the lung (lesions are sought inside the lung only). */
export function restrictToLung(lesion: Uint8Array, lungLabels: Uint8Array): void {
  for (let v = 0; v < lesion.length; v++) if (lungLabels[v] === 0) lesion[v] = 0
}
