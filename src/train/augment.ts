/**
 * Data augmentation of training slices on the network grid. A slice gets a small rotation and
 * scaling about the grid centre (bilinear resampling of the image, nearest neighbour of the
 * class map), an optional in-plane Gaussian blur, an optional shift of the aerated lung's HU,
 * an intensity scale and shift in HU, and Gaussian noise in HU. The blur imitates softer
 * reconstruction kernels and coarser pixels than the training scans have, where vessels and
 * partial volume look hazier. The lung shift imitates patients whose aerated lung is denser or
 * lighter (shallower or deeper inspiration, age): the median lung HU of the scans here ranges
 * from -924 to -798, while soft tissue and outside air keep their values.
 *
 * A left-right mirror of half of the slices is optional and off by default. A lung network
 * with right and left classes would learn that either side may be either class, and any network
 * trained with it is also shown the heart on the right. The grid's pixels have the same size in
 * mm in both directions (see frameForBox), so a rotation on the grid is a rotation of the anatomy.
 *
 * The ranges are colinet's choice, kept small so that the slices stay plausible chest CT
 * slices; the COLI-Net description lists no augmentation.
 */
import type { SeededRandom } from '../nn/random.js'
import type { NetworkInputSpec } from '../pipeline/preprocess.js'

/** Largest change of each kind; each slice draws its own values uniformly within ± the range. */
export interface AugmentationRanges {
  /** Rotation in degrees, drawn from [-r, r]. Default 10. */
  rotationDegrees: number
  /** Relative scaling, drawn from [1 - s, 1 + s]. Default 0.1. */
  scaleFraction: number
  /** Relative intensity scale: HU are multiplied by a factor from [1 - f, 1 + f]. Default 0.05. */
  intensityScaleFraction: number
  /** Intensity shift in HU, drawn from [-h, h]. Default 20. */
  intensityShiftHu: number
  /** Standard deviation of added Gaussian noise in HU. Default 10. */
  noiseHu: number
  /**
   * Largest standard deviation of the blur in grid pixels, drawn from [0, b]. Default 0 (off).
   * Absent in runs recorded before the blur existed, which train without it.
   */
  blurSigmaPixels?: number
  /**
   * Largest shift in HU of the aerated lung (see lungShiftWeight), drawn from [-d, d]. Default 0
   * (off). Absent in runs recorded before the shift existed, which train without it.
   */
  lungShiftHu?: number
  /**
   * Mirror half of the slices left to right. Default false. Absent in runs recorded before the
   * mirror existed, which train without it.
   */
  mirror?: boolean
}

export const DEFAULT_AUGMENTATION: AugmentationRanges = {
  rotationDegrees: 10,
  scaleFraction: 0.1,
  intensityScaleFraction: 0.05,
  intensityShiftHu: 20,
  noiseHu: 10,
  blurSigmaPixels: 0,
  lungShiftHu: 0,
  mirror: false,
}

/** The transform applied to one slice. */
export interface SliceTransform {
  rotationDegrees: number
  /** Greater than 1 enlarges the anatomy. */
  scale: number
  intensityScale: number
  intensityShiftHu: number
  noiseHu: number
  /** Standard deviation of the in-plane Gaussian blur in grid pixels; 0 leaves the slice sharp. */
  blurSigmaPixels: number
  /** HU added to aerated lung, weighted by lungShiftWeight. Zero leaves the lung as it is. */
  lungShiftHu: number
  /** Mirror the slice left to right (columns reversed) before the rotation and scaling. */
  mirrored: boolean
}

export const IDENTITY_TRANSFORM: SliceTransform = {
  rotationDegrees: 0,
  scale: 1,
  intensityScale: 1,
  intensityShiftHu: 0,
  noiseHu: 0,
  blurSigmaPixels: 0,
  lungShiftHu: 0,
  mirrored: false,
}

/**
 * Draws one slice's transform from the ranges. The blur, the lung shift and the mirror draw a
 * number only when they are set, so runs recorded without them draw the same transforms as before.
 */
export function drawTransform(random: SeededRandom, ranges: AugmentationRanges): SliceTransform {
  const symmetric = (range: number) => (2 * random.uniform() - 1) * range
  const transform: SliceTransform = {
    rotationDegrees: symmetric(ranges.rotationDegrees),
    scale: 1 + symmetric(ranges.scaleFraction),
    intensityScale: 1 + symmetric(ranges.intensityScaleFraction),
    intensityShiftHu: symmetric(ranges.intensityShiftHu),
    noiseHu: ranges.noiseHu,
    blurSigmaPixels: 0,
    lungShiftHu: 0,
    mirrored: false,
  }
  const blur = ranges.blurSigmaPixels ?? 0
  if (blur > 0) transform.blurSigmaPixels = random.uniform() * blur
  const lungShift = ranges.lungShiftHu ?? 0
  if (lungShift > 0) transform.lungShiftHu = symmetric(lungShift)
  if (ranges.mirror === true) transform.mirrored = random.uniform() < 0.5
  return transform
}

export interface SliceBuffers {
  image: Float32Array
  labels: Uint8Array
}

/**
 * Writes the transformed slice into `output`. Output pixel (u, v) takes the input at
 *   c + R(-θ)·((u, v) - c) / s,   c = ((width - 1)/2, (height - 1)/2),
 * so the anatomy grows by s and turns by θ: clockwise on screen (rows going down) for θ > 0. Pixels that come from outside the grid read as air and background.
 * A mirrored transform then reads the input at column width - 1 - x instead of x.
 * `random` is used only for the noise, and only when noiseHu > 0.
 */
