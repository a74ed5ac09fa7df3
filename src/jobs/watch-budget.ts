/**
 * How many outcomes one watch reply carries, with no I/O (actors/scheduler.ts answers watches).
 * Outcomes travel in the reply as well as by push, but a reply must stay well inside a message: past
 * the budget a finished job is answered `true`, and its outcome comes by push or the next watch.
 */
import { encodeOutcome } from './result-cache.js'
import type { WatchReply } from './protocol.js'
import type { JobOutcome } from './types.js'

/** Bytes of outcomes one watch reply carries at most. */
export const WATCH_REPLY_MAX_BYTES = 256 * 1024

export class WatchBudget {
  private leftBytes: number

  constructor(
    maxBytes = WATCH_REPLY_MAX_BYTES,
    private readonly sizeOf: (outcome: JobOutcome) => number = (outcome) => encodeOutcome(outcome).length,
  ) {
    this.leftBytes = maxBytes
  }

  /** True while some budget is left. */
  get open(): boolean {
    return this.leftBytes > 0
  }

  /** The answer for a finished job: its outcome if it fits in what is left, else `true`. Either way the outcome counts against the budget. */
  answer(outcome: JobOutcome): WatchReply {
    this.leftBytes -= this.sizeOf(outcome)
    return this.leftBytes >= 0 ? { outcome } : true
  }
}
