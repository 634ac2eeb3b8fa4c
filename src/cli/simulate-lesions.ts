import { existsSync } from 'node:fs'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { readVolume, volumeFormatOf } from '../io/read.js'
import { checkOutputLocation, checkOutputsDistinct, volumeFile, writeFilesTogether } from '../io/write.js'
import { checkHounsfieldUnits } from '../pipeline/input-checks.js'
import { simulateLesions } from '../sim/lesions.js'

export const SIMULATE_LESIONS_USAGE = `Usage: colinet simulate-lesions <ct> --lung <lung mask> -o <ct out> --lesion-output <mask out> [options]

Inserts simulated COVID-19 pneumonia into the lungs of a CT: peripheral, subpleural, bilateral,
multifocal and lower-lobe predominant ground glass, crazy paving and consolidation (with air
bronchograms). Writes the CT with lesions (int16 HU) and an exact lesion mask (1 = lesion),
both on the input's grid.
<ct> is a NIfTI (.nii, .nii.gz), NRRD (.nrrd) or MetaImage (.mha) file, or a folder of DICOM
files; <lung mask> is a mask on the same grid (nonzero = lung), e.g. from colinet label-lungs.

Options:
      --lung <file>            lung mask of the CT
  -o, --output <file>          CT with lesions (.nii.gz, .nii, .nrrd or .mha)
      --lesion-output <file>   lesion mask (.nii.gz, .nii, .nrrd or .mha)
      --percent <p>            percentage of the lung volume to affect, 0.5 to 90 (default 15)
      --consolidation <f>      fraction of the lesion volume that is consolidation (default 0.25)
      --crazy-paving <f>       fraction of the ground glass with crazy paving (default 0.25)
      --seed <n>               random seed (default 1)
      --series <uid>           SeriesInstanceUID to read from a DICOM folder
      --force                  overwrite existing output files
  -h, --help                   print this help`

export async function runSimulateLesionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    options: {
      lung: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'lesion-output': { type: 'string' },
      percent: { type: 'string' },
      consolidation: { type: 'string' },
      'crazy-paving': { type: 'string' },
      seed: { type: 'string' },
      series: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help) {
    console.log(SIMULATE_LESIONS_USAGE)
    return 0
  }
  if (positionals.length !== 1) {
    throw new InputError(`simulate-lesions expects one input CT, got ${positionals.length}; see colinet simulate-lesions --help`)
  }
  if (values.lung === undefined) throw new InputError('simulate-lesions needs the lung mask: add --lung lung.nii.gz')
  const outputs = [
    ['-o', values.output],
    ['--lesion-output', values['lesion-output']],
  ] as const
  for (const [option, path] of outputs) {
    if (path === undefined) throw new InputError(`simulate-lesions needs ${option} <file>`)
    const format = volumeFormatOf(path)
    if (format === undefined || format === 'DICOM') throw new InputError(`cannot write ${path}: expected a .nii.gz, .nii, .nrrd or .mha file name`)
  }
  const inputs = [{ option: 'the CT', path: positionals[0]! }, { option: '--lung', path: values.lung }]
  checkOutputsDistinct(outputs.map(([option, path]) => ({ option, path: path! })), inputs)
  for (const [, path] of outputs) {
    if (existsSync(path!) && !values.force) throw new InputError(`${path} already exists; add --force to overwrite it`)
    checkOutputLocation(path!)
  }

  const options = {
    targetPercent: parseNumber(values.percent, '--percent', 15),
    consolidationFraction: parseNumber(values.consolidation, '--consolidation', 0.25),
    crazyPavingFraction: parseNumber(values['crazy-paving'], '--crazy-paving', 0.25),
    seed: parseNumber(values.seed, '--seed', 1),
  }
  const input = await readVolume(positionals[0], { seriesUid: values.series })
  const warnings = [...input.warnings, ...checkHounsfieldUnits(input.volume)]
  const lung = (await readVolume(values.lung)).volume
  const result = simulateLesions(input.volume, lung, options)

  await writeFilesTogether([volumeFile(values.output!, result.ct), volumeFile(values['lesion-output']!, result.lesion)], { force: values.force })
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`)
  console.log(`${result.affectedPercent.toFixed(1)}% of the lung affected (${result.focusCount} foci) -> ${values.output}, ${values['lesion-output']}`)
  return 0
}

function parseNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value)) throw new InputError(`${option} expects a number, got "${text}"`)
  return value
}
