// Goal: the memory cache meets the ResultCache contract on a manual clock, and stays within its
// entry and byte bounds by evicting the least recently used entries. Method: ManualEnvironment time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualEnvironment } from '../../../src/env/manual.js'
import { MemoryResultCache } from '../../../src/adapters/memory/memory-cache.js'
import { cacheSuite } from '../../storage/cache.suite.js'

const env = new ManualEnvironment()
cacheSuite('MemoryResultCache', {
  setup: async () => new MemoryResultCache({ clock: env.clock }),
  teardown: async () => {},
  advance: (ms) => env.advance(ms),
  ttlMs: 60_000,
})

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

test('the entry bound evicts the least recently used entry', async () => {
  const cache = new MemoryResultCache({ clock: env.clock, maxEntries: 3 })
  await cache.set('a', bytes('1'))
  await cache.set('b', bytes('2'))
  await cache.set('c', bytes('3'))
  await cache.get('a')
  await cache.set('d', bytes('4'))
  assert.equal(cache.size, 3)
  assert.equal(await cache.get('b'), undefined)
  for (const key of ['a', 'c', 'd']) assert.notEqual(await cache.get(key), undefined, key)
})

test('the byte bound holds for any mix of writes, and an oversized value is refused', async () => {
  const cache = new MemoryResultCache({ clock: env.clock, maxBytes: 10_000 })
  for (let i = 0; i < 500; i++) {
    await cache.set(`key-${i % 97}`, new Uint8Array(1 + ((i * 37) % 900)), { ttlMs: 1 + (i % 5) * 1000 })
    assert.ok(cache.sizeBytes <= 10_000, `${cache.sizeBytes} bytes held`)
  }
  assert.equal((await cache.get(`key-${499 % 97}`))?.byteLength, 1 + ((499 * 37) % 900), 'the newest entry is kept')
  assert.ok(cache.size < 97, `${cache.size} entries: some were evicted`)
  await assert.rejects(cache.set('big', new Uint8Array(20_000)), { name: 'InvalidArgumentError' })
  await assert.rejects(cache.set('k', bytes('v'), { ttlMs: 0 }), { name: 'InvalidArgumentError' })
})

test('expired entries stop counting once touched', async () => {
  const local = new ManualEnvironment()
  const cache = new MemoryResultCache({ clock: local.clock })
  await cache.set('k', bytes('v'), { ttlMs: 10 })
  const held = cache.sizeBytes
  assert.ok(held > 0)
  await local.advance(10)
  assert.equal(await cache.get('k'), undefined)
  assert.equal(cache.sizeBytes, 0)
  assert.equal(cache.size, 0)
})

test('a stored value is a copy of its own, even when it is a Buffer view into a larger buffer', async () => {
  // An encoder's output is typically a view of its shared, megabytes-long buffer: storing the view
  // would keep that whole buffer alive for the entry's lifetime (and show later writes into it).
  const shared = Buffer.alloc(1 << 20)
  const view = shared.subarray(100, 104)
  view.set([1, 2, 3, 4])
  const cache = new MemoryResultCache({ clock: env.clock })
  await cache.set('k', view)
  shared.fill(9)
  assert.deepEqual([...((await cache.get('k')) ?? [])], [1, 2, 3, 4])
})

test('every byte value round-trips beside the deadline, and an entry without a TTL never expires', async () => {
  const local = new ManualEnvironment()
  const cache = new MemoryResultCache({ clock: local.clock })
  const all = Uint8Array.from({ length: 256 }, (_, i) => i)
  await cache.set('forever', all)
  await cache.set('brief', all, { ttlMs: 1.5 })
  await local.advance(2)
  assert.equal(await cache.get('brief'), undefined)
  await local.advance(10 * 365 * 24 * 3600_000)
  assert.deepEqual(await cache.get('forever'), all)
})

test('clear drops every entry and its bytes', async () => {
  const cache = new MemoryResultCache({ clock: env.clock, maxEntries: 3 })
  await cache.set('a', bytes('1'))
  await cache.set('b', bytes('22'))
  cache.clear()
  assert.deepEqual([cache.size, cache.sizeBytes, await cache.get('a')], [0, 0, undefined])
  await cache.set('c', bytes('3'))
  assert.equal(cache.size, 1)
})
