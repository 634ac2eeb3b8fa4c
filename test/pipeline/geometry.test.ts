import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { loadSegmentationModel } from '../../src/pipeline/models.js'
import type { SegmentationModel } from '../../src/pipeline/model.js'
import { segmentCt } from '../../src/pipeline/segment.js'
import { indexToPhysical, type Vec3, type Volume, type VoxelArray } from '../../src/volume/volume.js'
import { createAnalyticChest } from '../support/analytic-chest.js'
import { createHuBandModel } from '../support/threshold-model.js'

let lungModel: SegmentationModel
let lesionModel: SegmentationModel

before(async () => {
  lungModel = await loadSegmentationModel(createHuBandModel(-950, -500, 'lung'), 'hu-band lung')
  lesionModel = await loadSegmentationModel(createHuBandModel(-700, -300, 'lesion'), 'hu-band lesion')
})

after(async () => {
  await lungModel.dispose()
  await lesionModel.dispose()
})

/**
 * Rearranges a volume's voxels so that new index axis a is old axis `order[a]`, reversed where
 * `flip[a]`, and sets origin, spacing and direction so every voxel keeps its physical position.
 */
function rearrange<T extends VoxelArray>(volume: Volume<T>, order: Vec3, flip: [boolean, boolean, boolean]): Volume<T> {
  const size = order.map((axis) => volume.size[axis]) as Vec3
  const data = new (volume.data.constructor as new (n: number) => T)(volume.data.length)
  const oldIndex = [0, 0, 0]
  for (let k = 0; k < size[2]; k++) {
    for (let j = 0; j < size[1]; j++) {
      for (let i = 0; i < size[0]; i++) {
        const newIndex = [i, j, k]
        for (let a = 0; a < 3; a++) oldIndex[order[a]] = flip[a] ? size[a] - 1 - newIndex[a] : newIndex[a]
        data[i + size[0] * (j + size[1] * k)] = volume.data[oldIndex[0] + volume.size[0] * (oldIndex[1] + volume.size[1] * oldIndex[2])]
      }
    }
  }
  const direction = new Float64Array(9)
  for (let a = 0; a < 3; a++) {
    for (let row = 0; row < 3; row++) direction[3 * row + a] = (flip[a] ? -1 : 1) * volume.direction[3 * row + order[a]]
  }
  const firstVoxel = [0, 0, 0]
  for (let a = 0; a < 3; a++) firstVoxel[order[a]] = flip[a] ? size[a] - 1 : 0
  const origin = indexToPhysical(volume, firstVoxel as Vec3)
  return { data, size, spacingMm: order.map((axis) => volume.spacingMm[axis]) as Vec3, origin, direction }
}

/** Inverse of rearrange for the voxel array alone. */
function restore<T extends VoxelArray>(volume: Volume<T>, order: Vec3, flip: [boolean, boolean, boolean]): T {
  const inverseOrder = [0, 0, 0] as Vec3
  const inverseFlip: [boolean, boolean, boolean] = [false, false, false]
  for (let a = 0; a < 3; a++) {
    inverseOrder[order[a]] = a
    inverseFlip[order[a]] = flip[a]
  }
  return rearrange(volume, inverseOrder, inverseFlip).data
}

function dice(a: ArrayLike<number>, b: ArrayLike<number>, label: number): number {
  let overlap = 0
  let sizeA = 0
  let sizeB = 0
  for (let v = 0; v < a.length; v++) {
    if (a[v] === label) sizeA++
    if (b[v] === label) sizeB++
    if (a[v] === label && b[v] === label) overlap++
  }
  return (2 * overlap) / (sizeA + sizeB)
}

function countDifferences(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let differences = 0
  for (let v = 0; v < a.length; v++) if (a[v] !== b[v]) differences++
  return differences
}

test('analytic chest lungs found on each side', async () => {
  const chest = createAnalyticChest()
  const result = await segmentCt(chest.ct, { lungModel, lesionModel })
  assert.ok(dice(result.lung.data, chest.lung.data, 1) > 0.97, `right lung Dice ${dice(result.lung.data, chest.lung.data, 1)}`)
  assert.ok(dice(result.lung.data, chest.lung.data, 2) > 0.97, `left lung Dice ${dice(result.lung.data, chest.lung.data, 2)}`)
  assert.deepEqual(result.lung.size, chest.ct.size)
  assert.deepEqual(result.lung.origin, chest.ct.origin)
})

const rearrangements: Array<[string, Vec3, [boolean, boolean, boolean]]> = [
  ['flip x', [0, 1, 2], [true, false, false]],
  ['flip y', [0, 1, 2], [false, true, false]],
  ['flip z', [0, 1, 2], [false, false, true]],
  ['permute y x z', [1, 0, 2], [false, false, false]],
  ['permute z x y flipped', [2, 0, 1], [true, false, true]],
]

for (const [name, order, flip] of rearrangements) {
  test(`segmentation aligned after ${name}`, async () => {
    const chest = createAnalyticChest()
    const reference = await segmentCt(chest.ct, { lungModel, lesionModel })
    const moved = rearrange(chest.ct, order, flip)
    const result = await segmentCt(moved, { lungModel, lesionModel })

    assert.deepEqual(result.lung.size, moved.size)
    assert.deepEqual(result.lung.origin, moved.origin)
    assert.deepEqual(Array.from(result.lung.direction), Array.from(moved.direction))
    assert.equal(countDifferences(restore(result.lung, order, flip), reference.lung.data), 0)
  })
}

test('oblique direction keeps voxels and sides', async () => {
  const chest = createAnalyticChest()
  const reference = await segmentCt(chest.ct, { lungModel, lesionModel })
  const angle = (25 * Math.PI) / 180
  const oblique = { ...chest.ct, direction: Float64Array.from([Math.cos(angle), -Math.sin(angle), 0, Math.sin(angle), Math.cos(angle), 0, 0, 0, 1]) }
  const result = await segmentCt(oblique, { lungModel, lesionModel })

  assert.deepEqual(Array.from(result.lung.direction), Array.from(oblique.direction))
  assert.equal(countDifferences(result.lung.data, reference.lung.data), 0)
  assert.ok(result.warnings.some((warning) => /tilted 25.0 degrees/.test(warning)))
})

for (const slices of [1, 3]) {
  test(`${slices}-slice input segments with a warning`, async () => {
    const chest = createAnalyticChest([96, 80, 24])
    const first = 10
    const plane = 96 * 80
    const slab = {
      ...chest.ct,
      size: [96, 80, slices] as Vec3,
      data: chest.ct.data.slice(first * plane, (first + slices) * plane),
    }
    const truth = chest.lung.data.slice(first * plane, (first + slices) * plane)
    const result = await segmentCt(slab, { lungModel, lesionModel })

    assert.deepEqual(result.lung.size, [96, 80, slices])
    assert.ok(dice(result.lung.data, truth, 1) > 0.95, `right lung Dice ${dice(result.lung.data, truth, 1)}`)
    assert.ok(dice(result.lung.data, truth, 2) > 0.95, `left lung Dice ${dice(result.lung.data, truth, 2)}`)
    assert.ok(result.warnings.some((warning) => new RegExp(`only ${slices} axial slice\\(s\\): 3D clean-up of the lungs is limited`).test(warning)))
  })
}
