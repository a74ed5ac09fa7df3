/**
 * The `nodejs_eventloop_lag_*` gauges of prom-client's default metrics, fed from the process's one
 * delay monitor instead of prom-client's own 10 ms one (which no option leaves out: it is parked
 * at a period it never reaches, and its gauges are replaced by these under the same names).
 */
import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client'

/** Delay statistics since the previous call, in milliseconds (lag beyond the monitor's own period). */
export interface LoopLagSource {
  take(): {
    readonly minMs: number
    readonly maxMs: number
    readonly meanMs: number
    readonly stddevMs: number
    readonly p50Ms: number
    readonly p90Ms: number
    readonly p99Ms: number
  }
}

/** prom-client's event-loop gauges (without the prefix), replaced here. */
const LAG_GAUGES = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const
/** A period (about 24 days, the largest a libuv timer takes as an int32) at which prom-client's monitor never wakes the loop. */
const PARKED_MS = 2 ** 31 - 1

/** prom-client's default process metrics under `prefix`, with the event-loop lag from `lag` (left out without one). */
export function collectProcessMetrics(registry: Registry, prefix: string, lag: LoopLagSource | undefined): void {
  collectDefaultMetrics({ register: registry, prefix, eventLoopMonitoringPrecision: PARKED_MS })
  registry.removeSingleMetric(`${prefix}nodejs_eventloop_lag_seconds`)
  for (const stat of LAG_GAUGES) registry.removeSingleMetric(`${prefix}nodejs_eventloop_lag_${stat}_seconds`)
  if (lag === undefined) return
  const gauges = new Map<(typeof LAG_GAUGES)[number], Gauge>()
  // Registered first, so that a scrape runs this collect before it reads the other lag gauges.
  new Gauge({
    name: `${prefix}nodejs_eventloop_lag_seconds`,
    help: 'Lag of event loop in seconds (a setImmediate at scrape time).',
    registers: [registry],
    collect() {
      const s = lag.take()
      const values = { min: s.minMs, max: s.maxMs, mean: s.meanMs, stddev: s.stddevMs, p50: s.p50Ms, p90: s.p90Ms, p99: s.p99Ms }
      for (const [stat, gauge] of gauges) gauge.set(values[stat] / 1000)
      const start = performance.now()
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          this.set((performance.now() - start) / 1000)
          resolve()
        }),
      )
    },
  })
  for (const stat of LAG_GAUGES)
    gauges.set(
      stat,
      new Gauge({
        name: `${prefix}nodejs_eventloop_lag_${stat}_seconds`,
        help: `The ${stat} of the event-loop delays since the last scrape, beyond the schedule.`,
        registers: [registry],
      }),
    )
}
