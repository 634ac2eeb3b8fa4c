import { existsSync, writeFileSync } from 'node:fs'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { readVolume } from '../io/read.js'
import { checkOutputLocation, checkOutputsDistinct, writeFilesTogether } from '../io/write.js'
import { assertLabelVolume } from '../metrics/mask.js'
import { computeRadiomics } from '../metrics/radiomics/radiomics.js'
import { formatCsv, formatCsvNumber } from '../report/csv.js'
import { formatNumber } from '../report/svg-charts.js'
import { checkHounsfieldUnits } from '../pipeline/input-checks.js'

const USAGE = `Usage: colinet radiomics --ct CT --mask MASK [options]

Computes the 18 first-order and 14 3D shape radiomic features of a mask's region, with the names
and definitions of PyRadiomics (original_firstorder_*, original_shape_*).

Options:
  --ct FILE              image (CT in HU), NIfTI, NRRD or MHA
  --mask FILE            label mask on the CT grid; any non-zero voxel is in the region
  --label N              use only voxels equal to N
  --bin-width W          grey-level bin width for Entropy and Uniformity, HU (default 25)
  --voxel-array-shift C  value added before Energy, TotalEnergy and RootMeanSquared (default 0)
  --json                 print JSON instead of a table
  -o, --output FILE      also write the features to FILE: .csv (a header row, then one row with
                         the CT, mask and label and a column per feature) or .json
  --force                overwrite an existing output file
  -h, --help             print this help`

/** Runs `colinet radiomics`; returns the exit status. */
export async function runRadiomicsCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      ct: { type: 'string' },
      mask: { type: 'string' },
      label: { type: 'string' },
      'bin-width': { type: 'string' },
      'voxel-array-shift': { type: 'string' },
      json: { type: 'boolean', default: false },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (values.ct === undefined || values.mask === undefined) throw new InputError(`missing --ct or --mask\n\n${USAGE}`)
  for (const path of [values.ct, values.mask]) {
    if (!existsSync(path)) throw new InputError(`file not found: ${path}`)
  }
  const number = (name: 'label' | 'bin-width' | 'voxel-array-shift'): number | undefined => {
    const text = values[name]
    if (text === undefined) return undefined
    const parsed = Number(text)
    if (text.trim() === '' || !Number.isFinite(parsed)) throw new InputError(`--${name}: expected a number, got ${text}`)
    return parsed
  }
  const binWidth = number('bin-width') ?? 25
  if (binWidth <= 0) throw new InputError(`--bin-width: expected a positive width in HU, got ${binWidth}`)
  const output = values.output
  if (output !== undefined) {
    if (!/\.(csv|json)$/i.test(output)) throw new InputError(`-o expects a .csv or .json file name, got ${output}`)
    if (existsSync(output) && !values.force) throw new InputError(`${output} already exists; add --force to overwrite it`)
    checkOutputLocation(output)
    checkOutputsDistinct([{ option: '-o', path: output }], [{ option: '--ct', path: values.ct }, { option: '--mask', path: values.mask }])
  }

  const ct = (await readVolume(values.ct)).volume
  let warnings: string[]
  try {
    warnings = checkHounsfieldUnits(ct).map((warning) => `--ct ${values.ct}: ${warning}`)
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`--ct ${values.ct}: ${error.message}`)
    throw error
  }
  const mask = (await readVolume(values.mask)).volume
  assertLabelVolume(mask, `mask ${values.mask}`)
  const label = number('label')
  const features = computeRadiomics(ct, mask, { label, binWidth, voxelArrayShift: number('voxel-array-shift') ?? 0 })
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`)

  if (output !== undefined) {
    const content = output.toLowerCase().endsWith('.json')
      ? `${JSON.stringify({ ct: values.ct, mask: values.mask, label: label ?? null, features }, null, 2)}\n`
      : formatCsv([
          ['ct', 'mask', 'label', ...Object.keys(features)],
          [values.ct, values.mask, label, ...Object.values(features).map((value) => formatCsvNumber(value, { significantDigits: 10 }))],
        ])
    await writeFilesTogether([{ path: output, write: async (temporaryPath) => writeFileSync(temporaryPath, content) }], { force: values.force })
  }

  if (values.json) {
    console.log(JSON.stringify(features, null, 2))
  } else {
    const width = Math.max(...Object.keys(features).map((name) => name.length))
    for (const [name, value] of Object.entries(features)) console.log(`${name.padEnd(width)}  ${formatNumber(value, 8)}`)
  }
  return 0
}
