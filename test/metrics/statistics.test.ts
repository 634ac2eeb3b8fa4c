import assert from 'node:assert/strict'
import { test } from 'node:test'
import { studentTQuantile, summarize } from '../../src/metrics/statistics.js'

const close = (actual: number, expected: number, tolerance: number): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} vs ${expected}`)

test('t quantiles from printed tables', () => {
  // Two-sided 95 % critical values t(0.975, ν) from standard t tables.
  close(studentTQuantile(0.975, 1), 12.7062, 1e-4)
  close(studentTQuantile(0.975, 2), 4.3027, 1e-4)
  close(studentTQuantile(0.975, 4), 2.7764, 1e-4)
  close(studentTQuantile(0.975, 9), 2.2622, 1e-4)
  close(studentTQuantile(0.975, 30), 2.0423, 1e-4)
  close(studentTQuantile(0.025, 5), -2.5706, 1e-4)
})

test('summary of four values', () => {
  // 1, 2, 3, 4: mean 2.5, SD √(5/3), half-width t(0.975, 3) · SD / 2 = 3.18245 · 1.29099 / 2 = 2.05426.
  const summary = summarize([1, 2, 3, 4])
  assert.equal(summary.count, 4)
  assert.equal(summary.minimum, 1)
  assert.equal(summary.maximum, 4)
  assert.equal(summary.mean, 2.5)
  close(summary.standardDeviation, Math.sqrt(5 / 3), 1e-12)
  close(summary.confidenceInterval95[0], 2.5 - 2.05426, 1e-4)
  close(summary.confidenceInterval95[1], 2.5 + 2.05426, 1e-4)
})

test('summary skips undefined values', () => {
  const summary = summarize([2, NaN, 4])
  assert.equal(summary.count, 2)
  assert.equal(summary.missing, 1)
  assert.equal(summary.mean, 3)
})

test('summary of one value', () => {
  const summary = summarize([7])
  assert.equal(summary.mean, 7)
  assert.ok(Number.isNaN(summary.standardDeviation))
  assert.ok(Number.isNaN(summary.confidenceInterval95[0]))
})
