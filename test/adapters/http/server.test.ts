// Goal: the HTTP server routes JSON requests, turns errors into JSON responses with fitting codes
// (400, 404, 405, 413, 500, 503), and serves Prometheus text from a real prom-client registry.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HttpError, startHttpServer } from '../../../src/adapters/http/server.js'
import { PrometheusMetrics } from '../../../src/adapters/prometheus/metrics.js'
import { NoLeaderError, PayloadTooLargeError } from '../../../src/jobs/errors.js'
import { JobLogUnavailableError } from '../../../src/storage/errors.js'

test('routes, params, bodies and error statuses', async (t) => {
  const metrics = new PrometheusMetrics({ node: 'n1' })
  let actors = 3
  metrics.gauge('dx_actors', 'Live actors', [], (set) => set(actors))
  metrics.counter('dx_test_restarts_total', 'Restarts').inc(undefined, 2)
  const server = await startHttpServer('127.0.0.1', 0, [
    { method: 'GET', pattern: '/status', handle: () => ({ status: 200, json: { nodeId: 'n1' } }) },
    { method: 'GET', pattern: '/metrics', handle: async () => ({ status: 200, text: await metrics.render(), contentType: metrics.registry.contentType }) },
    { method: 'POST', pattern: '/echo/:name', handle: ({ params, body }) => ({ status: 201, json: { name: params.name, body } }) },
    {
      method: 'GET',
      pattern: '/fail/:kind',
      handle: ({ params }) => {
        if (params.kind === 'leader') throw new NoLeaderError('election')
        if (params.kind === 'large') throw new PayloadTooLargeError(2, 1)
        if (params.kind === 'log') throw new JobLogUnavailableError('the job log is failing', false)
        if (params.kind === 'teapot') throw new HttpError(418, 'short and stout')
        throw new Error('boom')
      },
    },
  ])
  t.after(() => server.close())
  assert.equal(server.host, '127.0.0.1')
  const base = `http://127.0.0.1:${server.port}`
  assert.deepEqual(await (await fetch(`${base}/status`)).json(), { nodeId: 'n1' })
  actors = 5
  const text = await (await fetch(`${base}/metrics`)).text()
  assert.match(text, /^dx_actors\{node="n1"\} 5$/m)
  assert.match(text, /^dx_test_restarts_total\{node="n1"\} 2$/m)
  assert.match(text, /dx_process_resident_memory_bytes|dx_nodejs_eventloop_lag_seconds/)
  const json = { 'content-type': 'application/json' }
  const echo = await fetch(`${base}/echo/a%20b`, { method: 'POST', headers: json, body: JSON.stringify({ x: 1 }) })
  assert.equal(echo.status, 201)
  assert.deepEqual(await echo.json(), { name: 'a b', body: { x: 1 } })
  const statusOf = async (path: string, init?: RequestInit): Promise<[number, string]> => {
    const res = await fetch(`${base}${path}`, init)
    return [res.status, ((await res.json()) as { error: { name: string } }).error.name]
  }
  assert.deepEqual(await statusOf('/nope'), [404, 'Error'])
  assert.deepEqual(await statusOf('/status', { method: 'POST' }), [405, 'Error'])
  assert.deepEqual(await statusOf('/echo/x', { method: 'POST', headers: json, body: '{not json' }), [400, 'Error'])
  assert.deepEqual(await statusOf('/echo/x', { method: 'POST', headers: json, body: 'x'.repeat(1024 * 1024 + 1) }), [413, 'Error'])
  assert.deepEqual(await statusOf('/fail/leader'), [503, 'NoLeaderError'])
  assert.deepEqual(await statusOf('/fail/large'), [413, 'PayloadTooLargeError'])
  assert.deepEqual(await statusOf('/fail/log'), [503, 'JobLogUnavailableError'])
  assert.deepEqual(await statusOf('/fail/teapot'), [418, 'Error'])
  assert.deepEqual(await statusOf('/fail/other'), [500, 'Error'])
})

test('a collect callback re-declared later is the one that is read', async () => {
  const metrics = new PrometheusMetrics()
  metrics.gauge('dx_value', 'v', [], (set) => set(1))
  metrics.gauge('dx_value', 'v', [], (set) => set(2))
  assert.match(await metrics.render(), /^dx_value 2$/m)
})

test('a handler’s signal aborts when the client goes away and when the server closes', async () => {
  const aborted: string[] = []
  const waitForAbort = (name: string, signal: AbortSignal): Promise<never> =>
    new Promise((_, reject) =>
      signal.addEventListener('abort', () => {
        aborted.push(name)
        reject(new Error('gone'))
      }),
    )
  let entered: () => void = () => {}
  const server = await startHttpServer('127.0.0.1', 0, [{ method: 'GET', pattern: '/wait/:name', handle: ({ params, signal }) => (entered(), waitForAbort(params.name!, signal)) }])
  const base = `http://127.0.0.1:${server.port}`
  const client = new AbortController()
  let inHandler = new Promise<void>((r) => (entered = r))
  const first = fetch(`${base}/wait/client`, { signal: client.signal }).catch(() => 'client aborted')
  await inHandler
  client.abort()
  assert.equal(await first, 'client aborted')
  inHandler = new Promise<void>((r) => (entered = r))
  const second = fetch(`${base}/wait/server`).catch(() => 'connection closed')
  await inHandler
  await server.close()
  assert.equal(await second, 'connection closed')
  for (let i = 0; i < 50 && aborted.length < 2; i++) await new Promise((r) => setImmediate(r))
  assert.deepEqual(aborted, ['client', 'server'])
})
