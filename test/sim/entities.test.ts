// Goal: cluster entities keep at most one activation per key (by epoch), per-sender order per key,
// and answer from every key after the final heal, under crashes of owners, partitions around the
// leader, pauses, skew and loss. Method: the `entities` scenario with explicit schedules (the
// swarm of 500 seeds is entities-swarm.test.ts, a file of its own so that it runs beside others).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultAction, FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { entitiesScenario } from '../../sim/scenarios/entities/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'pause', 'skew', 'loss']
const handled = (summary: string): number => Number(/handled=(\d+)/.exec(summary)![1])
const activations = (summary: string): number => Number(/activations=(\d+)/.exec(summary)![1])

test('killing owners and isolating the leader moves keys without a second activation or reordering', async () => {
  const isolate = (node: string): Array<[string, string]> =>
    ['n0', 'n1', 'n2', 'job-log', 'cache']
      .filter((n) => n !== node)
      .flatMap((n): Array<[string, string]> => [
        [node, n],
        [n, node],
      ])
  const schedule: FaultAction[] = [
    { atMs: 4000, kind: 'crash', node: 'n1' },
    { atMs: 7000, kind: 'restart', node: 'n1' },
    { atMs: 10_000, kind: 'partition', shape: 'isolate', blocked: isolate('n0') },
    { atMs: 14_000, kind: 'heal' },
    { atMs: 16_000, kind: 'pause', node: 'n2', forMs: 3000 },
  ]
  const result = await runSimulation(entitiesScenario(), { seed: 3, nodes: 3, durationMs: 24_000, faults: [], mode: 'liveness', swarm: false, schedule })
  assert.deepEqual(result.violations, [], `${result.summary}\n${result.logTail.slice(-15).join('\n')}`)
  assert.ok(result.liveness?.convergedAtMs !== undefined, 'every key answers every node after the heal')
  assert.ok(activations(result.summary) > 24, `keys were reactivated elsewhere: ${result.summary}`)
  assert.ok(handled(result.summary) > 700, result.summary)
})

test('a pause of the leader shorter than an election keeps the shard table: no epoch goes back, nothing is lost', async () => {
  // The pause lapses the leader's cluster lease without a new election (a starved event loop does
  // the same). A coordinator rebuilt for the same epoch refused its own grants, dropped every shard
  // and reused epochs: an older epoch handled messages after a newer one (and the router looped).
  const sent = (summary: string): number => Number(/sent=(\d+)/.exec(summary)![1])
  for (const seed of [1, 2, 3]) {
    const result = await runSimulation(entitiesScenario(), {
      seed,
      nodes: 3,
      durationMs: 12_000,
      faults: [],
      mode: 'liveness',
      swarm: false,
      schedule: [{ atMs: 6000, kind: 'pause', node: 'n0', forMs: 800 }],
    })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}\n${result.logTail.slice(-10).join('\n')}`)
    assert.ok(result.liveness?.convergedAtMs !== undefined, `seed ${seed}: every key answers after the pause`)
    assert.ok(handled(result.summary) >= sent(result.summary) * 0.95, `seed ${seed}: ${result.summary}`)
  }
})

test('a leader change keeps the shards of live owners, even when one owner reaches the new leader late', async () => {
  // The leader crashes; n2 hears the new leader (n1) but cannot send to it for 2.5 s, so its
  // renewals miss the 1.92 s lease. Before leaderChangeGraceMs, n2 (and with it the keys it owned)
  // lost every shard: 9 keys of live owners moved per seed. A crash of the old leader moves its own keys only.
  // Seed 4 turns the grace off (leaderChangeGraceMs = leaseMs): n2's leases run out, and its
  // shards stay suspended until the new leader, which began within their lease, resumes them.
  for (const seed of [1, 2, 4]) {
    const crashAt = 6000 + seed * 97
    const moved: string[] = []
    const scenario = entitiesScenario({
      ...(seed === 4 ? { entityOptions: { leaderChangeGraceMs: 2000 } } : {}),
      onMove: (m) => void (m.atMs >= crashAt && m.from !== undefined && m.from.node !== 'n0' && moved.push(`${m.key} ${m.from.node}->${m.node} at ${m.atMs}`)),
    })
    const schedule: FaultAction[] = [
      { atMs: crashAt, kind: 'crash', node: 'n0' },
      { atMs: crashAt, kind: 'partition', shape: 'one-way', blocked: [['n2', 'n1']] },
      { atMs: crashAt + 2500, kind: 'heal' },
    ]
    const result = await runSimulation(scenario, { seed, nodes: 5, durationMs: 13_000, faults: [], mode: 'liveness', swarm: false, schedule })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}`)
    assert.ok(result.liveness?.convergedAtMs !== undefined, `seed ${seed}: every key answers after the heal`)
    assert.deepEqual(moved, [], `seed ${seed}: keys of live owners moved`)
  }
})

test('asks that could not leave for a crashed owner wait for its successor instead of failing', async () => {
  // Only asks already on the wire when the owner died may fail as unreachable (they may have
  // arrived); the ones its sender could not send are rerouted within their timeout. Measured on
  // these seeds: 121 of 5,915 asks failed unreachable, 280 when the unsent ones failed too.
  let unreachable = 0
  let asked = 0
  for (let seed = 1; seed <= 20; seed++) {
    const schedule: FaultAction[] = [
      { atMs: 4000 + seed * 37, kind: 'crash', node: 'n1' },
      { atMs: 12_000, kind: 'restart', node: 'n1' },
    ]
    const result = await runSimulation(entitiesScenario(), { seed, nodes: 3, durationMs: 16_000, faults: [], mode: 'liveness', swarm: false, schedule })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}`)
    unreachable += Number(/unreachable=(\d+)/.exec(result.summary)![1])
    asked += Number(/asked=(\d+)/.exec(result.summary)![1])
  }
  assert.ok(unreachable / asked < 0.03, `${unreachable} of ${asked} asks failed unreachable`)
})

test('a slow ask does not hold the asks batched with it: they are answered within a tick or two, it later', async () => {
  const result = await runSimulation(entitiesScenario({ slowAsks: 0.3, sendEveryMs: 20 }), {
    seed: 7,
    nodes: 3,
    durationMs: 8000,
    faults: [],
    mode: 'liveness',
    swarm: false,
    schedule: [],
  })
  assert.deepEqual(result.violations, [], result.summary)
  const slow = Number(/slow-answered=(\d+)/.exec(result.summary)![1])
  const fastMax = Number(/fast-max-ms=(\d+)/.exec(result.summary)![1])
  assert.ok(slow > 50, result.summary)
  assert.ok(Number(/ answered=(\d+)/.exec(result.summary)![1]) >= Number(/asked=(\d+)/.exec(result.summary)![1]) - 5, `asks went unanswered: ${result.summary}`)
  assert.ok(fastMax < 300, `a fast ask waited for a slow one: ${result.summary}`)
})
