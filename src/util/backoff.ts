/** Exponential backoff with jitter, shared by actor restarts, job retries and reconnects. */
import type { Random } from '../env/types.js'

/** Backoff settings with defaults applied. */
export interface Backoff {
  readonly minMs: number
  readonly maxMs: number
  readonly factor: number
  /** Fraction of the delay drawn uniformly above or below it, in [0, 1). */
  readonly jitter: number
}

/** The delay before the `attempt`-th retry (1-based): min(maxMs, minMs * factor^(attempt-1)), +- jitter. */
export function backoffDelayMs(b: Backoff, attempt: number, random: Random): number {
  const base = Math.min(b.maxMs, b.minMs * b.factor ** Math.max(0, attempt - 1))
  const spread = base * b.jitter * (2 * random.next() - 1)
  return Math.max(0, Math.round(base + spread))
}

/** True when the settings make sense. */
export function validBackoff(b: Backoff): boolean {
  return b.minMs >= 0 && b.maxMs >= b.minMs && b.factor >= 1 && b.jitter >= 0 && b.jitter < 1
}
