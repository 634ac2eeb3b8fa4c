/**
 * Train/validation split by patient: all rows of one patient go to the same side, so the
 * validation Dice measures the network on patients it has never seen (COLI-Net: 80/20 split by
 * patient, never by slice).
 */
import { InputError } from '../errors.js'
import { SeededRandom } from '../nn/random.js'

export interface PatientSplit {
  training: string[]
  validation: string[]
}

export interface SplitOptions {
  /** Fraction of patients that go to validation, in (0, 1). Default 0.2. */
  validationFraction?: number
  /** Seed of the shuffle; the same seed and patients give the same split. Default 1. */
  seed?: number
  /** Patients to validate on, instead of a random choice. */
  validationPatients?: readonly string[]
}

export const DEFAULT_VALIDATION_FRACTION = 0.2

/**
 * Splits patients into training and validation. The number of validation patients is
 * round(fraction · patients), at least 1, and at least one patient stays for training. The
 * proportion is of patients, not slices: patients with more slices weigh more on their side.
 * The patients are sorted before the seeded shuffle, so the split depends on the set of
 * patients and the seed only, not on the order of the manifest.
 */
export function splitPatients(patients: readonly string[], options: SplitOptions = {}): PatientSplit {
  const unique = [...new Set(patients)].sort()
  if (options.validationPatients !== undefined && options.validationPatients.length > 0) {
    return explicitSplit(unique, options.validationPatients)
  }
  const fraction = options.validationFraction ?? DEFAULT_VALIDATION_FRACTION
  if (!(fraction > 0 && fraction < 1)) {
    throw new InputError(`the validation fraction must be between 0 and 1 (exclusive), got ${fraction}`)
  }
  if (unique.length < 2) {
    throw new InputError(`found ${unique.length} patient in the manifest; training needs at least 2 patients, one for training and one for validation`)
  }

  const count = Math.min(unique.length - 1, Math.max(1, Math.round(fraction * unique.length)))
  const shuffled = shuffle(unique, options.seed ?? 1)
  const validation = new Set(shuffled.slice(0, count))
  return {
    training: unique.filter((patient) => !validation.has(patient)),
    validation: unique.filter((patient) => validation.has(patient)),
  }
}

function explicitSplit(unique: string[], requested: readonly string[]): PatientSplit {
  const known = new Set(unique)
  const unknown = requested.filter((patient) => !known.has(patient))
  if (unknown.length > 0) {
    const examples = unique.slice(0, 8).join(', ')
    throw new InputError(`--validation-patients names ${unknown.join(', ')}, not in the manifest's patient column (patients: ${examples}${unique.length > 8 ? ', ...' : ''})`)
  }
  const validation = new Set(requested)
  const training = unique.filter((patient) => !validation.has(patient))
  if (training.length === 0) throw new InputError('--validation-patients names every patient; leave at least one for training')
  return { training, validation: unique.filter((patient) => validation.has(patient)) }
}

/** Fisher-Yates shuffle with a seeded generator; returns a new array. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const random = new SeededRandom(seed)
  const result = [...items]
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1))
    const swap = result[i]!
    result[i] = result[j]!
    result[j] = swap
  }
  return result
}
