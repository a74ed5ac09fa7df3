// Goal: members whose replicated log lacks committed entries never become voters, so a majority of
// the grown voter set cannot elect a leader that lacks a committed entry (the A..E hole); and the
// replicated scenario with nodes that start late, with empty logs, holds every check over a swarm.
// Method: a targeted schedule that loses a committed entry when two empty members are made voters
// (it fails without the catch-up rules of src/cluster/core.ts), and swarm seeds with late nodes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultAction, FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { replicatedScenario } from '../../sim/scenarios/replicated/index.js'

test('two members with empty logs are not made voters, so the voter that lacks committed entries cannot win with them', async () => {
  // n0..n2 vote; n2 is cut off from n0 and n1, which commit entries without it. n3 and n4 start
  // late with full disks (their logs stay empty) and join. Then the holders n0 and n1 die and n2
  // can reach only n3 and n4: were those voters, {n2,n3,n4} would be a majority of 5 electing n2.
  const cut: Array<[string, string]> = [
    ['n0', 'n2'],
    ['n2', 'n0'],
    ['n1', 'n2'],
    ['n2', 'n1'],
  ]
  const schedule: FaultAction[] = [
    { atMs: 0, kind: 'crash', node: 'n3' },
    { atMs: 0, kind: 'crash', node: 'n4' },
    { atMs: 3000, kind: 'disk-full', node: 'n3', forMs: 60_000 },
    { atMs: 3000, kind: 'disk-full', node: 'n4', forMs: 60_000 },
    { atMs: 3000, kind: 'partition', shape: 'isolate', blocked: cut },
    { atMs: 3500, kind: 'restart', node: 'n3' },
    { atMs: 3500, kind: 'restart', node: 'n4' },
    { atMs: 9000, kind: 'crash', node: 'n0' },
    { atMs: 9000, kind: 'crash', node: 'n1' },
    { atMs: 9001, kind: 'heal' },
    { atMs: 12_000, kind: 'restart', node: 'n0' },
    { atMs: 12_000, kind: 'restart', node: 'n1' },
  ]
  const result = await runSimulation(replicatedScenario({ submitEveryMs: 100 }), { seed: 1, nodes: 5, durationMs: 20_000, faults: [], mode: 'safety', swarm: false, schedule })
  assert.deepEqual(result.violations, [], result.summary)
  const committed = Number(/committed=(\d+)/.exec(result.summary)![1])
  assert.ok(committed > 100, `entries were committed while n2 was cut off: ${result.summary}`)
  assert.ok(Number(/leader-epochs=(\d+)/.exec(result.summary)![1]) >= 2, `a new leader took over once n0 and n1 were back: ${result.summary}`)
})

const FAULTS: FaultKind[] = ['partition', 'crash', 'power-loss', 'disk-broken', 'disk-full', 'loss', 'pause', 'skew']
const SEEDS = Number(process.env['DX_SIM_SEEDS'] ?? 60)

test(`${SEEDS} swarm seeds of 5 nodes, two starting late with empty logs, hold every check`, async () => {
  let promoted = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await runSimulation(replicatedScenario({ submitEveryMs: 300, killLeaderEveryMs: 3000, lateNodes: 2 }), {
      seed,
      nodes: 5,
      durationMs: 20_000,
      faults: FAULTS,
      mode: 'safety',
      swarm: true,
    })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}`)
    promoted += Number(/late-voters=(\d+)/.exec(result.summary)![1])
  }
  assert.ok(promoted >= SEEDS, `late nodes became voters (${promoted} over ${SEEDS} seeds)`)
})
