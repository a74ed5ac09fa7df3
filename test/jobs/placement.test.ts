// Goal: least-loaded placement spreads work by outstanding attempts per capacity, never past the
// overcommit bound, and prefers the leader's own node (which saves two network hops) only while that
// node is at most half a capacity busier than the rest and its event loop keeps up.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LeastLoadedPlacement, OVERCOMMIT, type PeerLoad } from '../../src/jobs/placement.js'

const peer = (node: string, outstanding: number, extra: Partial<PeerLoad> = {}): PeerLoad => ({ node, capacity: 10, outstanding, eventLoopLagMs: 0, leader: false, ...extra })
const placement = new LeastLoadedPlacement()

test('least outstanding per capacity wins; ties go to the less lagging, then the lower id', () => {
  assert.equal(placement.choose('t', [peer('a', 5), peer('b', 2), peer('c', 3)]), 'b')
  assert.equal(placement.choose('t', [peer('a', 2, { eventLoopLagMs: 5 }), peer('b', 2)]), 'b')
  assert.equal(placement.choose('t', [peer('b', 2), peer('a', 2)]), 'a')
  assert.equal(placement.choose('t', [peer('a', 10, { capacity: 20 }), peer('b', 6)]), 'a')
})

test('nobody is assigned beyond capacity times OVERCOMMIT; all full means no choice', () => {
  const full = 10 * OVERCOMMIT
  assert.equal(placement.choose('t', [peer('a', full), peer('b', full - 1)]), 'b')
  assert.equal(placement.choose('t', [peer('a', full), peer('b', full, { leader: true })]), undefined)
  assert.equal(placement.choose('t', [peer('a', 0, { capacity: 0 })]), undefined)
})

test('the leader’s node is preferred while at most half a capacity busier and its loop keeps up', () => {
  assert.equal(placement.choose('t', [peer('a', 0), peer('z', 4, { leader: true })]), 'z')
  assert.equal(placement.choose('t', [peer('a', 0), peer('z', 6, { leader: true })]), 'a')
  assert.equal(placement.choose('t', [peer('a', 0), peer('z', 0, { leader: true, eventLoopLagMs: 50 })]), 'a')
})
