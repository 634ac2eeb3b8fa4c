import type { Vec3, Volume } from '../volume/volume.js'

/** LPS positions (mm) of voxel centres, through the direction matrix. */
export class VoxelPositions {
  readonly nx: number
  readonly ny: number
  readonly voxelCount: number
  private readonly columns: number[][]
  private readonly origin: Vec3
  readonly point: Vec3 = [0, 0, 0]

  constructor(volume: Volume) {
    this.nx = volume.size[0]
    this.ny = volume.size[1]
    this.voxelCount = volume.size[0] * volume.size[1] * volume.size[2]
    const d = volume.direction
    const s = volume.spacingMm
    this.columns = [0, 1, 2].map((c) => [d[c] * s[c], d[3 + c] * s[c], d[6 + c] * s[c]])
    this.origin = [...volume.origin]
  }

  /** Writes the position of voxel v into `this.point` and returns it (reused, not a copy). */
  of(v: number): Vec3 {
    const i = v % this.nx
    const j = Math.floor(v / this.nx) % this.ny
    const k = Math.floor(v / (this.nx * this.ny))
    const [a, b, c] = this.columns
    this.point[0] = this.origin[0] + a[0] * i + b[0] * j + c[0] * k
    this.point[1] = this.origin[1] + a[1] * i + b[1] * j + c[1] * k
    this.point[2] = this.origin[2] + a[2] * i + b[2] * j + c[2] * k
    return this.point
  }
}
