/**
 * Whether the job log keeps up with the leader's appends, with no I/O: the backoff after failed
 * appends and the stall detection that lets submitters hear at once that the log is unavailable
 * instead of waiting (actors/scheduler.ts asks it; src/jobs/append-pipeline.ts waits on it).
 *
 * - After a failed append, no append starts before the backoff's delay has passed; the delay grows
 *   with consecutive failures and any durable append resets the count.
 * - The log is in trouble while the last append failed, or while an append under way has gone
 *   unanswered for longer than the stall bound.
 */
import { assert } from '../assert.js'
import type { Random } from '../env/types.js'
import { backoffDelayMs, validBackoff, type Backoff } from '../util/backoff.js'

/** An append unanswered this long makes submitters hear that the log is unavailable instead of waiting. */
export const APPEND_STALL_MS = 2000

/** The backoff between failed appends. */
export const APPEND_RETRY_BACKOFF: Backoff = { minMs: 50, maxMs: 5000, factor: 2, jitter: 0.2 }

export class AppendHealth {
  private failures = 0
  private retryAtMs = 0
  private lastError: Error | undefined = undefined

  constructor(
    private readonly random: Random,
    private readonly stallMs = APPEND_STALL_MS,
    private readonly backoff: Backoff = APPEND_RETRY_BACKOFF,
  ) {
    assert(validBackoff(backoff) && stallMs >= 0, 'append health: invalid settings')
  }

  /** Consecutive failed appends. */
  get consecutiveFailures(): number {
    return this.failures
  }

  /** True when an append may start at `nowMs` (no backoff under way). */
  mayAppend(nowMs: number): boolean {
    return nowMs >= this.retryAtMs
  }

  /** Notes why an append failed, as soon as it is known (its failure is counted by `failed`). */
  noteError(error: Error): void {
    this.lastError = error
  }

  /** An append failed: the next one waits for the backoff's delay. */
  failed(nowMs: number): void {
    this.failures++
    this.retryAtMs = nowMs + backoffDelayMs(this.backoff, this.failures, this.random)
  }

  /** An append is durable: the log works again. */
  succeeded(): void {
    this.failures = 0
  }

  /**
   * Forgets the failures so far and lets the next append start at once: for when their cause is
   * known to be gone (the scheduler's lease came back, and the appends it lost were refused for the
   * lapse, not failed by the log; a log that still fails starts the backoff again).
   */
  retryNow(): void {
    this.failures = 0
    this.retryAtMs = 0
  }

  /** Why submitters should not wait for the log at `nowMs`, given when the oldest append under way started (Infinity for none); undefined while it keeps up. */
  trouble(oldestStartedMs: number, nowMs: number): string | undefined {
    if (this.failures > 0) return `the job log is failing: ${this.lastError?.message ?? 'unknown error'}`
    const stalledMs = nowMs - oldestStartedMs
    return stalledMs > this.stallMs ? `the job log has not acknowledged an append for ${Math.round(stalledMs)} ms` : undefined
  }
}
