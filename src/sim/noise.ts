/**
 * Smooth 3D value noise for lesion shapes and textures: random values in [-1, 1] on a cubic
 * lattice of `cellMm`, blended with smoothstep weights between lattice points. A lattice value
 * is a hash of its integer coordinates and the seed, so no table is stored and the field is
 * the same at a point for the same seed.
 */
export class ValueNoise {
  private readonly seed: number

  constructor(
    seed: number,
    private readonly cellMm: number,
  ) {
    this.seed = Math.floor(seed) >>> 0
  }

  /** Returns the noise at a point in mm, in [-1, 1]. */
  at(xMm: number, yMm: number, zMm: number): number {
    const x = xMm / this.cellMm
    const y = yMm / this.cellMm
    const z = zMm / this.cellMm
    const ix = Math.floor(x)
    const iy = Math.floor(y)
    const iz = Math.floor(z)
    const fx = smoothstep(x - ix)
    const fy = smoothstep(y - iy)
    const fz = smoothstep(z - iz)

    const near = lerp(
      lerp(this.lattice(ix, iy, iz), this.lattice(ix + 1, iy, iz), fx),
      lerp(this.lattice(ix, iy + 1, iz), this.lattice(ix + 1, iy + 1, iz), fx),
      fy,
    )
    const far = lerp(
      lerp(this.lattice(ix, iy, iz + 1), this.lattice(ix + 1, iy, iz + 1), fx),
      lerp(this.lattice(ix, iy + 1, iz + 1), this.lattice(ix + 1, iy + 1, iz + 1), fx),
      fy,
    )
    return lerp(near, far, fz)
  }

  private lattice(ix: number, iy: number, iz: number): number {
    let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ Math.imul(iz, 0x1b873593) ^ this.seed
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    h ^= h >>> 16
    return ((h >>> 0) / 4294967295) * 2 - 1
  }
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t
}

function smoothstep(t: number): number {
  return t * t * (3 - 2 * t)
}
