/**
 * A progress bar for long CLI operations, drawn on stderr so that stdout stays machine-readable.
 * On a terminal it redraws one line in place (at most ten times a second); elsewhere it prints a
 * line at each tenth of the way, so logs of scripts stay short.
 */

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
