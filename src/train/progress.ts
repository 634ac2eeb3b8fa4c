import { Progress } from '../cli/progress.js'

/**
 * Training progress on stderr. A terminal gets a redrawn bar with loss, throughput and estimated
 * time left, a file or pipe gets plain lines at every 10 % of an epoch, and quiet gets nothing.
 * Results go to the run folder, never here.
 */
export type { Verbosity as TrainingVerbosity } from '../cli/progress.js'

export interface StepStatus {
  epoch: number
  epochs: number
  step: number
  steps: number
  /** Mean loss of the epoch's steps so far. */
  loss: number
  slicesPerSecond: number
  /** Estimated seconds until the epoch ends (training and validation). */
  epochSecondsLeft: number
  /** Estimated seconds until the last epoch ends. */
  runSecondsLeft: number
}

/** Progress of a training run; log, detail and warn behave as in the other commands. */
export class TrainingProgress extends Progress {
  private lastTenth = -1
  private lastValidationQuarter = -1

  step(status: StepStatus): void {
    if (this.verbosity === 'quiet') return
    const text =
      `epoch ${status.epoch}/${status.epochs} step ${status.step}/${status.steps} loss ${status.loss.toFixed(4)} ` +
      `${status.slicesPerSecond.toFixed(2)} slices/s, epoch ends in ${formatDuration(status.epochSecondsLeft)}, ` +
      `run in ${formatDuration(status.runSecondsLeft)}`
    if (this.stream.isTTY) {
      const width = 20
      const filled = Math.round((width * status.step) / status.steps)
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`)
      this.barActive = true
      return
    }
    const tenth = Math.floor((10 * status.step) / status.steps)
    if (status.step === 1) this.lastTenth = -1
    if (tenth !== this.lastTenth) {
      this.lastTenth = tenth
      this.stream.write(`${text}\n`)
    }
  }

  /** Reports validation progress: a bar on a terminal, a line at every quarter otherwise. */
  validation(epoch: number, done: number, total: number): void {
    if (this.verbosity === 'quiet' || total === 0) return
    const text = `epoch ${epoch}: validating, ${done}/${total} slices`
    if (this.stream.isTTY) {
      this.stream.write(`\r${text}\x1b[K`)
      this.barActive = true
      return
    }
    const quarter = Math.floor((4 * done) / total)
    // A lower quarter than the last one printed means a new validation has started.
    if (quarter < this.lastValidationQuarter) this.lastValidationQuarter = -1
    if (quarter !== this.lastValidationQuarter) {
      this.lastValidationQuarter = quarter
      this.stream.write(`${text}\n`)
    }
  }
}

/** Formats seconds as "45 s", "12 min 5 s" or "3 h 20 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown time'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
