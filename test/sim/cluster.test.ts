// Goal: the gossip election is safe and live in the simulator under each named fault: partitions of
// every shape around the leader, leader crash and restart, a pause longer than the lease, clock
// skew; and across 500 swarm seeds. Method: explicit fault schedules against the real cluster actor,
// snapshots of who holds a lease during the fault, then the scenario's own invariants and liveness.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultAction } from '../../sim/faults/schedule.js'
import { DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/core.js'
import { runSimulation, type SimOptions, type SimResult } from '../../sim/run.js'
import { clusterScenario, type ClusterApp } from '../../sim/scenarios/cluster/index.js'
import type { World } from '../../sim/world.js'

const NODES = ['n0', 'n1', 'n2', 'n3', 'n4']
const SERVICES = ['job-log', 'cache']
const cut = (a: string[], b: string[], bothWays = true): Array<[string, string]> =>
  a.flatMap((x) =>
    b.flatMap((y): Array<[string, string]> =>
      bothWays
        ? [
            [x, y],
            [y, x],
          ]
        : [[x, y]],
    ),
  )
const others = (...xs: string[]): string[] => [...NODES, ...SERVICES].filter((n) => !xs.includes(n))

interface Snapshot {
  atMs: number
  leaseHolders: string[]
  leaders: Array<string | null>
  /** Each node's `dx_cluster_lease_seconds` source: the lease of its leader's newest sequence, in ms. */
  leases: Array<number | null>
}

/** Runs the cluster scenario with `schedule`, snapshotting lease holders at the given times. */
async function scenarioRun(schedule: FaultAction[], snapshotsAtMs: number[], extra: Partial<SimOptions> = {}): Promise<{ result: SimResult; snapshots: Snapshot[] }> {
  const snapshots: Snapshot[] = []
  const base = clusterScenario()
  const scenario = {
    ...base,
    workload(world: World<ClusterApp>) {
      for (const atMs of snapshotsAtMs) {
        world.at(atMs, () =>
          snapshots.push({
            atMs,
            leaseHolders: world.nodes.filter((n) => n.app?.handle.leaderEpoch() !== undefined).map((n) => `${n.id}@${n.app!.handle.leaderEpoch()}`),
            leaders: world.nodes.map((n) => {
              const l = n.app?.handle.view()?.leader
              return l === undefined || l === null ? null : `${l.nodeId}@${l.epoch}`
            }),
            leases: world.nodes.map((n) => n.app?.handle.leaseMs() ?? null),
          }),
        )
      }
    },
  }
  const result = await runSimulation(scenario, { seed: 11, nodes: 5, durationMs: 60_000, faults: [], mode: 'liveness', swarm: false, schedule, ...extra })
  assert.deepEqual(result.violations, [], result.logTail.slice(-10).join('\n'))
  assert.ok(result.liveness?.convergedAtMs !== undefined)
  return { result, snapshots }
}

const holders = (s: Snapshot): string[] => s.leaseHolders.map((h) => h.split('@')[0]!)
const epochOf = (s: Snapshot): number => Number(s.leaseHolders[0]!.split('@')[1])

test('isolating the leader: the majority elects a new one, the isolated node holds no lease, heal converges', async () => {
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'partition', shape: 'isolate', blocked: cut(['n0'], others('n0')) },
      { atMs: 25_000, kind: 'heal' },
    ],
    [9_000, 15_000, 35_000],
  )
  const [before, during, after] = snapshots as [Snapshot, Snapshot, Snapshot]
  assert.deepEqual(holders(before), ['n0'])
  assert.equal(during.leaseHolders.length, 1)
  assert.notEqual(holders(during)[0], 'n0', 'the minority side holds no lease')
  assert.ok(epochOf(during) > epochOf(before))
  assert.equal(new Set(after.leaders).size, 1, `all agree after the heal: ${after.leaders.join(' ')}`)
})

test('halves with the leader in the minority: only the majority side leads', async () => {
  const minority = ['n0', 'n1']
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'partition', shape: 'halves', blocked: cut(minority, others(...minority)) },
      { atMs: 30_000, kind: 'heal' },
    ],
    [20_000, 40_000],
  )
  const [during, after] = snapshots as [Snapshot, Snapshot]
  assert.equal(during.leaseHolders.length, 1)
  assert.ok(!minority.includes(holders(during)[0]!))
  assert.equal(new Set(after.leaders).size, 1)
})

test('one-way cut, leader cannot send: followers elect another leader, the old one steps down', async () => {
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'partition', shape: 'one-way', blocked: cut(['n0'], others('n0'), false) },
      { atMs: 30_000, kind: 'heal' },
    ],
    [20_000, 40_000],
  )
  const [during, after] = snapshots as [Snapshot, Snapshot]
  assert.equal(during.leaseHolders.length, 1)
  assert.notEqual(holders(during)[0], 'n0')
  assert.equal(new Set(after.leaders).size, 1)
})

