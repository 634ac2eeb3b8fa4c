import type { Volume, VoxelArray } from '../volume/volume.js'

/**
 * The network input of the COLI-Net method: each axial slice is cropped to the body, resized to
 * 296 columns (patient right to left) by 216 rows (anterior to posterior), clipped to
 * [-1024, 300] HU and divided by 1000.
 */
export interface NetworkInputSpec {
  width: number
  height: number
  minHu: number
  maxHu: number
  /** Factor applied after clipping: 1/1000 maps HU to about [-1, 0.3]. */
  scale: number
}

export const COLINET_INPUT: NetworkInputSpec = { width: 296, height: 216, minHu: -1024, maxHu: 300, scale: 1 / 1000 }

/**
 * Placement of the network's 2D grid in a canonical slice: output pixel (u, v) samples the input
 * at the continuous pixel position (x0 + u·step, y0 + v·step). One step in both directions keeps
 * the in-plane aspect ratio of the anatomy when the input pixels are square.
 */
export interface SliceFrame {
  x0: number
  y0: number
  stepX: number
  stepY: number
  width: number
  height: number
}

/** Maps a raw HU value to the network's input scale. */
export function normaliseHu(hu: number, spec: NetworkInputSpec = COLINET_INPUT): number {
  return Math.min(Math.max(hu, spec.minHu), spec.maxHu) * spec.scale
}

/**
 * Resamples the given canonical slices onto the network grid by bilinear interpolation (voxels
 * outside the image count as air, -1024 HU), then clips and scales them. Returns a Float32Array
 * of `slices.length · height · width` values, slice-major, row-major within a slice.
 */
export function preprocessSlices(
  canonical: Volume,
  frame: SliceFrame,
  slices: readonly number[],
  spec: NetworkInputSpec = COLINET_INPUT,
  output = new Float32Array(slices.length * frame.width * frame.height),
): Float32Array {
  const [nx, ny] = canonical.size
  const plane = nx * ny
  const { sample, weights } = bilinearTaps(frame, nx, ny)
  const outside = normaliseHu(-1024, spec)

  for (let s = 0; s < slices.length; s++) {
    const sliceOffset = slices[s] * plane
    const outOffset = s * frame.width * frame.height
    for (let p = 0; p < frame.width * frame.height; p++) {
      let hu = 0
      let inside = 0
      for (let tap = 0; tap < 4; tap++) {
        const index = sample[4 * p + tap]
        if (index >= 0) {
          hu += weights[4 * p + tap] * canonical.data[sliceOffset + index]
          inside += weights[4 * p + tap]
        } else {
          hu += weights[4 * p + tap] * -1024
        }
      }
      output[outOffset + p] = inside === 0 ? outside : normaliseHu(hu, spec)
    }
  }
  return output
}

/**
 * Resamples label slices onto the network grid by nearest neighbour (outside the image is 0).
 * Training uses this with preprocessSlices so image and label share one frame.
 */
export function resampleLabelSlices(
  labels: Volume<VoxelArray>,
  frame: SliceFrame,
  slices: readonly number[],
  output = new Uint8Array(slices.length * frame.width * frame.height),
): Uint8Array {
  const [nx, ny] = labels.size
  for (let s = 0; s < slices.length; s++) {
    const sliceOffset = slices[s] * nx * ny
    for (let v = 0; v < frame.height; v++) {
      const y = Math.round(frame.y0 + v * frame.stepY)
      for (let u = 0; u < frame.width; u++) {
        const x = Math.round(frame.x0 + u * frame.stepX)
        const inside = x >= 0 && x < nx && y >= 0 && y < ny
        output[(s * frame.height + v) * frame.width + u] = inside ? labels.data[sliceOffset + y * nx + x] : 0
      }
    }
  }
  return output
}

/**
 * Precomputes, for every output pixel, the four input pixel indices and bilinear weights it
 * blends (index -1 for a tap outside the slice), so the per-slice loop does no coordinate work.
 */
function bilinearTaps(frame: SliceFrame, nx: number, ny: number): { sample: Int32Array; weights: Float32Array } {
  const count = frame.width * frame.height
  const sample = new Int32Array(4 * count)
  const weights = new Float32Array(4 * count)
  for (let v = 0; v < frame.height; v++) {
    const y = frame.y0 + v * frame.stepY
    const y0 = Math.floor(y)
    const fy = y - y0
    for (let u = 0; u < frame.width; u++) {
      const x = frame.x0 + u * frame.stepX
      const x0 = Math.floor(x)
      const fx = x - x0
      const p = v * frame.width + u
      const taps: Array<[number, number, number]> = [
        [x0, y0, (1 - fx) * (1 - fy)],
        [x0 + 1, y0, fx * (1 - fy)],
        [x0, y0 + 1, (1 - fx) * fy],
        [x0 + 1, y0 + 1, fx * fy],
      ]
      for (let tap = 0; tap < 4; tap++) {
        const [tx, ty, weight] = taps[tap]
        const inside = tx >= 0 && tx < nx && ty >= 0 && ty < ny
        sample[4 * p + tap] = inside ? ty * nx + tx : -1
        weights[4 * p + tap] = weight
      }
    }
  }
  return { sample, weights }
}

/**
 * Maps one slice of network probabilities back to a canonical slice: each input pixel takes the
 * bilinear interpolation of the probability map at its position on the network grid, and is set
 * to `label` where that exceeds `threshold`. Pixels outside the frame are left unchanged.
 */
export function probabilitiesToSlice(
  probabilities: Float32Array,
  probabilityOffset: number,
  frame: SliceFrame,
  nx: number,
  ny: number,
  mask: Uint8Array,
  maskOffset: number,
  label = 1,
  threshold = 0.5,
): void {
  const lastU = frame.width - 1
  const lastV = frame.height - 1
  // The column taps are the same in every row, so they are computed once per call.
  const left = new Int32Array(nx).fill(-1)
  const right = new Int32Array(nx)
  const rightWeight = new Float64Array(nx)
  for (let x = 0; x < nx; x++) {
    const u = (x - frame.x0) / frame.stepX
    if (u < -0.5 || u > lastU + 0.5) continue
    const uc = Math.min(Math.max(u, 0), lastU)
    const u0 = Math.min(Math.floor(uc), lastU - 1 < 0 ? 0 : lastU - 1)
    left[x] = u0
    right[x] = lastU === 0 ? u0 : u0 + 1
    rightWeight[x] = lastU === 0 ? 0 : uc - u0
  }
  for (let y = 0; y < ny; y++) {
    const v = (y - frame.y0) / frame.stepY
    if (v < -0.5 || v > lastV + 0.5) continue
    const vc = Math.min(Math.max(v, 0), lastV)
    const v0 = Math.min(Math.floor(vc), lastV - 1 < 0 ? 0 : lastV - 1)
    const fv = lastV === 0 ? 0 : vc - v0
    const row0 = probabilityOffset + v0 * frame.width
    const row1 = lastV === 0 ? row0 : row0 + frame.width
    const maskRow = maskOffset + y * nx
    for (let x = 0; x < nx; x++) {
      const u0 = left[x]!
      if (u0 < 0) continue
      const u1 = right[x]!
      const fu = rightWeight[x]!
      const value =
        (1 - fv) * ((1 - fu) * probabilities[row0 + u0]! + fu * probabilities[row0 + u1]!) +
        fv * ((1 - fu) * probabilities[row1 + u0]! + fu * probabilities[row1 + u1]!)
      if (value > threshold) mask[maskRow + x] = label
    }
  }
}
