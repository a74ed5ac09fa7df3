/**
 * A progress bar for long CLI operations, drawn on stderr so that stdout stays machine-readable.
 * On a terminal it redraws one line in place (at most ten times a second); elsewhere it prints a
 * line at each tenth of the way, so logs of scripts stay short. Operations of unknown length show
 * the time they have taken (Waiting). Commands draw either only on a terminal or with --progress.
 */
import type { Clock, TimerHandle, Timers } from '../env/types.js'

/** `[#########.........]  45/100  45%` for a width of bar characters. */
export function progressLine(done: number, total: number, width = 30, label = ''): string {
  const fraction = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total))
  const filled = Math.round(fraction * width)
  const count = `${String(done).padStart(String(total).length)}/${total}`
  return `${label === '' ? '' : `${label} `}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count} ${String(Math.floor(fraction * 100)).padStart(3)}%`
}

export interface ProgressSink {
  readonly isTTY?: boolean
  write(text: string): unknown
}

/** Reports progress towards `total` on `out`; `update` as work completes, `finish` once at the end. */
export class ProgressBar {
  private lastDrawMs = -Infinity
  private lastTenth = -1
  private done = 0

  constructor(
    private readonly out: ProgressSink,
    private readonly total: number,
    private readonly label: string,
    private readonly now: () => number,
  ) {}

  update(done: number, extra = ''): void {
    this.done = done
    if (this.out.isTTY === true) {
      const t = this.now()
      if (t - this.lastDrawMs < 100 && done < this.total) return
      this.lastDrawMs = t
      this.out.write(`\r${progressLine(done, this.total, 30, this.label)}${extra === '' ? '' : `  ${extra}`}\x1b[K`)
      return
    }
    const tenth = this.total <= 0 ? 10 : Math.floor((done / this.total) * 10)
    if (tenth === this.lastTenth) return
    this.lastTenth = tenth
    this.out.write(`${progressLine(done, this.total, 30, this.label)}${extra === '' ? '' : `  ${extra}`}\n`)
  }

  finish(extra = ''): void {
    if (this.out.isTTY === true) {
      this.lastDrawMs = -Infinity
      this.update(this.done, extra)
      this.out.write('\n')
      return
    }
    if (this.lastTenth === 10 && extra === '') return
    this.lastTenth = 10
    this.out.write(`${progressLine(this.done, this.total, 30, this.label)}${extra === '' ? '' : `  ${extra}`}\n`)
  }
}

/**
 * Whether a command draws progress on `out`: `--progress` forces it; otherwise only on a terminal,
 * and never with `--json`, whose reader wants nothing but the document.
 */
export function showProgress(out: ProgressSink, flag: boolean | undefined, json = false): boolean {
  return flag === true || (!json && out.isTTY === true)
}

const SPINNER = '|/-\\'

/**
 * Progress of an operation of unknown length (one request that returns when the work is done, a
 * graceful leave): the time it has taken so far. On a terminal `label | 2.4 s` redraws in place
 * five times a second; elsewhere a line a second. `stop` prints the outcome and the time taken.
 */
export class Waiting {
  private readonly startedMs: number
  private timer: TimerHandle | undefined
  private frame = 0
  private stopped = false

  constructor(
    private readonly out: ProgressSink,
    private readonly label: string,
    private readonly clock: Pick<Clock, 'monotonicMs'>,
    private readonly timers: Pick<Timers, 'schedule' | 'cancel'>,
  ) {
    this.startedMs = clock.monotonicMs()
    this.tick()
  }

  private seconds(): string {
    return `${((this.clock.monotonicMs() - this.startedMs) / 1000).toFixed(1)} s`
  }

  private tick(): void {
    const tty = this.out.isTTY === true
    if (tty) this.out.write(`\r${this.label} ${SPINNER[this.frame++ % SPINNER.length]} ${this.seconds()}\x1b[K`)
    else if (this.frame++ > 0) this.out.write(`${this.label} ... ${this.seconds()}\n`)
    this.timer = this.timers.schedule(tty ? 200 : 1000, () => this.tick())
  }

  /** Ends the display with `outcome` (e.g. "done", "failed"); later calls do nothing. */
  stop(outcome: string): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== undefined) this.timers.cancel(this.timer)
    this.out.write(`${this.out.isTTY === true ? '\r' : ''}${this.label} ${outcome} (${this.seconds()})${this.out.isTTY === true ? '\x1b[K' : ''}\n`)
  }
}
