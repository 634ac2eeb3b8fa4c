import { spawnSync } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs `colinet <args>` from the sources in a child process and captures its output. */
export function runColinet(args: string[], timeoutMs = 120_000): CliRun {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'test/support/colinet-entry.ts'), ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}
