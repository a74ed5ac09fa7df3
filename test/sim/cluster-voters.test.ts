// Goal: the bounded voter set in the simulator, on the real cluster actor: 7+ nodes never have more
// voters than the target; a voter that dies for good is replaced by a worker within voter-down-ms
// plus a few gossip rounds, and stops counting; it comes back as a worker. Method: the cluster
// scenario with explicit crashes, snapshots of the leader's configuration, the scenario's invariants.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSimulation, type SimOptions } from '../../sim/run.js'
import { clusterScenario, type ClusterApp } from '../../sim/scenarios/cluster/index.js'
import type { World } from '../../sim/world.js'
import type { ClusterConfig } from '../../src/cluster/types.js'

const VOTER_DOWN_MS = 5000

interface Seen {
  atMs: number
  leader: string | undefined
  config: ClusterConfig | undefined
}

/** The configuration of the node that holds the lease. */
function leaderConfig(world: World<ClusterApp>): Seen {
  const leader = world.nodes.find((n) => n.app?.handle.leaderEpoch() !== undefined)
  return { atMs: world.nowMs, leader: leader?.id, config: leader?.app?.handle.view()?.config ?? undefined }
}

test('7 nodes, default target: 5 voters and 2 workers; a voter crashed for good is replaced within voter-down-ms + 5 s, and returns as a worker', async (t) => {
  const seen: Seen[] = []
  let victim: string | undefined
  let crashedAt = 0
  const base = clusterScenario({ options: { voterDownMs: VOTER_DOWN_MS } })
  const scenario = {
    ...base,
    liveness: undefined,
    workload(world: World<ClusterApp>) {
      world.at(14_000, () => seen.push(leaderConfig(world)))
      world.at(15_000, () => {
        const s = leaderConfig(world)
        victim = s.config!.members.find((m) => m !== s.leader)
        crashedAt = world.nowMs
        world.crash(world.node(victim!))
      })
      for (let t = 15_500; t <= 40_000; t += 500) world.at(t, () => seen.push(leaderConfig(world)))
      world.at(40_000, () => world.start(world.node(victim!)))
      world.at(50_000, () => seen.push(leaderConfig(world)))
    },
  }
  const result = await runSimulation(scenario, { seed: 3, nodes: 7, durationMs: 55_000, faults: [], mode: 'safety', swarm: false, schedule: [] })
  assert.deepEqual(result.violations, [], result.logTail.slice(-10).join('\n'))
  const before = seen[0]!
  assert.equal(before.config!.members.length, 5, `voters before: ${before.config!.members.join(' ')}`)
  assert.equal(before.config!.workers.length, 2)
  const replaced = seen.find((s) => s.atMs > crashedAt && s.config !== undefined && s.config.members.length === 5 && !s.config.members.includes(victim!))
  assert.ok(replaced !== undefined, `no replacement of ${victim}: ${JSON.stringify(seen.at(-2))}`)
  const tookMs = replaced.atMs - crashedAt
  t.diagnostic(`replaced ${tookMs} ms after the crash (voter-down-ms ${VOTER_DOWN_MS}, sampled every 500 ms)`)
  assert.ok(tookMs >= VOTER_DOWN_MS, `replaced after ${tookMs} ms, before voter-down-ms`)
  assert.ok(tookMs <= VOTER_DOWN_MS + 5000, `replaced after ${tookMs} ms`)
  assert.ok(replaced.config!.workers.includes(victim!), 'the dead voter is kept as a worker')
  for (const s of seen.filter((x) => x.config !== undefined)) assert.ok(s.config!.members.length <= 5, `${s.atMs}: ${s.config!.members.join(' ')}`)
  const back = seen.at(-1)!
  assert.equal(back.config!.members.length, 5)
  assert.ok(back.config!.workers.includes(victim!), 'the returning node is a worker')
  assert.ok(!back.config!.members.includes(victim!))
})

test('the replaced voter no longer counts: the remaining majority keeps electing without it', async () => {
  // Crash two voters of five for good (with 8 nodes): after replacement, crashing a third leaves 3
  // of 5 current voters, still a majority, so a leader is elected although 3 of the first 5 are dead.
  const seen: Seen[] = []
  const dead: string[] = []
  const base = clusterScenario({ options: { voterDownMs: VOTER_DOWN_MS } })
  const scenario = {
    ...base,
    liveness: undefined,
    workload(world: World<ClusterApp>) {
      const kill = (): void => {
        const s = leaderConfig(world)
        const victim = s.config!.members.find((m) => m !== s.leader && !dead.includes(m))!
        dead.push(victim)
        world.crash(world.node(victim))
      }
      world.at(15_000, kill)
      world.at(15_000, kill)
      world.at(35_000, () => {
        const s = leaderConfig(world)
        dead.push(s.leader!)
        world.crash(world.node(s.leader!))
      })
      world.at(45_000, () => seen.push(leaderConfig(world)))
    },
  }
  const result = await runSimulation(scenario, { seed: 4, nodes: 8, durationMs: 46_000, faults: [], mode: 'safety', swarm: false, schedule: [] })
  assert.deepEqual(result.violations, [], result.logTail.slice(-10).join('\n'))
  const after = seen[0]!
  assert.ok(after.leader !== undefined && !dead.includes(after.leader), `a live leader after 3 voters died: ${JSON.stringify(after)}`)
})

test('an explicit target: 9 nodes keep 3 voters, and the rest are workers that are up', async () => {
  let final: Seen | undefined
  const base = clusterScenario({ options: { voters: 3 } })
  const scenario = { ...base, liveness: undefined, workload: (world: World<ClusterApp>) => world.at(20_000, () => (final = leaderConfig(world))) }
  const result = await runSimulation(scenario, { seed: 9, nodes: 9, durationMs: 21_000, faults: [], mode: 'safety', swarm: false, schedule: [] })
  assert.deepEqual(result.violations, [])
  assert.equal(final!.config!.members.length, 3)
  assert.equal(final!.config!.workers.length, 6)
})

test('7 nodes under swarm faults: never more than 5 voters, and liveness converges to 5 voters', async () => {
  const faults: SimOptions['faults'] = ['partition', 'crash', 'pause', 'skew', 'loss', 'duplicate', 'reorder', 'clog']
  let converged = 0
  for (let seed = 1; seed <= 20; seed++) {
    const mode = seed % 2 === 0 ? 'liveness' : 'safety'
    const result = await runSimulation(clusterScenario({ options: { voterDownMs: VOTER_DOWN_MS } }), {
      seed,
      nodes: 7,
      durationMs: 60_000,
      faults,
      mode,
      swarm: true,
      stopWhenConverged: true,
    })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode}): ${result.logTail.slice(-5).join('\n')}`)
    if (result.liveness?.convergedAtMs !== undefined) converged++
  }
  assert.equal(converged, 10)
})

test('the up-to-date rule under swarm faults: no leader is elected behind a majority of its voters, and leaders are still elected', async () => {
  const faults: SimOptions['faults'] = ['partition', 'crash', 'pause', 'skew', 'loss', 'duplicate', 'reorder', 'clog']
  let converged = 0
  for (let seed = 1; seed <= 20; seed++) {
    const mode = seed % 2 === 0 ? 'liveness' : 'safety'
    const result = await runSimulation(clusterScenario({ logPositions: true }), { seed, nodes: 5, durationMs: 60_000, faults, mode, swarm: true, stopWhenConverged: true })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode}): ${result.logTail.slice(-5).join('\n')}`)
    if (result.liveness?.convergedAtMs !== undefined) converged++
  }
  assert.equal(converged, 10)
})
