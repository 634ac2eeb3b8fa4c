import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  closeMask,
  dilateMask,
  erodeMask,
  fillHoles2D,
  fillHoles3D,
  keepLargestComponents,
  labelComponents,
  labelComponents2D,
  openMask,
  radiusInVoxels,
} from '../../src/volume/morphology.js'
import type { Vec3 } from '../../src/volume/volume.js'

const mask = (values: number[]): Uint8Array => Uint8Array.from(values)

test('labelComponents diagonal, 6 vs 26', () => {
  const diagonal = mask([1, 0, 0, 0, 1, 0, 0, 0, 1])
  const six = labelComponents(diagonal, [3, 3, 1], 6)
  assert.deepEqual(Array.from(six.labels), [1, 0, 0, 0, 2, 0, 0, 0, 3])
  assert.equal(six.count, 3)
  assert.deepEqual(Array.from(six.voxelCounts), [0, 1, 1, 1])

  const full = labelComponents(diagonal, [3, 3, 1], 26)
  assert.deepEqual(Array.from(full.labels), [1, 0, 0, 0, 1, 0, 0, 0, 1])
  assert.equal(full.count, 1)
})

test('labelComponents corner across slices', () => {
  // Voxels (0,0,0) and (1,1,1) share only a corner; (0,0,0) and (0,0,1) share a face.
  const corner = mask([1, 0, 0, 0, 0, 0, 0, 1])
  assert.equal(labelComponents(corner, [2, 2, 2], 6).count, 2)
  assert.equal(labelComponents(corner, [2, 2, 2], 26).count, 1)
  const face = mask([1, 0, 0, 0, 1, 0, 0, 0])
  assert.equal(labelComponents(face, [2, 2, 2], 6).count, 1)
})

test('labelComponents merges a U shape', () => {
  // Row 0: 1 0 1, row 1: 1 1 1; the two arms start as separate runs and join in row 1.
  const result = labelComponents(mask([1, 0, 1, 1, 1, 1]), [3, 2, 1], 6)
  assert.deepEqual(Array.from(result.labels), [1, 0, 1, 1, 1, 1])
  assert.equal(result.count, 1)
  assert.deepEqual(Array.from(result.voxelCounts), [0, 5])
})

test('labelComponents numbers by first voxel', () => {
  // Slice 0 contains a voxel at x = 3, slice 1 a voxel at x = 0: storage order decides the label.
  const result = labelComponents(mask([0, 0, 0, 1, 1, 0, 0, 0]), [4, 1, 2], 6)
  assert.deepEqual(Array.from(result.labels), [0, 0, 0, 1, 2, 0, 0, 0])
})

test('labelComponents rejects a size mismatch', () => {
  assert.throws(() => labelComponents(mask([1, 0, 1]), [2, 2, 1]), /3 voxels but size 2 x 2 x 1 needs 4/)
})

test('labelComponents agrees with flood fill', () => {
  const size: Vec3 = [9, 7, 6]
  let state = 12345
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  }
  for (const connectivity of [6, 26] as const) {
    for (let trial = 0; trial < 5; trial++) {
      const input = new Uint8Array(size[0] * size[1] * size[2])
      for (let v = 0; v < input.length; v++) input[v] = random() < 0.35 ? 1 : 0
      const expected = floodFillLabels(input, size, connectivity)
      const result = labelComponents(input, size, connectivity)
      assert.deepEqual(Array.from(result.labels), Array.from(expected.labels))
      assert.equal(result.count, expected.count)
    }
  }
})

test('labelComponents2D 4 vs 8', () => {
  const checker = mask([1, 0, 0, 1])
  assert.equal(labelComponents2D(checker, 2, 2, 4).count, 2)
  assert.equal(labelComponents2D(checker, 2, 2, 8).count, 1)
})

test('keepLargestComponents keeps 1 and 2', () => {
  const row = mask([1, 1, 0, 1, 0, 1, 1, 1])
  assert.deepEqual(Array.from(keepLargestComponents(row, [8, 1, 1], 1)), [0, 0, 0, 0, 0, 1, 1, 1])
  assert.deepEqual(Array.from(keepLargestComponents(row, [8, 1, 1], 2)), [1, 1, 0, 0, 0, 1, 1, 1])
  assert.deepEqual(Array.from(keepLargestComponents(row, [8, 1, 1], 0)), [0, 0, 0, 0, 0, 0, 0, 0])
})

test('dilateMask ball and box, radius 1', () => {
  const centre = new Uint8Array(27)
  centre[13] = 1
  const ball = dilateMask(centre, [3, 3, 3], 1)
  // The unit ball contains the centre and its 6 face neighbours.
  const faceNeighbours = [4, 10, 12, 13, 14, 16, 22]
  assert.deepEqual(indicesOf(ball), faceNeighbours)
  const box = dilateMask(centre, [3, 3, 3], 1, { shape: 'box' })
  assert.equal(indicesOf(box).length, 27)
})

