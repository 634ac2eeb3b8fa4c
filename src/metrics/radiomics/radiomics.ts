import { InputError } from '../../errors.js'
import { describeGeometryMismatch, type Volume } from '../../volume/volume.js'
import { binarizeLabels } from '../mask.js'
import { computeFirstOrderFeatures, FIRST_ORDER_FEATURES } from './firstorder.js'
import { computeShapeFeatures, SHAPE_FEATURES } from './shape.js'

/** Settings of a radiomics extraction, named as the PyRadiomics settings they reproduce. */
export interface RadiomicsOptions {
  /** Mask label to use; by default every non-zero voxel is in the region of interest. */
  label?: number
  /** Grey-level bin width for Entropy and Uniformity, in image units (HU). Default 25. */
  binWidth?: number
  /** Shift c added to the values for Energy, TotalEnergy and RootMeanSquared. Default 0. */
  voxelArrayShift?: number
  /**
   * Normalise the image before first-order features: (x - mean) / SD · normalizeScale over the
   * whole image, SD with n - 1 as SimpleITK's Normalize filter. Default false.
   */
  normalize?: boolean
  /** Scale applied after normalisation. Default 1. */
  normalizeScale?: number
  /**
   * Keep only mask voxels with values in this range for first-order features (shape features use
   * the whole mask). With resegmentMode 'sigma' the bounds are multiples of the population SD
   * of the region around its mean.
   */
  resegmentRange?: [number, number]
  /** Meaning of resegmentRange: absolute values or multiples of the SD. Default 'absolute'. */
  resegmentMode?: 'absolute' | 'sigma'
}

/** Feature names as PyRadiomics writes them for the original image, e.g. original_firstorder_Mean. */
export const RADIOMIC_FEATURE_NAMES: readonly string[] = [
  ...FIRST_ORDER_FEATURES.map((name) => `original_firstorder_${name}`),
  ...SHAPE_FEATURES.map((name) => `original_shape_${name}`),
]

/**
 * Computes the 18 first-order and 14 shape features of the region of a mask in an image (CT),
 * returned under their PyRadiomics names (`original_firstorder_Mean`, `original_shape_MeshVolume`,
 * ...). The mask must share the image's geometry. Throws InputError for a geometry mismatch or an
 * empty region.
 */
export function computeRadiomics(image: Volume, mask: Volume, options: RadiomicsOptions = {}): Record<string, number> {
  const mismatch = describeGeometryMismatch(image, mask)
  if (mismatch !== undefined) {
    throw new InputError(`the mask does not lie on the image grid (${mismatch}); resample the mask onto the image first`)
  }
  const region = binarizeLabels(mask, options.label)
  const values = regionValues(image, region.data, options)
  if (values.length === 0) {
    const which = options.label === undefined ? 'non-zero voxel' : `voxel with label ${options.label}`
    throw new InputError(`the mask has no ${which} (after resegmentation, if set); nothing to measure`)
  }

  const { spacingMm } = image
  const firstOrder = computeFirstOrderFeatures(values, {
    binWidth: options.binWidth ?? 25,
    voxelArrayShift: options.voxelArrayShift ?? 0,
    voxelVolumeMm3: spacingMm[0] * spacingMm[1] * spacingMm[2],
  })
  const shape = computeShapeFeatures(region.data, region.size, spacingMm)

  const features: Record<string, number> = {}
  for (const name of FIRST_ORDER_FEATURES) features[`original_firstorder_${name}`] = firstOrder[name]
  for (const name of SHAPE_FEATURES) features[`original_shape_${name}`] = shape[name]
  return features
}

/** Image values inside the region, after optional normalisation and resegmentation. */
function regionValues(image: Volume, region: Uint8Array, options: RadiomicsOptions): Float64Array {
  const { data } = image
  let scale = 1
  let offset = 0
  if (options.normalize === true) {
    let sum = 0
    let sumOfSquares = 0
    for (let n = 0; n < data.length; n++) {
      sum += data[n]
      sumOfSquares += data[n] * data[n]
    }
    const mean = sum / data.length
    const sd = Math.sqrt((sumOfSquares - data.length * mean * mean) / (data.length - 1))
    scale = (options.normalizeScale ?? 1) / (sd > 0 ? sd : 1)
    offset = -mean * scale
  }

  let count = 0
  for (let n = 0; n < region.length; n++) count += region[n] !== 0 ? 1 : 0
  const values = new Float64Array(count)
  for (let n = 0, m = 0; n < data.length; n++) if (region[n] !== 0) values[m++] = data[n] * scale + offset
  if (options.resegmentRange === undefined || values.length === 0) return values

  let [lower, upper] = options.resegmentRange
  if (options.resegmentMode === 'sigma') {
    const mean = values.reduce((total, value) => total + value, 0) / values.length
    const sd = Math.sqrt(values.reduce((total, value) => total + (value - mean) ** 2, 0) / values.length)
    lower = mean + lower * sd
    upper = mean + upper * sd
  }
  return values.filter((value) => value >= lower && value <= upper)
}
