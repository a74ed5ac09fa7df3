/**
 * Samples this process's load for the gossiped node metrics: event-loop delay (p99 over the last
 * interval), CPU use since the previous sample, and resident memory.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Clock } from '../../env/types.js'

/** One load sample. */
export interface LoadSample {
  eventLoopLagMs: number
  /** CPU seconds per wall second since the last sample (1 = one core busy). */
  cpu: number
  memoryMb: number
}

/** The delay monitor's sampling period; each sample it records includes this period. */
const RESOLUTION_MS = 10

export class ProcessLoad {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  private lastCpu = process.cpuUsage()
  private lastAt: number

  constructor(private readonly clock: Clock) {
    this.lastAt = clock.monotonicMs()
    this.delay.enable()
  }

  /** Load since the previous call. */
  sample(): LoadSample {
    const now = this.clock.monotonicMs()
    // One reading per sample (each is a getrusage call), and RSS alone (memoryUsage() also walks the heap spaces).
    const total = process.cpuUsage()
    const usedUs = total.user - this.lastCpu.user + (total.system - this.lastCpu.system)
    const elapsedMs = Math.max(1, now - this.lastAt)
    this.lastCpu = total
    this.lastAt = now
    const lagMs = this.delay.count > 0 ? Math.max(0, this.delay.percentile(99) / 1e6 - RESOLUTION_MS) : 0
    this.delay.reset()
    return { eventLoopLagMs: Math.round(lagMs * 100) / 100, cpu: Math.round((usedUs / 1000 / elapsedMs) * 1000) / 1000, memoryMb: Math.round(process.memoryUsage.rss() / 1048576) }
  }

  stop(): void {
    this.delay.disable()
  }
}
