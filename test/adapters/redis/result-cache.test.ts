// Goal: the Redis cache meets the ResultCache contract against the machine's real Redis, fails
// with CacheUnavailableError within its command timeout when Redis is gone, refuses work beyond
// its pending bound, and reconnects by itself. Method: a unique key prefix per test (keys deleted
// afterwards), real TTLs of 50 ms, and a private redis-server on another port that the test stops
// and starts again.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { RedisResultCache } from '../../../src/adapters/redis/result-cache.js'
import { MemoryLogger } from '../../../src/env/logger.js'
import type { ResultCache } from '../../../src/storage/types.js'
import { ensureRedis } from '../../helpers/services.js'
import { cacheSuite } from '../../storage/cache.suite.js'

const logger = new MemoryLogger()
const prefixes = new WeakMap<ResultCache, string>()

cacheSuite('RedisResultCache', {
  async setup() {
    const { host, port } = await ensureRedis()
    const prefix = `dx-test:${process.pid}:${randomBytes(4).toString('hex')}:`
    const cache = new RedisResultCache({ host, port, prefix, logger })
    prefixes.set(cache, prefix)
    return cache
  },
  async teardown(cache) {
    await (cache as RedisResultCache).close()
    await deleteKeys(prefixes.get(cache)!)
  },
  advance: (ms) => sleep(ms),
  ttlMs: 50,
})

/** Deletes every key under `prefix` on the test Redis. */
async function deleteKeys(prefix: string): Promise<void> {
  const { host, port } = await ensureRedis()
  const admin = new Redis({ host, port })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    admin.disconnect()
  }
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

async function failsUnavailable(call: Promise<unknown>, boundMs: number): Promise<void> {
  const started = performance.now()
  await assert.rejects(call, { name: 'CacheUnavailableError' })
  const elapsed = performance.now() - started
  assert.ok(elapsed < boundMs, `failed after ${elapsed} ms`)
}

test('nothing listening: typed errors within the command timeout; the pending bound fails fast', async () => {
  const cache = new RedisResultCache({ port: 1, prefix: 'dx-test:', logger, commandTimeoutMs: 300, maxPending: 2 })
  try {
    const slow = [cache.get('a'), cache.set('b', bytes('v'))]
    await failsUnavailable(cache.setIfAbsent('c', bytes('v')), 50)
    for (const call of slow) await failsUnavailable(call, 2000)
    await failsUnavailable(cache.get('a'), 2000)
  } finally {
    await cache.close()
  }
})

test('Redis stops and comes back: errors while it is gone, then the same client works again', { timeout: 30_000 }, async (t) => {
  const port = 16300 + (process.pid % 500)
  let server = await startRedis(port)
  t.after(() => server.kill('SIGKILL'))
  const cache = new RedisResultCache({ port, prefix: 'dx-test:', logger, commandTimeoutMs: 500, reconnectDelayMaxMs: 200 })
  try {
    await cache.set('k', bytes('before'))
    server.kill('SIGTERM')
    await once(server, 'exit')
    await failsUnavailable(cache.get('k'), 3000)
    server = await startRedis(port)
    let value: Uint8Array | undefined
    for (let attempt = 0; attempt < 40 && value === undefined; attempt++) {
      try {
        await cache.set('k', bytes('after'))
        value = await cache.get('k')
      } catch (error) {
        assert.equal((error as Error).name, 'CacheUnavailableError')
        await sleep(100)
      }
    }
    assert.equal(new TextDecoder().decode(value), 'after')
  } finally {
    await cache.close()
  }
})

/** A throw-away redis-server in the foreground, answering PING. */
async function startRedis(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on('error', () => {})
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        if (probe.status !== 'ready') await probe.connect()
        if ((await probe.ping()) === 'PONG') return server
      } catch {
        await sleep(100)
      }
    }
  } finally {
    probe.disconnect()
  }
  server.kill('SIGKILL')
  throw new Error(`redis-server did not start on port ${port}`)
}
