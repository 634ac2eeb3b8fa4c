import { performance } from 'node:perf_hooks'
import { geometryOf, voxelVolumeMl, type Volume } from '../volume/volume.js'
import { frameForVolume } from './body-crop.js'
import { removeCentralAirways } from '../sim/label-lungs.js'
import {
  cleanLungMask, describeLungAtScanEnds, joinLesionsToLung, LESION_JOIN_BITE_RADIUS_MM, LESION_JOIN_LUNG_PROBABILITY, MIN_LESION_REGION_ML,
  type RemovedLesionRegions,
} from './cleanup.js'
import { describeIncludedMasses, describeLesionInMasses, includeMassesAtLungBorder, markLungOutlineBites } from './pleural-masses.js'
import { checkHounsfieldUnits, checkLungAirPresent } from './input-checks.js'
import type { SegmentationModel } from './model.js'
import { runNetworkOnSlices } from './network-pass.js'
import { fromCanonical, planReorientation, toCanonical, type Reorientation } from './orientation.js'
import { COLINET_INPUT, preprocessSlices, probabilitiesToSlice, type NetworkInputSpec, type SliceFrame } from './preprocess.js'

/** Stages of the pipeline, in order; their times are reported separately. */
export type Stage = 'checks' | 'preprocess' | 'lungNetwork' | 'lungCleanup' | 'lesionNetwork' | 'lesionCleanup' | 'restore'

/** Stages that run a network; the others are the pipeline's own overhead. */
export const NETWORK_STAGES: readonly Stage[] = ['lungNetwork', 'lesionNetwork']

export interface SegmentOptions {
  lungModel: SegmentationModel
  lesionModel: SegmentationModel
  /** Lesion regions smaller than this (mL) are removed; 0 keeps all. Default MIN_LESION_REGION_ML. */
  minLesionRegionMl?: number
  /** Slices per network run; larger batches use more memory. Default 8. */
  batchSize?: number
  /**
   * Average the lesion network's output over each slice and its left-right mirror image (twice
   * the lesion network time). Default true: the shipped lesion model's threshold was chosen with it.
   */
  lesionMirrorAverage?: boolean
  /** Called after each batch of a network stage with the slices done and the total. */
  onProgress?: (stage: Stage, done: number, total: number) => void
}

export interface SegmentationResult {
  /** 0 background, 1 right lung, 2 left lung, on the input grid. */
  lung: Volume<Uint8Array>
  /** 0 background, 1 lesion, on the input grid. */
  lesion: Volume<Uint8Array>
  /** 0 background, 1 lung without lesion, 2 lesion, on the input grid. */
  labels: Volume<Uint8Array>
  stageSeconds: Record<Stage, number>
  /** The lesion regions removed for being smaller than the minimum. */
  removedLesionRegions: RemovedLesionRegions
  /** Solid tissue at the lung border that the lung mask took in (a tumour or dense consolidation), in mL per side. */
  massIncludedInLungMl: { total: number; right: number; left: number }
  /** Whether the lesion network's output was averaged with that of the mirrored slices. */
  lesionMirrorAveraged: boolean
  slicesWithLung: number
  slicesProcessedByLungNetwork: number
  slicesProcessedByLesionNetwork: number
  reorientation: Reorientation
  frame: SliceFrame
  warnings: string[]
}

/**
 * Segments the lungs and lesions of a chest CT in HU. The steps: check the input, reorient it to
 * axial slices, crop and resize each slice for the networks, and run the lung network on every
 * slice. Then clean the lung mask up in 3D, add the solid masses at its border, and run the
 * lesion network on the slices with lung (by default also on their mirror images, averaged).
 * Keep the lesions in or joined to the lung, and map both masks back onto the input grid.
 * Throws InputError when the input is not a chest CT in HU.
 */
