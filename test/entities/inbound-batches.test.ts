// Goal: a received batch is answered once every message is decided and either every ask answered
// or the linger passed; asks still running then are "later" and their answers go alone ('late'),
// a bounce after the reply becomes an error, and a batch past its timeout fails what it waits for.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplyTarget } from '../../src/actor/reply.js'
import { BatchItem, InboundBatches, type OpenBatch } from '../../src/entities/inbound-batches.js'
import type { DeliverReply, ItemResult } from '../../src/entities/wire.js'

function setup(lingerMs = 20) {
  const replies: DeliverReply[] = []
  const lates: Array<[string, number, ItemResult]> = []
  const batches = new InboundBatches((to, id, r) => lates.push([to, id, r]), lingerMs, '/system/entities')
  const reply: ReplyTarget = { resolve: (value) => replies.push(value as DeliverReply), reject: (error) => assert.fail(error) }
  return { batches, replies, lates, reply }
}

/** Message `i` of `batch`: a tell or an ask of key `k<i>` from n1. */
const item = (batches: InboundBatches, batch: OpenBatch, i: number, tell: boolean): BatchItem =>
  new BatchItem(batches, batch, i, 'echo', `k${i}`, { type: 'echo' }, tell ? 1 : 0, 'n1', batch.ids[i]!, 5000)

test('answered at once when every message has its result, in message order', () => {
  const { batches, replies, reply } = setup()
  const batch = batches.open('n1', [0, 7, 8], 0, 1000, reply)
  const [tell, ask, bounced] = [0, 1, 2].map((i) => item(batches, batch, i, i === 0))
  tell!.accepted()
  bounced!.bounce()
  assert.equal(replies.length, 0, 'the ask has not answered')
  ask!.accepted()
  ask!.resolve(42)
  ask!.reject(new Error('a second result is ignored'))
  assert.deepEqual(replies, [{ v: 3, r: [[0], [0, 42], [2]] }])
  assert.equal(batches.size, 0)
})

test('a slow ask is marked later after the linger and its answer follows alone', () => {
  const { batches, replies, lates, reply } = setup(20)
  const batch = batches.open('n1', [5, 6], 100, 1000, reply)
  const fast = item(batches, batch, 0, false)
  const slow = item(batches, batch, 1, false)
  fast.accepted()
  fast.resolve('a')
  batches.expire(110)
  assert.equal(replies.length, 0, 'the slow ask has not even been accepted')
  slow.accepted()
  batches.expire(119)
  assert.equal(replies.length, 0, 'within the linger')
  batches.expire(120)
  assert.deepEqual(replies, [{ v: 3, r: [[0, 'a'], [3]] }])
  slow.resolve('b')
  assert.deepEqual(lates, [['n1', 6, [0, 'b']]])
  assert.equal(batches.size, 0)
})

test('a message bounced after its batch was answered reaches its asker as an error', () => {
  const { batches, lates, reply } = setup(0)
  const batch = batches.open('n2', [9], 0, 1000, reply)
  const only = item(batches, batch, 0, false)
  only.accepted()
  batches.expire(0)
  only.bounce()
  assert.equal(lates.length, 1)
  const [, id, r] = lates[0]!
  assert.equal(id, 9)
  assert.equal(r[0], 1)
  assert.match((r as [1, { message: string }])[1].message, /moved while a message waited/)
})

test('past its timeout a batch fails every message still open with a timeout', () => {
  const { batches, replies, reply } = setup()
  const batch = batches.open('n1', [1, 2], 0, 500, reply)
  item(batches, batch, 0, true).accepted()
  batches.expire(499)
  assert.equal(replies.length, 0, 'the second message is held, undecided')
  batches.expire(500)
  assert.equal(replies.length, 1)
  const r = replies[0]!.r
  assert.deepEqual(r[0], [0])
  assert.equal(r[1]![0], 1)
  assert.equal((r[1] as [1, { name: string }])[1].name, 'AskTimeoutError')
  assert.equal(batches.size, 0)
})

test('an empty batch trips an assertion', () => {
  const { batches, reply } = setup()
  assert.throws(() => batches.open('n1', [], 0, 100, reply), { name: 'AssertionFailure', message: /an empty entity batch/ })
})

test('deciding a message the batch does not have trips an assertion', () => {
  const { batches, reply } = setup()
  const batch = batches.open('n1', [3], 0, 100, reply)
  batches.decide(batch, 0)
  assert.throws(() => batches.decide(batch, 1), { name: 'AssertionFailure', message: /entity batch: more decided messages than messages/ })
})

test('a batch is answered once (the private reply called again on purpose)', () => {
  const { batches, replies, reply } = setup()
  const batch = batches.open('n1', [0], 0, 100, reply)
  batches.settle(batch, 0, [0])
  assert.equal(replies.length, 1)
  assert.throws(() => (batches as unknown as { reply(b: typeof batch): void }).reply(batch), { name: 'AssertionFailure', message: /entity batch answered twice/ })
  assert.equal(replies.length, 1)
})

test('an item is its own delivery: an ask answers through itself, a tell has no reply, a watch names its watcher', () => {
  const { batches, reply } = setup()
  const batch = batches.open('n1', [4, 0, 6], 0, 1000, reply)
  const ask = new BatchItem(batches, batch, 0, 'echo', 'k1', 'body', 0, 'n1', 4, 77)
  const tell = new BatchItem(batches, batch, 1, 'echo', 'k2', 'body', 1, 'n1', 0, 77)
  const watch = new BatchItem(batches, batch, 2, 'echo', 'k3', null, 2, 'n1', 6, 77)
  assert.equal(ask.delivery, ask)
  assert.equal(ask.reply, ask)
  assert.deepEqual([ask.entityType, ask.key, ask.body, ask.deadlineMs, ask.watch], ['echo', 'k1', 'body', 77, undefined])
  assert.equal(tell.reply, undefined)
  assert.deepEqual(watch.watch, { node: 'n1', id: 6 })
  assert.equal(watch.reply, watch)
})
