import { resolve } from 'node:path'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { describeRows, writeManifest, type Importer } from '../train/importers/common.js'
import { medsegImporter } from '../train/importers/medseg.js'
import { mosmedImporter } from '../train/importers/mosmed.js'
import { zenodoCovidImporter } from '../train/importers/zenodo-covid.js'
import { TASKS, type Task } from '../train/labels.js'

const IMPORTERS: readonly Importer[] = [medsegImporter, zenodoCovidImporter, mosmedImporter]

export const IMPORT_USAGE = `Usage: colinet import <dataset> <folder> --task <lung|lesion> -o <manifest.csv> [options]

Lists the CTs and labels of a downloaded public data set in a training manifest for
colinet train, with patient ids, centres and the label_map that gives which label values are
lung or lesion. The data stay where they are; the manifest points at them.

Data sets:
${IMPORTERS.map((i) => `  ${i.name.padEnd(14)}${i.description}`).join('\n')}
docs/training.md lists the folder layout each importer expects and what it assumes.

Options:
      --task <name>        lung or lesion: which masks to list (required)
  -o, --output <file>      manifest CSV to write (paths in it are relative to its folder)
      --force              overwrite an existing manifest
  -q, --quiet              print no notes on stderr
  -h, --help               print this help`

/** Runs `colinet import`; returns the exit status. */
export async function runImportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      task: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(`${IMPORT_USAGE}\n`)
    return 0
  }
  const [name, folder, ...rest] = positionals
  const importer = IMPORTERS.find((i) => i.name === name)
  if (importer === undefined) {
    throw new InputError(`${name === undefined ? 'missing data set name' : `unknown data set "${name}"`}; expected one of ${IMPORTERS.map((i) => i.name).join(', ')}`)
  }
  if (folder === undefined) throw new InputError(`missing the ${importer.name} folder; see colinet import --help`)
  if (rest.length > 0) throw new InputError(`unexpected argument ${rest[0]}; colinet import takes one data set and one folder`)
  const task = values.task as Task | undefined
  if (task === undefined) throw new InputError('import needs --task lung or --task lesion: which masks to list')
  if (!TASKS.includes(task)) throw new InputError(`--task expects lung or lesion, got "${task}"`)
  if (values.output === undefined) throw new InputError('missing -o <manifest.csv>; see colinet import --help')

  const log = (message: string) => {
    if (!values.quiet) process.stderr.write(`${message}\n`)
  }
  const result = await importer.importFolder(resolve(folder), task, log)
  for (const note of result.notes) log(`note: ${note}`)
  const output = resolve(values.output)
  writeManifest(output, result.rows, values.force === true)
  process.stdout.write(`wrote ${output}: ${describeRows(result.rows)}\n`)
  return 0
}
