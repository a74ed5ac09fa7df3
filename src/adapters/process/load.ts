/**
 * Samples this process's load for the gossiped node metrics: event-loop lag (p99 over the last
 * interval, from the process's one delay monitor), CPU use since the previous sample, and resident memory.
 */
import type { Clock } from '../../env/types.js'
import type { LoopDelayReader } from './loop-delay.js'

/** One load sample. */
export interface LoadSample {
  eventLoopLagMs: number
  /** CPU seconds per wall second since the last sample (1 = one core busy). */
  cpu: number
  memoryMb: number
}

export class ProcessLoad {
  private lastCpu = process.cpuUsage()
  private lastAt: number

  constructor(
    private readonly clock: Clock,
    private readonly delay: LoopDelayReader,
  ) {
    this.lastAt = clock.monotonicMs()
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
    const lagMs = this.delay.takeP99Ms()
    return { eventLoopLagMs: Math.round(lagMs * 100) / 100, cpu: Math.round((usedUs / 1000 / elapsedMs) * 1000) / 1000, memoryMb: Math.round(process.memoryUsage.rss() / 1048576) }
  }
}
