import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeIncludedMasses, describeLesionInMasses, includeMassesAtLungBorder, markLungOutlineBites, type AddedVoxels } from '../../src/pipeline/pleural-masses.js'
import type { Vec3, Volume } from '../../src/volume/volume.js'

/*
 * An analytic chest on a 1 x 1 x 2 mm grid, 120 x 100 x 9 voxels, with soft tissue (40 HU) around
 * two rectangular lungs (-850 HU). The right lung is at x 10..49 and the left at x 70..109, both
 * at y 10..89. A round mass of radius 19.5 mm whose centre lies 17 mm inside the right lung's
 * lateral wall (x = 10) bites into the right lung in slices 2..6. The lung labels leave the bite
 * out, as a network trained on thresholded labels does.
 */
const SIZE: Vec3 = [120, 100, 9]
const SPACING_MM: Vec3 = [1, 1, 2]
const MASS_CENTRE = { x: 27, y: 50 }
const MASS_RADIUS_MM = 19.5
const MASS_SLICES = [2, 3, 4, 5, 6]

function inRightLung(x: number, y: number): boolean {
  return x >= 10 && x <= 49 && y >= 10 && y <= 89
}
function inLeftLung(x: number, y: number): boolean {
  return x >= 70 && x <= 109 && y >= 10 && y <= 89
}
function inMass(x: number, y: number, z: number): boolean {
  return MASS_SLICES.includes(z) && (x - MASS_CENTRE.x) ** 2 + (y - MASS_CENTRE.y) ** 2 <= MASS_RADIUS_MM ** 2
}

/** Builds the CT, the lung labels without the bite, and the bite (mass voxels inside the right lung's rectangle). */
function chestWithMass(massHu: number): { ct: Volume<Int16Array>; labels: Uint8Array; bite: Uint8Array } {
  const [nx, ny, nz] = SIZE
  const ct = new Int16Array(nx * ny * nz)
  const labels = new Uint8Array(ct.length)
  const bite = new Uint8Array(ct.length)
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const v = x + nx * (y + ny * z)
        ct[v] = 40
        if (inMass(x, y, z)) {
          ct[v] = massHu
          if (inRightLung(x, y)) bite[v] = 1
        } else if (inRightLung(x, y)) {
          ct[v] = -850
          labels[v] = 1
        } else if (inLeftLung(x, y)) {
          ct[v] = -850
          labels[v] = 2
        }
      }
    }
  }
  const volume: Volume<Int16Array> = { data: ct, size: SIZE, spacingMm: SPACING_MM, origin: [0, 0, 0], direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
  return { ct: volume, labels, bite }
}

test('mass inclusion fills a solid bite', () => {
  const { ct, labels, bite } = chestWithMass(40)
  const before = Uint8Array.from(labels)
  const added = includeMassesAtLungBorder(labels, ct, 2)

  let biteVoxels = 0
  let biteFilled = 0
  let addedOutsideBite = 0
  for (let v = 0; v < labels.length; v++) {
    if (bite[v] === 1) {
      biteVoxels++
      if (labels[v] === 1) biteFilled++
    } else if (labels[v] !== before[v]) {
      addedOutsideBite++
    }
  }
  // The bite's mouth at x = 10 is 2 * sqrt(19.5² - 17²) = 19 mm wide, narrower than the 40 mm
  // closing disc, and the mass is solid and mostly surrounded by lung: all of it belongs in.
  // A sliver of a pixel or two along the mouth may stay out with the discrete closing.
  assert.ok(biteFilled >= 0.95 * biteVoxels, `filled ${biteFilled} of ${biteVoxels} bite voxels`)
  assert.equal(addedOutsideBite, 0)
  assert.equal(added.right, biteFilled)
  assert.equal(added.left, 0)
  assert.equal(added.indices.length, biteFilled)

  // The mass lies in slices z = 2..6 of 9, with z increasing toward the head: slices 3 to 7
  // counted from 1 at the feet.
  assert.match(
    describeIncludedMasses(added, labels, ct, { sliceAxis: 2, superiorStep: 1 }, 'overview') ?? '',
    /mL in the right lung \(axial slices 3-7\); check it in the overview \(slices counted 1 to 9 from the feet, as the overview labels them\)$/,
  )
})

test('mass inclusion skips a bite of low HU', () => {
  // The same bite at -500 HU (partial volume of air, as at the diaphragm dome) is below the
  // -150 HU mean that solid tissue needs.
  const { ct, labels } = chestWithMass(-500)
  const before = Uint8Array.from(labels)
  const added = includeMassesAtLungBorder(labels, ct, 2)
  assert.equal(added.right + added.left, 0)
  assert.deepEqual(labels, before)
})

