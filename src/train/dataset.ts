/**
 * Loads the cases of a manifest for training. Each CT and its label are read once and checked.
 * They are reoriented, cropped to the body and resampled onto the network grid by exactly the
 * functions that `colinet segment` uses, then kept in memory as network-ready slices.
 *
 * Memory: every slice costs width · height · (4 + 1) bytes (float32 image and uint8 class),
 * 296 · 216 · 5 = 319,680 bytes (0.32 MB) at the default input size. A 300-slice CT takes
 * about 96 MB; 100 such CTs about 9.6 GB. A smaller --input-size reduces this in proportion.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { InputError } from '../errors.js'
import { readVolume } from '../io/read.js'
import { frameForVolume } from '../pipeline/body-crop.js'
import { checkHounsfieldUnits } from '../pipeline/input-checks.js'
import { planReorientation, toCanonical } from '../pipeline/orientation.js'
import { preprocessSlices, resampleLabelSlices, type NetworkInputSpec, type SliceFrame } from '../pipeline/preprocess.js'
import { describeGeometryMismatch, type Vec3, type Volume } from '../volume/volume.js'
import { buildClassLookup, labelValueCounts, parseLabelMap, type LabelRule, type Task } from './labels.js'
import { formatProblems, type Manifest, type ManifestRow } from './manifest.js'

/** Bytes per slice held in memory: a float32 image and a uint8 class map. */
export function bytesPerSlice(spec: { width: number; height: number }): number {
  return spec.width * spec.height * 5
}

/** One CT on the network grid. */
export interface TrainingCase {
  row: ManifestRow
  /** Number of axial slices. */
  sliceCount: number
  /** sliceCount · height · width preprocessed values, slice after slice (see preprocessSlices). */
  images: Float32Array
  /** sliceCount · height · width class indices, 0 = background. */
  labels: Uint8Array
  /** 1 for each slice that contains at least one pixel of a non-background class. */
  hasTarget: Uint8Array
  frame: SliceFrame
  /** Identity of the CT's voxels, for finding one scan listed in two rows. */
  fingerprint: ScanFingerprint
}

/**
 * Size, spacing and voxel hash of a CT on the nearest patient axes (see toCanonical), so a
 * scan gets one fingerprint whichever file format, data type or axis order stores it.
 */
export interface ScanFingerprint {
  size: Vec3
  spacingMm: Vec3
  /** SHA-256 of the voxel values written as float64, which represents every stored type exactly. */
  voxelHash: string
}

export interface LoadOptions {
  task: Task
  classCount: number
  spec: NetworkInputSpec
  /** Rule for rows without a label_map (see runLabelRule). */
  defaultRule: LabelRule
  /** Leave out rows that fail a check, with a warning, instead of failing. Default false. */
  skipInvalid?: boolean
  onCase?: (done: number, total: number, row: ManifestRow, seconds: number) => void
  onWarning?: (message: string) => void
}

export interface LoadResult {
  cases: TrainingCase[]
  /** Rows left out with skipInvalid, each with its reason. */
  skipped: { row: ManifestRow; reason: string }[]
}

/**
 * Loads every row of the manifest, with all checks before training starts. Rows whose image is
 * not a CT in HU, whose label has another geometry, or whose label contains values the rule does
 * not accept are collected. One InputError then names every such row and file, unless
 * skipInvalid leaves them out.
 */
export async function loadCases(manifest: Manifest, options: LoadOptions): Promise<LoadResult> {
  const cases: TrainingCase[] = []
  const problems: { row: ManifestRow; reason: string }[] = []

  for (const [index, row] of manifest.rows.entries()) {
    const start = performance.now()
    try {
      cases.push(await loadCase(row, options))
    } catch (error) {
      if (!(error instanceof InputError)) throw error
      problems.push({ row, reason: error.message })
    }
    options.onCase?.(index + 1, manifest.rows.length, row, (performance.now() - start) / 1000)
  }

  if (problems.length > 0 && !options.skipInvalid) {
    const lines = problems.map((p) => `row ${p.row.row}: ${p.reason}`)
    throw new InputError(formatProblems(manifest.path, lines, 'fix or remove these rows (or pass --skip-invalid to leave them out)'))
  }
  for (const problem of problems) options.onWarning?.(`left out row ${problem.row.row}: ${problem.reason}`)
  return { cases, skipped: problems }
}

