import { existsSync, writeFileSync } from 'node:fs'
import { parseCommandLine } from './arguments.js'
import { InputError } from '../errors.js'
import { readVolume, volumeFormatOf } from '../io/read.js'
import { checkOutputLocation, checkOutputsDistinct, volumeFile, writeFilesTogether } from '../io/write.js'
import { checkHounsfieldUnits } from '../pipeline/input-checks.js'
import { encodePng } from '../report/png.js'
import { renderLungOverlay } from '../sim/label-overlay.js'
import { labelLungs } from '../sim/label-lungs.js'

export const LABEL_LUNGS_USAGE = `Usage: colinet label-lungs <ct> -o <lung.nii.gz> [options]

Labels the lungs of a chest CT with a classical threshold, region-growing and morphology
pipeline (no network): 1 = right lung, 2 = left lung, on the input's grid. Meant for making
training labels; look at the overlay before trusting a label.
<ct> is a NIfTI (.nii, .nii.gz), NRRD (.nrrd) or MetaImage (.mha) file, or a folder of DICOM files.

Options:
  -o, --output <file>        lung label file (.nii.gz, .nii, .nrrd or .mha)
      --overlay <file.png>   also write axial and coronal overlay images
      --threshold <HU>       voxels below this count as air or lung (default -400)
      --closing-radius <mm>  closing radius that takes in vessels and dense regions at the
                             lung border (default 5)
      --series <uid>         SeriesInstanceUID to read from a DICOM folder
      --force                overwrite existing output files
  -h, --help                 print this help`

export async function runLabelLungsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    options: {
      output: { type: 'string', short: 'o' },
      overlay: { type: 'string' },
      threshold: { type: 'string' },
      'closing-radius': { type: 'string' },
      series: { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help) {
    console.log(LABEL_LUNGS_USAGE)
    return 0
  }
  if (positionals.length !== 1) {
    throw new InputError(`label-lungs expects one input (a CT file or DICOM folder), got ${positionals.length}; see colinet label-lungs --help`)
  }
  const output = values.output
  if (output === undefined) throw new InputError('label-lungs needs an output file: add -o lung.nii.gz')
  if (volumeFormatOf(output) === undefined || volumeFormatOf(output) === 'DICOM') {
    throw new InputError(`cannot write ${output}: expected a .nii.gz, .nii, .nrrd or .mha file name`)
  }
  if (values.overlay !== undefined && !values.overlay.toLowerCase().endsWith('.png')) {
    throw new InputError(`--overlay expects a .png file name, got ${values.overlay}`)
  }
  const outputs = [{ option: '-o', path: output }, ...(values.overlay === undefined ? [] : [{ option: '--overlay', path: values.overlay }])]
  checkOutputsDistinct(outputs, [{ option: 'the CT', path: positionals[0]! }])
  for (const { path } of outputs) {
    if (existsSync(path) && !values.force) throw new InputError(`${path} already exists; add --force to overwrite it`)
    checkOutputLocation(path)
  }
  const thresholdHu = parseNumber(values.threshold, '--threshold', -400)
  const closingRadiusMm = parseNumber(values['closing-radius'], '--closing-radius', 5)
  if (closingRadiusMm < 0) throw new InputError(`--closing-radius expects a length >= 0 mm, got ${closingRadiusMm}`)

  const input = await readVolume(positionals[0], { seriesUid: values.series })
  const warnings = [...input.warnings, ...checkHounsfieldUnits(input.volume)]
  const result = labelLungs(input.volume, { thresholdHu, closingRadiusMm })
  warnings.push(...result.warnings)
  if (!result.lung.data.some((label) => label !== 0)) {
    throw new InputError(`no lung found in ${positionals[0]}: no air region below ${thresholdHu} HU enclosed by the body; expected a chest CT that includes the lungs`)
  }

  const overlayPng = values.overlay === undefined ? undefined : encodePng(renderLungOverlay(input.volume, result.lung.data))
  const files = [volumeFile(output, result.lung)]
  if (values.overlay !== undefined && overlayPng !== undefined) {
    files.push({ path: values.overlay, write: async (temporaryPath) => writeFileSync(temporaryPath, overlayPng) })
  }
  await writeFilesTogether(files, { force: values.force })

  const counts = [0, 0, 0]
  for (const label of result.lung.data) counts[label]++
  const [sx, sy, sz] = input.volume.spacingMm
  const voxelMl = (sx * sy * sz) / 1000
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`)
  console.log(`${input.description}: right lung ${(counts[1] * voxelMl).toFixed(0)} mL, left lung ${(counts[2] * voxelMl).toFixed(0)} mL -> ${output}`)
  return 0
}

function parseNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value)) throw new InputError(`${option} expects a number, got "${text}"`)
  return value
}
