import { voxelVolumeMl, type Volume } from '../volume/volume.js'
import { LEFT_LUNG, RIGHT_LUNG } from '../pipeline/cleanup.js'

export interface SideValues {
  total: number
  right: number
  left: number
}

export interface HuStatistics {
  mean: number | null
  sd: number | null
  voxels: number
}

export interface LungMeasurements {
  lungVolumeMl: SideValues
  lesionVolumeMl: SideValues
  /** Lesion volume as a percentage of lung volume; null where that lung is empty. */
  percentAffected: { total: number | null; right: number | null; left: number | null }
  lungHu: HuStatistics
  lesionHu: HuStatistics
}

/** Running mean and SD (Welford), numerically stable over millions of voxels. */
class RunningStatistics {
  count = 0
  private mean = 0
  private sumSquares = 0

  add(value: number): void {
    this.count++
    const delta = value - this.mean
    this.mean += delta / this.count
    this.sumSquares += delta * (value - this.mean)
  }

  /** Mean and sample SD (n - 1), or nulls for an empty set. */
  result(): HuStatistics {
    if (this.count === 0) return { mean: null, sd: null, voxels: 0 }
    const sd = this.count > 1 ? Math.sqrt(this.sumSquares / (this.count - 1)) : 0
    return { mean: this.mean, sd, voxels: this.count }
  }
}

function percent(part: number, whole: number): number | null {
  return whole > 0 ? (100 * part) / whole : null
}

/**
 * Measures lung and lesion volumes (mL) per side, the percentage of each lung affected by lesion,
 * and the mean and SD of HU in lung (lesion included) and in lesion. `lung` contains 1 = right and
 * 2 = left lung; `lesion` is nonzero in lesion; both share the CT's grid.
 */
export function measureLungsAndLesions(ct: Volume, lung: Volume<Uint8Array>, lesion: Volume<Uint8Array>): LungMeasurements {
  const lungVoxels = [0, 0, 0]
  const lesionVoxels = [0, 0, 0]
  const lungHu = new RunningStatistics()
  const lesionHu = new RunningStatistics()

  for (let v = 0; v < lung.data.length; v++) {
    const side = lung.data[v]
    if (side !== RIGHT_LUNG && side !== LEFT_LUNG) continue
    lungVoxels[side]++
    lungHu.add(ct.data[v])
    if (lesion.data[v] !== 0) {
      lesionVoxels[side]++
      lesionHu.add(ct.data[v])
    }
  }

  const ml = voxelVolumeMl(ct.spacingMm)
  const volumes = (counts: number[]): SideValues => ({
    total: (counts[RIGHT_LUNG] + counts[LEFT_LUNG]) * ml,
    right: counts[RIGHT_LUNG] * ml,
    left: counts[LEFT_LUNG] * ml,
  })
  const lungVolumeMl = volumes(lungVoxels)
  const lesionVolumeMl = volumes(lesionVoxels)
  return {
    lungVolumeMl,
    lesionVolumeMl,
    percentAffected: {
      total: percent(lesionVolumeMl.total, lungVolumeMl.total),
      right: percent(lesionVolumeMl.right, lungVolumeMl.right),
      left: percent(lesionVolumeMl.left, lungVolumeMl.left),
    },
    lungHu: lungHu.result(),
    lesionHu: lesionHu.result(),
  }
}
