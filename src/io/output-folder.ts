import { existsSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { InputError } from '../errors.js'
import { createFolder, realPathOfNewPath } from './write.js'

/**
 * A set of output files written into a hidden staging folder inside the output folder and moved
 * into place only when all of them are complete, so a run that fails leaves no partial output.
 */
export class StagedOutput {
  private readonly stagingFolder: string
  private readonly createdFolder: boolean
  private committed = false

  /**
   * Checks that none of `fileNames` exists in `folder` (unless `force`) before any work starts,
   * and creates the folder and its staging area.
   */
  /**
   * `staleFileNames` are earlier outputs that the new files replace under other names, such as
   * masks in the other format. With `force` they are removed on commit, so no old mask is left
   * beside a new report.
   */
  constructor(
    readonly folder: string,
    private readonly fileNames: readonly string[],
    private readonly force: boolean,
    private readonly staleFileNames: readonly string[] = [],
  ) {
    StagedOutput.checkWritable(folder, fileNames, force, staleFileNames)
    this.createdFolder = !existsSync(folder)
    createFolder(folder)
    removeStaleStagingFolders(folder)
    this.stagingFolder = join(folder, `${STAGING_PREFIX}${process.pid}`)
    createFolder(this.stagingFolder)
  }

  /**
   * Throws InputError when the folder is a file, or contains one of the files or of the stale
   * files and `force` is off (a stale file left beside new outputs would look like one of them).
   */
  static checkWritable(folder: string, fileNames: readonly string[], force: boolean, staleFileNames: readonly string[] = []): void {
    if (existsSync(folder) && !statSync(folder).isDirectory()) {
      throw new InputError(`output path ${folder} is a file; expected a folder (or a path that does not exist yet)`)
    }
    if (force) return
    const existing = fileNames.filter((name) => existsSync(join(folder, name)))
    const stale = staleFileNames.filter((name) => existsSync(join(folder, name)))
    if (existing.length > 0 || stale.length > 0) {
      const staleNote = stale.length > 0 ? `${existing.length > 0 ? ' and ' : ''}${stale.join(', ')} (earlier outputs in the other format, which --force removes)` : ''
      throw new InputError(`output folder ${folder} already has ${existing.join(', ')}${staleNote}; use --force to overwrite, or choose another folder with -o`)
    }
  }

  /** Path at which to write one of the declared files before commit(). */
  pathFor(fileName: string): string {
    if (!this.fileNames.includes(fileName)) throw new Error(`StagedOutput: ${fileName} was not declared`)
    return join(this.stagingFolder, fileName)
  }

  /** Moves every staged file into the output folder and removes the staging folder. */
  commit(): void {
    for (const name of this.fileNames) {
      const staged = join(this.stagingFolder, name)
      if (!existsSync(staged)) throw new Error(`StagedOutput: ${name} was declared but not written`)
    }
    for (const name of this.fileNames) renameSync(join(this.stagingFolder, name), join(this.folder, name))
    if (this.force) for (const name of this.staleFileNames) rmSync(join(this.folder, name), { force: true })
    rmSync(this.stagingFolder, { recursive: true, force: true })
    this.committed = true
  }

  /** Removes staged files, and the output folder itself if this run created it and it is empty. */
  abort(): void {
    if (this.committed) return
    rmSync(this.stagingFolder, { recursive: true, force: true })
    if (this.createdFolder && existsSync(this.folder) && readdirSync(this.folder).length === 0) rmSync(this.folder, { recursive: true })
  }
}

/**
 * Throws InputError when one of `fileNames` in `folder` is the input file itself (the same file
 * through any path, symbolic or hard link), because writing the outputs, or removing earlier ones
 * with --force, would then destroy the input. A folder input is never one of the files.
 */
export function checkOutputsSpareInput(folder: string, fileNames: readonly string[], input: string): void {
  if (!existsSync(input) || statSync(input).isDirectory()) return
  const inputFile = statSync(input)
  for (const name of fileNames) {
    const path = join(folder, name)
    if (!existsSync(path)) continue
    const output = statSync(path)
    if (output.dev === inputFile.dev && output.ino === inputFile.ino) {
      throw new InputError(`the input ${input} is ${name} in the output folder ${folder}, which this run would overwrite or remove, also with --force; choose another folder with -o, or rename the input`)
    }
  }
}

/**
 * Throws InputError when the output folder is a DICOM input folder or lies inside it, where the
 * masks and reports would be mixed with the slices of the series. A file input may share its
 * folder with the outputs.
 */
export function checkOutputOutsideInputFolder(folder: string, input: string): void {
  if (!existsSync(input) || !statSync(input).isDirectory()) return
  const inputFolder = realpathSync(input)
  const output = realPathOfNewPath(folder)
  if (output === inputFolder || output.startsWith(`${inputFolder}${sep}`)) {
    throw new InputError(
      `the output folder ${folder} lies inside the DICOM folder ${input} that segment reads, so the masks and reports would be mixed with its slices; choose an output folder outside it`,
    )
  }
}

const STAGING_PREFIX = '.colinet-partial-'

/**
 * Removes the staging folders that runs killed without a chance to clean up (SIGKILL, power loss)
 * left in `folder`: those whose process id no longer runs. Folders of running processes stay.
 */
function removeStaleStagingFolders(folder: string): void {
  for (const name of readdirSync(folder)) {
    if (!name.startsWith(STAGING_PREFIX)) continue
    const pid = Number(name.slice(STAGING_PREFIX.length))
    if (Number.isInteger(pid) && pid > 0 && !processIsRunning(pid)) rmSync(join(folder, name), { recursive: true, force: true })
  }
}

function processIsRunning(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without affecting it.
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
