// Goal: a node's view of its peers' registrations applies only newer announcements per key (late
// and reordered ones are ignored), follows a peer's restart (a newer incarnation replaces all it
// held, an older one is ignored), removes through a digest what the peer no longer has, asks for a
// pull when the digest shows versions it lacks, and bounds what one peer may announce. Method:
// PeerView driven directly with sequences of announcements.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_KEYS_PER_NODE } from '../../src/receptionist/types.js'
import { PeerView } from '../../src/receptionist/view.js'

const A = 'dx://n1/user/a'
const B = 'dx://n1/user/b'

test('a late or reordered announcement never replaces a newer one, deletions included', () => {
  const view = new PeerView()
  assert.deepEqual(view.update('n1', 1, 2, 'k', [A, B]).changed, ['k'])
  assert.equal(view.update('n1', 1, 1, 'k', [A]).ignored, 'stale')
  assert.equal(view.update('n1', 1, 2, 'k', [A]).ignored, 'stale', 'the same version twice (a duplicate)')
  assert.deepEqual(view.refs('k'), [A, B])
  assert.deepEqual(view.update('n1', 1, 5, 'k', []).changed, ['k'])
  assert.equal(view.update('n1', 1, 4, 'k', [A]).ignored, 'stale', 'the tombstone keeps an older announcement out')
  assert.deepEqual(view.refs('k'), [])
  assert.deepEqual(view.update('n1', 1, 6, 'k', [B]).changed, ['k'])
  assert.deepEqual(view.update('n1', 1, 7, 'k', [B]).changed, [], 'same refs: no change to notify')
})

test('a newer incarnation replaces everything held for the peer; an older one is ignored', () => {
  const view = new PeerView()
  view.update('n1', 100, 50, 'k', [A])
  view.update('n1', 100, 51, 'j', [B])
  const applied = view.update('n1', 200, 1, 'k', [B])
  assert.deepEqual([...new Set(applied.changed)].sort(), ['j', 'k'])
  assert.deepEqual(view.refs('k'), [B])
  assert.deepEqual(view.refs('j'), [])
  assert.equal(view.update('n1', 100, 99, 'k', [A]).ignored, 'stale')
  assert.deepEqual(view.refs('k'), [B])
})

test('a digest removes keys the peer no longer has and asks for a pull of versions this node lacks', () => {
  const view = new PeerView()
  view.update('n1', 1, 1, 'gone', [A])
  view.update('n1', 1, 2, 'kept', [B])
  const applied = view.digest('n1', 1, 4, [
    ['kept', 2],
    ['missed', 3],
  ])
  assert.deepEqual(applied.changed, ['gone'])
  assert.equal(applied.pull, true)
  assert.deepEqual(view.refs('gone'), [])
  assert.equal(view.update('n1', 1, 1, 'gone', [A]).ignored, 'stale', 'the removal is a tombstone at the digest version')
  view.update('n1', 1, 3, 'missed', [A])
  assert.equal(
    view.digest('n1', 1, 4, [
      ['kept', 2],
      ['missed', 3],
    ]).pull,
    false,
  )
  assert.deepEqual(view.drop('n1').sort(), ['kept', 'missed'])
  assert.deepEqual(view.refs('kept'), [])
})

test('one peer announces at most MAX_KEYS_PER_NODE keys; listings merge peers in address order', () => {
  const view = new PeerView()
  for (let i = 0; i < MAX_KEYS_PER_NODE; i++) assert.equal(view.update('n1', 1, i + 1, `k${i}`, [A]).ignored, undefined)
  assert.equal(view.update('n1', 1, MAX_KEYS_PER_NODE + 1, 'one-more', [A]).ignored, 'bounds')
  view.update('n0', 1, 1, 'k0', ['dx://n0/user/z'])
  assert.deepEqual(view.refs('k0'), ['dx://n0/user/z', A])
  assert.deepEqual(view.nodes().sort(), ['n0', 'n1'])
})
