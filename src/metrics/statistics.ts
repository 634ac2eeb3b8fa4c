/** Descriptive statistics of one metric over a group of cases, as in the COLI-Net cohort tables. */
export interface SummaryStatistics {
  /** Number of finite values used. */
  count: number
  /** Number of values skipped because they were undefined (NaN), e.g. a distance to an empty mask. */
  missing: number
  minimum: number
  maximum: number
  mean: number
  /** Sample standard deviation (n - 1 in the denominator); NaN for fewer than 2 values. */
  standardDeviation: number
  /** 95 % confidence interval of the mean: mean ± t(0.975, n - 1) · SD / √n; NaN for fewer than 2 values. */
  confidenceInterval95: [number, number]
}

export function summarize(values: readonly number[]): SummaryStatistics {
  const finite = values.filter((value) => Number.isFinite(value))
  const count = finite.length
  const missing = values.length - count
  if (count === 0) {
    return { count, missing, minimum: NaN, maximum: NaN, mean: NaN, standardDeviation: NaN, confidenceInterval95: [NaN, NaN] }
  }

  const mean = finite.reduce((total, value) => total + value, 0) / count
  const minimum = Math.min(...finite)
  const maximum = Math.max(...finite)
  if (count < 2) {
    return { count, missing, minimum, maximum, mean, standardDeviation: NaN, confidenceInterval95: [NaN, NaN] }
  }
  const variance = finite.reduce((total, value) => total + (value - mean) ** 2, 0) / (count - 1)
  const standardDeviation = Math.sqrt(variance)
  const halfWidth = studentTQuantile(0.975, count - 1) * (standardDeviation / Math.sqrt(count))
  return { count, missing, minimum, maximum, mean, standardDeviation, confidenceInterval95: [mean - halfWidth, mean + halfWidth] }
}

/**
 * Returns the p-quantile of Student's t distribution with `degreesOfFreedom` (> 0), found by
 * bisection on the CDF F(t) = 1 - I_x(ν/2, 1/2) / 2 for t ≥ 0, x = ν / (ν + t²), with I the
 * regularised incomplete beta function. Accurate to about 1e-10.
 */
export function studentTQuantile(p: number, degreesOfFreedom: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must lie in (0, 1), got ${p}`)
  if (!(degreesOfFreedom > 0)) throw new RangeError(`studentTQuantile: degrees of freedom must be positive, got ${degreesOfFreedom}`)
  if (p === 0.5) return 0
  if (p < 0.5) return -studentTQuantile(1 - p, degreesOfFreedom)

  let low = 0
  let high = 1
  while (studentTCdf(high, degreesOfFreedom) < p) high *= 2
  for (let iteration = 0; iteration < 200 && high - low > 1e-12 * Math.max(1, high); iteration++) {
    const middle = (low + high) / 2
    if (studentTCdf(middle, degreesOfFreedom) < p) low = middle
    else high = middle
  }
  return (low + high) / 2
}

export function studentTCdf(t: number, degreesOfFreedom: number): number {
  const x = degreesOfFreedom / (degreesOfFreedom + t * t)
  const tail = 0.5 * regularizedIncompleteBeta(x, degreesOfFreedom / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** I_x(a, b) by the continued fraction of the incomplete beta function (modified Lentz method). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedIncompleteBeta(1 - x, b, a)

  const logFront = a * Math.log(x) + b * Math.log(1 - x) - logBeta(a, b)
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let fraction = d
  for (let m = 1; m <= 500; m++) {
    const even = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
    d = 1 + even * d
    c = 1 + even / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    c = Math.abs(c) < tiny ? tiny : c
    fraction *= d * c

    const odd = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
    d = 1 + odd * d
    c = 1 + odd / c
    d = 1 / (Math.abs(d) < tiny ? tiny : d)
    c = Math.abs(c) < tiny ? tiny : c
    const step = d * c
    fraction *= step
    if (Math.abs(step - 1) < 1e-15) break
  }
  return (Math.exp(logFront) * fraction) / a
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b)
}

/** ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 coefficients), about 15 digits. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  const shifted = x - 1
  let series = coefficients[0]
  for (let n = 1; n < coefficients.length; n++) series += coefficients[n] / (shifted + n)
  const t = shifted + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(series)
}
