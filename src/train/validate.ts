/**
 * Validation during training. Every slice of every validation case goes through the inference
 * model built from the current weights: the graph `colinet segment` runs, with BN running
 * statistics and no dropout. Each pixel takes the class of highest probability, and Dice is
 * computed per class in 3D over all slices of a patient on the network grid. Mapping back to
 * the CT's own voxel grid is left out: it would cost time every epoch and changes Dice little.
 */
import { performance } from 'node:perf_hooks'
import { overlapMetrics } from '../metrics/overlap.js'
import { buildInferenceModel } from '../nn/inference.js'
import type { ModelMetadata } from '../nn/metadata.js'
import { SegmentationSession } from '../nn/session.js'
import type { NetworkWeights } from '../nn/weights.js'
import type { TrainingCase } from './dataset.js'

export interface ValidationResult {
  /** Dice of each class 1..C-1 (index 0 is class 1), averaged over patients. */
  classDice: number[]
  /** Mean of classDice: the number that picks the best checkpoint. */
  meanDice: number
  perPatient: { patient: string; classDice: number[] }[]
  slices: number
  seconds: number
}

export interface ValidationOptions {
  threads: number
  /** Slices per network run. Default 8. */
  batchSize?: number
  onProgress?: (done: number, total: number) => void
}

/** Per-class voxel counts of one patient: true positives, false positives, false negatives. */
interface ClassCounts {
  tp: Float64Array
  fp: Float64Array
  fn: Float64Array
}

/** Predicts every slice of the cases with `weights` and returns the per-patient 3D Dice. */
export async function validate(
  weights: NetworkWeights,
  metadata: ModelMetadata,
  cases: readonly TrainingCase[],
  options: ValidationOptions,
): Promise<ValidationResult> {
  const start = performance.now()
  const classCount = weights.options.classes
  const session = await SegmentationSession.load(buildInferenceModel(weights, metadata), { threads: options.threads })
  const counts = new Map<string, ClassCounts>()
  const total = cases.reduce((sum, c) => sum + c.sliceCount, 0)
  let done = 0

  try {
    for (const trainingCase of cases) {
      const patient = trainingCase.row.patient
      let patientCounts = counts.get(patient)
      if (patientCounts === undefined) {
        patientCounts = { tp: new Float64Array(classCount), fp: new Float64Array(classCount), fn: new Float64Array(classCount) }
        counts.set(patient, patientCounts)
      }
      await predictCase(session, trainingCase, classCount, options.batchSize ?? 8, patientCounts, (slices) => {
        done += slices
        options.onProgress?.(done, total)
      })
    }
  } finally {
    await session.release()
  }

  const perPatient = [...counts].map(([patient, c]) => ({ patient, classDice: diceOfCounts(c, classCount) }))
  const classDice = Array.from({ length: classCount - 1 }, (_, k) => mean(perPatient.map((p) => p.classDice[k]!)))
  return { classDice, meanDice: mean(classDice), perPatient, slices: total, seconds: (performance.now() - start) / 1000 }
}

async function predictCase(
  session: SegmentationSession,
  trainingCase: TrainingCase,
  classCount: number,
  batchSize: number,
  counts: ClassCounts,
  onSlices: (count: number) => void,
): Promise<void> {
  const { width, height } = trainingCase.frame
  const plane = width * height
  for (let first = 0; first < trainingCase.sliceCount; first += batchSize) {
    const count = Math.min(batchSize, trainingCase.sliceCount - first)
    const input = trainingCase.images.slice(first * plane, (first + count) * plane)
    const probabilities = await session.run(input, count, height, width)
    for (let s = 0; s < count; s++) {
      const labelOffset = (first + s) * plane
      for (let p = 0; p < plane; p++) {
        const predicted = argmaxClass(probabilities, s * classCount * plane + p, plane, classCount)
        const truth = trainingCase.labels[labelOffset + p]!
        if (predicted === truth) {
          counts.tp[truth]!++
        } else {
          counts.fp[predicted]!++
          counts.fn[truth]!++
        }
      }
    }
    onSlices(count)
  }
}

function argmaxClass(probabilities: Float32Array, offset: number, plane: number, classCount: number): number {
  let best = 0
  let bestValue = probabilities[offset]!
  for (let c = 1; c < classCount; c++) {
    const value = probabilities[offset + c * plane]!
    if (value > bestValue) {
      best = c
      bestValue = value
    }
  }
  return best
}

/** Dice of classes 1..C-1 from the counts; 1 when the class is absent from both (see overlapMetrics). */
function diceOfCounts(counts: ClassCounts, classCount: number): number[] {
  const dice: number[] = []
  for (let c = 1; c < classCount; c++) {
    dice.push(overlapMetrics({ truePositive: counts.tp[c]!, falsePositive: counts.fp[c]!, falseNegative: counts.fn[c]!, trueNegative: 0 }).dice)
  }
  return dice
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}
