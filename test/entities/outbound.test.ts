// Goal: a batch to an owner carries one item per message with the right kind and id and the
// longest wait among its asks; results reach their askers; outcomes of one owner apply in send
// order whatever order their replies come in.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplyTarget } from '../../src/actor/reply.js'
import { toWireError } from '../../src/errors.js'
import { OrderedOutcomes, outboundBatch, routesOf, settleDelivery } from '../../src/entities/outbound.js'
import type { Delivery, Forward } from '../../src/entities/router.js'

const target = (log: unknown[]): ReplyTarget => ({ resolve: (v) => log.push(['ok', v]), reject: (e) => log.push(['error', e.message]) })
const fwd = (shard: number, epoch: number, delivery: Partial<Delivery>): Forward => ({
  shard,
  epoch,
  delivery: { entityType: 't', key: 'k', body: 'b', reply: undefined, deadlineMs: 0, ...delivery },
})

test('items: tells (kind 1, id 0), asks (kind 0, next id), watches (kind 2, own id, no body); the longest wait', () => {
  let next = 10
  const log: unknown[] = []
  const out = outboundBatch(
    [fwd(1, 5, {}), fwd(1, 5, { reply: target(log), deadlineMs: 1300 }), fwd(2, 6, { reply: target(log), deadlineMs: 900, watch: { node: 'me', id: 3 } })],
    1000,
    50,
    () => next++,
  )
  assert.deepEqual(out.ids, [0, 10, 3])
  assert.deepEqual(
    out.items.map((i) => [i[0], i[1], i[4], i[5], i[6]]),
    [
      [1, 5, 'b', 1, 0],
      [1, 5, 'b', 0, 10],
      [2, 6, null, 2, 3],
    ],
  )
  assert.equal(out.timeoutMs, 300)
  assert.equal(outboundBatch([fwd(1, 1, { reply: target(log), deadlineMs: 0 })], 1000, 50, () => 1).timeoutMs, 1, 'at least 1 ms')
})

test('results reach their askers; distinct routes in order', () => {
  const log: unknown[] = []
  const d: Delivery = { entityType: 't', key: 'k', body: null, reply: target(log), deadlineMs: 0 }
  settleDelivery(d, [0, 7])
  settleDelivery(d, [1, toWireError(new Error('boom'), 'ERR_REMOTE')])
  settleDelivery(d, [2])
  assert.deepEqual(log, [
    ['ok', 7],
    ['error', 'boom'],
  ])
  assert.deepEqual(routesOf([fwd(1, 5, {}), fwd(2, 5, {}), fwd(1, 5, {}), fwd(1, 6, {})]), [
    { shard: 1, epoch: 5 },
    { shard: 2, epoch: 5 },
    { shard: 1, epoch: 6 },
  ])
})

test('outcomes of one owner apply in send order; a failing one does not stop the chain', async () => {
  const errors: unknown[] = []
  const outcomes = new OrderedOutcomes((e) => errors.push(e))
  const applied: string[] = []
  let release!: (apply: () => void) => void
  outcomes.add('n1', new Promise((resolve) => (release = resolve)))
  outcomes.add(
    'n1',
    Promise.resolve(() => {
      throw new Error('bad step')
    }),
  )
  outcomes.add(
    'n1',
    Promise.resolve(() => applied.push('third')),
  )
  outcomes.add(
    'n2',
    Promise.resolve(() => applied.push('other owner')),
  )
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(applied, ['other owner'], 'n1 waits for its first outcome')
  release(() => applied.push('first'))
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(applied, ['other owner', 'first', 'third'])
  assert.equal(errors.length, 1)
  assert.equal(outcomes.pending, 0)
})
