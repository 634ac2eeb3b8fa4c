import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseMetadataProps } from '../../src/nn/metadata.js'
import { loadSegmentationModel } from '../../src/pipeline/models.js'
import { segmentCt } from '../../src/pipeline/segment.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { createHuBandModel } from '../support/threshold-model.js'

test('metadata threshold parsed and checked', () => {
  assert.equal(parseMetadataProps({ 'colinet.threshold': '0.8' }, 2, 'm.onnx').threshold, 0.8)
  assert.equal(parseMetadataProps({}, 2, 'm.onnx').threshold, undefined)
  for (const text of ['1', '0', '1.5', 'high', '']) {
    assert.throws(() => parseMetadataProps({ 'colinet.threshold': text }, 2, 'm.onnx'), /m\.onnx: metadata colinet\.threshold should be a number between 0 and 1/, text)
  }
})

/**
 * Builds the analytic chest with a sphere of radius 20 mm in each lung: -690 HU in the right lung and
 * -640 HU in the left. The lesion band model [-700, -300] HU with sharpness 60 gives the first
 * σ(0.6) = 0.646 and the second σ(3.6) = 0.973, and the lung around them (-850 HU) σ(-9) = 0.0001.
 * Resizing only mixes a sphere with lower HU, so no voxel of the first sphere exceeds 0.646.
 * The masks are 2 in the core (within 14 mm of the centre, one 6 mm slice from the surface),
 * which resizing leaves unmixed, and 1 in the shell.
 */
function chestWithFaintAndDenseSpheres() {
  const chest = createAnalyticChest([96, 80, 24], [4, 4, 6])
  const [nx, ny, nz] = chest.ct.size
  const faint = new Uint8Array(nx * ny * nz)
  const dense = new Uint8Array(nx * ny * nz)
  const centres: Array<[number, number, number, number, Uint8Array]> = [
    [(nx - 1) / 2 - 0.2 * nx, (ny - 1) / 2 + 0.05 * ny, (nz - 1) / 2 - 0.06 * nz, -690, faint],
    [(nx - 1) / 2 + 0.2 * nx, (ny - 1) / 2 + 0.03 * ny, (nz - 1) / 2 - 0.02 * nz, -640, dense],
  ]
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        for (const [ci, cj, ck, hu, mask] of centres) {
          if (((i - ci) * 4) ** 2 + ((j - cj) * 4) ** 2 + ((k - ck) * 6) ** 2 > 20 ** 2) continue
          const v = i + nx * (j + ny * k)
          chest.ct.data[v] = hu
          mask[v] = ((i - ci) * 4) ** 2 + ((j - cj) * 4) ** 2 + ((k - ck) * 6) ** 2 <= 14 ** 2 ? 2 : 1
        }
      }
    }
  }
  return { ct: chest.ct, faint, dense }
}

/** Fraction of the voxels of `region` with at least `from` that `mask` marks 1. */
function overlapFraction(mask: Uint8Array, region: Uint8Array, from = 1): number {
  let inside = 0
  let total = 0
  for (let v = 0; v < region.length; v++) {
    if (region[v] < from) continue
    total++
    if (mask[v] === 1) inside++
  }
  return inside / total
}

test('segment applies model threshold', async () => {
  const { ct, faint, dense } = chestWithFaintAndDenseSpheres()
  const lungModel = await loadSegmentationModel(createHuBandModel(-950, -500, 'lung'), 'hu-band lung')
  const plain = await loadSegmentationModel(createHuBandModel(-700, -300, 'lesion'), 'hu-band lesion')
  const strict = await loadSegmentationModel(createHuBandModel(-700, -300, 'lesion', 60, 0.8), 'hu-band lesion 0.8')
  try {
    assert.equal(plain.threshold, 0.5)
    assert.equal(plain.thresholdSource, 'default')
    assert.equal(strict.threshold, 0.8)
    assert.equal(strict.thresholdSource, 'model metadata')

    const atDefault = await segmentCt(ct, { lungModel, lesionModel: plain })
    assert.equal(overlapFraction(atDefault.lesion.data, faint, 2), 1)
    assert.equal(overlapFraction(atDefault.lesion.data, dense, 2), 1)

    const atStored = await segmentCt(ct, { lungModel, lesionModel: strict })
    assert.equal(overlapFraction(atStored.lesion.data, faint), 0)
    assert.equal(overlapFraction(atStored.lesion.data, dense, 2), 1)
  } finally {
    await lungModel.dispose()
    await plain.dispose()
    await strict.dispose()
  }
})