test('dilateMask disk of radius 2', () => {
  const centre = new Uint8Array(25)
  centre[12] = 1
  const disk = dilateMask(centre, [5, 5, 1], [2, 2, 0])
  // Offsets with dx² + dy² <= 4.
  assert.deepEqual(Array.from(disk), [
    0, 0, 1, 0, 0,
    0, 1, 1, 1, 0,
    1, 1, 1, 1, 1,
    0, 1, 1, 1, 0,
    0, 0, 1, 0, 0,
  ])
})

test('dilateMask anisotropic ellipse', () => {
  const centre = new Uint8Array(15)
  centre[7] = 1
  const ellipse = dilateMask(centre, [5, 3, 1], [2, 1, 0])
  // (dx/2)² + dy² <= 1: the whole centre row, and only dx = 0 on the rows above and below.
  assert.deepEqual(Array.from(ellipse), [
    0, 0, 1, 0, 0,
    1, 1, 1, 1, 1,
    0, 0, 1, 0, 0,
  ])
})

test('dilateMask ball along z', () => {
  // One voxel in the middle of a 1 x 1 x 7 column; radius 2 along z reaches 2 slices each way.
  const column = mask([0, 0, 0, 1, 0, 0, 0])
  assert.deepEqual(Array.from(dilateMask(column, [1, 1, 7], [0, 0, 2])), [0, 1, 1, 1, 1, 1, 0])
})

test('dilateMask agrees with brute force', () => {
  const size: Vec3 = [8, 7, 6]
  const input = new Uint8Array(size[0] * size[1] * size[2])
  for (const v of [0, 37, 100, 211, 335]) input[v] = 1
  for (const radius of [[1, 1, 1], [2, 1, 1], [3, 2, 1], [1, 0, 2]] as Vec3[]) {
    for (const shape of ['ball', 'box'] as const) {
      const expected = bruteForceDilate(input, size, radius, shape)
      assert.deepEqual(Array.from(dilateMask(input, size, radius, { shape })), Array.from(expected), `${shape} ${radius.join(',')}`)
    }
  }
})

test('erodeMask cube, outside background', () => {
  const cube = new Uint8Array(27).fill(1)
  assert.deepEqual(indicesOf(erodeMask(cube, [3, 3, 3], 1)), [13])
})

test('erodeMask cube, outside foreground', () => {
  const cube = new Uint8Array(27).fill(1)
  assert.equal(indicesOf(erodeMask(cube, [3, 3, 3], 1, { outsideIsForeground: true })).length, 27)
})

test('erodeMask square by box', () => {
  const square = new Uint8Array(25).fill(1)
  const eroded = erodeMask(square, [5, 5, 1], [1, 1, 0], { shape: 'box' })
  assert.deepEqual(Array.from(eroded), [
    0, 0, 0, 0, 0,
    0, 1, 1, 1, 0,
    0, 1, 1, 1, 0,
    0, 1, 1, 1, 0,
    0, 0, 0, 0, 0,
  ])
})

test('closeMask bridges a gap at the border', () => {
  // Dilation gives 1 1 1 1 0; the erosion keeps x = 0 because the outside counts as foreground.
  assert.deepEqual(Array.from(closeMask(mask([1, 0, 1, 0, 0]), [5, 1, 1], [1, 0, 0])), [1, 1, 1, 0, 0])
})

test('openMask removes a lone voxel', () => {
  // Erosion gives 0 1 0 0 0 (the outside is background), dilation 1 1 1 0 0.
  assert.deepEqual(Array.from(openMask(mask([1, 1, 1, 0, 1]), [5, 1, 1], [1, 0, 0])), [1, 1, 1, 0, 0])
})

test('radiusInVoxels per axis', () => {
  assert.deepEqual(radiusInVoxels(3, [0.7, 1.5, 5]), [4, 2, 0])
  assert.deepEqual(radiusInVoxels(3, [1, 1, 3]), [3, 3, 1])
})

test('fillHoles2D ring with a diagonal gap', () => {
  // The centre is closed off for 4-connected background; the missing corner at (3, 3) is open to the border.
  const ring = mask([
    0, 0, 0, 0, 0,
    0, 1, 1, 1, 0,
    0, 1, 0, 1, 0,
    0, 1, 1, 0, 0,
    0, 0, 0, 0, 0,
  ])
  assert.deepEqual(Array.from(fillHoles2D(ring, [5, 5, 1])), [
    0, 0, 0, 0, 0,
    0, 1, 1, 1, 0,
    0, 1, 1, 1, 0,
    0, 1, 1, 0, 0,
    0, 0, 0, 0, 0,
  ])
})

