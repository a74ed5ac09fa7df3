/**
 * Posts JSON events (alert transitions) to a webhook URL, one at a time, in order. Each post is
 * retried with exponential backoff up to `retries` times (a 2xx answers it; a 4xx other than 408
 * and 429 gives up at once, since sending it again cannot help); the queue holds at most `maxQueue`
 * events, and beyond that the oldest is dropped and counted, so a dead endpoint never grows memory.
 */
import type { Logger, Timers } from '../../env/types.js'
import { backoffDelayMs } from '../../util/backoff.js'
import type { Random } from '../../env/types.js'

export interface WebhookOptions {
  readonly url: string
  readonly timers: Timers
  readonly random: Random
  readonly logger: Logger
  /** Most events waiting (default 1000). */
  readonly maxQueue?: number
  /** Retries after the first post (default 5). */
  readonly retries?: number
  /** Time allowed for one post (default 5 s). */
  readonly timeoutMs?: number
  /** The transport; the global fetch by default (tests may pass their own). */
  readonly fetch?: typeof fetch
}

const BACKOFF = { minMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2 }

export class WebhookSender {
  private readonly queue: unknown[] = []
  private sending = false
  private stopped = false
  private readonly controller = new AbortController()
  /** Events dropped because the queue was full, and events given up after every retry. */
  dropped = 0
  failed = 0
  delivered = 0

  constructor(private readonly options: WebhookOptions) {}

  /** Queues an event for posting. */
  send(event: unknown): void {
    if (this.stopped) return
    this.queue.push(event)
    if (this.queue.length > (this.options.maxQueue ?? 1000)) {
      // The oldest waiting event goes; the one being posted (the head, while sending) stays.
      this.queue.splice(this.sending ? 1 : 0, 1)
      this.dropped++
    }
    if (!this.sending) void this.drain()
  }

  /** Stops posting; events still queued are dropped. */
  stop(): void {
    this.stopped = true
    this.controller.abort()
    this.queue.length = 0
  }

  private async drain(): Promise<void> {
    this.sending = true
    try {
      while (!this.stopped && this.queue.length > 0) {
        const event = this.queue[0]
        if (await this.post(event)) this.delivered++
        else this.failed++
        this.queue.shift()
      }
    } finally {
      this.sending = false
    }
  }

  private async post(event: unknown): Promise<boolean> {
    const retries = this.options.retries ?? 5
    const doFetch = this.options.fetch ?? fetch
    for (let attempt = 0; attempt <= retries && !this.stopped; attempt++) {
      if (attempt > 0) {
        try {
          await this.options.timers.sleep(backoffDelayMs(BACKOFF, attempt, this.options.random), { signal: this.controller.signal })
        } catch {
          return false
        }
      }
      try {
        const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.options.timeoutMs ?? 5000)])
        const res = await doFetch(this.options.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), signal })
        await res.body?.cancel()
        if (res.ok) return true
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          this.options.logger.warn('alert webhook refused an event; not retrying', { url: this.options.url, status: res.status })
          return false
        }
      } catch (error) {
        if (this.stopped) return false
        if (attempt === retries) this.options.logger.warn('alert webhook unreachable; event dropped after retries', { url: this.options.url, error })
      }
    }
    return false
  }
}
