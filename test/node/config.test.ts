// Goal: node settings merge flags over environment over file over defaults, and every bad value is a ConfigError naming it.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { DEFAULT_HTTP, DEFAULT_LISTEN, hostPort, resolveConfig } from '../../src/node/config.js'

test('defaults: listen on 7400, HTTP on loopback, data and secret under .distributex', () => {
  const c = resolveConfig({}, {})
  assert.deepEqual(c.listen, [DEFAULT_LISTEN])
  assert.deepEqual(c.http, hostPort(DEFAULT_HTTP))
  assert.equal(c.http?.host, '127.0.0.1')
  assert.equal(c.dataDir, join('.distributex', '7400'))
  assert.equal(c.secretFile, join('.distributex', '7400', 'cluster.key'))
  assert.deepEqual(c.bootstrap, [])
})

test('flags beat environment, environment beats the config file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-config-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'node.json')
  await writeFile(file, JSON.stringify({ listen: '/ip4/127.0.0.1/tcp/9000', http: '127.0.0.1:9001', dataDir: '/from/file', leaseMs: 2000 }))
  const c = resolveConfig(
    { http: '127.0.0.1:8001' },
    { DX_HTTP: '127.0.0.1:7001', DX_DATA_DIR: '/from/env', DX_BOOTSTRAP: '/ip4/10.0.0.1/tcp/7400/p2p/12D3KooWabc, /ip4/10.0.0.2/tcp/7400/p2p/12D3KooWdef' },
    file,
  )
  assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/9000'])
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 8001 })
  assert.equal(c.dataDir, '/from/env')
  assert.equal(c.bootstrap.length, 2)
  assert.equal(c.leaseMs, 2000)
  assert.equal(resolveConfig({ http: 'off' }, {}).http, undefined)
})

test('the job log and the cache move to Kafka and Redis by configuration alone', () => {
  const embedded = resolveConfig({}, {})
  assert.deepEqual(embedded.jobLog, { kind: 'replicated' })
  assert.deepEqual(embedded.cache, { kind: 'memory' })
  const real = resolveConfig({}, { DX_JOB_LOG: 'kafka://127.0.0.1:19092,127.0.0.1:19094/dx-jobs', DX_CACHE: 'redis://127.0.0.1:6379/prod' })
  assert.deepEqual(real.jobLog, { kind: 'kafka', brokers: ['127.0.0.1:19092', '127.0.0.1:19094'], topic: 'dx-jobs' })
  assert.deepEqual(real.cache, { kind: 'redis', host: '127.0.0.1', port: 6379, prefix: 'prod' })
})

test('bad settings are refused with ConfigError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-config-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const bad = join(dir, 'bad.json')
  await writeFile(bad, JSON.stringify({ lisen: 'typo' }))
  const typed = async (settings: unknown): Promise<string> => {
    const path = join(dir, `typed-${Math.random()}.json`)
    await writeFile(path, JSON.stringify(settings))
    return path
  }
  const wrongTypes = await Promise.all([{ listen: 5 }, { http: ['127.0.0.1:1'] }, { leaseMs: true }, { actors: [1] }, { jobLog: null }, { bootstrap: { a: 1 } }].map(typed))
  const cases: Array<() => unknown> = [
    () => resolveConfig({ listen: 'localhost:7400' }, {}),
    () => resolveConfig({ bootstrap: '/ip4/10.0.0.1/tcp/7400' }, {}),
    () => resolveConfig({ http: 'nope' }, {}),
    () => resolveConfig({ logLevel: 'loud' }, {}),
    () => resolveConfig({ leaseMs: '-5' }, {}),
    () => resolveConfig({}, {}, bad),
    () => resolveConfig({}, {}, join(dir, 'missing.json')),
    () => resolveConfig({ jobLog: 'sqlite:x' }, {}),
    () => resolveConfig({ jobLog: 'kafka://broker/bad topic' }, {}),
    () => resolveConfig({ cache: 'memcached://x:1' }, {}),
    ...wrongTypes.map((path) => () => resolveConfig({}, {}, path)),
  ]
  for (const c of cases) assert.throws(c, { name: 'ConfigError', code: 'ERR_CONFIG' })
})

test('the leader orders ready jobs fifo unless told critical-path; anything else is refused', () => {
  assert.equal(resolveConfig({}, {}).jobOrder, 'fifo')
  assert.equal(resolveConfig({}, { DX_JOB_ORDER: 'critical-path' }).jobOrder, 'critical-path')
  assert.equal(resolveConfig({ jobOrder: 'fifo' }, { DX_JOB_ORDER: 'critical-path' }).jobOrder, 'fifo')
  assert.throws(() => resolveConfig({ jobOrder: 'lifo' }, {}), { name: 'ConfigError', message: /jobOrder: lifo/ })
})
