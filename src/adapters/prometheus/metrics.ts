/**
 * The Metrics port on prom-client: every counter, gauge and histogram the runtime declares lands in
 * one registry that the HTTP endpoint serves in the Prometheus text format. Pull-style metrics
 * (`collect` callbacks) are read at scrape time, so hot paths never call into prom-client.
 *
 * One PrometheusMetrics serves one node. Declaring a name again (a component restarted in the same
 * process) returns the same metric and makes the newest `collect` callback the one that is read.
 */
import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry } from 'prom-client'
import type { Counter, Gauge, Histogram, MetricLabels, Metrics } from '../../env/types.js'
import { collectProcessMetrics, type LoopLagSource } from './event-loop.js'

type Collect = (set: (value: number, labels?: MetricLabels) => void) => void

/** The collect callback currently behind a metric. */
interface Slot {
  collect: Collect | undefined
}

interface Declared {
  readonly metric: Counter | Gauge | Histogram
  readonly slot: Slot
}

/** A Metrics binding over its own prom-client registry. */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry()
  private readonly declared = new Map<string, Declared>()

  /** `loopLag` feeds the event-loop lag gauges (the node's one delay monitor); without it they are left out. */
  constructor(defaultLabels: Record<string, string> = {}, loopLag?: LoopLagSource) {
    this.registry.setDefaultLabels(defaultLabels)
    collectProcessMetrics(this.registry, 'dx_', loopLag)
  }

  counter(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Counter {
    return this.declare(name, collect, (slot) => {
      const counter: PromCounter = new PromCounter({
        name,
        help,
        labelNames: [...labelNames],
        registers: [this.registry],
        collect() {
          if (slot.collect === undefined) return
          counter.reset()
          slot.collect((value, labels) => counter.inc(labels ?? {}, value))
        },
      })
      return { inc: (labels, value = 1) => counter.inc(labels ?? {}, value) }
    })
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Gauge {
    return this.declare(name, collect, (slot) => {
      const gauge: PromGauge = new PromGauge({
        name,
        help,
        labelNames: [...labelNames],
        registers: [this.registry],
        collect: () => slot.collect?.((value, labels) => gauge.set(labels ?? {}, value)),
      })
      return { set: (value, labels) => gauge.set(labels ?? {}, value) }
    })
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []): Histogram {
    return this.declare(name, undefined, () => {
      const histogram = new PromHistogram({ name, help, buckets: [...buckets], labelNames: [...labelNames], registers: [this.registry] })
      return { observe: (value, labels) => histogram.observe(labels ?? {}, value) }
    })
  }

  /** The registry in the Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  private declare<T extends Counter | Gauge | Histogram>(name: string, collect: Collect | undefined, make: (slot: Slot) => T): T {
    const existing = this.declared.get(name)
    if (existing !== undefined) {
      if (collect !== undefined) existing.slot.collect = collect
      return existing.metric as T
    }
    const slot: Slot = { collect }
    const metric = make(slot)
    this.declared.set(name, { metric, slot })
    return metric
  }
}
