// Goal: the Redis entity store keeps the port's fencing on a real Redis (127.0.0.1:6379): a load
// returns the newest save, a load under a newer epoch makes saves of older epochs fail with
// StaleEpochError, and an older version never overwrites a newer one.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, test } from 'node:test'
import { RedisEntityStore } from '../../../src/adapters/redis/entity-store.js'

const store = new RedisEntityStore({ prefix: `dx-test:${randomUUID()}:` })
after(() => store.close())
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b))

test('saves are fenced by the newest epoch that loaded the key', async () => {
  assert.equal(await store.load('account', 'alice', 5), undefined)
  await store.save('account', 'alice', { epoch: 5, version: 1, value: bytes('one') })
  await store.save('account', 'alice', { epoch: 5, version: 2, value: bytes('two') })
  await store.save('account', 'alice', { epoch: 5, version: 1, value: bytes('stale version') })
  const loaded = await store.load('account', 'alice', 7)
  assert.deepEqual([loaded?.epoch, loaded?.version, text(loaded?.value)], [5, 2, 'two'])
  await assert.rejects(store.save('account', 'alice', { epoch: 5, version: 3, value: bytes('late') }), { name: 'StaleEpochError' })
  await assert.rejects(store.load('account', 'alice', 6), { name: 'StaleEpochError' })
  await store.save('account', 'alice', { epoch: 7, version: 1, value: bytes('seven') })
  assert.equal(text((await store.load('account', 'alice', 7))?.value), 'seven')
})
