/**
 * The simulated environment of one node incarnation: its clock (with skew and drift), timers that
 * are kernel events owned by the incarnation, a seeded random stream, and logs into the run's ring.
 *
 * Skew is how clocks lie: wall time = true time + offset, and both clocks run at (1 + drift) times
 * true speed, so a node with positive drift sees its timers fire early in true time. Scheduling
 * itself always uses true time.
 */
import { sleepOn } from '../../src/env/abort.js'
import { noopMetrics } from '../../src/env/metrics.js'
import type { SeededRandom } from '../../src/env/prng.js'
import type { AbortOptions, Clock, Environment, LogFields, Logger, TimerHandle, Timers } from '../../src/env/types.js'
import { EventKind, type Kernel, type Owner, type SimEvent } from './loop.js'

/** Wall-clock reading at virtual time zero: 2026-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = 1_767_225_600_000

/** A node's clock error. */
export class ClockSkew {
  private offsetMs = 0
  private drift = 0
  private anchorUs = 0
  private monotonicAtAnchorMs = 0

  /** Changes the offset and drift from now on; monotonic time stays continuous. */
  set(kernel: Kernel, offsetMs: number, drift: number): void {
    this.monotonicAtAnchorMs = this.monotonicMs(kernel)
    this.anchorUs = kernel.now
    this.offsetMs = offsetMs
    this.drift = drift
  }

  monotonicMs(kernel: Kernel): number {
    return this.monotonicAtAnchorMs + ((kernel.now - this.anchorUs) / 1000) * (1 + this.drift)
  }

  wallMs(kernel: Kernel): number {
    return SIM_EPOCH_MS + this.offsetMs + this.monotonicMs(kernel)
  }

  /** True microseconds until the node's own clock has advanced by `delayMs`. */
  trueDelayUs(delayMs: number): number {
    return (Math.max(0, delayMs) * 1000) / (1 + this.drift)
  }

  describe(): { offsetMs: number; drift: number } {
    return { offsetMs: this.offsetMs, drift: this.drift }
  }
}

/** A bounded ring of recent log lines shared by all nodes of a run, kept for failure reports. */
export class LogRing {
  readonly lines: string[] = []
  constructor(
    private readonly kernel: Kernel,
    private readonly capacity = 200,
    readonly verbose = false,
  ) {}

  push(node: string, level: string, message: string, fields: LogFields | undefined): void {
    let text = `${(this.kernel.now / 1e6).toFixed(6)}s ${node} ${level} ${message}`
    if (fields !== undefined) text += ` ${safeJson(fields)}`
    if (this.lines.length >= this.capacity) this.lines.shift()
    this.lines.push(text)
  }
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return '{unserializable}'
  }
}

class RingLogger implements Logger {
  constructor(
    private readonly ring: LogRing,
    private readonly node: string,
    private readonly bindings: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    if (this.ring.verbose) this.ring.push(this.node, 'debug', message, { ...this.bindings, ...fields })
  }

  info(message: string, fields?: LogFields): void {
    if (this.ring.verbose) this.ring.push(this.node, 'info', message, { ...this.bindings, ...fields })
  }

  warn(message: string, fields?: LogFields): void {
    this.ring.push(this.node, 'warn', message, { ...this.bindings, ...fields })
  }

  error(message: string, fields?: LogFields): void {
    this.ring.push(this.node, 'error', message, { ...this.bindings, ...fields })
  }

  child(bindings: LogFields): Logger {
    return new RingLogger(this.ring, this.node, { ...this.bindings, ...bindings })
  }
}

/** Builds the environment of one node incarnation. */
export function simEnvironment(kernel: Kernel, owner: Owner, node: string, skew: ClockSkew, random: SeededRandom, ring: LogRing): Environment {
  const clock: Clock = {
    wallMs: () => skew.wallMs(kernel),
    monotonicMs: () => skew.monotonicMs(kernel),
  }
  // Round up: a timer never fires before its delay, as with real timers, so a positive delay always moves time.
  const schedule = (delayMs: number, fn: () => void): SimEvent => kernel.schedule(kernel.now + Math.ceil(skew.trueDelayUs(delayMs)), EventKind.Timer, fn, owner)
  const timers: Timers = {
    schedule: (delayMs, fn): TimerHandle => schedule(delayMs, fn),
    cancel: (handle) => kernel.cancel(handle as SimEvent),
    sleep: (ms: number, options: AbortOptions = {}) => sleepOn(timers, ms, options.signal),
  }
  return { clock, timers, random, logger: new RingLogger(ring, node), metrics: noopMetrics }
}
