import { Tissue, type PhantomGrid } from './phantom-grid.js'

/**
 * The analytic part of the chest phantom: body, fat, ribs, spine, sternum, mediastinum, heart,
 * liver, stomach gas and the two lungs, evaluated voxel by voxel. Positions are LPS mm with the
 * origin at the centre of the chest: +x is the patient's left, +y posterior, +z superior.
 */

/** HU levels before noise, at typical CT values: air -1000, fat -100, soft tissue and blood 40 to 55, bone 450 to 850. */
export const PhantomHu = {
  air: -1000,
  fat: -100,
  muscle: 40,
  blood: 45,
  liver: 55,
  cerebrospinalFluid: 15,
  ribBone: 750,
  vertebralBody: 480,
  vertebralCortex: 850,
  sternum: 600,
  /** Lung parenchyma at the mid-coronal plane; dependent (posterior) lung is denser. */
  lung: -850,
  lungGradientPer100Mm: 25,
  vessel: 40,
  airwayWall: 40,
  lungAirway: -960,
} as const

/** Outer body ellipse (semi-axes in mm) and the depth of the subcutaneous fat layer. */
const BODY = { semiX: 165, semiY: 120, fatDepthMm: 13 }
/** Inner surface of the rib cage (pleural cavity) and the rib thickness. */
const CAVITY = { semiX: 140, semiY: 98, ribThicknessMm: 8 }
/** Ribs: bands along z that slope down anteriorly, with a gap at the front for the sternum. */
const RIBS = { periodMm: 28, widthMm: 10, slopeMm: 20, zMin: -140, zMax: 125 }
const SPINE = { y: 72, bodyRadiusMm: 18, cortexMm: 2.5, canalY: 100, canalRadiusMm: 8, archRadiusMm: 13 }
const STERNUM = { y: -104, semiX: 18, semiY: 7, zMin: -50, zMax: 110 }
/** Mediastinum: an ellipse between the lungs, widened by a margin that keeps the lungs away from it. */
const MEDIASTINUM = { y: 12, semiX: 28, semiY: 96, marginMm: 4 }
const HEART = { x: 12, y: -30, z: -62, semiX: 58, semiY: 48, semiZ: 52, marginMm: 5 }
const STOMACH_GAS = { x: 60, y: -20, z: -132, semiX: 30, semiY: 25, semiZ: 12 }

/**
 * Lung shape. Each lung is an elliptic cylinder whose cross-section grows from the apex over
 * the upper `growthFraction` of its height, with a domed base (the diaphragm rises by
 * `diaphragmDomeMm` at the centre of the lung). The right lung's base is higher (the liver).
 */
export const LUNG = {
  zApex: 120,
  zBaseRight: -118,
  zBaseLeft: -130,
  diaphragmDomeMm: 45,
  growthFraction: 0.45,
  apexCentreX: 58,
  baseCentreX: 78,
  apexCentreY: 8,
  baseCentreY: -2,
  semiX: 64,
  semiY: 88,
}

/** Cross-section of one lung at height z, or undefined above the apex. side: -1 right, +1 left. */
export interface LungSection {
  centreX: number
  centreY: number
  semiX: number
  semiY: number
  zBase: number
}

export function lungSection(side: -1 | 1, z: number): LungSection | undefined {
  const zBase = side < 0 ? LUNG.zBaseRight : LUNG.zBaseLeft
  const fromApex = (LUNG.zApex - z) / (LUNG.zApex - zBase)
  if (fromApex <= 0) return undefined
  const growth = Math.min(1, fromApex / LUNG.growthFraction)
  const width = Math.sqrt(growth)
  return {
    centreX: side * (LUNG.apexCentreX + (LUNG.baseCentreX - LUNG.apexCentreX) * growth),
    centreY: LUNG.apexCentreY + (LUNG.baseCentreY - LUNG.apexCentreY) * growth,
    semiX: LUNG.semiX * width,
    semiY: LUNG.semiY * width,
    zBase,
  }
}

