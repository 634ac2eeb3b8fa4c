import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Folder of the read-only real CT data, beside the project (`../shared/data`). */
export const sharedDataRoot = resolve(projectRoot, '..', 'shared', 'data')

/** Absolute path of a file or folder under the shared data folder. */
export function sharedDataPath(relative: string): string {
  return join(sharedDataRoot, relative)
}

/**
 * Returns the path of a shared data file, or skips the test with a message when it is absent.
 * Under CI (CI=true) a missing file fails the test instead, so CI never passes by skipping.
 */
export function requireSharedData(t: TestContext, relative: string): string | undefined {
  const path = sharedDataPath(relative)
  if (existsSync(path)) return path
  if (process.env.CI === 'true') {
    throw new Error(`shared test data not found: ${path} (CI must run the real-data tests)`)
  }
  t.skip(`skipped: shared test data not found at ${path}`)
  return undefined
}
