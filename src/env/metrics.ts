/** Metric hook bindings that need no external registry: a no-op one and an in-memory one for tests. */
import type { Counter, Gauge, Histogram, MetricLabels, Metrics } from './types.js'

const NOOP_COUNTER: Counter = { inc() {} }
const NOOP_GAUGE: Gauge = { set() {} }
const NOOP_HISTOGRAM: Histogram = { observe() {} }

/** Discards every metric. */
export const noopMetrics: Metrics = {
  counter: () => NOOP_COUNTER,
  gauge: () => NOOP_GAUGE,
  histogram: () => NOOP_HISTOGRAM,
}

function key(name: string, labels: MetricLabels | undefined): string {
  if (labels === undefined) return name
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`
}

/** Records metrics in plain maps; `read` evaluates gauges' collect callbacks on demand. */
export class MemoryMetrics implements Metrics {
  readonly counters = new Map<string, number>()
  readonly gauges = new Map<string, number>()
  readonly observations = new Map<string, number[]>()
  private readonly collectors: Array<() => void> = []

  counter(name: string, _help: string, _labels?: readonly string[], collect?: (set: (value: number, labels?: MetricLabels) => void) => void): Counter {
    if (collect !== undefined) this.collectors.push(() => collect((value, labels) => this.counters.set(key(name, labels), value)))
    return {
      inc: (labels, value = 1) => {
        const k = key(name, labels)
        this.counters.set(k, (this.counters.get(k) ?? 0) + value)
      },
    }
  }

  gauge(name: string, _help: string, _labels?: readonly string[], collect?: (set: (value: number, labels?: MetricLabels) => void) => void): Gauge {
    const set = (value: number, labels?: MetricLabels): void => {
      this.gauges.set(key(name, labels), value)
    }
    if (collect !== undefined) this.collectors.push(() => collect(set))
    return { set }
  }

  histogram(name: string): Histogram {
    return {
      observe: (value, labels) => {
        const k = key(name, labels)
        const list = this.observations.get(k) ?? []
        list.push(value)
        this.observations.set(k, list)
      },
    }
  }

  /** Runs every gauge collector, then returns the value stored under `name` (with labels, if any). */
  read(name: string, labels?: MetricLabels): number | undefined {
    for (const c of this.collectors) c()
    const k = key(name, labels)
    return this.counters.get(k) ?? this.gauges.get(k)
  }
}
