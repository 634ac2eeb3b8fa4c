import { readFileSync } from 'node:fs'

/** colinet's version, from the package.json at the package root. */
export const COLINET_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version
