import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeLungAtScanEnds } from '../../src/pipeline/cleanup.js'

// 4 x 4 x 3 voxels of 10 x 10 x 10 mm: each voxel is 1 mL; slice k is voxels 16k to 16k + 15.
function mask(lowest: number, middle: number, highest: number): Uint8Array {
  const labels = new Uint8Array(48)
  ;[lowest, middle, highest].forEach((count, k) => labels.fill(1, 16 * k, 16 * k + count))
  return labels
}

test('lung in the lowest slice is flagged', () => {
  const warning = describeLungAtScanEnds(mask(2, 16, 0), [4, 4, 3], [10, 10, 10])
  assert.equal(warning, 'the lung reaches the lowest axial slice (2.0 mL), so the scan may cut off part of the lung base; lung volume and % affected then cover only the part scanned')
})

test('lung at both ends names both', () => {
  const warning = describeLungAtScanEnds(mask(3, 16, 1), [4, 4, 3], [10, 10, 10])
  assert.match(warning ?? '', /^the lung reaches the lowest axial slice \(3\.0 mL\) and the highest axial slice \(1\.0 mL\), so the scan may cut off part of the lung base or apex;/)
})

test('lung inside the scan is not flagged', () => {
  assert.equal(describeLungAtScanEnds(mask(0, 16, 0), [4, 4, 3], [10, 10, 10]), undefined)
  // One voxel of 0.5 mL in each end slice stays under the 1 mL bound.
  assert.equal(describeLungAtScanEnds(mask(1, 16, 1), [4, 4, 3], [10, 10, 5]), undefined)
})
