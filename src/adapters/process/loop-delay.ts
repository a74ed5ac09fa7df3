/**
 * One event-loop delay monitor for the process, serving both the gossiped load sample and the
 * Prometheus lag gauges, that is awake only while the loop is busy.
 *
 * Time is cut into windows, each closed by a reader's `take()` (the node reads its load at every
 * gossip or probe, and Prometheus at every scrape); no timer of its own runs for that. A window's
 * busy time comes from `performance.eventLoopUtilization()`, which costs no wake-up. While the loop
 * is quiet (the previous window had less than BUSY_MS of busy time, or of CPU time) no 10 ms timer
 * runs, and the window's busy time stands in for its delay: no block can be longer than the time the
 * loop was busy, and a read runs in its own callback, so it never splits one. Once a window was busy,
 * with as much CPU time of the process's own, a 10 ms timer measures each tick's delay until a window
 * is quiet again, so many short tasks are not mistaken for one long block. Delays are lag beyond the
 * tick's period (an idle loop reads near zero).
 */
import { createHistogram, performance, type EventLoopUtilization, type RecordableHistogram } from 'node:perf_hooks'

/** Delay statistics of the windows since a reader's previous `take()`, in milliseconds. */
export interface LoopDelaySummary {
  /** Delays recorded: one per tick of the fine monitor, one per quiet window. */
  readonly count: number
  readonly minMs: number
  readonly maxMs: number
  readonly meanMs: number
  readonly stddevMs: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
}

/** One consumer's view: each `take()` returns the delays since its previous one. */
export interface LoopDelayReader {
  take(): LoopDelaySummary
  /**
   * Like take(), but only the p99: the node's load sample needs no more, and the full summary walks
   * the histogram's buckets six times (about 0.4 ms a call, at every gossip and probe; the p99 alone, 10 us).
   */
  takeP99Ms(): number
}

/** The fine monitor's period: the shortest block it can tell from a busy loop. */
const RESOLUTION_MS = 10
/**
 * Busy time in one window above which the fine monitor runs in the next (it keeps an idle loop's
 * bound below this). An idle member's own work (records, probes, ticks) comes to 10-15 ms in the
 * 250-500 ms between two reads on a loaded host: at 10 the timer ran most of the time, 100
 * wake-ups a second and 60% of an idle worker's wake-ups. 20 is also where the placement stops
 * preferring the leader (LOCAL_LAG_MS), so a quiet window's bound never changes a decision.
 */
const BUSY_MS = 20
const NS_PER_MS = 1e6
/**
 * Each reader's histogram: delays from 1 ns to about 73 minutes (2^42 ns; a longer one only counts
 * in `exceeds`) at 2 significant figures (1% is finer than any decision taken on a delay). Node's
 * default (up to 2^53 at 3 figures) holds 360 KB of counters, all resident once `reset()` clears
 * them at every read: 0.7 MB of a peer's 80 for its two readers. These take 37 KB each.
 */
const HISTOGRAM = { lowest: 1, highest: 2 ** 42, figures: 2 } as const

export class LoopDelayMonitor {
  private readonly readers: RecordableHistogram[] = []
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization()
  private lastCpu = process.cpuUsage()
  private fine: NodeJS.Timeout | undefined
  private lastTickMs = 0
  private stopped = false

  /** Whether the 10 ms timer runs now (for tests and benches). */
  get fineActive(): boolean {
    return this.fine !== undefined
  }

  reader(): LoopDelayReader {
    const histogram = createHistogram(HISTOGRAM)
    this.readers.push(histogram)
    return {
      take: () => {
        this.closeWindow()
        const summary = summarise(histogram)
        histogram.reset()
        return summary
      },
      takeP99Ms: () => {
        this.closeWindow()
        const p99Ms = histogram.count === 0 ? 0 : histogram.percentile(99) / NS_PER_MS
        histogram.reset()
        return p99Ms
      },
    }
  }

  stop(): void {
    this.stopped = true
    this.setFine(false)
  }

  /**
   * Ends the current window: a quiet one records its busy time as its delay; the next runs fine if
   * this one was busy, and by its own CPU: time the loop spent off the CPU (a starved process on a
   * saturated host) still counts as busy, and so as delay, but a 10 ms timer would only add 100
   * wake-ups a second to every process of that host. With 50 peers on two cores every peer's windows
   * were busy that way, and the fine timers were most of their 80-180 wake-ups a second.
   */
  private closeWindow(): void {
    const now = performance.eventLoopUtilization()
    const busyMs = performance.eventLoopUtilization(now, this.lastElu).active
    const cpu = process.cpuUsage()
    const cpuMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000
    this.lastElu = now
    this.lastCpu = cpu
    if (this.fine === undefined) this.record(busyMs)
    this.setFine(busyMs >= BUSY_MS && cpuMs >= BUSY_MS && !this.stopped)
  }

  private setFine(on: boolean): void {
    if (on && this.fine === undefined) {
      this.lastTickMs = performance.now()
      this.fine = setInterval(() => this.tick(), RESOLUTION_MS).unref()
    } else if (!on && this.fine !== undefined) {
      clearInterval(this.fine)
      this.fine = undefined
    }
  }

  private tick(): void {
    const now = performance.now()
    this.record(now - this.lastTickMs - RESOLUTION_MS)
    this.lastTickMs = now
  }

  private record(delayMs: number): void {
    // A histogram records integers of at least 1: nanoseconds, with 1 ns for no delay.
    const ns = Math.max(1, Math.round(delayMs * NS_PER_MS))
    for (const r of this.readers) r.record(ns)
  }
}

function summarise(h: RecordableHistogram): LoopDelaySummary {
  if (h.count === 0) return { count: 0, minMs: 0, maxMs: 0, meanMs: 0, stddevMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 }
  const ms = (ns: number): number => ns / NS_PER_MS
  return {
    count: h.count,
    minMs: ms(h.min),
    maxMs: ms(h.max),
    meanMs: ms(h.mean),
    stddevMs: ms(h.stddev),
    p50Ms: ms(h.percentile(50)),
    p90Ms: ms(h.percentile(90)),
    p99Ms: ms(h.percentile(99)),
  }
}
