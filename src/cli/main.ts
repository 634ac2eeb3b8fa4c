import { InputError, INPUT_ERROR_EXIT_CODE } from '../errors.js'
import { COLINET_VERSION } from './version.js'

const USAGE = `colinet ${COLINET_VERSION}: lung and COVID-19 pneumonia lesion segmentation in chest CT

Usage: colinet <command> [options]     (colinet <command> --help for its options)

Commands:
  segment <ct> -o <folder>   segment the lungs and lesions of a CT and measure them
  demo                       run segment on a built-in synthetic chest CT and score it against its truth
  evaluate                   compare segmentations with a reference: one case or a multi-centre cohort
  radiomics                  extract first-order and shape radiomic features of a mask
  train                      train the lung network, or fine-tune the lesion network from it
  import <dataset> <folder>  write a training manifest for a public COVID-19 CT dataset
  label-lungs <ct>           label the lungs without a network (threshold, region growing, morphology)
  simulate-lesions <ct>      insert simulated COVID-19 lesions into a CT with an exact mask`

type Command = (argv: string[]) => Promise<number>

// Commands load their modules on first use, so `colinet segment` does not load training code.
const COMMANDS: Record<string, () => Promise<Command>> = {
  segment: async () => (await import('./segment.js')).runSegmentCommand,
  demo: async () => (await import('./demo.js')).runDemoCommand,
  evaluate: async () => (await import('./evaluate.js')).runEvaluateCommand,
  radiomics: async () => (await import('./radiomics.js')).runRadiomicsCommand,
  train: async () => (await import('./train.js')).runTrainCommand,
  import: async () => (await import('./import.js')).runImportCommand,
  'label-lungs': async () => (await import('./label-lungs.js')).runLabelLungsCommand,
  'simulate-lesions': async () => (await import('./simulate-lesions.js')).runSimulateLesionsCommand,
}

/** Runs the colinet command line and returns the exit status (2 for rejected input). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) {
      process.stderr.write(`${USAGE}\n`)
      return INPUT_ERROR_EXIT_CODE
    }
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (name === '--version') {
    process.stdout.write(`${COLINET_VERSION}\n`)
    return 0
  }

  const load = COMMANDS[name]
  if (load === undefined) {
    process.stderr.write(`colinet: unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')}\n`)
    return INPUT_ERROR_EXIT_CODE
  }
  try {
    const command = await load()
    return await command(rest)
  } catch (error) {
    if (error instanceof InputError) {
      process.stderr.write(`colinet ${name}: ${error.message}\n`)
      return INPUT_ERROR_EXIT_CODE
    }
    if (isArgumentError(error)) {
      process.stderr.write(`colinet ${name}: ${describeArgumentError((error as Error).message)}; see colinet ${name} --help\n`)
      return INPUT_ERROR_EXIT_CODE
    }
    throw error
  }
}

/**
 * Rewrites a parseArgs message as one line. An option followed by a value that starts with "-"
 * (such as `--threads -1`) gets an explicit hint, and the hint about "--" before positional
 * arguments, which colinet does not need, is dropped.
 */
export function describeArgumentError(message: string): string {
  const ambiguous = /^Option '(-[^' ]+)[^']*' argument is ambiguous/.exec(message)
  if (ambiguous !== null) {
    const option = ambiguous[1]
    return `${option} is followed by an argument that starts with "-": write such a value as ${option}=<value>, or give ${option} its missing value`
  }
  return message.split('. To specify a positional argument')[0]!.replace(/\s*\n\s*/g, ' ')
}

/** Errors that node:util parseArgs raises for unknown or malformed options. */
function isArgumentError(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')
}
