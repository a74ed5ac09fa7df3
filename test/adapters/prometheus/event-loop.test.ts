// Goal: the Prometheus event-loop lag gauges keep prom-client's names and are fed from the node's one
// delay monitor: each scrape takes the delays since the previous one and shows them in that same
// scrape, in seconds; prom-client's own monitor adds no second set; without a source they are left out.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PrometheusMetrics } from '../../../src/adapters/prometheus/metrics.js'

const value = (text: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  assert.ok(m !== null, `${name} is served`)
  return Number(m[1])
}

test('each scrape shows the delays taken for it, under prom-client names', async () => {
  let takes = 0
  const source = {
    take: () => {
      takes++
      return { minMs: takes, maxMs: 250 * takes, meanMs: 3, stddevMs: 4, p50Ms: 5, p90Ms: 60, p99Ms: 210 * takes }
    },
  }
  const metrics = new PrometheusMetrics({}, source)
  const first = await metrics.render()
  assert.equal(takes, 1)
  assert.equal(value(first, 'dx_nodejs_eventloop_lag_p99_seconds'), 0.21)
  assert.equal(value(first, 'dx_nodejs_eventloop_lag_max_seconds'), 0.25)
  assert.equal(value(first, 'dx_nodejs_eventloop_lag_p90_seconds'), 0.06)
  assert.ok(value(first, 'dx_nodejs_eventloop_lag_seconds') >= 0)
  assert.equal(first.match(/^# TYPE dx_nodejs_eventloop_lag_p99_seconds /gm)?.length, 1)
  assert.ok(value(first, 'dx_process_resident_memory_bytes') > 0, 'the other process metrics stay')
  const second = await metrics.render()
  assert.equal(takes, 2)
  assert.equal(value(second, 'dx_nodejs_eventloop_lag_p99_seconds'), 0.42)
  assert.equal(value(second, 'dx_nodejs_eventloop_lag_min_seconds'), 0.002)
})

test('without a source the lag gauges are left out', async () => {
  const text = await new PrometheusMetrics().render()
  assert.doesNotMatch(text, /dx_nodejs_eventloop_lag/)
  assert.match(text, /^dx_nodejs_heap_size_used_bytes/m)
})
