import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { StagedOutput } from '../../src/io/output-folder.js'
import { requireSharedData } from '../support/data.js'

const root = mkdtempSync(join(tmpdir(), 'colinet-staging-'))
after(() => rmSync(root, { recursive: true, force: true }))

test('staging folders of ended runs are removed', () => {
  const folder = join(root, 'stale')
  // Linux process ids stay below 2^22, so this one cannot run; the parent of this test runs.
  const ended = join(folder, '.colinet-partial-4194305')
  const running = join(folder, `.colinet-partial-${process.ppid}`)
  mkdirSync(ended, { recursive: true })
  mkdirSync(running, { recursive: true })
  writeFileSync(join(ended, 'lung.nii.gz'), 'half-written')

  const output = new StagedOutput(folder, ['report.json'], false)
  writeFileSync(output.pathFor('report.json'), '{}')
  output.commit()
  assert.equal(existsSync(ended), false)
  assert.equal(existsSync(running), true)
  assert.equal(existsSync(join(folder, 'report.json')), true)
})

test('segment stopped by SIGTERM leaves no output', async (t) => {
  const input = requireSharedData(t, 'ct/cip/ct-64.nrrd')
  if (input === undefined) return
  const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const output = join(root, 'terminated')
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'test/support/colinet-entry.ts'), 'segment', input, '-o', output], {
    cwd: projectRoot,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  // The first progress line of the lung network comes after the output folder is staged.
  let signalled = false
  child.stderr.on('data', (chunk: Buffer) => {
    if (!signalled && chunk.toString().includes('lung network')) {
      signalled = true
      child.kill('SIGTERM')
    }
  })
  const status = await new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  assert.equal(status, 143)
  assert.equal(existsSync(output), false)
})
