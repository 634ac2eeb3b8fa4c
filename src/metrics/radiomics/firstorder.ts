import { percentileOfSorted } from '../surface-distance.js'

/** Settings of the first-order features, named and defaulted as in PyRadiomics. */
export interface FirstOrderOptions {
  /** Width of the grey-level bins for Entropy and Uniformity, in image units (HU for CT). Default 25. */
  binWidth?: number
  /**
   * Constant c added to every value for Energy, TotalEnergy and RootMeanSquared, so that negative
   * values (HU below 0) do not cancel out. Default 0, the PyRadiomics default.
   */
  voxelArrayShift?: number
  /** Volume of one voxel in mm³, for TotalEnergy. Default 1. */
  voxelVolumeMm3?: number
}

/** Names of the 18 PyRadiomics first-order features, in the order colinet reports them. */
export const FIRST_ORDER_FEATURES = [
  'Energy',
  'TotalEnergy',
  'Entropy',
  'Minimum',
  '10Percentile',
  '90Percentile',
  'Maximum',
  'Mean',
  'Median',
  'InterquartileRange',
  'Range',
  'MeanAbsoluteDeviation',
  'RobustMeanAbsoluteDeviation',
  'RootMeanSquared',
  'Skewness',
  'Kurtosis',
  'Variance',
  'Uniformity',
] as const

export type FirstOrderFeature = (typeof FIRST_ORDER_FEATURES)[number]

/**
 * Computes the 18 first-order features of the values X inside a region of interest, as
 * PyRadiomics 3 defines them (radiomics/firstorder.py). Notation: N voxels with values X(i),
 * mean X̄, c = voxelArrayShift, p(i) the fraction of voxels in grey-level bin i after
 * discretisation with binWidth, P_q the q-th percentile (linear interpolation, as numpy).
 *
 * - Energy = Σ (X(i) + c)²; TotalEnergy = voxel volume · Energy; RootMeanSquared = √(Energy / N)
 * - Entropy = -Σ p(i) log2(p(i) + ε), ε the float64 machine epsilon; Uniformity = Σ p(i)²
 * - Minimum, Maximum, Range = Maximum - Minimum, Mean = X̄, Median = P_50,
 *   10Percentile = P_10, 90Percentile = P_90, InterquartileRange = P_75 - P_25
 * - MeanAbsoluteDeviation = mean |X(i) - X̄|; RobustMeanAbsoluteDeviation is the same over the
 *   values with P_10 ≤ X(i) ≤ P_90, about their own mean
 * - Variance = mean (X(i) - X̄)² (population variance, as PyRadiomics)
 * - Skewness = μ3 / μ2^1.5 and Kurtosis = μ4 / μ2² with μk the k-th central moment; both are 0
 *   for a flat region (μ2 = 0), and Kurtosis is not the excess kurtosis (IBSI subtracts 3)
 *
 * Discretisation follows PyRadiomics' fixed bin width: bin edges at multiples of binWidth
 * starting at floor(min / binWidth) · binWidth, each bin closed on the left.
 * Throws for an empty region, where no feature is defined.
 */