test('one-way cut, leader cannot hear: it loses its lease, stops announcing, and the majority elects another', async () => {
  const inbound = others('n0').map((x): [string, string] => [x, 'n0'])
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'partition', shape: 'one-way', blocked: inbound },
      { atMs: 30_000, kind: 'heal' },
    ],
    [20_000, 40_000],
  )
  const [during, after] = snapshots as [Snapshot, Snapshot]
  assert.equal(during.leaseHolders.length, 1, 'no livelock: someone leads')
  assert.notEqual(holders(during)[0], 'n0')
  assert.equal(new Set(after.leaders).size, 1)
})

test('bridge: a node that sees both halves does not let both sides lead', async () => {
  const left = ['n0', 'n1']
  const right = ['n3', 'n4', ...SERVICES]
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'partition', shape: 'bridge', blocked: cut(left, right) },
      { atMs: 30_000, kind: 'heal' },
    ],
    [15_000, 20_000, 25_000, 40_000],
  )
  for (const s of snapshots.slice(0, 3)) assert.ok(s.leaseHolders.length <= 1, JSON.stringify(s))
  assert.equal(new Set(snapshots[3]!.leaders).size, 1)
})

test('leader crash: a new leader with a higher epoch within 2 s; the old node rejoins as a follower', async () => {
  const { snapshots } = await scenarioRun(
    [
      { atMs: 10_000, kind: 'crash', node: 'n0' },
      { atMs: 20_000, kind: 'restart', node: 'n0' },
    ],
    [9_000, 12_000, 30_000],
  )
  const [before, failover, rejoined] = snapshots as [Snapshot, Snapshot, Snapshot]
  assert.deepEqual(holders(before), ['n0'])
  assert.equal(failover.leaseHolders.length, 1)
  assert.ok(epochOf(failover) > epochOf(before))
  assert.equal(holders(rejoined)[0], holders(failover)[0], 'the restarted node does not take over')
  assert.equal(new Set(rejoined.leaders).size, 1)
  assert.equal(rejoined.leaders[0], failover.leaseHolders[0])
})

test('a pause longer than the lease: the paused leader’s lease is over when it wakes, another leads', async () => {
  const { snapshots } = await scenarioRun([{ atMs: 10_000, kind: 'pause', node: 'n0', forMs: 4000 }], [13_000, 14_001, 20_000])
  const [whilePaused, justAfter, later] = snapshots as [Snapshot, Snapshot, Snapshot]
  assert.equal(whilePaused.leaseHolders.length, 1)
  assert.notEqual(holders(whilePaused)[0], 'n0')
  assert.ok(!holders(justAfter).includes('n0'))
  assert.equal(new Set(later.leaders).size, 1)
})

test('clock skew and drift within the bound keep leases exclusive through failovers', async () => {
  const skew: FaultAction[] = NODES.map((node, i) => ({ atMs: 1000, kind: 'skew', node, offsetMs: (i - 2) * 3000, drift: (i % 2 === 0 ? 1 : -1) * 0.01 }))
  const crashes: FaultAction[] = [
    { atMs: 10_000, kind: 'crash', node: 'n0' },
    { atMs: 15_000, kind: 'restart', node: 'n0' },
    { atMs: 20_000, kind: 'partition', shape: 'isolate', blocked: cut(['n1'], others('n1')) },
    { atMs: 30_000, kind: 'heal' },
  ]
  const { result } = await scenarioRun([...skew, ...crashes], [])
  assert.match(result.summary, /epochs with effects \(max [2-9]/)
})

test('slow links (round trips of 1-2 s, past the lease): the leader stretches its lease and keeps it, every node reports the lease it grants or waits out, and no two nodes ever hold one', async () => {
  const times = Array.from({ length: 450 }, (_, i) => 15_000 + i * 100)
  const schedule: FaultAction[] = [
    { atMs: 10_000, kind: 'slow', latencyMinMs: 400, latencyMeanMs: 200 },
    { atMs: 40_000, kind: 'slow', latencyMinMs: 0.2, latencyMeanMs: 0.8 },
  ]
  const { snapshots } = await scenarioRun(schedule, times)
  const held = snapshots.filter((s) => s.leaseHolders.length === 1)
  assert.ok(held.length >= 0.9 * snapshots.length, `a lease held at ${held.length} of ${snapshots.length} instants`)
  assert.equal(new Set(held.map((s) => s.leaseHolders[0])).size, 1, 'one leader and epoch throughout')
  // What every node reports as its lease (dx_cluster_lease_seconds): stretched while the links are
  // slow, on the leader and on the followers that wait it out, and the configured one once prompt.
  const slow = snapshots.filter((s) => s.atMs >= 25_000 && s.atMs < 40_000)
  const prompt = snapshots.filter((s) => s.atMs >= 50_000)
  const leaseMs = DEFAULT_CLUSTER_OPTIONS.leaseMs
  assert.ok(
    slow.every((s) => s.leases.every((l) => l !== null && l > leaseMs)),
    `leases while slow: ${JSON.stringify(slow.at(-1)!.leases)}`,
  )
  assert.ok(
    prompt.every((s) => s.leases.every((l) => l === leaseMs)),
    `leases once prompt: ${JSON.stringify(prompt.at(-1)!.leases)}`,
  )
})

test('slow links among crashes, pauses, skew and partitions: 60 swarm seeds keep every invariant and converge', async () => {
  const faults: SimOptions['faults'] = ['slow', 'partition', 'crash', 'pause', 'skew']
  for (let seed = 1; seed <= 60; seed++) {
    const mode = seed % 2 === 0 ? 'liveness' : 'safety'
    const result = await runSimulation(clusterScenario(), { seed, nodes: 5, durationMs: 60_000, faults, mode, swarm: true, stopWhenConverged: true })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode})`)
  }
})

test('500 swarm seeds: every invariant holds and every liveness run converges within its bound', async () => {
  const faults: SimOptions['faults'] = ['partition', 'crash', 'pause', 'skew', 'loss', 'duplicate', 'reorder', 'clog']
  let converged = 0
  let slowest = 0
  for (let seed = 1; seed <= 500; seed++) {
    const mode = seed % 2 === 0 ? 'liveness' : 'safety'
    const result = await runSimulation(clusterScenario(), { seed, nodes: 5, durationMs: 60_000, faults, mode, swarm: true, stopWhenConverged: true })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode})`)
    if (result.liveness !== undefined) {
      converged++
      slowest = Math.max(slowest, result.liveness.convergedAtMs! - result.liveness.healedAtMs)
    }
  }
  assert.equal(converged, 250)
  assert.ok(slowest <= 10_000, `slowest convergence after heal: ${slowest} ms`)
})

