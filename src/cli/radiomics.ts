import { existsSync } from 'node:fs'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { readVolume } from '../io/read.js'
import { assertLabelVolume } from '../metrics/mask.js'
import { computeRadiomics } from '../metrics/radiomics/radiomics.js'
import { formatNumber } from '../report/svg-charts.js'

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

  const ct = (await readVolume(values.ct)).volume
  const mask = (await readVolume(values.mask)).volume
  assertLabelVolume(mask, `mask ${values.mask}`)
  const features = computeRadiomics(ct, mask, { label: number('label'), binWidth, voxelArrayShift: number('voxel-array-shift') ?? 0 })

  if (values.json) {
    console.log(JSON.stringify(features, null, 2))
  } else {
    const width = Math.max(...Object.keys(features).map((name) => name.length))
    for (const [name, value] of Object.entries(features)) console.log(`${name.padEnd(width)}  ${formatNumber(value, 8)}`)
  }
  return 0
}
