import type { Vec3, Volume } from '../../src/volume/volume.js'

export interface AnalyticChest {
  ct: Volume<Int16Array>
  /** 1 = right lung (smaller LPS x), 2 = left lung. */
  lung: Volume<Uint8Array>
}

/**
 * A chest made of analytic shapes on an identity-direction LPS grid: air (-1000 HU) around an
 * elliptic cylinder of soft tissue (+40 HU) that contains two ellipsoidal lungs (-850 HU), the
 * right lung at smaller x. No noise, so a HU-band model finds the lungs exactly.
 */
export function createAnalyticChest(size: Vec3 = [96, 80, 24], spacingMm: Vec3 = [4, 4, 6]): AnalyticChest {
  const [nx, ny, nz] = size
  const ct = new Int16Array(nx * ny * nz).fill(-1000)
  const lung = new Uint8Array(nx * ny * nz)
  const centre = [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2]
  const inside = (x: number, y: number, z: number, cx: number, cy: number, cz: number, rx: number, ry: number, rz: number): boolean =>
    ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 <= 1

  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = i + nx * (j + ny * k)
        if (((i - centre[0]) / (0.45 * nx)) ** 2 + ((j - centre[1]) / (0.4 * ny)) ** 2 > 1) continue
        ct[v] = 40
        // The lungs differ in size and sit posterior and low, so no flip of an axis maps the chest
        // onto itself and a lost flip shows.
        if (inside(i, j, k, centre[0] - 0.2 * nx, centre[1] + 0.05 * ny, centre[2] - 0.06 * nz, 0.16 * nx, 0.28 * ny, 0.42 * nz)) {
          ct[v] = -850
          lung[v] = 1
        } else if (inside(i, j, k, centre[0] + 0.2 * nx, centre[1] + 0.03 * ny, centre[2] - 0.02 * nz, 0.14 * nx, 0.26 * ny, 0.4 * nz)) {
          ct[v] = -850
          lung[v] = 2
        }
      }
    }
  }
  const geometry = { size, spacingMm, origin: [-200, -150, -100] as Vec3, direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
  return { ct: { ...geometry, data: ct }, lung: { ...geometry, data: lung } }
}