test('fillHoles2D ring open to the border', () => {
  const open = mask([
    1, 1, 1,
    1, 0, 0,
    1, 1, 1,
  ])
  assert.deepEqual(Array.from(fillHoles2D(open, [3, 3, 1])), Array.from(open))
})

test('fillHoles tube, 2D vs 3D', () => {
  // A square tube along z: each slice is a ring (a 2D hole), but the lumen opens at both ends in 3D.
  const size: Vec3 = [5, 5, 4]
  const tube = new Uint8Array(100)
  for (let k = 0; k < 4; k++) {
    for (let j = 1; j <= 3; j++) {
      for (let i = 1; i <= 3; i++) {
        if (i !== 2 || j !== 2) tube[i + 5 * (j + 5 * k)] = 1
      }
    }
  }
  const lumen = [0, 1, 2, 3].map((k) => 12 + 25 * k)
  const slicewise = fillHoles2D(tube, size)
  for (const v of lumen) assert.equal(slicewise[v], 1)
  const volumetric = fillHoles3D(tube, size)
  for (const v of lumen) assert.equal(volumetric[v], 0)
})

test('fillHoles3D hollow cube', () => {
  const size: Vec3 = [5, 5, 5]
  const shell = new Uint8Array(125)
  for (let k = 1; k <= 3; k++) {
    for (let j = 1; j <= 3; j++) {
      for (let i = 1; i <= 3; i++) shell[i + 5 * (j + 5 * k)] = i === 2 && j === 2 && k === 2 ? 0 : 1
    }
  }
  const filled = fillHoles3D(shell, size)
  assert.equal(filled[62], 1)
  assert.equal(indicesOf(filled).length, 27)
})

test('fillHoles2D along x', () => {
  // Slices of constant i: the ring lies in the (j, k) plane, so only axis 0 finds a hole.
  const size: Vec3 = [1, 3, 3]
  const ring = mask([1, 1, 1, 1, 0, 1, 1, 1, 1])
  assert.equal(fillHoles2D(ring, size, 0)[4], 1)
  assert.equal(fillHoles2D(ring, size, 2)[4], 0)
})

function indicesOf(values: Uint8Array): number[] {
  const result: number[] = []
  values.forEach((value, index) => {
    if (value !== 0) result.push(index)
  })
  return result
}

/** Reference labelling: breadth-first flood fill from each unlabelled voxel in storage order. */
function floodFillLabels(input: Uint8Array, size: Vec3, connectivity: 6 | 26): { labels: Int32Array; count: number } {
  const [nx, ny, nz] = size
  const labels = new Int32Array(input.length)
  const offsets: Vec3[] = []
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const manhattan = Math.abs(dx) + Math.abs(dy) + Math.abs(dz)
        if (manhattan === 0 || (connectivity === 6 && manhattan > 1)) continue
        offsets.push([dx, dy, dz])
      }
    }
  }
  let count = 0
  for (let start = 0; start < input.length; start++) {
    if (input[start] === 0 || labels[start] !== 0) continue
    count++
    labels[start] = count
    const queue = [start]
    while (queue.length > 0) {
      const v = queue.shift()!
      const i = v % nx
      const j = Math.floor(v / nx) % ny
      const k = Math.floor(v / (nx * ny))
      for (const [dx, dy, dz] of offsets) {
        const [a, b, c] = [i + dx, j + dy, k + dz]
        if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue
        const w = a + nx * (b + ny * c)
        if (input[w] !== 0 && labels[w] === 0) {
          labels[w] = count
          queue.push(w)
        }
      }
    }
  }
  return { labels, count }
}

/** Reference dilation: every foreground voxel stamps the structuring element around itself. */
function bruteForceDilate(input: Uint8Array, size: Vec3, radius: Vec3, shape: 'ball' | 'box'): Uint8Array {
  const [nx, ny, nz] = size
  const [rx, ry, rz] = radius
  const out = new Uint8Array(input.length)
  const normalised = (d: number, r: number): number => (r === 0 ? (d === 0 ? 0 : Infinity) : (d / r) ** 2)
  for (let v = 0; v < input.length; v++) {
    if (input[v] === 0) continue
    const i = v % nx
    const j = Math.floor(v / nx) % ny
    const k = Math.floor(v / (nx * ny))
    for (let dz = -rz; dz <= rz; dz++) {
      for (let dy = -ry; dy <= ry; dy++) {
        for (let dx = -rx; dx <= rx; dx++) {
          if (shape === 'ball' && normalised(dx, rx) + normalised(dy, ry) + normalised(dz, rz) > 1 + 1e-9) continue
          const [a, b, c] = [i + dx, j + dy, k + dz]
          if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue
          out[a + nx * (b + ny * c)] = 1
        }
      }
    }
  }
  return out
}
