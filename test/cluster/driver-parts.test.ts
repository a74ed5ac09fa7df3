// Goal: the cluster actor's sans-I/O parts decide as the actor did: dials paced and voters first,
// a quiet warning said once each way, leaves answered together at departure or deadline, one
// voter-target rule for the core and the learners.
// Method: each part driven directly with hand-made inputs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DIALS_IN_FLIGHT_MAX,
  DialPlan,
  likelyLinked,
  MESH_DIALS_IN_FLIGHT,
  MESH_LINKS,
  meshDials,
  pickNeighbours,
  PRUNE_AFTER_MS,
  PRUNES_PER_CALL,
  REDIAL_MAX_MS,
  REDIAL_MS,
  urgentDials,
} from '../../src/cluster/dials.js'
import { LEAVE_TIMEOUT_MS, LeaveWait, QuietWatch } from '../../src/cluster/upkeep.js'
import { mayWantVoter, voterTarget } from '../../src/cluster/voters.js'

const known = (n: number) => Array.from({ length: n }, (_, i) => ({ node: `m${String(i).padStart(2, '0')}`, addresses: [`/addr/${i}`] }))

test('dials: urgent members first (at most DIALS_IN_FLIGHT_MAX at once), the rest of the mesh only once up and MESH_DIALS_IN_FLIGHT at a time, each member once per REDIAL_MS', () => {
  const plan = new DialPlan()
  const members = known(20)
  const urgent = new Set(['m15', 'm16', 'm19'])
  const joining = { nowMs: 0, self: 'me', connected: new Set<string>(), urgent, mesh: false, known: members, meshAlso: { all: true } as const }
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

test('dials: a member that is not urgent and whose dials fail is dialled half as often after each failure, down to once per REDIAL_MAX_MS; an urgent one every REDIAL_MS; a connection resets the wait', () => {
  const plan = new DialPlan()
  const members = known(3)
  // m00: held dead (the mesh beyond the neighbours, not urgent); m01: the leader (urgent); m02: neither.
  const meshAlso = { all: false, members: new Set(['m00']), notLive: new Set(['m00']) } as const
  const at: Record<string, number[]> = { m00: [], m01: [] }
  const inputs = (nowMs: number) => ({ nowMs, self: 'me', connected: new Set(['m02']), urgent: new Set(['m01']), mesh: true, known: members, meshAlso })
  for (let nowMs = 0; nowMs <= 120_000; nowMs += 1000) {
    for (const d of plan.due(inputs(nowMs))) {
      at[d.node]!.push(nowMs)
      plan.failed(d.node)
      plan.ended(d.node)
    }
  }
  assert.deepEqual(at['m00'], [0, 5000, 15_000, 35_000, 75_000, 115_000], 'waits of 5, 10, 20, 40 and 40 s')
  assert.equal(REDIAL_MAX_MS, 40_000)
  assert.equal(at['m01']!.length, 120_000 / REDIAL_MS + 1, 'the leader: every REDIAL_MS, however often it failed')
  // Once a dial of it connects, the next loss is redialled after REDIAL_MS again.
  const due = plan.due(inputs(200_000)).map((x) => x.node)
  assert.ok(due.includes('m00'))
  plan.opened('m00')
  for (const node of due) plan.ended(node)
  const again = plan.due(inputs(200_000 + REDIAL_MS)).map((x) => x.node)
  assert.ok(again.includes('m00'), 'dialled REDIAL_MS after the connection that reset its failures')
  // So is one seen connected (its own dial of this node) 26 s after the last failed dial of it.
  const other = new DialPlan()
  for (let nowMs = 0; nowMs <= 60_000; nowMs += 1000) {
    for (const d of other.due(inputs(nowMs))) {
      other.failed(d.node)
      other.ended(d.node)
    }
  }
  other.due({ ...inputs(61_000), connected: new Set(['m00', 'm01', 'm02']) })
  assert.ok(
    other.due(inputs(61_000 + REDIAL_MS)).some((x) => x.node === 'm00'),
    'seen connected (it dialled this node): dialled REDIAL_MS after its link closed',
  )
})

/** Every dial `plan` starts for `self` until nothing more is due, each one connecting at once. */
function dialAll(plan: DialPlan, self: string, members: ReturnType<typeof known>, meshAlso: ReturnType<typeof meshDials>, urgent = new Set<string>()): Set<string> {
  const connected = new Set<string>()
  const others = members.filter((m) => m.node !== self)
  for (let step = 0; step < 1000; step++) {
    const due = plan.due({ nowMs: step, self, connected, urgent, mesh: true, known: others, meshAlso })
    if (due.length === 0) return connected
    for (const d of due) {
      connected.add(d.node)
      plan.ended(d.node)
    }
  }
  throw new Error('dials never stop')
}

const NONE = { suspect: new Set<string>(), dead: new Set<string>() }

test('dials: the mesh is partial, a worker links to the voters and MESH_LINKS neighbours of its own, voters and the leader to all, a member held dead is dialled, and none in doubt is picked', () => {
  const members = known(50)
  const config = { members: ['m00', 'm01', 'm02', 'm03', 'm04'], workers: members.slice(5).map((m) => m.node) }
  const worker = dialAll(new DialPlan(), 'm20', members, meshDials({ self: 'm20', config, leading: false, doubted: NONE }))
  const own = pickNeighbours('m20', members, new Set())
  assert.equal(own.size, MESH_LINKS)
  assert.deepEqual([...worker].sort(), [...new Set([...config.members, ...own])].sort(), 'a worker: the voters and its neighbours')
  const [suspect, dead] = [...own] as [string, string]
  const others = members.filter((m) => !own.has(m.node) && !config.members.includes(m.node)).map((m) => m.node)
  const doubted = { suspect: new Set([suspect]), dead: new Set([dead, others[0]!]) }
  const doubting = dialAll(new DialPlan(), 'm20', members, meshDials({ self: 'm20', config, leading: false, doubted }))
  const replaced = pickNeighbours('m20', members, new Set([suspect, dead, others[0]!]))
  assert.ok(!replaced.has(suspect) && !replaced.has(dead) && replaced.size === MESH_LINKS, 'a member in doubt is no neighbour; the next ones in rank take its place')
  assert.ok(doubting.has(dead) && doubting.has(others[0]!), 'a member held dead is dialled, to hear it refute')
  assert.ok(!doubting.has(suspect), 'a suspect is not')
  const leader = dialAll(new DialPlan(), 'm00', members, meshDials({ self: 'm00', config, leading: true, doubted: NONE }))
  assert.equal(leader.size, 49, 'the leader links to every member')
  const voter = dialAll(new DialPlan(), 'm01', members, meshDials({ self: 'm01', config, leading: false, doubted: NONE }), new Set(['m00', 'm02', 'm03', 'm04']))
  assert.equal(voter.size, 49, 'a voter: the voters (urgent) and every worker')
})

test('dials: the neighbours picked by all nodes connect the cluster with a bounded degree, at any size', () => {
  for (const n of [6, 10, 30, 50, 200, 1000]) {
    const members = known(n)
    const links = new Map(members.map((m) => [m.node, new Set<string>()]))
    for (const { node } of members)
      for (const other of pickNeighbours(node, members, new Set())) {
        links.get(node)!.add(other)
        links.get(other)!.add(node)
      }
    const reached = new Set([members[0]!.node])
    const frontier = [members[0]!.node]
    while (frontier.length > 0) for (const next of links.get(frontier.pop()!)!) if (!reached.has(next) && reached.add(next)) frontier.push(next)
    assert.equal(reached.size, n, `${n} nodes: one connected mesh`)
    const degrees = [...links.values()].map((l) => l.size)
    const mean = degrees.reduce((a, b) => a + b, 0) / n
    assert.ok(Math.min(...degrees) >= Math.min(MESH_LINKS, n - 1), `${n} nodes: every node has its own picks at least`)
    assert.ok(mean <= 2 * MESH_LINKS, `${n} nodes: mean degree ${mean} at most 2·MESH_LINKS`)
    // In-degrees are about Poisson(MESH_LINKS): their maximum grows like log N / log log N.
    assert.ok(Math.max(...degrees) <= 6 * MESH_LINKS, `${n} nodes: no node picked by many (max degree ${Math.max(...degrees)})`)
  }
})

test('dials: the urgent ones are the leader, on a voter the voters, on the leader the joiners, and on a worker without a leader one voter', () => {
  const config = { members: ['v1', 'v2', 'v3'], workers: ['w1'] }
  const known = ['v1', 'v2', 'v3', 'w1', 'j1'].map((node) => ({ node }))
  assert.deepEqual([...urgentDials({ self: 'v2', config, leader: 'v1', leading: false, known })].sort(), ['v1', 'v3'], 'a voter: the other voters')
  assert.deepEqual([...urgentDials({ self: 'v1', config, leader: 'v1', leading: true, known })].sort(), ['j1', 'v2', 'v3'], 'the leader: the voters and the joiners')
  assert.deepEqual([...urgentDials({ self: 'w1', config, leader: 'v1', leading: false, known })], ['v1'], 'a worker with a leader: the leader (the voters are its mesh)')
  const doubted = { suspect: new Set(['v1']), dead: new Set<string>() }
  const workerLinks = Array.from({ length: 30 }, (_, k) =>
    urgentDials({ self: `w${k}`, config: { ...config, workers: [`w${k}`] }, leader: undefined, leading: false, known, doubted }),
  )
  for (const links of workerLinks)
    assert.ok(links.size === 1 && [...links].every((v) => v === 'v2' || v === 'v3'), `a worker without a leader: one voter not in doubt, ${[...links]}`)
  assert.deepEqual([...new Set(workerLinks.flatMap((links) => [...links]))].sort(), ['v2', 'v3'], 'workers spread over the voters')
  assert.deepEqual([...urgentDials({ self: 'j1', config: null, leader: 'v1', leading: false, known })], ['v1'], 'a joiner: the leader it follows')
})

test('prune: a worker hangs up the links it dialled that its plan no longer wants, once unwanted and unused for PRUNE_AFTER_MS, a few at a time; never one another side dialled, a used one, or while busy', () => {
  const members = known(50)
  const config = { members: ['m00', 'm01', 'm02', 'm03', 'm04'], workers: members.slice(5).map((m) => m.node) }
  const self = 'm20'
  const meshAlso = meshDials({ self, config, leading: false, doubted: NONE })
  const plan = new DialPlan()
  const others = members.filter((m) => m.node !== self)
  // While it knew 20 members it picked (and dialled) neighbours among them; now it knows all 50.
  const early = pickNeighbours(self, others.slice(0, 20), new Set(config.members))
  const now = pickNeighbours(self, others, new Set(config.members))
  const stale = [...early].filter((m) => !now.has(m))
  assert.ok(stale.length >= 2, `the picks moved as members became known: ${stale}`)
  const inbound = others.map((m) => m.node).find((m) => !now.has(m) && !early.has(m) && !config.members.includes(m))!
  const connected = new Set([...config.members, ...early, ...now, inbound])
  for (const node of [...config.members, ...early, ...now]) plan.opened(node)
  const inputs = { nowMs: 0, self, connected, urgent: new Set(['m00']), mesh: true, known: others, meshAlso, inUse: () => false }
  assert.deepEqual(plan.prune(inputs), [], 'nothing at first sight')
  assert.deepEqual(plan.prune({ ...inputs, nowMs: PRUNE_AFTER_MS - 1 }), [], 'nor before PRUNE_AFTER_MS')
  const hung: string[] = []
  for (let t = PRUNE_AFTER_MS; t < 3 * PRUNE_AFTER_MS; t += 1000) {
    const due = plan.prune({ ...inputs, nowMs: t, connected: new Set([...connected].filter((m) => !hung.includes(m))) })
    assert.ok(due.length <= PRUNES_PER_CALL, `at most ${PRUNES_PER_CALL} a call`)
    hung.push(...due)
  }
  assert.deepEqual(hung.sort(), [...stale].sort(), 'exactly the stale picks: not the voters, its neighbours now, nor the link another member dialled')

  const busy = new DialPlan()
  for (const node of stale) busy.opened(node)
  busy.prune({ ...inputs, nowMs: 0 })
  assert.deepEqual(busy.prune({ ...inputs, nowMs: PRUNE_AFTER_MS, mesh: false }), [], 'not while its event loop lags (or it is not yet admitted)')
  assert.deepEqual(busy.prune({ ...inputs, nowMs: 2 * PRUNE_AFTER_MS }), [], 'and the wait starts again after it')
  busy.prune({ ...inputs, nowMs: 3 * PRUNE_AFTER_MS - 1, inUse: (node) => node === stale[0] })
  assert.deepEqual(
    busy.prune({ ...inputs, nowMs: 3 * PRUNE_AFTER_MS, inUse: (node) => node === stale[0] }),
    stale.slice(1, 1 + PRUNES_PER_CALL),
    'a link actor traffic uses is kept',
  )
  busy.closed(stale[0]!)
  assert.ok(!busy.prune({ ...inputs, nowMs: 5 * PRUNE_AFTER_MS }).includes(stale[0]!), 'a link closed (and perhaps dialled again by the other side) is no longer its own')

  const leader = new DialPlan()
  for (const node of stale) leader.opened(node)
  const leading = { ...inputs, meshAlso: meshDials({ self, config, leading: true, doubted: NONE }) }
  leader.prune(leading)
  assert.deepEqual(leader.prune({ ...leading, nowMs: 2 * PRUNE_AFTER_MS }), [], 'the leader links to every member')
})

test('relays: a worker is probed through the voters and the leader (linked to every worker) when there are enough of them, else through its likely neighbours too', () => {
  const members = known(50)
  const config = { members: ['m00', 'm01', 'm02', 'm03', 'm04'], workers: members.slice(5).map((m) => m.node) }
  assert.deepEqual([...likelyLinked('m20', config, 'm00', members)].sort(), config.members, 'the voters, the leader among them')
  const small = { members: ['m00', 'm01'], workers: members.slice(2).map((m) => m.node) }
  const relays = likelyLinked('m20', small, 'm00', members)
  for (const m of [...small.members, ...pickNeighbours('m20', members, new Set(small.members))]) assert.ok(relays.has(m), `${m} among ${[...relays]}`)
  assert.equal([...likelyLinked('m01', config, 'm00', members)].length, 50, 'a voter: anyone')
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
