// Goal: local subscribers get a listing of their key at once, then one only when the key's
// addresses really changed; a key without subscribers is forgotten with its last listing; a
// terminated actor leaves every key; only actors of this node subscribe, under well-formed keys.
// Method: Subscriptions driven directly over a map of addresses per key.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Subscriptions } from '../../src/receptionist/subscriptions.js'

function setup() {
  const registered = new Map<string, string[]>()
  const subs = new Subscriptions<string>('n0', (key) => [...(registered.get(key) ?? [])].sort())
  return { registered, subs }
}

test('a listing is due only when the addresses under its key changed', () => {
  const { registered, subs } = setup()
  registered.set('k', ['dx://n1/user/b'])
  assert.deepEqual(subs.subscribe('k', 'n0', 'dx://n0/user/s1', 'S1'), ['dx://n1/user/b'])
  subs.subscribe('k', 'n0', 'dx://n0/user/s2', 'S2')
  assert.deepEqual(subs.due(['k', 'other']), [], 'unchanged since the first listing; no subscribers of other')
  registered.set('k', ['dx://n1/user/b', 'dx://n0/user/a'])
  assert.deepEqual(subs.due(['k', 'k']), [{ key: 'k', addresses: ['dx://n0/user/a', 'dx://n1/user/b'], subscribers: ['S1', 'S2'] }])
  assert.deepEqual(subs.due(['k']), [], 'sent already')
  registered.set('k', ['dx://n1/user/b'])
  registered.set('k', ['dx://n0/user/a', 'dx://n1/user/b'])
  assert.deepEqual(subs.due(['k']), [], 'a change and its undoing send nothing')
})

test('unsubscribing the last subscriber forgets the key; a new subscriber starts afresh', () => {
  const { registered, subs } = setup()
  registered.set('k', ['dx://n0/user/a'])
  subs.subscribe('k', 'n0', 'dx://n0/user/s1', 'S1')
  subs.subscribe('k', 'n0', 'dx://n0/user/s2', 'S2')
  subs.unsubscribe('k', 'dx://n0/user/s1')
  subs.unsubscribe('k', 'dx://n0/user/unknown')
  registered.set('k', [])
  assert.deepEqual(subs.due(['k']), [{ key: 'k', addresses: [], subscribers: ['S2'] }])
  subs.unsubscribe('k', 'dx://n0/user/s2')
  registered.set('k', ['dx://n0/user/a'])
  assert.deepEqual(subs.due(['k']), [], 'no subscribers left')
  assert.deepEqual(subs.subscribe('k', 'n0', 'dx://n0/user/s3', 'S3'), ['dx://n0/user/a'])
  assert.deepEqual(subs.due(['k']), [])
})

test('a terminated subscriber leaves every key', () => {
  const { registered, subs } = setup()
  subs.subscribe('x', 'n0', 'dx://n0/user/s', 'S')
  subs.subscribe('y', 'n0', 'dx://n0/user/s', 'S')
  subs.subscribe('y', 'n0', 'dx://n0/user/t', 'T')
  subs.terminated('dx://n0/user/s')
  registered.set('x', ['dx://n0/user/a'])
  registered.set('y', ['dx://n0/user/a'])
  assert.deepEqual(subs.due(['x', 'y']), [{ key: 'y', addresses: ['dx://n0/user/a'], subscribers: ['T'] }])
})

test('subscribers of another node and malformed keys are refused', () => {
  const { subs } = setup()
  assert.equal(subs.subscribe('k', 'n1', 'dx://n1/user/s', 'S'), undefined)
  assert.equal(subs.subscribe('/bad', 'n0', 'dx://n0/user/s', 'S'), undefined)
  assert.equal(subs.subscribe(7, 'n0', 'dx://n0/user/s', 'S'), undefined)
  assert.deepEqual(subs.due(['k']), [])
})