test('admitting a member that cannot hear the leader yet does not interrupt the leader’s lease', async () => {
  // n0 hears the joiners but nothing it sends gets through for 4 s: it admits n1 before n1 can echo its lease.
  const times = Array.from({ length: 200 }, (_, i) => 50 + i * 50)
  const schedule: FaultAction[] = [
    { atMs: 0, kind: 'partition', shape: 'one-way', blocked: cut(['n0'], ['n1', 'n2', ...SERVICES], false) },
    { atMs: 4_000, kind: 'heal' },
  ]
  const { snapshots } = await scenarioRun(schedule, times, { nodes: 3, durationMs: 30_000 })
  const first = snapshots.findIndex((s) => s.leaseHolders.length > 0)
  assert.ok(first >= 0 && first < 10, 'the founder leads within 0.5 s')
  for (const s of snapshots.slice(first)) assert.deepEqual(s.leaseHolders, [snapshots[first]!.leaseHolders[0]], `lease held without a gap at ${s.atMs} ms`)
  assert.deepEqual(holders(snapshots.at(-1)!), ['n0'])
})

/** Runs 5 nodes; at 10 s the named nodes leave gracefully. Returns when each leave settled, and who leads after. */
async function leaveRun(leavers: string[]): Promise<{ settled: Map<string, { atMs: number; departed: boolean }>; after: Snapshot }> {
  const settled = new Map<string, { atMs: number; departed: boolean }>()
  let after: Snapshot | undefined
  const base = clusterScenario()
  const scenario = {
    ...base,
    liveness: undefined,
    workload(world: World<ClusterApp>) {
      world.at(10_000, () => {
        for (const id of leavers) {
          const node = world.node(id)
          node.app!.leave().then(
            (departed) => settled.set(id, { atMs: world.nowMs - 10_000, departed }),
            (error: unknown) => assert.fail(`${id} leave failed: ${String(error)}`),
          )
        }
      })
      world.at(11_000, () => {
        after = {
          atMs: 11_000,
          leaseHolders: world.nodes.filter((n) => !leavers.includes(n.id) && n.app?.handle.leaderEpoch() !== undefined).map((n) => `${n.id}@${n.app!.handle.leaderEpoch()}`),
          leaders: [],
          leases: [],
        }
      })
    },
  }
  const result = await runSimulation(scenario, { seed: 5, nodes: 5, durationMs: 20_000, faults: [], mode: 'safety', swarm: false, schedule: [] })
  assert.deepEqual(result.violations, [], result.logTail.slice(-10).join('\n'))
  return { settled, after: after! }
}

test('a leader that leaves removes itself and steps down; a successor leads within a second, without waiting out a lease', async () => {
  const { settled, after } = await leaveRun(['n0'])
  const n0 = settled.get('n0')
  assert.ok(n0?.departed === true && n0.atMs < 500, `n0 left in ${n0?.atMs} ms`)
  assert.equal(after.leaseHolders.length, 1, 'a successor holds the lease 1 s after the leave')
  assert.ok(epochOf(after) > 1)
})

test('the whole cluster leaving at once: every leave settles at once instead of waiting for a remover', async () => {
  const all = ['n0', 'n1', 'n2', 'n3', 'n4']
  const { settled } = await leaveRun(all)
  for (const id of all) assert.ok((settled.get(id)?.atMs ?? Infinity) < 1_000, `${id} settled after ${settled.get(id)?.atMs} ms`)
})

test('two leaving, the leader among them: both are removed from the configuration and one of the rest leads', async () => {
  const { settled, after } = await leaveRun(['n0', 'n1'])
  for (const id of ['n0', 'n1']) assert.equal(settled.get(id)?.departed, true, `${id} was removed from the configuration`)
  assert.equal(after.leaseHolders.length, 1)
})