/** Paints the analytic structures into `tissue`, `hu` and the lung label (1 right, 2 left). */
export function paintAnatomy(grid: PhantomGrid, tissue: Uint8Array, hu: Int16Array, lungLabel: Uint8Array): void {
  const [nx, ny, nz] = grid.size
  const [sx, sy, sz] = grid.spacingMm
  const [ox, oy, oz] = grid.origin

  for (let k = 0; k < nz; k++) {
    const z = oz + k * sz
    const sections = [lungSection(-1, z), lungSection(1, z)] as const
    for (let j = 0; j < ny; j++) {
      const y = oy + j * sy
      const rowBase = nx * (j + ny * k)
      // Voxels outside the body ellipse are filled per row without classifying each one.
      const halfWidth = BODY.semiX * Math.sqrt(Math.max(0, 1 - (y / BODY.semiY) ** 2))
      const first = Math.max(0, Math.ceil((-halfWidth - ox) / sx))
      const last = Math.min(nx - 1, Math.floor((halfWidth - ox) / sx))
      tissue.fill(Tissue.outsideAir, rowBase, rowBase + nx)
      hu.fill(PhantomHu.air, rowBase, rowBase + nx)
      lungLabel.fill(0, rowBase, rowBase + nx)
      for (let i = first; i <= last; i++) {
        const x = ox + i * sx
        const v = rowBase + i
        classify(x, y, z, sections)
        tissue[v] = voxel.tissue
        hu[v] = voxel.hu
        lungLabel[v] = voxel.lungLabel
      }
    }
  }
}

/** Result of the last classify call; a shared object avoids one allocation per voxel. */
const voxel = { tissue: 0, hu: 0, lungLabel: 0 }

function setVoxel(tissue: number, hu: number, lungLabel = 0): true {
  voxel.tissue = tissue
  voxel.hu = hu
  voxel.lungLabel = lungLabel
  return true
}

function classify(x: number, y: number, z: number, sections: readonly [LungSection | undefined, LungSection | undefined]): true {
  const body = (x / BODY.semiX) ** 2 + (y / BODY.semiY) ** 2
  if (body > 1) {
    return setVoxel(Tissue.outsideAir, PhantomHu.air)
  }
  const fatInner = (x / (BODY.semiX - BODY.fatDepthMm)) ** 2 + (y / (BODY.semiY - BODY.fatDepthMm)) ** 2
  if (fatInner > 1) return setVoxel(Tissue.fat, PhantomHu.fat)

  const cavity = (x / CAVITY.semiX) ** 2 + (y / CAVITY.semiY) ** 2
  if (cavity > 1) {
    return classifyChestWall(x, y, z)
  }

  if (classifySpineAndSternum(x, y, z)) return true

  for (let s = 0; s < 2; s++) {
    const section = sections[s]
    if (section !== undefined && isLung(x, y, z, section)) {
      const hu = PhantomHu.lung + (PhantomHu.lungGradientPer100Mm * y) / 100
      return setVoxel(Tissue.lung, Math.round(hu), s + 1)
    }
  }

  const heart = ((x - HEART.x) / HEART.semiX) ** 2 + ((y - HEART.y) / HEART.semiY) ** 2 + ((z - HEART.z) / HEART.semiZ) ** 2
  if (heart <= 1) return setVoxel(Tissue.softTissue, PhantomHu.blood)
  const gas =
    ((x - STOMACH_GAS.x) / STOMACH_GAS.semiX) ** 2 +
    ((y - STOMACH_GAS.y) / STOMACH_GAS.semiY) ** 2 +
    ((z - STOMACH_GAS.z) / STOMACH_GAS.semiZ) ** 2
  if (gas <= 1) return setVoxel(Tissue.bowelGas, PhantomHu.air)
  if (z < LUNG.zBaseRight + 20 && x < 30) return setVoxel(Tissue.softTissue, PhantomHu.liver)
  return setVoxel(Tissue.softTissue, PhantomHu.muscle)
}

