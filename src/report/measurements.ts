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

/**
 * Total lung volume range, in mL, outside which `colinet segment` warns. The average healthy adult
 * total lung capacity is about 6 L (StatPearls, "Physiology, Lung Capacity", NCBI Bookshelf
 * NBK541029), and the upper bound of twice that leaves room for large and hyperinflated lungs.
 * Below 0.5 L lie the lungs of infants, which the built-in models were not trained on, and scans
 * that cover only part of the lungs.
 * NOTE: both bounds are estimates with a wide margin, not measured limits.
 */
export const PLAUSIBLE_LUNG_VOLUME_ML = { min: 500, max: 12_000 } as const

/**
 * Describes a total lung volume outside PLAUSIBLE_LUNG_VOLUME_ML. Such a volume points to a lung
 * model that does not suit the scan (an untrained model, or one trained on other images, can mark
 * most of the body) or to a scan of part of the lungs. Returns undefined for a plausible volume
 * and for an empty mask, which the lung clean-up already reports.
 */
export function describeImplausibleLungVolume(totalMl: number): string | undefined {
  if (totalMl > PLAUSIBLE_LUNG_VOLUME_ML.max) {
    return (
      `the lung mask is ${(totalMl / 1000).toFixed(2)} L, more than ${PLAUSIBLE_LUNG_VOLUME_ML.max / 1000} L (twice the total lung capacity of an average adult): ` +
      'the lung model may not suit this scan (untrained, or trained on other images); check overview.png before using the measurements'
    )
  }
  if (totalMl > 0 && totalMl < PLAUSIBLE_LUNG_VOLUME_ML.min) {
    return (
      `the lung mask is ${totalMl.toFixed(0)} mL, less than ${PLAUSIBLE_LUNG_VOLUME_ML.min} mL: ` +
      'the scan may cover only part of the lungs or be of an infant, or the lung model may not suit this scan; check overview.png before using the measurements'
    )
  }
  return undefined
}