export function computeFirstOrderFeatures(
  values: ArrayLike<number>,
  options: FirstOrderOptions = {},
): Record<FirstOrderFeature, number> {
  const binWidth = options.binWidth ?? 25
  const shift = options.voxelArrayShift ?? 0
  const voxelVolumeMm3 = options.voxelVolumeMm3 ?? 1
  const count = values.length
  if (count === 0) throw new Error('computeFirstOrderFeatures: the region of interest is empty')
  if (!(binWidth > 0)) throw new Error(`computeFirstOrderFeatures: binWidth must be positive, got ${binWidth}`)

  const sorted = sortValues(values)
  const minimum = sorted[0]
  const maximum = sorted[count - 1]

  let total = 0
  let energy = 0
  for (let n = 0; n < count; n++) {
    total += sorted[n]
    energy += (sorted[n] + shift) ** 2
  }
  const mean = total / count

  let absoluteDeviation = 0
  let m2 = 0
  let m3 = 0
  let m4 = 0
  for (let n = 0; n < count; n++) {
    const deviation = sorted[n] - mean
    const squared = deviation * deviation
    absoluteDeviation += Math.abs(deviation)
    m2 += squared
    m3 += squared * deviation
    m4 += squared * squared
  }
  m2 /= count
  m3 /= count
  m4 /= count

  const p10 = percentileOfSorted(sorted, 10)
  const p90 = percentileOfSorted(sorted, 90)
  const { entropy, uniformity } = histogramFeatures(sorted, binWidth)

  return {
    Energy: energy,
    TotalEnergy: voxelVolumeMm3 * energy,
    Entropy: entropy,
    Minimum: minimum,
    '10Percentile': p10,
    '90Percentile': p90,
    Maximum: maximum,
    Mean: mean,
    Median: percentileOfSorted(sorted, 50),
    InterquartileRange: percentileOfSorted(sorted, 75) - percentileOfSorted(sorted, 25),
    Range: maximum - minimum,
    MeanAbsoluteDeviation: absoluteDeviation / count,
    RobustMeanAbsoluteDeviation: robustMeanAbsoluteDeviation(sorted, p10, p90),
    RootMeanSquared: Math.sqrt(energy / count),
    Skewness: m2 === 0 ? 0 : m3 / m2 ** 1.5,
    Kurtosis: m2 === 0 ? 0 : m4 / (m2 * m2),
    Variance: m2,
    Uniformity: uniformity,
  }
}

function robustMeanAbsoluteDeviation(sorted: Float64Array, p10: number, p90: number): number {
  let total = 0
  let count = 0
  for (let n = 0; n < sorted.length; n++) {
    if (sorted[n] >= p10 && sorted[n] <= p90) {
      total += sorted[n]
      count++
    }
  }
  const mean = total / count
  let deviation = 0
  for (let n = 0; n < sorted.length; n++) {
    if (sorted[n] >= p10 && sorted[n] <= p90) deviation += Math.abs(sorted[n] - mean)
  }
  return deviation / count
}

/** Entropy (bits) and Uniformity of the values binned with a fixed bin width. */
function histogramFeatures(sorted: Float64Array, binWidth: number): { entropy: number; uniformity: number } {
  const lowestEdge = Math.floor(sorted[0] / binWidth) * binWidth
  const counts = new Float64Array(Math.floor((sorted[sorted.length - 1] - lowestEdge) / binWidth) + 1)
  for (let n = 0; n < sorted.length; n++) counts[Math.floor((sorted[n] - lowestEdge) / binWidth)]++
  let entropy = 0
  let uniformity = 0
  for (const binCount of counts) {
    if (binCount === 0) continue
    const p = binCount / sorted.length
    entropy -= p * Math.log2(p + Number.EPSILON)
    uniformity += p * p
  }
  return { entropy, uniformity }
}

/**
 * Sorts the values ascending. Integer values over a moderate range (CT in HU) are sorted by
 * counting, in linear time, because a whole-lung region contains tens of millions of voxels.
 */
function sortValues(values: ArrayLike<number>): Float64Array {
  let minimum = Infinity
  let maximum = -Infinity
  let integers = true
  for (let n = 0; n < values.length; n++) {
    const value = values[n]
    if (value < minimum) minimum = value
    if (value > maximum) maximum = value
    if (integers && !Number.isInteger(value)) integers = false
  }
  if (!integers || maximum - minimum > 1 << 22) return Float64Array.from(values).sort()

  const counts = new Uint32Array(maximum - minimum + 1)
  for (let n = 0; n < values.length; n++) counts[values[n] - minimum]++
  const sorted = new Float64Array(values.length)
  let position = 0
  for (let offset = 0; offset < counts.length; offset++) {
    sorted.fill(minimum + offset, position, position + counts[offset])
    position += counts[offset]
  }
  return sorted
}
