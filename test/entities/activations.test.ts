// Goal: the activation table finds idle activations, stops each once, ignores the end of one a
// newer activation replaced, and reports a handed-off shard released once, after its last activation.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ActorRef, Message } from '../../src/actor/types.js'
import { Activations, idleScanEveryMs, type Activation } from '../../src/entities/activations.js'

const make = (key: string, shard: number, lastMs = 0, epoch = 1): Activation => ({
  ref: {} as ActorRef<Message>,
  type: 't',
  key,
  shard,
  epoch,
  lastMs,
  stopping: false,
  endReason: undefined,
  waiting: [],
  watchers: new Map(),
})

test('idle activations by their type, each stopped once', () => {
  const table = new Activations()
  const a = make('a', 1, 0)
  const b = make('b', 1, 50)
  table.add(a)
  table.add(b)
  assert.deepEqual(
    table.idle(100, () => 60).map((x) => x.key),
    ['a'],
  )
  assert.ok(table.stop(a, 'passivated'))
  assert.equal(table.stop(a, 'failed-over'), false)
  assert.equal(a.endReason, 'passivated')
  assert.deepEqual(
    table.idle(1000, () => 60),
    [b],
    'a stopping activation is not idle again',
  )
})

test('the end of a replaced activation leaves its successor in place', () => {
  const table = new Activations()
  const old = make('a', 1, 0, 1)
  const next = make('a', 1, 0, 2)
  table.add(old)
  table.add(next)
  assert.equal(table.remove(old), false)
  assert.equal(table.get(old.type, old.key), next)
  assert.ok(table.remove(next))
})

test('a handed-off shard is released once, after its last activation', () => {
  const table = new Activations()
  const a = make('a', 3)
  const b = make('b', 3)
  table.add(a)
  table.add(b)
  table.add(make('c', 4))
  table.release(3)
  assert.deepEqual(
    table.ofShards(new Set([3])).map((x) => x.key),
    ['a', 'b'],
  )
  assert.deepEqual(table.ofShards(new Set()), [], 'no shard, no activation')
  assert.equal(table.releasable(3), false)
  table.remove(a)
  table.remove(b)
  assert.ok(table.releasable(3))
  assert.equal(table.releasable(3), false, 'once')
  table.release(4)
  table.cancelRelease([4])
  assert.equal(table.releasable(4), false, 'a dropped shard is not released')
})

test('adding a stopping activation trips an assertion', () => {
  const a = make('a', 1)
  a.stopping = true
  assert.throws(() => new Activations().add(a), { name: 'AssertionFailure', message: /a stopping activation started/ })
})

test('activations are found by type and key: one key of two types is two activations', () => {
  const table = new Activations()
  const a = { ...make('k', 1), type: 'x' }
  const b = { ...make('k', 1), type: 'y' }
  table.add(a)
  table.add(b)
  assert.equal(table.get('x', 'k'), a)
  assert.equal(table.get('y', 'k'), b)
  assert.ok(table.remove(a))
  assert.equal(table.get('x', 'k'), undefined)
  assert.deepEqual([...table.values()], [b])
})

test('idle scans run a tenth of the shortest idle time apart, between one tick and a second', () => {
  assert.equal(idleScanEveryMs([120_000], 50), 1000)
  assert.equal(idleScanEveryMs([120_000, 3000], 50), 300)
  assert.equal(idleScanEveryMs([100], 50), 50)
  assert.equal(idleScanEveryMs([], 50), 1000, 'no type: the longest wait')
})
