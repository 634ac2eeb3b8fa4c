import { parseArgs, type ParseArgsConfig } from 'node:util'
import { InputError } from '../errors.js'

/**
 * parseArgs, except that an option taking a value may be given only once: parseArgs alone keeps
 * the last value, so `--threads 1 ... --threads 4` would run with 4 threads without a word.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  rejectRepeatedOptions(config)
  return parseArgs(config)
}

function rejectRepeatedOptions(config: ParseArgsConfig): void {
  // Lenient parsing lists every option as given; unknown options are left to the strict parse.
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true })
  const seen = new Map<string, string>()
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const option = config.options?.[token.name]
    if (option === undefined || option.type !== 'string' || option.multiple === true) continue
    const value = token.value ?? ''
    const earlier = seen.get(token.name)
    if (earlier !== undefined) {
      const name = option.short === undefined ? `--${token.name}` : `--${token.name} (-${option.short})`
      throw new InputError(`${name} was given twice ("${earlier}" and "${value}"); give it once`)
    }
    seen.set(token.name, value)
  }
}
