// The ResultCache contract, as one suite every implementation runs (memory, Redis, the simulator's).
// Method: each test gets a fresh cache from the caller's setup; expiry is driven by the caller's
// `advance`, which moves a manual clock or waits in real time, so the suite needs no clock of its own.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ResultCache } from '../../src/storage/types.js'

/** How to get a fresh cache of one implementation and move its time. */
export interface CacheSuiteSetup {
  setup(): Promise<ResultCache>
  teardown(cache: ResultCache): Promise<void>
  /** Lets `ms` of the cache's time pass: advances a manual clock, or sleeps for real. */
  advance(ms: number): Promise<void>
  /** The TTL the expiry tests use: short for real time, anything for a manual clock. */
  ttlMs: number
  timeoutMs?: number
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value))

/** Registers the ResultCache contract tests under `name`. */
export function cacheSuite(name: string, setup: CacheSuiteSetup): void {
  const timeout = setup.timeoutMs ?? 10_000
  const withCache = (title: string, body: (cache: ResultCache) => Promise<void>): void => {
    test(title, { timeout }, async () => {
      const cache = await setup.setup()
      try {
        await body(cache)
      } finally {
        await setup.teardown(cache)
      }
    })
  }

  describe(`ResultCache contract: ${name}`, () => {
    withCache('a missing key reads as undefined', async (cache) => {
      assert.equal(await cache.get('missing'), undefined)
    })

    withCache('set then get returns the exact bytes, binary and empty values included', async (cache) => {
      const binary = Uint8Array.from({ length: 256 }, (_, i) => 255 - i)
      await cache.set('binary', binary)
      await cache.set('empty', new Uint8Array(0))
      const read = await cache.get('binary')
      assert.ok(read instanceof Uint8Array)
      assert.deepEqual([...read], [...binary])
      assert.equal((await cache.get('empty'))?.byteLength, 0)
    })

    withCache("set overwrites; the cache keeps no alias of the caller's buffer", async (cache) => {
      const value = bytes('first')
      await cache.set('k', value)
      value.fill(0)
      assert.equal(text(await cache.get('k')), 'first')
      await cache.set('k', bytes('second'))
      assert.equal(text(await cache.get('k')), 'second')
    })

    withCache('setIfAbsent writes only when the key is absent', async (cache) => {
      assert.equal(await cache.setIfAbsent('k', bytes('one')), true)
      assert.equal(await cache.setIfAbsent('k', bytes('two')), false)
      assert.equal(text(await cache.get('k')), 'one')
    })

    withCache('concurrent setIfAbsent calls on one key: exactly one wins', async (cache) => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => cache.setIfAbsent('race', bytes(`v${i}`))))
      assert.equal(results.filter(Boolean).length, 1)
      assert.equal(text(await cache.get('race')), `v${results.indexOf(true)}`)
    })

    withCache('an entry with a TTL expires; one without stays', async (cache) => {
      await cache.set('short', bytes('s'), { ttlMs: setup.ttlMs })
      await cache.set('forever', bytes('f'))
      assert.equal(text(await cache.get('short')), 's')
      await setup.advance(setup.ttlMs * 3)
      assert.equal(await cache.get('short'), undefined)
      assert.equal(text(await cache.get('forever')), 'f')
    })

    withCache('setIfAbsent treats an expired entry as absent and honours its own TTL', async (cache) => {
      assert.equal(await cache.setIfAbsent('k', bytes('old'), { ttlMs: setup.ttlMs }), true)
      await setup.advance(setup.ttlMs * 3)
      assert.equal(await cache.setIfAbsent('k', bytes('new'), { ttlMs: setup.ttlMs }), true)
      assert.equal(text(await cache.get('k')), 'new')
      await setup.advance(setup.ttlMs * 3)
      assert.equal(await cache.get('k'), undefined)
    })

    withCache('set replaces a TTL: an overwrite without one does not expire', async (cache) => {
      await cache.set('k', bytes('a'), { ttlMs: setup.ttlMs })
      await cache.set('k', bytes('b'))
      await setup.advance(setup.ttlMs * 3)
      assert.equal(text(await cache.get('k')), 'b')
    })
  })
}
