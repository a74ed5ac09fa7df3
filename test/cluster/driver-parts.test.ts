// Goal: the cluster actor's sans-I/O parts decide as the actor did: dials paced and voters first,
// a quiet warning said once each way, leaves answered together at departure or deadline, one
// voter-target rule for the core and the learners.
// Method: each part driven directly with hand-made inputs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DIALS_IN_FLIGHT_MAX, DialPlan, MESH_DIALS_IN_FLIGHT, REDIAL_MS, urgentDials } from '../../src/cluster/dials.js'
import { LEAVE_TIMEOUT_MS, LeaveWait, QuietWatch } from '../../src/cluster/upkeep.js'
import { mayWantVoter, voterTarget } from '../../src/cluster/voters.js'

const known = (n: number) => Array.from({ length: n }, (_, i) => ({ node: `m${String(i).padStart(2, '0')}`, addresses: [`/addr/${i}`] }))

test('dials: urgent members first (at most DIALS_IN_FLIGHT_MAX at once), the rest of the mesh only once up and MESH_DIALS_IN_FLIGHT at a time, each member once per REDIAL_MS', () => {
  const plan = new DialPlan()
  const members = known(20)
  const urgent = new Set(['m15', 'm16', 'm19'])
  const joining = { nowMs: 0, connected: new Set<string>(), urgent, mesh: false, known: members }
  const first = plan.due(joining)
  assert.deepEqual(first.map((d) => d.node).sort(), ['m15', 'm16', 'm19'], 'a node not yet up dials only the urgent ones')
  for (const d of first) plan.ended(d.node)
  const inputs = { ...joining, nowMs: 1, mesh: true }
  const second = plan.due(inputs)
  assert.equal(second.length, MESH_DIALS_IN_FLIGHT, 'the urgent ones wait REDIAL_MS; of the rest, MESH_DIALS_IN_FLIGHT')
  assert.ok(second.every((d) => !urgent.has(d.node)))
  assert.deepEqual(plan.due(inputs), [], 'nothing more while the mesh slots are busy')
  const many = new Set(members.slice(0, 12).map((m) => m.node))
  const busy = plan.due({ ...inputs, nowMs: 2, urgent: many })
  assert.equal(plan.inFlight, DIALS_IN_FLIGHT_MAX, 'urgent dials fill the slots the mesh leaves')
  assert.ok(busy.every((d) => many.has(d.node)))
  for (const d of [...second, ...busy]) plan.ended(d.node)
  const connected = new Set(members.map((m) => m.node))
  assert.deepEqual(plan.due({ ...inputs, nowMs: REDIAL_MS * 2, connected }), [], 'connected members are not dialled')
})

test('dials: the urgent ones are the leader, on a voter the voters, and on the leader the joiners', () => {
  const config = { members: ['v1', 'v2', 'v3'], workers: ['w1'] }
  const known = ['v1', 'v2', 'v3', 'w1', 'j1'].map((node) => ({ node }))
  assert.deepEqual([...urgentDials({ self: 'v2', config, leader: 'v1', leading: false, known })].sort(), ['v1', 'v3'], 'a voter: the other voters')
  assert.deepEqual([...urgentDials({ self: 'v1', config, leader: 'v1', leading: true, known })].sort(), ['j1', 'v2', 'v3'], 'the leader: the voters and the joiners')
  const workerLinks = Array.from({ length: 30 }, (_, k) => urgentDials({ self: `w${k}`, config: { ...config, workers: [`w${k}`] }, leader: 'v1', leading: false, known }))
  for (const links of workerLinks)
    assert.ok(links.has('v1') && links.size === 2 && [...links].every((v) => config.members.includes(v)), `a worker: the leader and one other voter, ${[...links]}`)
  assert.deepEqual([...new Set(workerLinks.flatMap((links) => [...links]))].sort(), config.members, 'workers spread over the voters that do not lead')
  assert.deepEqual([...urgentDials({ self: 'j1', config: null, leader: 'v1', leading: false, known })], ['v1'], 'a joiner: the leader it follows')
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
