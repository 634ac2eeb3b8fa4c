import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeVolume } from '../../src/io/write.js'
import type { Vec3, Volume } from '../../src/volume/volume.js'

/** Geometry of the tiny chests: 40 x 32 voxels of 8 mm, axis 0 patient right to left (LPS). */
export const TINY_SIZE: Vec3 = [40, 32, 6]

export interface TinyChest {
  ct: Volume<Int16Array>
  /** 0 background, 1 right lung, 2 left lung. */
  lungs: Volume<Uint8Array>
  /** 0 background, 1 lesion (a disc in the right lung on the middle slices). */
  lesion: Volume<Uint8Array>
}

/**
 * Builds a synthetic chest: an elliptic body (+40 HU by default) in air (-1000 HU), two elliptic
 * lungs of -850 HU, and a +20 HU lesion disc in the right lung of slices 2 and 3. The first and
 * last slices have no lung. `shift` moves the anatomy by whole voxels and `bodyHu` sets the
 * body's HU, so patients differ.
 */
export function tinyChest(shift = 0, bodyHu = 40): TinyChest {
  const [nx, ny, nz] = TINY_SIZE
  const geometry = { size: [...TINY_SIZE] as Vec3, spacingMm: [8, 8, 8] as Vec3, origin: [0, 0, 0] as Vec3, direction: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) }
  const ct: Volume<Int16Array> = { ...geometry, data: new Int16Array(nx * ny * nz).fill(-1000) }
  const lungs: Volume<Uint8Array> = { ...geometry, data: new Uint8Array(nx * ny * nz) }
  const lesion: Volume<Uint8Array> = { ...geometry, data: new Uint8Array(nx * ny * nz) }
  const cx = 19.5 + shift
  const cy = 15.5
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = i + nx * (j + ny * k)
        const inBody = ((i - cx) / 16) ** 2 + ((j - cy) / 12) ** 2 <= 1
        if (!inBody) continue
        ct.data[v] = bodyHu
        if (k === 0 || k === nz - 1) continue
        const right = ((i - (cx - 7)) / 5) ** 2 + ((j - cy) / 7) ** 2 <= 1
        const left = ((i - (cx + 7)) / 5) ** 2 + ((j - cy) / 7) ** 2 <= 1
        if (right || left) {
          ct.data[v] = -850
          lungs.data[v] = right ? 1 : 2
        }
        if (right && (k === 2 || k === 3) && (i - (cx - 7)) ** 2 + (j - cy) ** 2 <= 6) {
          ct.data[v] = 20
          lesion.data[v] = 1
        }
      }
    }
  }
  return { ct, lungs, lesion }
}

/**
 * Writes `patients` tiny chests as NIfTI files into `folder` with a manifest.csv listing them
 * (labels: the lung labels, or the lesion labels) and returns the manifest path.
 */
export async function writeTinyDataset(folder: string, patients: number, labels: 'lungs' | 'lesion' = 'lungs'): Promise<string> {
  mkdirSync(folder, { recursive: true })
  const lines = ['image,label,patient,centre']
  for (let p = 0; p < patients; p++) {
    // Three shifts fit the grid; the body HU separates patients that share one.
    const chest = tinyChest((p % 3) - 1, 40 + Math.floor(p / 3))
    await writeVolume(join(folder, `ct${p}.nii.gz`), chest.ct)
    await writeVolume(join(folder, `${labels}${p}.nii.gz`), chest[labels])
    lines.push(`ct${p}.nii.gz,${labels}${p}.nii.gz,patient${p},${p % 2 === 0 ? 'centre A' : 'centre B'}`)
  }
  const manifest = join(folder, 'manifest.csv')
  writeFileSync(manifest, `${lines.join('\n')}\n`)
  return manifest
}
