// Goal: an owner's watch table keeps each watch on one activation, bounds each watcher node, and
// hands back per node the ids to tell when an activation ends; a gone node's watches vanish.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OwnerWatches, type Watched } from '../../src/entities/owner-watches.js'

const activation = (): Watched => ({ watchers: new Map() })

test('watches by node, ended per node in arrival order', () => {
  const w = new OwnerWatches()
  const a = activation()
  assert.ok(w.add(a, 'n1', 1))
  assert.ok(w.add(a, 'n2', 5))
  assert.ok(w.add(a, 'n1', 2))
  assert.ok(w.add(a, 'n1', 2), 'a known watch is accepted again')
  assert.ok(w.holds('n1', 2))
  assert.deepEqual(w.end(a), [
    ['n1', [1, 2]],
    ['n2', [5]],
  ])
  assert.equal(a.watchers?.size ?? 0, 0)
  assert.equal(w.holds('n1', 1), false)
})

test('a node past its bound is refused; forgetting makes room', () => {
  const w = new OwnerWatches(2)
  const a = activation()
  assert.ok(w.add(a, 'n1', 1) && w.add(a, 'n1', 2))
  assert.equal(w.add(a, 'n1', 3), false)
  assert.ok(w.add(a, 'n2', 3), 'another node has its own bound')
  w.forget('n1', [1])
  assert.ok(w.add(activation(), 'n1', 3))
})

test('a gone watcher node loses its watches everywhere, silently', () => {
  const w = new OwnerWatches()
  const a = activation()
  const b = activation()
  w.add(a, 'n1', 1)
  w.add(b, 'n1', 2)
  w.add(b, 'n2', 3)
  w.dropNode('n1')
  assert.deepEqual(w.end(a), [])
  assert.deepEqual(w.end(b), [['n2', [3]]])
})

test('a watch missing from its activation trips an assertion', () => {
  const w = new OwnerWatches()
  const a = activation()
  w.add(a, 'n1', 1)
  a.watchers?.clear()
  assert.throws(() => w.forget('n1', [1]), { name: 'AssertionFailure', message: /an entity watch missing from its activation/ })
})
