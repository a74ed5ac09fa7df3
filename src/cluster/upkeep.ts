/**
 * The cluster actor's small pieces of bookkeeping between steps, sans-I/O: whether to say that
 * this node hears nobody (once when it starts, once when it ends), and the graceful leaves waiting
 * to be answered.
 */

/** Says once when a warning starts and once when it ends. */
export class QuietWatch {
  private warned = false

  /** 'warn' when `warning` just appeared, 'clear' when it just went, else undefined. */
  update(warning: string | undefined): 'warn' | 'clear' | undefined {
    if ((warning !== undefined) === this.warned) return undefined
    this.warned = warning !== undefined
    return this.warned ? 'warn' : 'clear'
  }
}

/** How long a graceful leave waits to be removed from the configuration. */
export const LEAVE_TIMEOUT_MS = 5000

/**
 * Graceful leaves waiting for this node to be out of the configuration, or for their deadline
 * (the first leave's time plus LEAVE_TIMEOUT_MS); all are answered together.
 */
export class LeaveWait<R> {
  private readonly waiting: R[] = []
  private deadlineMs = Infinity

  add(reply: R, nowMs: number): void {
    this.waiting.push(reply)
    this.deadlineMs = Math.min(this.deadlineMs, nowMs + LEAVE_TIMEOUT_MS)
  }

  /** The replies to answer now (with whether the node departed): all once departed or past the deadline, else none. */
  settle(departed: boolean, nowMs: number): R[] {
    if (this.waiting.length === 0 || (!departed && nowMs < this.deadlineMs)) return []
    return this.waiting.splice(0)
  }
}
