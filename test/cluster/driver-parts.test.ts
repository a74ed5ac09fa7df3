// Goal: the cluster actor's sans-I/O parts decide as the actor did: dials paced and voters first,
// a quiet warning said once each way, leaves answered together at departure or deadline, one
// voter-target rule for the core and the learners.
// Method: each part driven directly with hand-made inputs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DIALS_IN_FLIGHT_MAX, DialPlan, REDIAL_MS } from '../../src/cluster/dials.js'
import { LEAVE_TIMEOUT_MS, LeaveWait, QuietWatch } from '../../src/cluster/upkeep.js'
import { mayWantVoter, voterTarget } from '../../src/cluster/voters.js'

const known = (n: number) => Array.from({ length: n }, (_, i) => ({ node: `m${String(i).padStart(2, '0')}`, addresses: [`/addr/${i}`] }))

test('dials: at most DIALS_IN_FLIGHT_MAX at once, voters and the leader first, each member once per REDIAL_MS', () => {
  const plan = new DialPlan()
  const members = known(20)
  const inputs = { nowMs: 0, connected: new Set<string>(), voters: new Set(['m15', 'm16']), leader: 'm19', known: members }
  const first = plan.due(inputs)
  assert.equal(first.length, DIALS_IN_FLIGHT_MAX)
  assert.deepEqual(
    first
      .slice(0, 3)
      .map((d) => d.node)
      .sort(),
    ['m15', 'm16', 'm19'],
  )
  assert.deepEqual(plan.due(inputs), [], 'nothing more while all slots are busy')
  for (const d of first) plan.ended(d.node)
  const second = plan.due({ ...inputs, nowMs: 1 })
  assert.equal(second.length, DIALS_IN_FLIGHT_MAX)
  assert.ok(
    second.every((d) => !first.some((f) => f.node === d.node)),
    'members just dialled wait REDIAL_MS',
  )
  for (const d of second) plan.ended(d.node)
  const connected = new Set(members.map((m) => m.node))
  assert.deepEqual(plan.due({ ...inputs, nowMs: REDIAL_MS, connected }), [], 'connected members are not dialled')
})

test('quiet: a warning is said once when it starts and once when it ends', () => {
  const q = new QuietWatch()
  assert.equal(q.update(undefined), undefined)
  assert.equal(q.update('cut off'), 'warn')
  assert.equal(q.update('cut off'), undefined)
  assert.equal(q.update(undefined), 'clear')
})

test('leave: all waiting leaves are answered together, at departure or the first one’s deadline', () => {
  const w = new LeaveWait<string>()
  w.add('a', 0)
  w.add('b', 1000)
  assert.deepEqual(w.settle(false, LEAVE_TIMEOUT_MS - 1), [])
  assert.deepEqual(w.settle(false, LEAVE_TIMEOUT_MS), ['a', 'b'])
  assert.deepEqual(w.settle(true, LEAVE_TIMEOUT_MS), [], 'answered once')
  w.add('c', 0)
  assert.deepEqual(w.settle(true, 1), ['c'])
})

test('voters: target 3 below 5 members and 5 from then on unless configured; a voter is wanted below it or for a voter gone', () => {
  const config = (members: number, workers: number) => ({ epoch: 1, counter: 1, members: known(members).map((m) => m.node), workers: known(workers).map((m) => `w${m.node}`) })
  assert.equal(voterTarget(config(3, 1)), 3)
  assert.equal(voterTarget(config(3, 2)), 5)
  assert.equal(voterTarget(config(3, 2), 3), 3)
  assert.equal(mayWantVoter([], config(3, 1)), false)
  assert.equal(mayWantVoter([], config(2, 0)), true)
  assert.equal(mayWantVoter([{ voter: true, state: 'down' }], config(3, 1)), true)
  assert.equal(mayWantVoter([{ voter: true, state: 'suspect' }], config(3, 1)), false)
})
