// Goal: the replicator's core leads exactly the epochs that are safe to lead: the cluster's epoch, never again an epoch an earlier core (a reopened log, a restarted actor) led or one in which a voter deposed it; a lapsed lease is answered "retry", a newer epoch or a lost lead "fenced"; the waiting requests are failed when the lead is lost; new voters reach the leading core.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReplicationCore } from '../../src/replication/core.js'
import { Leadership, type LeadershipView } from '../../src/replication/leadership.js'
import { FencedError, JobLogUnavailableError } from '../../src/storage/errors.js'

const core = (): ReplicationCore => new ReplicationCore({ self: 'n0', state: { clusterId: undefined, start: 0, end: 0, lastEpoch: 0 }, epochAt: () => undefined }, 0)
const config = { members: ['n0', 'n1', 'n2'] }
const view = (epoch: number | undefined, over: Partial<LeadershipView> = {}): LeadershipView => ({ epoch, config, voters: config.members, learners: [], ...over })

test('leads the cluster epoch, loses it when the epoch changes or lapses, and retries a lapsed lease on the same core', () => {
  const l = new Leadership()
  const c = core()
  const lost: number[] = []
  l.sync(c, view(3), 0, (e) => lost.push(e))
  assert.equal(l.ledEpoch, 3)
  assert.equal(c.leaderEpoch, 3)
  l.sync(c, view(undefined), 1, (e) => lost.push(e))
  assert.deepEqual(lost, [3], 'the lease lapsed: the waiters are failed')
  assert.equal(l.ledEpoch, undefined)
  assert.equal(c.leaderEpoch, undefined)
  const lapsed = l.unavailable(3, undefined, c)
  assert.ok(lapsed instanceof JobLogUnavailableError && !(lapsed instanceof FencedError), 'the same core may lead epoch 3 again: retry')
  assert.ok(l.unavailable(3, 4, c) instanceof FencedError, 'a newer epoch is known: fenced')
  l.sync(c, view(3), 2, (e) => lost.push(e))
  assert.equal(l.ledEpoch, 3, 'the lease came back: the same core leads epoch 3 again')
  l.sync(c, view(5), 3, (e) => lost.push(e))
  assert.deepEqual(lost, [3, 3])
  assert.equal(l.ledEpoch, 5, 'a newer epoch is led at once')
})

test('a new core (a reopened log) or a restarted actor never leads an epoch an earlier core led', () => {
  const l = new Leadership()
  const first = core()
  l.sync(first, view(3), 0, () => {})
  l.forgetCore()
  const reopened = core()
  l.sync(reopened, view(3), 1, () => assert.fail('nothing was led by this core'))
  assert.equal(l.ledEpoch, undefined)
  assert.ok(l.unavailable(3, undefined, reopened) instanceof FencedError, 'epoch 3 is over for this node')
  l.restart()
  const restarted = core()
  l.sync(restarted, view(3), 2, () => {})
  assert.equal(l.ledEpoch, undefined, 'the highest epoch led outlives a restart')
  l.sync(restarted, view(4), 3, () => {})
  assert.equal(l.ledEpoch, 4)
})

test('a core deposed by a voter of a newer epoch stops leading and does not lead that epoch again', () => {
  const l = new Leadership()
  const c = core()
  const lost: number[] = []
  l.sync(c, view(3), 0, (e) => lost.push(e))
  c.receive('n1', { kind: 'reply', epoch: 4, ok: false, end: 0 }, undefined, 1)
  assert.equal(c.deposedByEpoch, 4)
  l.sync(c, view(3), 2, (e) => lost.push(e))
  assert.deepEqual(lost, [3])
  assert.equal(l.ledEpoch, undefined, 'not led again although the lease still says 3')
  assert.ok(l.unavailable(3, undefined, c) instanceof FencedError)
  l.sync(c, view(5), 3, () => {})
  assert.equal(l.ledEpoch, 5, 'a newer epoch is led')
  assert.equal(c.deposedByEpoch, undefined)
})

test('a new configuration or new learners reach the leading core; the same ones do not', () => {
  const l = new Leadership()
  const c = core()
  const learners = ['n3']
  l.sync(c, view(1, { learners }), 0, () => {})
  const before = c.followers().map((f) => f.node)
  assert.deepEqual(before.sort(), ['n1', 'n2', 'n3'])
  l.sync(c, view(1, { config: { members: ['n0', 'n1', 'n2'] }, voters: ['n0', 'n1'], learners }), 1, () => {})
  assert.deepEqual(
    c
      .followers()
      .map((f) => f.node)
      .sort(),
    ['n1', 'n3'],
    'a new configuration object: voters replaced',
  )
  l.sync(c, view(1, { config, voters: ['n0', 'n1', 'n2'], learners }), 2, () => {})
  assert.deepEqual(
    c
      .followers()
      .map((f) => f.node)
      .sort(),
    ['n1', 'n2', 'n3'],
    'back to the first configuration object: replaced again',
  )
  l.sync(c, view(1, { voters: ['n0'], learners }), 3, () => {})
  assert.deepEqual(
    c
      .followers()
      .map((f) => f.node)
      .sort(),
    ['n1', 'n2', 'n3'],
    'the same configuration and learners: nothing handed over',
  )
})
