import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { TrainingCase } from '../../src/train/dataset.js'
import { SliceSampler } from '../../src/train/sampler.js'

/** A case of `slices` slices whose first `withTarget` slices hold the target (no pixel data). */
function fakeCase(slices: number, withTarget: number): TrainingCase {
  const hasTarget = new Uint8Array(slices)
  hasTarget.fill(1, 0, withTarget)
  return { sliceCount: slices, hasTarget } as unknown as TrainingCase
}

// 100 slices of which 10 hold the target: drawn uniformly, a batch of 8 would hold 0.8 on average.
const CASES = [fakeCase(60, 6), fakeCase(40, 4)]

test('sampler half of each batch with target', () => {
  const sampler = new SliceSampler(CASES, { targetFraction: 0.5, seed: 1 })
  const batches = sampler.epochBatches(0, 8, sampler.stepsPerEpoch(8))
  assert.equal(batches.length, 13)
  for (const batch of batches) {
    const positives = batch.filter((ref) => CASES[ref.caseIndex]!.hasTarget[ref.slice] === 1).length
    assert.equal(positives, 4)
    assert.equal(batch.length, 8)
  }
})

test('sampler fraction option', () => {
  const sampler = new SliceSampler(CASES, { targetFraction: 0.25, seed: 1 })
  const [batch] = sampler.epochBatches(0, 8, 1)
  assert.equal(batch!.filter((ref) => CASES[ref.caseIndex]!.hasTarget[ref.slice] === 1).length, 2)
})

test('sampler sees every target slice before repeats', () => {
  const sampler = new SliceSampler(CASES, { targetFraction: 0.5, seed: 4 })
  const firstTen = sampler.epochBatches(0, 4, 5).flat().filter((ref) => CASES[ref.caseIndex]!.hasTarget[ref.slice] === 1)
  // Five batches of four take ten target slices: the whole pool, each once.
  assert.equal(new Set(firstTen.map((ref) => `${ref.caseIndex}:${ref.slice}`)).size, 10)
})

test('sampler repeatable per epoch', () => {
  const a = new SliceSampler(CASES, { targetFraction: 0.5, seed: 9 })
  const b = new SliceSampler(CASES, { targetFraction: 0.5, seed: 9 })
  assert.deepEqual(b.epochBatches(3, 8, 4), a.epochBatches(3, 8, 4))
  assert.notDeepEqual(a.epochBatches(4, 8, 4), a.epochBatches(3, 8, 4))
})

test('sampler without empty slices', () => {
  const sampler = new SliceSampler([fakeCase(5, 5)], { targetFraction: 0.5, seed: 1 })
  const [batch] = sampler.epochBatches(0, 4, 1)
  assert.equal(batch!.length, 4)
})

test('sampler steps cap', () => {
  const sampler = new SliceSampler(CASES, { targetFraction: 0.5, seed: 1 })
  assert.equal(sampler.stepsPerEpoch(32), 4)
  assert.equal(sampler.stepsPerEpoch(32, 2), 2)
})
