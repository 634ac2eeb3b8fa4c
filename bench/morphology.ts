/**
 * Times the morphology toolkit on a 512 x 512 x 300 mask shaped like two lungs with holes
 * (two ellipsoids minus small spheres). Run: npx tsx bench/morphology.ts
 */
import {
  closeMask,
  dilateMask,
  erodeMask,
  fillHoles2D,
  fillHoles3D,
  keepLargestComponents,
  labelComponents,
} from '../src/volume/morphology.js'
import type { Vec3 } from '../src/volume/volume.js'

const size: Vec3 = [512, 512, 300]
const [nx, ny, nz] = size
const mask = new Uint8Array(nx * ny * nz)
for (let k = 0; k < nz; k++) {
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const left = ((i - 170) / 110) ** 2 + ((j - 256) / 150) ** 2 + ((k - 150) / 140) ** 2 <= 1
      const right = ((i - 342) / 110) ** 2 + ((j - 256) / 150) ** 2 + ((k - 150) / 140) ** 2 <= 1
      const vessel = (i % 37) ** 2 + (j % 41) ** 2 < 20
      mask[i + nx * (j + ny * k)] = (left || right) && !vessel ? 1 : 0
    }
  }
}

function time(name: string, run: () => unknown): void {
  const start = performance.now()
  run()
  console.log(`${name.padEnd(36)} ${((performance.now() - start) / 1000).toFixed(2)} s`)
}

console.log(`mask ${size.join(' x ')} (${(mask.length / 1e6).toFixed(1)} M voxels)`)
time('labelComponents, 26-connectivity', () => labelComponents(mask, size, 26))
time('labelComponents, 6-connectivity', () => labelComponents(mask, size, 6))
time('keepLargestComponents, 2', () => keepLargestComponents(mask, size, 2))
time('dilateMask ball r=1', () => dilateMask(mask, size, 1))
time('dilateMask ball r=[3,3,1]', () => dilateMask(mask, size, [3, 3, 1]))
time('dilateMask box r=[3,3,1]', () => dilateMask(mask, size, [3, 3, 1], { shape: 'box' }))
time('erodeMask ball r=[2,2,1]', () => erodeMask(mask, size, [2, 2, 1]))
time('closeMask ball r=[3,3,1]', () => closeMask(mask, size, [3, 3, 1]))
time('fillHoles2D', () => fillHoles2D(mask, size))
time('fillHoles3D', () => fillHoles3D(mask, size))
