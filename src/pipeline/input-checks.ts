import { InputError } from '../errors.js'
import type { Volume } from '../volume/volume.js'
import type { SliceFrame } from './preprocess.js'

export interface IntensitySummary {
  min: number
  max: number
  /** Median of a regular sample of voxels. */
  median: number
}

/** Summarises the intensities of a volume from every voxel (min, max) and a sample (median). */
export function summariseIntensities(volume: Volume): IntensitySummary {
  const data = volume.data
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < data.length; i++) {
    const value = data[i]
    if (value < min) min = value
    if (value > max) max = value
  }
  const stride = Math.max(1, Math.floor(data.length / 200_000))
  const sample: number[] = []
  for (let i = 0; i < data.length; i += stride) sample.push(data[i])
  sample.sort((a, b) => a - b)
  return { min, max, median: sample[Math.floor(sample.length / 2)] ?? 0 }
}

/**
 * Checks that a volume contains CT values in Hounsfield units, where air is about -1000 HU and
 * soft tissue about +40 HU. Rejects 8-bit images, raw stored values without the DICOM rescale
 * intercept, and normalised intensities, saying what was found. Returns warnings for values
 * that are plausible but unusual.
 */
export function checkHounsfieldUnits(volume: Volume): string[] {
  const { min, max, median } = summariseIntensities(volume)
  const found = `values ${formatValue(min)}..${formatValue(max)}`
  const expected = 'expected a CT in Hounsfield units (air about -1000 HU, soft tissue about +40 HU)'

  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new InputError(`${expected}, got non-finite values (NaN or infinity)`)
  }
  if (max - min < 1e-6) {
    throw new InputError(`${expected}, got a constant image (all voxels ${formatValue(min)})`)
  }
  if (min >= 0 && max <= MAX_LABEL_VALUE && hasOnlyIntegers(volume.data)) {
    throw new InputError(`${expected}, got ${found} (a label mask such as a segmentation, not a CT?)`)
  }
  if (volume.data instanceof Uint8Array || (min >= 0 && max <= 255)) {
    throw new InputError(`${expected}, got ${found} (an 8-bit image, e.g. a screenshot or exported PNG stack?)`)
  }
  if (min >= -1.5 && max <= 1.5) {
    throw new InputError(`${expected}, got ${found} (intensities normalised to [0, 1] or [-1, 1]?)`)
  }
  if (min >= -10) {
    throw new InputError(
      `${expected}, got ${found} with no negative values: raw stored values without the rescale intercept? ` +
        'Convert to HU first (for most scanners HU = stored value - 1024, or use the DICOM folder so RescaleSlope/RescaleIntercept are applied)',
    )
  }

  const warnings: string[] = []
  if (min < -1200) {
    warnings.push(`values down to ${formatValue(min)} HU (padding outside the scan field of view?); treated as air`)
  }
  if (median > 200) {
    warnings.push(`median value ${formatValue(median)} HU is high for a chest CT`)
  }
  return warnings
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3)
}

/** Network-scale value below which a pixel counts as air or lung (-400 HU divided by 1000). */
const AIR_LEVEL = -0.4

/**
 * Measures the air enclosed by the body on the preprocessed slices: pixels below -400 HU that
 * are not connected to the edge of the grid, as a fraction of the pixels above it. Lungs make
 * this about 10 to 40 % in a chest CT; it is near zero in a head or an abdomen without bowel gas.
 */
export function enclosedAirFraction(slices: Float32Array, frame: SliceFrame, sliceCount: number): number {
  const { width, height } = frame
  const plane = width * height
  const outside = new Uint8Array(plane)
  const queue = new Int32Array(plane)
  let enclosed = 0
  let tissue = 0

  for (let s = 0; s < sliceCount; s++) {
    const offset = s * plane
    outside.fill(0)
    let tail = 0
    for (let p = 0; p < plane; p++) {
      const x = p % width
      const y = (p - x) / width
      const onEdge = x === 0 || y === 0 || x === width - 1 || y === height - 1
      if (onEdge && slices[offset + p] < AIR_LEVEL) {
        outside[p] = 1
        queue[tail++] = p
      }
    }
    for (let head = 0; head < tail; head++) {
      const p = queue[head]
      const x = p % width
      const candidates = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, p - width, p + width]
      for (const q of candidates) {
        if (q >= 0 && q < plane && outside[q] === 0 && slices[offset + q] < AIR_LEVEL) {
          outside[q] = 1
          queue[tail++] = q
        }
      }
    }
    for (let p = 0; p < plane; p++) {
      if (slices[offset + p] >= AIR_LEVEL) tissue++
      else if (outside[p] === 0) enclosed++
    }
  }
  return tissue === 0 ? 0 : enclosed / (tissue + enclosed)
}

/** Smallest enclosed-air fraction accepted as a chest CT with lungs in view. */
export const MIN_ENCLOSED_AIR_FRACTION = 0.01

/** Rejects a volume whose slices hold no lung-like air inside the body. */
export function checkLungAirPresent(slices: Float32Array, frame: SliceFrame, sliceCount: number): void {
  const fraction = enclosedAirFraction(slices, frame, sliceCount)
  if (fraction < MIN_ENCLOSED_AIR_FRACTION) {
    throw new InputError(
      `no lung-like air region found: air below -400 HU enclosed by the body is ${(fraction * 100).toFixed(2)} % of the body area ` +
        `(a chest CT has about 10-40 %); expected a chest CT that includes the lungs`,
    )
  }
}

/** Largest value taken as a label when every voxel is a small non-negative integer. */
const MAX_LABEL_VALUE = 20

function hasOnlyIntegers(data: ArrayLike<number>): boolean {
  for (let v = 0; v < data.length; v++) if (!Number.isInteger(data[v])) return false
  return true
}
