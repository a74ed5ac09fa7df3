// Goal: the HTTP API is safe to expose. With a token every route but the public ones answers 401
// without it; on any bind, a POST that is not JSON gets 415 (a cross-site page can only send
// text/plain or form bodies without a preflight), a Host header naming neither the bound address nor
// a configured name gets 421 (DNS rebinding), no CORS header is ever sent, waits are capped (400),
// and a client that trickles its headers (slowloris) is cut off within the headers timeout. The
// node refuses to start its API beyond loopback without a token.
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { request as httpRequest } from 'node:http'
import { test } from 'node:test'
import { startHttpServer, type Route } from '../../../src/adapters/http/server.js'
import { ConfigError, resolveConfig } from '../../../src/node/config.js'
import { nodeRoutes } from '../../../src/node/http-api.js'
import { realEnvironment } from '../../../src/env/real.js'
import type { JobClient } from '../../../src/jobs/client.js'

const routes: Route[] = [
  { method: 'GET', pattern: '/metrics', public: true, handle: () => ({ status: 200, text: 'dx 1\n', contentType: 'text/plain' }) },
  { method: 'GET', pattern: '/status', handle: () => ({ status: 200, json: { ok: true } }) },
  { method: 'POST', pattern: '/jobs', handle: ({ body }) => ({ status: 202, json: { got: body } }) },
]

/** A raw request with full control of the Host header (fetch does not allow setting it). */
function raw(
  port: number,
  options: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

test('a token guards every route but the public ones, compared whole', async (t) => {
  const server = await startHttpServer('127.0.0.1', 0, routes, { token: 's3cret-token' })
  t.after(() => server.close())
  const p = server.port
  assert.equal((await raw(p, { path: '/status' })).status, 401)
  assert.equal((await raw(p, { path: '/status', headers: { authorization: 'Bearer s3cret-toke' } })).status, 401)
  assert.equal((await raw(p, { path: '/status', headers: { authorization: 'Bearer s3cret-token!' } })).status, 401)
  const denied = await raw(p, { path: '/status', headers: { authorization: 'Basic s3cret-token' } })
  assert.equal(denied.status, 401)
  assert.equal(denied.headers['www-authenticate'], 'Bearer')
  assert.equal(JSON.parse(denied.body).error.code, 'ERR_HTTP_UNAUTHORIZED')
  assert.equal((await raw(p, { path: '/status', headers: { authorization: 'Bearer s3cret-token' } })).status, 200)
  assert.equal((await raw(p, { path: '/metrics' })).status, 200, '/metrics stays public for Prometheus')
  const post = await raw(p, { method: 'POST', path: '/jobs', headers: { authorization: 'Bearer s3cret-token', 'content-type': 'application/json' }, body: '{"a":1}' })
  assert.deepEqual([post.status, JSON.parse(post.body)], [202, { got: { a: 1 } }])
})

test('cross-site requests: non-JSON POSTs get 415, foreign Host names 421, and no CORS header is sent', async (t) => {
  const server = await startHttpServer('127.0.0.1', 0, routes, { hostNames: ['dx.example.internal'] })
  t.after(() => server.close())
  const p = server.port
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    const res = await raw(p, { method: 'POST', path: '/jobs', headers: type === undefined ? {} : { 'content-type': type }, body: '{"type":"fib"}' })
    assert.equal(res.status, 415, `content type ${type}`)
    assert.equal(JSON.parse(res.body).error.code, 'ERR_HTTP_CONTENT_TYPE')
  }
  const ok = await raw(p, { method: 'POST', path: '/jobs', headers: { 'content-type': 'application/json; charset=utf-8', origin: 'http://evil.example' }, body: '{}' })
  assert.equal(ok.status, 202)
  assert.equal(Object.keys(ok.headers).filter((h) => h.startsWith('access-control-')).length, 0)
  const rebound = await raw(p, { path: '/status', host: 'evil.example:7401' })
  assert.equal(rebound.status, 421)
  assert.equal(JSON.parse(rebound.body).error.code, 'ERR_HTTP_MISDIRECTED')
  assert.equal((await raw(p, { path: '/status', host: '10.1.2.3' })).status, 421, 'another address than the bound one')
  assert.equal((await raw(p, { path: '/status', host: `localhost:${p}` })).status, 200)
  assert.equal((await raw(p, { path: '/status', host: `DX.example.internal:${p}` })).status, 200, 'a configured name, any case')
})