test('mass inclusion skips a wide notch', () => {
  // A notch of radius 30 mm in the left lung's medial wall (x = 70): its 60 mm mouth is wider
  // than the closing disc, so only its corners are filled. The lung meets them from one side
  // only, so nothing is added.
  const { ct, labels } = chestWithMass(40)
  const [nx, ny, nz] = SIZE
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 70; x < 110; x++) {
        if ((x - 70) ** 2 + (y - 50) ** 2 <= 30 ** 2) labels[x + nx * (y + ny * z)] = 0
      }
    }
  }
  const leftBefore = labels.filter((label) => label === 2).length
  includeMassesAtLungBorder(labels, ct, 2)
  assert.equal(labels.filter((label) => label === 2).length, leftBefore)
})

test('outline bites mark the bite only', () => {
  // The low-HU bite too: the bites depend on the outline alone, not on the CT.
  const { ct, labels, bite } = chestWithMass(-500)
  const marked = new Uint8Array(labels.length)
  markLungOutlineBites(labels, ct, 20, marked)

  let biteVoxels = 0
  let biteMarked = 0
  let markedElsewhere = 0
  for (let v = 0; v < marked.length; v++) {
    if (bite[v] === 1) {
      biteVoxels++
      if (marked[v] === 1) biteMarked++
    } else if (marked[v] === 1) {
      markedElsewhere++
    }
  }
  // As for the mass inclusion: the 19 mm mouth is narrower than the 40 mm disc, and the
  // rectangular lungs have no other concavity.
  assert.ok(biteVoxels > 0)
  assert.ok(biteMarked >= 0.95 * biteVoxels, `marked ${biteMarked} of ${biteVoxels} bite voxels`)
  assert.equal(markedElsewhere, 0)
})

test('outline bites skip a wide notch', () => {
  // The left notch of radius 30 mm (60 mm mouth) keeps most of its area unmarked with a 20 mm disc.
  const { ct, labels } = chestWithMass(40)
  const [nx, ny] = SIZE
  const notch: number[] = []
  for (let y = 0; y < ny; y++) {
    for (let x = 70; x < 110; x++) {
      if ((x - 70) ** 2 + (y - 50) ** 2 > 30 ** 2) continue
      labels[x + nx * y] = 0
      notch.push(x + nx * y)
    }
  }
  const marked = new Uint8Array(labels.length)
  markLungOutlineBites(labels, ct, 20, marked)
  const notchMarked = notch.filter((v) => marked[v] === 1).length
  assert.ok(notchMarked < 0.25 * notch.length, `marked ${notchMarked} of ${notch.length} notch pixels`)
})

test('mass inclusion follows a mass to small ends', () => {
  // In slices 1 and 7 the mass continues at radius 12 mm, inside the lung (about 450 mm², below
  // the 1000 mm² a region needs to start an inclusion): it is added because the slice next to it was.
  const { ct, labels } = chestWithMass(40)
  const [nx, ny] = SIZE
  const endBite: number[] = []
  for (const z of [1, 7]) {
    for (let y = 0; y < ny; y++) {
      for (let x = 10; x < 50; x++) {
        if ((x - MASS_CENTRE.x) ** 2 + (y - MASS_CENTRE.y) ** 2 <= 12 ** 2) {
          const v = x + nx * (y + ny * z)
          ct.data[v] = 40
          labels[v] = 0
          endBite.push(v)
        }
      }
    }
  }
  const added = includeMassesAtLungBorder(labels, ct, 2)
  const filled = endBite.filter((v) => labels[v] === 1).length
  assert.ok(filled >= 0.95 * endBite.length, `filled ${filled} of ${endBite.length}`)
  // Slices z = 1..7, counted from 1 at the feet: 2 to 8.
  assert.match(describeIncludedMasses(added, labels, ct, { sliceAxis: 2, superiorStep: 1 }, 'overview') ?? '', /right lung \(axial slices 2-8\)/)

  // Alone, without the mass in the slices between, neither end slice is added.
  const alone = chestWithMass(40)
  for (const v of endBite) {
    alone.ct.data[v] = 40
    alone.labels[v] = 0
  }
  for (let v = 0; v < alone.labels.length; v++) {
    const z = Math.floor(v / (nx * ny))
    if (MASS_SLICES.includes(z) && alone.bite[v] === 1) alone.ct.data[v] = -850
    if (MASS_SLICES.includes(z) && alone.bite[v] === 1) alone.labels[v] = 1
  }
  includeMassesAtLungBorder(alone.labels, alone.ct, 2)
  assert.equal(endBite.filter((v) => alone.labels[v] === 1).length, 0)
})

