// Goal: renewals go every renewEveryMs, at most one at a time, again at once to a new leader or
// after a failure or hint, and answers apply only in generation order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Renewals } from '../../src/entities/renewals.js'

const leader = (nodeId: string, epoch: number) => ({ nodeId, epoch })

test('one renewal in flight per leadership; the next after renewEveryMs', () => {
  const r = new Renewals(1000)
  const g1 = r.due(0, leader('a', 1))
  assert.equal(g1, 1)
  assert.equal(r.due(10, leader('a', 1)), undefined, 'still waiting for its answer')
  assert.ok(r.settle(g1))
  assert.equal(r.due(999, leader('a', 1)), undefined, 'not due yet')
  assert.equal(r.due(1000, leader('a', 1)), 2)
})

test('a renewal waiting on a replaced leader is abandoned and sent again to the new one at once', () => {
  const r = new Renewals(1000)
  const old = r.due(0, leader('a', 1))!
  const next = r.due(5, leader('b', 2))
  assert.equal(next, 2)
  assert.equal(r.settle(old), false, 'the abandoned answer settles nothing')
  assert.equal(r.due(6, leader('b', 2)), undefined, 'the new one is in flight')
  assert.ok(r.settle(next!))
})

test('soon() makes a renewal due at the next tick', () => {
  const r = new Renewals(1000)
  r.settle(r.due(0, leader('a', 1))!)
  r.soon()
  assert.equal(r.due(1, leader('a', 1)), 2)
})

test('answers apply in generation order, each once', () => {
  const r = new Renewals(1000)
  r.due(0, leader('a', 1))
  r.due(1, leader('b', 2))
  assert.ok(r.apply(2))
  assert.equal(r.apply(1), false, 'an older answer arriving late')
  assert.equal(r.apply(2), false, 'twice')
})
