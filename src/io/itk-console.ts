/**
 * Runs an itk-wasm call with console.log and console.error held back. On a damaged file itk-wasm
 * prints a debugging banner ("Exception while running pipeline", "Build module in Debug mode")
 * before it throws. The caller's error message replaces that banner, which would otherwise go
 * to stdout beside `--json` output. When the call succeeds, its messages are written to stderr.
 * A failed call also sets process.exitCode to 1, which would end a run whose caller handled the
 * failure with status 1, so process.exitCode is restored.
 */
export async function withItkConsoleHeld<T>(run: () => Promise<T>): Promise<T> {
  const { log, error } = console
  const exitCode = process.exitCode
  const heldMessages: unknown[][] = []
  console.log = (...args: unknown[]) => {
    heldMessages.push(args)
  }
  console.error = console.log
  let value: T
  try {
    value = await run()
  } finally {
    console.log = log
    console.error = error
    process.exitCode = exitCode
  }
  for (const args of heldMessages) error(...args)
  return value
}
