/**
 * A seeded pseudo-random generator (mulberry32) so that weight initialisation and dropout
 * masks are reproducible from a seed. Not for cryptographic use.
 */
export class SeededRandom {
  private state: number

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9
  }

  /** Returns a uniform number in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Returns a standard normal number (Box-Muller transform). */
  normal(): number {
    const u = 1 - this.uniform()
    const v = this.uniform()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
}
