import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { requireSharedData } from '../support/data.js'

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const STRACE = '/usr/bin/strace'

test('segment opens no network connection', (t) => {
  if (!existsSync(STRACE)) {
    t.skip(`${STRACE} is not installed, so the connections of segment cannot be traced`)
    return
  }
  // The shipped models on a real scan: a run of a few seconds on a tiny volume with HU-band
  // models makes no lookup even with the telemetry on, so it would not show the fault.
  const input = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  if (input === undefined) return
  const folder = mkdtempSync(join(tmpdir(), 'colinet-network-'))
  try {
    const log = join(folder, 'strace.log')

    // ONNX Runtime skips its telemetry when CI is set, as it is in CI runs, so the child runs
    // without it (and without ORT_DISABLE_TELEMETRY) like a user's shell.
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' }
    delete env.CI
    delete env.ORT_DISABLE_TELEMETRY
    const run = spawnSync(STRACE, ['-f', '-e', 'trace=connect', '-o', log, process.execPath, '--import', 'tsx',
      join(projectRoot, 'test/support/colinet-entry.ts'), 'segment', input, '-o', join(folder, 'out'), '--quiet', '--threads', '1'],
      { cwd: projectRoot, encoding: 'utf8', env, timeout: 120_000 })
    assert.equal(run.status, 0, run.stderr)

    // Local sockets (AF_UNIX) are allowed; an IPv4 or IPv6 connect, a DNS lookup included, is not.
    const connects = readFileSync(log, 'utf8').split('\n').filter((line) => /connect\(\d+, \{sa_family=AF_INET6?,/.test(line))
    assert.deepEqual(connects, [])
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})
