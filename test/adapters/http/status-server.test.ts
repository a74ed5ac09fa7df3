// Goal: the HTTP endpoint serves /status as JSON and /metrics as Prometheus text from a real prom-client registry, on loopback.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startStatusServer } from '../../../src/adapters/http/status-server.js'
import { PrometheusMetrics } from '../../../src/adapters/prometheus/metrics.js'

test('GET /status and /metrics; other paths 404, other methods 405', async (t) => {
  const metrics = new PrometheusMetrics({ node: 'n1' })
  let actors = 3
  metrics.gauge('dx_actors', 'Live actors', [], (set) => set(actors))
  const restarts = metrics.counter('dx_test_restarts_total', 'Restarts')
  restarts.inc(undefined, 2)
  const server = await startStatusServer({ host: '127.0.0.1', port: 0, status: () => ({ nodeId: 'n1', leader: null }), metrics: () => metrics.render(), metricsContentType: metrics.registry.contentType })
  t.after(() => server.close())
  const base = `http://127.0.0.1:${server.port}`
  assert.deepEqual(await (await fetch(`${base}/status`)).json(), { nodeId: 'n1', leader: null })
  actors = 5
  const text = await (await fetch(`${base}/metrics`)).text()
  assert.match(text, /^dx_actors\{node="n1"\} 5$/m)
  assert.match(text, /^dx_test_restarts_total\{node="n1"\} 2$/m)
  assert.match(text, /dx_process_resident_memory_bytes|dx_nodejs_eventloop_lag_seconds/)
  assert.equal((await fetch(`${base}/nope`)).status, 404)
  assert.equal((await fetch(`${base}/status`, { method: 'POST' })).status, 405)
})

test('a collect callback re-declared later is the one that is read', async () => {
  const metrics = new PrometheusMetrics()
  metrics.gauge('dx_value', 'v', [], (set) => set(1))
  metrics.gauge('dx_value', 'v', [], (set) => set(2))
  assert.match(await metrics.render(), /^dx_value 2$/m)
})