export function transformSlice(
  input: SliceBuffers,
  output: SliceBuffers,
  width: number,
  height: number,
  transform: SliceTransform,
  spec: NetworkInputSpec,
  random?: SeededRandom,
): void {
  const angle = (transform.rotationDegrees * Math.PI) / 180
  const cos = Math.cos(angle) / transform.scale
  const sin = Math.sin(angle) / transform.scale
  const cx = (width - 1) / 2
  const cy = (height - 1) / 2
  const air = Math.min(Math.max(-1024, spec.minHu), spec.maxHu) * spec.scale

  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const du = u - cx
      const dv = v - cy
      const turned = cx + cos * du + sin * dv
      const x = transform.mirrored ? width - 1 - turned : turned
      const y = cy - sin * du + cos * dv
      const p = v * width + u
      output.image[p] = bilinear(input.image, width, height, x, y, air)
      const nx = Math.round(x)
      const ny = Math.round(y)
      output.labels[p] = nx >= 0 && nx < width && ny >= 0 && ny < height ? input.labels[ny * width + nx]! : 0
    }
  }
  if (transform.blurSigmaPixels > 0) gaussianBlur(output.image, width, height, transform.blurSigmaPixels)
  adjustIntensities(output.image, width * height, transform, spec, random)
}

/**
 * Blurs a row-major image in place with a separable Gaussian of standard deviation `sigma`
 * pixels, cut at 3·sigma and normalised to sum 1. Taps beyond the edge repeat the edge pixel,
 * so a constant image stays constant.
 */
export function gaussianBlur(image: Float32Array, width: number, height: number, sigma: number): void {
  const radius = Math.ceil(3 * sigma)
  const weights = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)))
  const total = weights.reduce((a, b) => a + b, 0)
  const kernel = weights.map((w) => w / total)
  const clamp = (i: number, n: number) => Math.min(Math.max(i, 0), n - 1)
  const rows = new Float32Array(image.length)

  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let sum = 0
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * image[v * width + clamp(u + k, width)]!
      rows[v * width + u] = sum
    }
  }
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let sum = 0
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius]! * rows[clamp(v + k, height) * width + u]!
      image[v * width + u] = sum
    }
  }
}

/** Bilinear interpolation of a row-major image at (x, y); taps outside the image read `outside`. */
function bilinear(image: Float32Array, width: number, height: number, x: number, y: number, outside: number): number {
  const x0 = Math.floor(x)
  const y0 = Math.floor(y)
  const fx = x - x0
  const fy = y - y0
  const tap = (tx: number, ty: number) => (tx >= 0 && tx < width && ty >= 0 && ty < height ? image[ty * width + tx]! : outside)
  const top = fx === 0 ? tap(x0, y0) : (1 - fx) * tap(x0, y0) + fx * tap(x0 + 1, y0)
  if (fy === 0) return top
  const bottom = fx === 0 ? tap(x0, y0 + 1) : (1 - fx) * tap(x0, y0 + 1) + fx * tap(x0 + 1, y0 + 1)
  return (1 - fy) * top + fy * bottom
}

/** HU where the lung shift starts to apply (air outside the body is -1000 to -1024). */
const LUNG_SHIFT_FROM_HU = -1024
/** HU range over which the lung shift applies fully: aerated lung parenchyma. */
const LUNG_SHIFT_FULL_HU: readonly [number, number] = [-900, -700]
/** HU where the lung shift has faded out; ground glass, vessels and soft tissue lie above. */
const LUNG_SHIFT_TO_HU = -400

/**
 * Returns the fraction of the lung shift that a voxel of the given HU receives: 0 at -1024 and
 * below, rising linearly to 1 at -900, 1 up to -700, falling linearly to 0 at -400 and 0 above.
 * The ramps are gentle enough that a shift of up to ±120 HU keeps the order of HU values (the
 * steeper ramp rises by 1 over 124 HU).
 */
export function lungShiftWeight(hu: number): number {
  if (hu <= LUNG_SHIFT_FROM_HU || hu >= LUNG_SHIFT_TO_HU) return 0
  if (hu < LUNG_SHIFT_FULL_HU[0]) return (hu - LUNG_SHIFT_FROM_HU) / (LUNG_SHIFT_FULL_HU[0] - LUNG_SHIFT_FROM_HU)
  if (hu <= LUNG_SHIFT_FULL_HU[1]) return 1
  return (LUNG_SHIFT_TO_HU - hu) / (LUNG_SHIFT_TO_HU - LUNG_SHIFT_FULL_HU[1])
}

/**
 * Applies hu' = a·(hu + d·w(hu)) + b + noise to preprocessed values (hu = value / scale, d the
 * lung shift, w = lungShiftWeight) and clips the result to the preprocessing window again, so
 * augmented slices stay in the range of the network's input at inference.
 */
function adjustIntensities(image: Float32Array, count: number, transform: SliceTransform, spec: NetworkInputSpec, random?: SeededRandom): void {
  const { intensityScale: a, intensityShiftHu: b, noiseHu, lungShiftHu } = transform
  if (a === 1 && b === 0 && noiseHu === 0 && lungShiftHu === 0) return
  const addNoise = noiseHu > 0 && random !== undefined
  for (let p = 0; p < count; p++) {
    let hu = image[p]! / spec.scale
    if (lungShiftHu !== 0) hu += lungShiftHu * lungShiftWeight(hu)
    hu = hu * a + b
    if (addNoise) hu += noiseHu * random.normal()
    image[p] = Math.min(Math.max(hu, spec.minHu), spec.maxHu) * spec.scale
  }
}
