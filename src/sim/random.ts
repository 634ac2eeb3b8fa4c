/**
 * A seeded pseudo-random generator (mulberry32: 32-bit state, period 2^32), so phantoms and
 * simulated lesions are the same for the same seed on every platform.
 */
export class SeededRandom {
  private state: number

  constructor(seed: number) {
    this.state = Math.floor(seed) >>> 0
  }

  /** Returns a uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Returns a uniform number in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next()
  }

  /** Returns a uniform integer in [low, high] (both included). */
  integer(low: number, high: number): number {
    return low + Math.floor((high - low + 1) * this.next())
  }

  /** Returns a standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
}

/**
 * Adds Gaussian noise of standard deviation `sdHu` to every voxel and clamps to [minHu, maxHu].
 * Samples come from a table of 65,536 rounded normal values indexed by a fast integer
 * generator, which is much faster than Box-Muller per voxel; the noise is in whole HU.
 */
export function addGaussianNoise(data: Int16Array, sdHu: number, seed: number, minHu = -1024, maxHu = 3071): void {
  const random = new SeededRandom(seed)
  const table = new Int16Array(65536)
  for (let t = 0; t < table.length; t++) table[t] = Math.round(sdHu * random.normal())

  let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0 || 1
  for (let v = 0; v < data.length; v++) {
    // xorshift32
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    let value = data[v] + table[(state >>> 16) & 0xffff]
    if (value < minHu) value = minHu
    else if (value > maxHu) value = maxHu
    data[v] = value
  }
}
