/**
 * Times createChestPhantom at the demo size and at 512 x 512 x 300, and prints the peak
 * resident memory. Run: npx tsx bench/phantom.ts
 */
import { createChestPhantom } from '../src/sim/phantom.js'
import type { Vec3 } from '../src/volume/volume.js'

for (const size of [[128, 128, 64], [512, 512, 300]] as Vec3[]) {
  const start = performance.now()
  const phantom = createChestPhantom({ size })
  const seconds = (performance.now() - start) / 1000
  let lungVoxels = 0
  for (const value of phantom.lung.data) if (value !== 0) lungVoxels++
  console.log(`phantom ${size.join(' x ')}: ${seconds.toFixed(2)} s, ${lungVoxels} lung voxels, ${phantom.lesions.length} lesions`)
}
console.log(`peak resident memory ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