export async function segmentCt(ct: Volume, options: SegmentOptions): Promise<SegmentationResult> {
  const stageSeconds = {} as Record<Stage, number>
  let stageStart = performance.now()
  const endStage = (stage: Stage): void => {
    const now = performance.now()
    stageSeconds[stage] = (now - stageStart) / 1000
    stageStart = now
  }

  const warnings = checkHounsfieldUnits(ct)
  const reorientation = planReorientation(ct.direction)
  if (reorientation.obliquityDegrees > 10) {
    warnings.push(
      `the slices are tilted ${reorientation.obliquityDegrees.toFixed(1)} degrees from the nearest anatomical axes; ` +
        'they are segmented as they are, without resampling to true axial slices',
    )
  }
  endStage('checks')

  const canonical = toCanonical(ct, reorientation)
  const [nx, ny, nz] = canonical.size
  if (nz < 8) warnings.push(`only ${nz} axial slice(s): 3D clean-up of the lungs is limited`)
  const frame = frameForVolume(canonical, inputSpecOf(options.lungModel))
  const allSlices = Array.from({ length: nz }, (_, k) => k)
  // Large arrays are released (set to undefined) once used, to keep the peak memory down.
  let networkInput: Float32Array | undefined = preprocessSlices(canonical, frame, allSlices, inputSpecOf(options.lungModel))
  checkLungAirPresent(networkInput, frame, nz)
  endStage('preprocess')

  let lungProbability: Float32Array | undefined = await runNetworkOnSlices(options.lungModel, networkInput, allSlices, {
    batchSize: options.batchSize,
    onProgress: (done, total) => options.onProgress?.('lungNetwork', done, total),
  })
  endStage('lungNetwork')

  const lungMask = new Uint8Array(nx * ny * nz)
  const plane = frame.width * frame.height
  // The lung at a low probability threshold bounds where lesions may extend the lung (see joinLesionsToLung).
  const looseLung = new Uint8Array(nx * ny * nz)
  for (let k = 0; k < nz; k++) {
    probabilitiesToSlice(lungProbability, k * plane, frame, nx, ny, lungMask, k * nx * ny, 1, options.lungModel.threshold)
    probabilitiesToSlice(lungProbability, k * plane, frame, nx, ny, looseLung, k * nx * ny, 1, LESION_JOIN_LUNG_PROBABILITY)
  }
  lungProbability = undefined
  // The networks are 2D, so the trachea and main bronchi can pass for lung; they are found in
  // 3D from the CT and cleared.
  if (nz >= 8) warnings.push(...removeCentralAirways(canonical, lungMask))
  const lungCleanup = cleanLungMask(lungMask, canonical.size, canonical.spacingMm)
  warnings.push(...lungCleanup.warnings)
  const masses = includeMassesAtLungBorder(lungCleanup.labels, canonical, 2)
  const massNote = describeIncludedMasses(masses, lungCleanup.labels, canonical, { sliceAxis: 2, superiorStep: 1 }, 'overview')
  if (massNote !== undefined) warnings.push(massNote)
  const scanEndNote = describeLungAtScanEnds(lungCleanup.labels, canonical.size, canonical.spacingMm)
  if (scanEndNote !== undefined) warnings.push(scanEndNote)
  const lungSlices = allSlices.filter((k) => hasForeground(lungCleanup.labels, k * nx * ny, nx * ny))
  endStage('lungCleanup')

  // A lesion model with another slice size than the lung model gets its own crop and resize.
  const lesionSpec = inputSpecOf(options.lesionModel)
  const sameInput = lesionSpec.width === frame.width && lesionSpec.height === frame.height
  const lesionFrame = sameInput ? frame : frameForVolume(canonical, lesionSpec)
  let lesionInput: Float32Array | undefined = sameInput ? networkInput : preprocessSlices(canonical, lesionFrame, allSlices, lesionSpec)
  const lesionPlane = lesionFrame.width * lesionFrame.height
  networkInput = undefined
  // Only the lesion network is mirror averaged: a lung model may have right and left lung classes
  // (colinet train --lung-classes 3), which a mirror image would swap.
  const lesionMirrorAveraged = options.lesionMirrorAverage ?? true
  const lesionProbability = await runNetworkOnSlices(options.lesionModel, lesionInput, lungSlices, {
    batchSize: options.batchSize,
    mirrorAverage: lesionMirrorAveraged,
    onProgress: (done, total) => options.onProgress?.('lesionNetwork', done, total),
  })
  lesionInput = undefined
  endStage('lesionNetwork')

  // The raw lung mask is no longer needed: its buffer becomes the lesion mask.
  const lesionMask = lungMask.fill(0)
  const lesionThreshold = options.lesionModel.threshold
  lungSlices.forEach((k, s) => probabilitiesToSlice(lesionProbability, s * lesionPlane, lesionFrame, nx, ny, lesionMask, k * nx * ny, 1, lesionThreshold))
  // Consolidation against the chest wall leaves a bite in the lung outline that the lung network
  // may give almost no lung probability, so the bites bound the lesions too. Only slices with
  // lesion outside both bounds need them.
  const sliceSize = nx * ny
  const searched = new Uint8Array(nz)
  for (let v = 0; v < lesionMask.length; v++) {
    if (lesionMask[v] === 1 && lungCleanup.labels[v] === 0 && looseLung[v] === 0) searched[Math.floor(v / sliceSize)] = 1
  }
  markLungOutlineBites(lungCleanup.labels, canonical, LESION_JOIN_BITE_RADIUS_MM, looseLung, (z) => searched[z] === 1)
  const minRegionMl = options.minLesionRegionMl ?? MIN_LESION_REGION_ML
  const removedLesionRegions = joinLesionsToLung(lesionMask, lungCleanup.labels, looseLung, canonical.size, canonical.spacingMm, minRegionMl)
  const lesionInMassNote = describeLesionInMasses(lesionMask, masses, canonical.spacingMm)
  if (lesionInMassNote !== undefined) warnings.push(lesionInMassNote)
  endStage('lesionCleanup')

  const lung = { ...geometryOf(ct), data: fromCanonical(lungCleanup.labels, ct.size, reorientation) }
  const lesion = { ...geometryOf(ct), data: fromCanonical(lesionMask, ct.size, reorientation) }
  const labels = { ...geometryOf(ct), data: new Uint8Array(lung.data.length) }
  for (let v = 0; v < labels.data.length; v++) {
    if (lesion.data[v] === 1) labels.data[v] = 2
    else if (lung.data[v] !== 0) labels.data[v] = 1
  }
  endStage('restore')

  return {
    lung,
    lesion,
    labels,
    stageSeconds,
    removedLesionRegions,
    massIncludedInLungMl: {
      total: (masses.right + masses.left) * voxelVolumeMl(canonical.spacingMm),
      right: masses.right * voxelVolumeMl(canonical.spacingMm),
      left: masses.left * voxelVolumeMl(canonical.spacingMm),
    },
    lesionMirrorAveraged,
    slicesWithLung: lungSlices.length,
    slicesProcessedByLungNetwork: nz,
    slicesProcessedByLesionNetwork: lungSlices.length,
    reorientation,
    frame,
    warnings,
  }
}

/** Returns the COLI-Net preprocessing at the model's own slice size. */
function inputSpecOf(model: SegmentationModel): NetworkInputSpec {
  return { ...COLINET_INPUT, width: model.inputWidth, height: model.inputHeight }
}

function hasForeground(mask: Uint8Array, offset: number, length: number): boolean {
  for (let p = offset; p < offset + length; p++) if (mask[p] !== 0) return true
  return false
}