/** Grid of the warning tests, 10 x 25 x 10 voxels (v = x + 10 y + 250 z) of 1 x 1 x 2 mm. */
const WARNING_GRID = { size: [10, 25, 10] as Vec3, spacingMm: SPACING_MM }

/**
 * Builds the added voxels of the warning tests: whole slices z = 1, 2, 3 and 7 in the right lung
 * (1000 voxels) and slice z = 5 in the left lung (250 voxels), written into the labels.
 */
function addedInSlices(): { added: AddedVoxels; labels: Uint8Array } {
  const labels = new Uint8Array(2500)
  const indices: number[] = []
  for (const [z, side] of [[1, 1], [2, 1], [3, 1], [7, 1], [5, 2]]) {
    for (let v = 250 * z; v < 250 * (z + 1); v++) {
      labels[v] = side
      indices.push(v)
    }
  }
  return { added: { right: 1000, left: 250, indices: Uint32Array.from(indices) }, labels }
}

test('mass inclusion warning gives mL per side', () => {
  // 1000 voxels of 1 x 1 x 2 mm are 2.0 mL, and 250 are 0.5 mL. With z toward the head, slices
  // z = 1..3 and 7 are 2-4 and 8 counted from the feet, and z = 5 is 6.
  const { added, labels } = addedInSlices()
  assert.equal(
    describeIncludedMasses(added, labels, WARNING_GRID, { sliceAxis: 2, superiorStep: 1 }, 'overview'),
    'solid tissue that the lung surrounds (a tumour or dense consolidation at the pleura?) was included: ' +
      '2.0 mL in the right lung (axial slices 2-4 and 8), 0.5 mL in the left lung (axial slice 6); ' +
      'check it in the overview (slices counted 1 to 10 from the feet, as the overview labels them)',
  )
  const leftOnly = { ...added, right: 0 }
  assert.match(
    describeIncludedMasses(leftOnly, labels, WARNING_GRID, { sliceAxis: 2, superiorStep: 1 }, 'overlay') ?? '',
    /included: 0\.5 mL in the left lung \(axial slice 6\); check it in the overlay \(slices counted 1 to 10 from the feet\)$/,
  )
  const none = { right: 0, left: 0, indices: new Uint32Array(0) }
  assert.equal(describeIncludedMasses(none, new Uint8Array(2500), WARNING_GRID, { sliceAxis: 2, superiorStep: 1 }, 'overview'), undefined)
})

test('mass warning counts slices from feet', () => {
  // With z toward the feet, slice z is 10 - z counted from the feet: z = 7, 3, 2, 1 are 3, 7, 8
  // and 9, and z = 5 is 5.
  const { added, labels } = addedInSlices()
  assert.match(
    describeIncludedMasses(added, labels, WARNING_GRID, { sliceAxis: 2, superiorStep: -1 }, 'overlay') ?? '',
    /2\.0 mL in the right lung \(axial slices 3 and 7-9\), 0\.5 mL in the left lung \(axial slice 5\)/,
  )
})

test('mass warning on another slice axis', () => {
  // Axial slices across x (index axis 0) with x toward the feet: the right lung's voxels at x = 4
  // lie in slice 10 - 4 = 6 counted from the feet, and the left lung's at x = 8 in slice 2.
  const labels = new Uint8Array(2500)
  const indices: number[] = []
  for (let y = 0; y < 25; y++) {
    labels[4 + 10 * y + 250] = 1
    labels[8 + 10 * y + 1250] = 2
    indices.push(4 + 10 * y + 250, 8 + 10 * y + 1250)
  }
  const added = { right: 25, left: 25, indices: Uint32Array.from(indices) }
  assert.match(
    describeIncludedMasses(added, labels, WARNING_GRID, { sliceAxis: 0, superiorStep: -1 }, 'overlay') ?? '',
    /right lung \(axial slice 6\), 0\.\d mL in the left lung \(axial slice 2\); check it in the overlay \(slices counted 1 to 10 from the feet\)$/,
  )
})

test('mass inclusion warns of lesion inside', () => {
  // Voxels 10, 11 and 12 were added; the lesion covers 11 and 12 and voxel 40 outside. Two
  // voxels of 10 x 10 x 1 mm are 0.2 mL.
  const lesion = new Uint8Array(50)
  for (const voxel of [11, 12, 40]) lesion[voxel] = 1
  const added = { right: 3, left: 0, indices: Uint32Array.from([10, 11, 12]) }
  assert.equal(
    describeLesionInMasses(lesion, added, [10, 10, 1]),
    '0.2 mL of the lesion mask lies in that included solid tissue, which may be a tumour rather than pneumonia',
  )
  assert.equal(describeLesionInMasses(new Uint8Array(50), added, SPACING_MM), undefined)
})
