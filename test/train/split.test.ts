import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InputError } from '../../src/errors.js'
import { splitPatients } from '../../src/train/split.js'

const PATIENTS = Array.from({ length: 10 }, (_, i) => `p${i}`)
// Each patient has three rows (three CTs or repeated rows), in manifest order.
const ROWS = PATIENTS.flatMap((p) => [p, p, p])

test('split keeps each patient on one side', () => {
  const split = splitPatients(ROWS, { seed: 3 })
  const validation = new Set(split.validation)
  for (const patient of split.training) assert.equal(validation.has(patient), false, `${patient} on both sides`)
  assert.equal(split.training.length + split.validation.length, 10)
})

test('split 80/20 of patients', () => {
  const split = splitPatients(ROWS, { seed: 3 })
  assert.equal(split.validation.length, 2)
  assert.equal(split.training.length, 8)
})

test('split fraction option', () => {
  const split = splitPatients(ROWS, { seed: 3, validationFraction: 0.3 })
  assert.equal(split.validation.length, 3)
})

test('split repeatable for a seed', () => {
  const first = splitPatients(ROWS, { seed: 11 })
  const shuffledOrder = [...ROWS].reverse()
  const second = splitPatients(shuffledOrder, { seed: 11 })
  assert.deepEqual(second, first)
})

test('split differs between seeds', () => {
  const chosen = new Set<string>()
  for (let seed = 1; seed <= 8; seed++) chosen.add(splitPatients(ROWS, { seed }).validation.join(','))
  assert.ok(chosen.size > 1, 'eight seeds chose the same validation patients')
})

test('split keeps one training patient', () => {
  const split = splitPatients(['a', 'b'], { validationFraction: 0.9 })
  assert.equal(split.training.length, 1)
  assert.equal(split.validation.length, 1)
})

test('split explicit validation patients', () => {
  const split = splitPatients(ROWS, { validationPatients: ['p7', 'p2'] })
  assert.deepEqual(split.validation, ['p2', 'p7'])
  assert.equal(split.training.includes('p2'), false)
  assert.equal(split.training.length, 8)
})

test('split unknown validation patient', () => {
  assert.throws(() => splitPatients(ROWS, { validationPatients: ['p99'] }), (error: unknown) => error instanceof InputError && /p99, not in the manifest/.test(error.message))
})

test('split needs two patients', () => {
  assert.throws(() => splitPatients(['a', 'a']), /found 1 patient/)
})
