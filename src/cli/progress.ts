/** How much a command prints on stderr. */
export type Verbosity = 'quiet' | 'normal' | 'verbose'

/**
 * Progress and log lines on stderr: a redrawn bar on a terminal, plain lines otherwise (one per
 * 10 % of a stage), nothing with --quiet. Results go to stdout and files, never here.
 */
export class Progress {
  private lastLoggedTenth = new Map<string, number>()
  /** True while a redrawn bar occupies the terminal's last line. */
  protected barActive = false

  constructor(
    protected readonly verbosity: Verbosity,
    protected readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Prints one log line (not with --quiet). */
  log(message: string): void {
    if (this.verbosity === 'quiet') return
    this.endBar()
    this.stream.write(`${message}\n`)
  }

  /** Prints a detail line with --verbose only. */
  detail(message: string): void {
    if (this.verbosity === 'verbose') this.log(message)
  }

  /** Prints a warning line unless quiet; warnings also go into the report. */
  warn(message: string): void {
    if (this.verbosity === 'quiet') return
    this.endBar()
    this.stream.write(`warning: ${message}\n`)
  }

  update(stage: string, done: number, total: number): void {
    if (this.verbosity === 'quiet' || total === 0) return
    if (this.stream.isTTY) {
      const width = 30
      const filled = Math.round((width * done) / total)
      this.stream.write(`\r${stage.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} slices`)
      this.barActive = true
      if (done === total) this.endBar()
      return
    }
    const tenth = Math.floor((10 * done) / total)
    if (tenth !== this.lastLoggedTenth.get(stage)) {
      this.lastLoggedTenth.set(stage, tenth)
      this.stream.write(`${stage}: ${done}/${total} slices\n`)
    }
  }

  /** Ends a redrawn bar's line, so the next output starts on a new line. */
  protected endBar(): void {
    if (this.barActive) {
      this.stream.write('\n')
      this.barActive = false
    }
  }
}
