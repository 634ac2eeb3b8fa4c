/**
 * What a label file means for a training task: which label values become which network class.
 *
 * Classes of each task (class 0 is always the background):
 *   lung, 2 classes (default, as the COLI-Net lung network): 1 lung
 *   lung, 3 classes: 1 right lung, 2 left lung
 *   lesion: 1 lesion
 *
 * Label values map to classes by one of three rules, from the most specific to the default:
 *   - a row's `label_map` in the manifest, e.g. "1:2 2:1 3:0": value 1 is class 2 and so on.
 *     Lung classes in a map are always written as 1 right, 2 left; a 2-class lung task merges
 *     them into lung. Every nonzero value in the file must be listed (map a value to 0 to
 *     ignore it), so a label file that contains something unexpected is caught.
 *   - `--label-value v[,v...]` for the whole run: the listed values are the target (class 1),
 *     every other value is background. Only for 2-class tasks.
 *   - the task's default. Lung with 2 classes and lesion take every nonzero value as the
 *     target. Lung with 3 classes takes 1 as right and 2 as left and rejects other values.
 */
import { InputError } from '../errors.js'

export type Task = 'lung' | 'lesion'

export const TASKS: readonly Task[] = ['lung', 'lesion']

/** Class names in network output order for a task; `lungClasses` is 2 or 3 and only used for lung. */
export function classNamesOf(task: Task, lungClasses: number): string[] {
  if (task === 'lesion') return ['background', 'lesion']
  return lungClasses === 3 ? ['background', 'right lung', 'left lung'] : ['background', 'lung']
}

/**
 * A mapping from label values to classes. `classOf` returns undefined for a value the rule
 * does not accept, so the caller can name it in an error.
 */
export interface LabelRule {
  /** Plain description for messages, e.g. "every nonzero value is lesion". */
  description: string
  classOf(value: number): number | undefined
  /** Classes every label file must contain: right and left lung for a 3-class lung task. */
  requiredClasses?: number[]
}

/** Returns the rule for a run: `--label-value` when given, else the task's default. */
export function runLabelRule(task: Task, classCount: number, labelValues: readonly number[] | undefined): LabelRule {
  const target = task === 'lesion' ? 'lesion' : 'lung'
  if (labelValues !== undefined && labelValues.length > 0) {
    if (classCount !== 2) {
      throw new InputError('--label-value selects one target class, so it works with 2-class tasks only; for right and left lung use a label_map column in the manifest')
    }
    const values = new Set(labelValues)
    return {
      description: `label value${values.size > 1 ? 's' : ''} ${[...values].join(', ')} ${values.size > 1 ? 'are' : 'is'} ${target}, all others background`,
      classOf: (value) => (values.has(value) ? 1 : 0),
    }
  }
  if (classCount === 3) {
    return {
      description: 'value 1 is the right lung and 2 the left lung',
      classOf: (value) => (value === 0 || value === 1 || value === 2 ? value : undefined),
      requiredClasses: [1, 2],
    }
  }
  return { description: `every nonzero value is ${target}`, classOf: (value) => (value === 0 ? 0 : 1) }
}

/**
 * Parses a manifest `label_map` field ("1:2 2:1 3:0", pairs separated by spaces or
 * semicolons) into a rule for a task with `classCount` classes. Throws InputError naming
 * `where` for a malformed field.
 */
export function parseLabelMap(text: string, task: Task, classCount: number, where: string): LabelRule {
  const maxClass = task === 'lung' ? 2 : 1
  const map = new Map<number, number>()
  for (const pair of text.split(/[\s;]+/).filter((part) => part !== '')) {
    const match = /^(\d+):(\d+)$/.exec(pair)
    if (match === null) {
      throw new InputError(`${where}: label_map entry "${pair}" is not value:class (e.g. "1:1 2:1 3:0")`)
    }
    const value = Number(match[1])
    const mapped = Number(match[2])
    if (mapped > maxClass) {
      const classes = task === 'lung' ? '0 background, 1 right lung, 2 left lung' : '0 background, 1 lesion'
      throw new InputError(`${where}: label_map maps value ${value} to class ${mapped}, but ${task} classes are ${classes}`)
    }
    map.set(value, classCount === 2 && mapped > 0 ? 1 : mapped)
  }
  if (map.size === 0) throw new InputError(`${where}: label_map is empty; leave the field blank to use the task's default`)
  map.set(0, map.get(0) ?? 0)
  return {
    description: `label_map ${text.trim()}`,
    classOf: (value) => map.get(value),
    ...(classCount === 3 ? { requiredClasses: [1, 2] } : {}),
  }
}

/** Distinct values of a label volume with their voxel counts. */
export function labelValueCounts(data: ArrayLike<number>): Map<number, number> {
  const counts = new Map<number, number>()
  let previous = NaN
  let previousCount = 0
  // Label volumes are long runs of one value, so counting runs keeps the Map work small.
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!
    if (value === previous) {
      previousCount++
      continue
    }
    if (previousCount > 0) counts.set(previous, (counts.get(previous) ?? 0) + previousCount)
    previous = value
    previousCount = 1
  }
  if (previousCount > 0) counts.set(previous, (counts.get(previous) ?? 0) + previousCount)
  return counts
}

/**
 * Checks every value of a label volume against a rule and returns a lookup table from value to
 * class. Returns an error message (without the row) instead when a value is not an integer,
 * negative, or not accepted by the rule.
 */
export function buildClassLookup(counts: Map<number, number>, rule: LabelRule): { lookup: Map<number, number> } | { error: string } {
  const values = [...counts.keys()].sort((a, b) => a - b)
  const invalid = values.filter((value) => !Number.isInteger(value) || value < 0)
  if (invalid.length > 0) {
    return { error: `label values must be non-negative integers, found ${describeValues(invalid)}; is this a label map and not an image?` }
  }
  const lookup = new Map<number, number>()
  const rejected: number[] = []
  for (const value of values) {
    const mapped = rule.classOf(value)
    if (mapped === undefined) rejected.push(value)
    else lookup.set(value, mapped)
  }
  if (rejected.length > 0) {
    return {
      error:
        `unexpected label value${rejected.length > 1 ? 's' : ''} ${describeValues(rejected)} (rule: ${rule.description}); ` +
        'list every value in the row\'s label_map column (map a value to 0 to ignore it) or choose the target with --label-value',
    }
  }
  const missing = (rule.requiredClasses ?? []).filter((c) => ![...lookup.values()].includes(c))
  if (missing.length > 0) {
    return {
      error:
        `no voxel of class ${missing.join(' or ')} (rule: ${rule.description}); a label with right and left lung needs both, ` +
        'so a label without sides suits --lung-classes 2 only',
    }
  }
  return { lookup }
}

function describeValues(values: number[]): string {
  const shown = values.slice(0, 6).map((v) => (Number.isInteger(v) ? String(v) : v.toPrecision(4)))
  return values.length > 6 ? `${shown.join(', ')} and ${values.length - 6} more` : shown.join(', ')
}
