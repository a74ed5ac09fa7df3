/**
 * The phi-accrual failure detector: instead of a yes/no timeout it outputs phi, the confidence
 * (-log10 of the probability) that a member is gone given how long it has been silent and the
 * history of its heartbeat intervals. A member is suspected past a threshold, so the detector adapts
 * to slow links and jittery schedulers without a hand-tuned timeout per deployment.
 */

/** Heartbeat intervals kept per member. */
const WINDOW = 64

/**
 * What phi at any later time depends on: the last arrival and the interval statistics. Immutable,
 * so a published cluster snapshot (snapshot.ts) can compute phi at read time.
 */
export interface PhiSummary {
  /** The last heartbeat, or undefined before the first. */
  readonly lastMs: number | undefined
  readonly mean: number
  readonly std: number
}

export class PhiDetector {
  private readonly intervals: number[] = []
  private next = 0
  private lastMs: number | undefined = undefined
  /**
   * Computed at the first read after a heartbeat and kept until the next: phi is read far more
   * often than heartbeats arrive, except for members whose state another source decides.
   */
  private current: PhiSummary | undefined = undefined

  constructor(
    /** The interval assumed before any has been measured (the gossip interval). */
    private readonly expectedMs: number,
    /** Floor of the standard deviation, so a very regular sender is not suspected on first jitter. */
    private readonly minStdMs: number,
  ) {}

  /** Records a heartbeat arrival. */
  heartbeat(nowMs: number): void {
    if (this.lastMs !== undefined) {
      const interval = nowMs - this.lastMs
      if (this.intervals.length < WINDOW) this.intervals.push(interval)
      else this.intervals[this.next] = interval
      this.next = (this.next + 1) % WINDOW
    }
    this.lastMs = nowMs
    this.current = undefined
  }

  /** Milliseconds since the last heartbeat (Infinity if none yet). */
  silenceMs(nowMs: number): number {
    return this.lastMs === undefined ? Infinity : nowMs - this.lastMs
  }

  /** The state phi depends on, as of the last heartbeat. */
  summary(): PhiSummary {
    return (this.current ??= this.summarize())
  }

  /** The current suspicion level; 0 right after a heartbeat, growing with silence. */
  phi(nowMs: number): number {
    return phiAt(this.summary(), nowMs)
  }

  private summarize(): PhiSummary {
    let mean = this.expectedMs
    let variance = 0
    if (this.intervals.length > 0) {
      mean = this.intervals.reduce((a, b) => a + b, 0) / this.intervals.length
      variance = this.intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / this.intervals.length
    }
    return { lastMs: this.lastMs, mean, std: Math.max(Math.sqrt(variance), this.minStdMs) }
  }
}

/** Phi at `nowMs` of a detector summarized by `s`. */
export function phiAt(s: PhiSummary, nowMs: number): number {
  if (s.lastMs === undefined) return 0
  const elapsed = nowMs - s.lastMs
  // Logistic approximation of the normal tail, as in Hayashibara et al. and Akka.
  const y = (elapsed - s.mean) / s.std
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  const tail = elapsed > s.mean ? e / (1 + e) : 1 - 1 / (1 + e)
  return -Math.log10(Math.max(tail, 1e-300))
}