/** Muscle, ribs and the costal cartilage gap between the pleural cavity and the fat layer. */
function classifyChestWall(x: number, y: number, z: number): true {
  const ribOuter = (x / (CAVITY.semiX + CAVITY.ribThicknessMm)) ** 2 + (y / (CAVITY.semiY + CAVITY.ribThicknessMm)) ** 2
  const inRibRing = ribOuter <= 1 && z >= RIBS.zMin && z <= RIBS.zMax
  const atSternum = y < -60 && Math.abs(x) < 35
  if (inRibRing && !atSternum) {
    const phase = (((z - (RIBS.slopeMm * y) / CAVITY.semiY) % RIBS.periodMm) + RIBS.periodMm) % RIBS.periodMm
    if (phase < RIBS.widthMm) return setVoxel(Tissue.bone, PhantomHu.ribBone)
  }
  const sternum = (x / STERNUM.semiX) ** 2 + ((y - STERNUM.y) / STERNUM.semiY) ** 2
  if (sternum <= 1 && z >= STERNUM.zMin && z <= STERNUM.zMax) return setVoxel(Tissue.bone, PhantomHu.sternum)
  return setVoxel(Tissue.softTissue, PhantomHu.muscle)
}

function classifySpineAndSternum(x: number, y: number, z: number): boolean {
  const fromBody = Math.sqrt(x * x + (y - SPINE.y) ** 2)
  if (fromBody <= SPINE.bodyRadiusMm) {
    const hu = fromBody > SPINE.bodyRadiusMm - SPINE.cortexMm ? PhantomHu.vertebralCortex : PhantomHu.vertebralBody
    return setVoxel(Tissue.bone, hu)
  }
  const fromCanal = Math.sqrt(x * x + (y - SPINE.canalY) ** 2)
  if (fromCanal <= SPINE.canalRadiusMm) return setVoxel(Tissue.softTissue, PhantomHu.cerebrospinalFluid)
  if (fromCanal <= SPINE.archRadiusMm) return setVoxel(Tissue.bone, PhantomHu.vertebralCortex)
  const sternum = (x / STERNUM.semiX) ** 2 + ((y - STERNUM.y) / STERNUM.semiY) ** 2
  if (sternum <= 1 && z >= STERNUM.zMin && z <= STERNUM.zMax) return setVoxel(Tissue.bone, PhantomHu.sternum)
  return false
}

function isLung(x: number, y: number, z: number, section: LungSection): boolean {
  const radial = ((x - section.centreX) / section.semiX) ** 2 + ((y - section.centreY) / section.semiY) ** 2
  if (radial > 1) return false
  if (z < section.zBase + LUNG.diaphragmDomeMm * (1 - radial)) return false

  // Keep 3 mm of pleura and chest wall inside the rib cage.
  const pleura = (x / (CAVITY.semiX - 3)) ** 2 + (y / (CAVITY.semiY - 3)) ** 2
  if (pleura > 1) return false

  const mediastinum =
    (x / (MEDIASTINUM.semiX + MEDIASTINUM.marginMm)) ** 2 +
    ((y - MEDIASTINUM.y) / (MEDIASTINUM.semiY + MEDIASTINUM.marginMm)) ** 2
  if (mediastinum <= 1) return false

  const heart =
    ((x - HEART.x) / (HEART.semiX + HEART.marginMm)) ** 2 +
    ((y - HEART.y) / (HEART.semiY + HEART.marginMm)) ** 2 +
    ((z - HEART.z) / (HEART.semiZ + HEART.marginMm)) ** 2
  if (heart <= 1) return false

  return x * x + (y - SPINE.y) ** 2 > (SPINE.bodyRadiusMm + 6) ** 2
}