test('a client that trickles its headers is cut off within the headers timeout', async (t) => {
  const server = await startHttpServer('127.0.0.1', 0, routes, { headersTimeoutMs: 1000, requestTimeoutMs: 1500 })
  t.after(() => server.close())
  const socket = connect(server.port, '127.0.0.1')
  const started = Date.now()
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)))
  socket.on('error', () => {})
  socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 200)
  const after = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))])
  clearInterval(drip)
  socket.destroy()
  assert.ok(after > 0, 'the server closed the slow connection')
  // Node checks the timeouts every connectionsCheckingInterval (30 s by default, set lower by the server).
  assert.ok(after < 4000, `closed after ${after} ms`)
})

test('connections beyond the cap are closed at once', async (t) => {
  const server = await startHttpServer('127.0.0.1', 0, routes, { maxConnections: 2 })
  t.after(() => server.close())
  const open = (): Promise<{ socket: ReturnType<typeof connect>; closed: Promise<void> }> =>
    new Promise((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => resolve({ socket, closed: new Promise((r) => socket.on('close', () => r())) }))
      socket.on('error', () => {})
    })
  const held = [await open(), await open()]
  const third = await open()
  const closedAtOnce = await Promise.race([third.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))])
  assert.equal(closedAtOnce, true)
  for (const h of held) h.socket.destroy()
})

test('waits are capped: timeoutMs above the maximum is a 400, not a timer that fires at once', async (t) => {
  const jobs = { inspect: async () => ({ id: 'j1', status: 'running', outcome: null }) } as unknown as JobClient
  const env = realEnvironment({ logLevel: 'error' })
  const server = await startHttpServer(
    '127.0.0.1',
    0,
    nodeRoutes({
      status: () => ({ nodeId: 'n', clusterId: null, addresses: [], leader: null, leading: false, members: [] }),
      metrics: async () => '',
      metricsContentType: 'text/plain',
      jobs,
      timers: env.timers,
      removeMember: async () => ({ ok: true }),
    }),
  )
  t.after(() => server.close())
  for (const q of ['timeoutMs=2147483648', 'timeoutMs=-1', 'timeoutMs=abc']) {
    const res = await raw(server.port, { path: `/jobs/j1/result?${q}` })
    assert.equal(res.status, 400, q)
    assert.equal(JSON.parse(res.body).error.code, 'ERR_HTTP_QUERY')
  }
  const sub = await raw(server.port, { method: 'POST', path: '/jobs?submitTimeoutMs=99999999999', headers: { 'content-type': 'application/json' }, body: '{"type":"x"}' })
  assert.equal(sub.status, 400)
  assert.equal((await raw(server.port, { path: '/healthz' })).status, 200)
})

test('the API is not started beyond loopback without a token', () => {
  assert.throws(
    () => resolveConfig({ http: '0.0.0.0:7401' }, {}),
    (e: unknown) => e instanceof ConfigError && /needs a token/.test(e.message),
  )
  assert.throws(() => resolveConfig({ http: '10.0.0.5:7401' }, {}), ConfigError)
  assert.equal(resolveConfig({ http: '127.0.0.1:7401' }, {}).httpTokenFile, undefined)
  assert.equal(resolveConfig({ http: '0.0.0.0:7401', httpTokenFile: '/etc/dx/token' }, {}).httpTokenFile, '/etc/dx/token')
  assert.equal(resolveConfig({ http: '[::1]:7401' }, {}).http?.host, '::1')
})
