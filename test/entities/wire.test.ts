// Goal: a 'deliver' batch from a peer enters the entities actor only with the current version, a
// sane shape and within its size bounds, and a batch's reply is used only when it lists one known
// outcome per message, and a late answer only with a value or an error (input from peers is never
// trusted).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validDeliver, validDeliverReply, validLate } from '../../src/entities/wire.js'
import { DEFAULT_BATCH_LIMITS } from '../../src/entities/router.js'
import { toWireError } from '../../src/errors.js'

const item = (shard = 1): unknown[] => [shard, 7, 'echo', 'k1', { type: 'echo' }, 0, 12]
const batch = (items: unknown[], extra: Record<string, unknown> = {}): unknown => ({ type: 'deliver', v: 3, items, timeoutMs: 5000, ...extra })

test('a deliver batch is checked for version, shape and bounds', () => {
  assert.ok(validDeliver('n1', batch([item(), item(2)])))
  assert.ok(validDeliver('n1', batch(Array.from({ length: DEFAULT_BATCH_LIMITS.maxItems }, () => item()))))
  assert.ok(!validDeliver('n1', batch(Array.from({ length: DEFAULT_BATCH_LIMITS.maxItems + 1 }, () => item()))), 'too many messages')
  assert.ok(!validDeliver('n1', batch([])), 'empty')
  assert.ok(!validDeliver('n1', batch([item()], { v: 2 })), 'an older version')
  assert.ok(!validDeliver('n1', { type: 'deliver', shard: 1, epoch: 7, entity: 'echo', key: 'k1', body: {}, tell: false }), 'the unbatched message of version 1')
  assert.ok(!validDeliver('n1', batch([item()], { timeoutMs: 10 ** 9 })), 'an unbounded wait')
  assert.ok(validDeliver('n1', batch([[1, 7, 'echo', 'k1', null, 2, 1]])), 'a watch')
  assert.ok(!validDeliver('n1', batch([[1, 7, 'echo', 'k1', {}, 3, 1]])), 'kind')
  assert.ok(!validDeliver('n1', batch([[1, -7, 'echo', 'k1', {}, 0, 1]])), 'epoch')
  assert.ok(!validDeliver('n1', batch([[1, 7, 'echo', 'x'.repeat(129), {}, 0, 1]])), 'key length')
  assert.ok(!validDeliver('n1', batch([[1, 7, 'echo', 'k1', {}, 0]])), 'item arity')
  assert.ok(!validDeliver('n1', batch([item(), , item()])), 'a hole (every() would skip it)')
})

test('a batch reply is used only with one known outcome per message', () => {
  const wire = toWireError(new RangeError('bad'), 'ERR_REMOTE')
  assert.ok(validDeliverReply({ v: 3, r: [[0], [0, 'v'], [1, wire], [2], [3]] }, 5))
  assert.ok(!validDeliverReply({ v: 3, r: [[0], [2]] }, 3), 'one outcome missing')
  assert.ok(!validDeliverReply({ v: 3, r: [[1, 'not an error']] }, 1))
  assert.ok(!validDeliverReply({ v: 3, r: [[5]] }, 1))
  assert.ok(!validDeliverReply({ ok: true, value: 'x' }, 1), 'a reply of version 1')
  assert.ok(!validDeliverReply(undefined, 1))
})

test('a late answer names its ask and carries a value or an error, never a bounce', () => {
  assert.ok(validLate('n1', { type: 'late', v: 3, id: 4, r: [0, 'v'] }))
  assert.ok(validLate('n1', { type: 'late', v: 3, id: 4, r: [1, toWireError(new Error('x'))] }))
  assert.ok(!validLate('n1', { type: 'late', v: 3, id: 4, r: [2] }), 'a bounce cannot come late: order needs it in its batch')
  assert.ok(!validLate('n1', { type: 'late', v: 3, id: 4, r: [3] }))
  assert.ok(!validLate('n1', { type: 'late', v: 3, id: -1, r: [0, 'v'] }))
  assert.ok(!validLate('n1', { type: 'late', v: 2, id: 4, r: [0, 'v'] }))
})
