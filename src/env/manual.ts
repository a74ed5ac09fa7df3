/**
 * An environment whose time moves only when a test says so. Timers fire in (due time, order of
 * scheduling) order, and every promise job they start settles before the next timer runs.
 */
import { sleepOn } from './abort.js'
import { MemoryLogger } from './logger.js'
import { MemoryMetrics } from './metrics.js'
import { SeededRandom } from './prng.js'
import { nextMacrotask } from './real.js'
import type { AbortOptions, Clock, Environment, TimerHandle, Timers } from './types.js'
import { MinHeap } from '../util/heap.js'

interface ManualTimer extends TimerHandle {
  due: number
  seq: number
  fn: () => void
  cancelled: boolean
  fired: boolean
}

/** Options of the manual environment. */
export interface ManualEnvironmentInit {
  seed?: number | string
  /** The wall clock's reading at monotonic time 0. */
  wallStartMs?: number
}

/** A deterministic environment for unit tests: manual time, seeded randomness, captured logs and metrics. */
export class ManualEnvironment implements Environment {
  readonly clock: Clock
  readonly timers: Timers
  readonly random: SeededRandom
  readonly logger = new MemoryLogger()
  readonly metrics = new MemoryMetrics()
  private nowMs = 0
  private seq = 0
  private live = 0
  private readonly queue = new MinHeap<ManualTimer>((a, b) => a.due < b.due || (a.due === b.due && a.seq < b.seq))

  constructor(init: ManualEnvironmentInit = {}) {
    const wallStart = init.wallStartMs ?? 1_700_000_000_000
    this.random = new SeededRandom(init.seed ?? 1)
    this.clock = {
      wallMs: () => wallStart + this.nowMs,
      monotonicMs: () => this.nowMs,
    }
    this.timers = {
      schedule: (delayMs, fn) => this.schedule(delayMs, fn),
      cancel: (handle) => {
        const timer = handle as ManualTimer
        if (timer.cancelled || timer.fired) return
        timer.cancelled = true
        this.live--
      },
      sleep: (ms, options) => this.sleep(ms, options),
    }
  }

  /** Current monotonic time in milliseconds. */
  get now(): number {
    return this.nowMs
  }

  /** Number of timers still waiting to fire. */
  get pendingTimers(): number {
    return this.live
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms
    await nextMacrotask()
    for (;;) {
      const head = this.queue.peek()
      if (head === undefined || head.due > target) break
      this.queue.pop()
      if (head.cancelled) continue
      head.fired = true
      this.live--
      this.nowMs = Math.max(this.nowMs, head.due)
      head.fn()
      await nextMacrotask()
    }
    this.nowMs = target
  }

  /** Runs everything that is due now, including zero-delay timers scheduled along the way. */
  async flush(): Promise<void> {
    await this.advance(0)
  }

  private schedule(delayMs: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { due: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false, fired: false }
    this.queue.push(timer)
    this.live++
    return timer
  }

  private sleep(ms: number, options: AbortOptions = {}): Promise<void> {
    return sleepOn(this.timers, ms, options.signal)
  }
}