/** Reads, checks and preprocesses one row; throws InputError naming the file that failed. */
export async function loadCase(row: ManifestRow, options: LoadOptions): Promise<TrainingCase> {
  const image = (await readVolume(row.image)).volume
  try {
    checkHounsfieldUnits(image)
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${row.image}: ${error.message}`)
    throw error
  }

  const label = (await readVolume(row.label)).volume
  const mismatch = describeGeometryMismatch(image, label)
  if (mismatch !== undefined) {
    throw new InputError(`${row.label}: the label's geometry differs from its image (image vs label: ${mismatch}); resample the label onto the image's voxel grid`)
  }

  const rule = row.labelMap !== undefined ? parseLabelMap(row.labelMap, options.task, options.classCount, `row ${row.row}`) : options.defaultRule
  const classes = labelToClasses(label, rule, row.label)

  const plan = planReorientation(image.direction)
  const canonical = toCanonical(image, plan)
  const canonicalClasses = toCanonical(classes, plan)
  const frame = frameForVolume(canonical, options.spec)
  const sliceCount = canonical.size[2]
  const slices = Array.from({ length: sliceCount }, (_, k) => k)
  const images = preprocessSlices(canonical, frame, slices, options.spec)
  const labels = resampleLabelSlices(canonicalClasses, frame, slices)
  const hasTarget = slicesWithTarget(labels, sliceCount, frame.width * frame.height)
  return { row, sliceCount, images, labels, hasTarget, frame, fingerprint: fingerprintScan(canonical) }
}

/** Computes a volume's fingerprint in one pass over its voxels. */
export function fingerprintScan(volume: Volume): ScanFingerprint {
  const hash = createHash('sha256')
  const chunk = new Float64Array(65536)
  const { data } = volume
  for (let start = 0; start < data.length; start += chunk.length) {
    const count = Math.min(chunk.length, data.length - start)
    for (let i = 0; i < count; i++) chunk[i] = data[start + i]!
    hash.update(new Uint8Array(chunk.buffer, 0, count * chunk.BYTES_PER_ELEMENT))
  }
  return { size: [...volume.size], spacingMm: [...volume.spacingMm], voxelHash: hash.digest('hex') }
}

/**
 * Largest spacing difference, in mm, at which two fingerprints still name one scan. DICOM
 * headers store positions rounded to 1e-3 mm, so a DICOM series and its NRRD copy can differ
 * by about that much.
 */
const SAME_SPACING_TOLERANCE_MM = 0.01

/**
 * Finds the cases whose CTs have the same size, spacing and voxel values, each paired with the
 * first earlier case of that scan. Returns the pairs in manifest order.
 */
export function findRepeatedScans(cases: readonly TrainingCase[]): Array<[TrainingCase, TrainingCase]> {
  const earlierBySizeAndHash = new Map<string, TrainingCase[]>()
  const pairs: Array<[TrainingCase, TrainingCase]> = []
  for (const current of cases) {
    const key = `${current.fingerprint.size.join('x')} ${current.fingerprint.voxelHash}`
    const earlier = earlierBySizeAndHash.get(key) ?? []
    const first = earlier.find((other) => sameSpacing(other.fingerprint.spacingMm, current.fingerprint.spacingMm))
    if (first !== undefined) pairs.push([first, current])
    earlierBySizeAndHash.set(key, [...earlier, current])
  }
  return pairs
}

function sameSpacing(a: Vec3, b: Vec3): boolean {
  return a.every((spacing, axis) => Math.abs(spacing - b[axis]!) <= SAME_SPACING_TOLERANCE_MM)
}

/** Maps every label voxel to its class with the rule, or throws InputError naming the file. */
function labelToClasses(label: Volume, rule: LabelRule, path: string): Volume<Uint8Array> {
  const counts = labelValueCounts(label.data)
  const checked = buildClassLookup(counts, rule)
  if ('error' in checked) throw new InputError(`${path}: ${checked.error}`)

  const data = new Uint8Array(label.data.length)
  const source = label.data
  let previous = NaN
  let previousClass = 0
  for (let i = 0; i < source.length; i++) {
    const value = source[i]!
    if (value !== previous) {
      previous = value
      previousClass = checked.lookup.get(value)!
    }
    data[i] = previousClass
  }
  return { ...label, data }
}

function slicesWithTarget(labels: Uint8Array, sliceCount: number, plane: number): Uint8Array {
  const result = new Uint8Array(sliceCount)
  for (let s = 0; s < sliceCount; s++) {
    for (let p = s * plane; p < (s + 1) * plane; p++) {
      if (labels[p] !== 0) {
        result[s] = 1
        break
      }
    }
  }
  return result
}

/** Summary of a set of cases for logs and model metadata. */
export function describeCases(cases: readonly TrainingCase[]): { patients: number; centres: string[]; slices: number; slicesWithTarget: number } {
  const patients = new Set(cases.map((c) => c.row.patient))
  const centres = [...new Set(cases.map((c) => c.row.centre))].sort()
  let slices = 0
  let slicesWithTarget = 0
  for (const c of cases) {
    slices += c.sliceCount
    for (const flag of c.hasTarget) slicesWithTarget += flag
  }
  return { patients: patients.size, centres, slices, slicesWithTarget }
}
