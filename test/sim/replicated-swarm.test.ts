// Goal: swarm seeds of the replicated scenario (partitions, crashes, power losses, broken and full disks, loss, pauses, skew) hold every check: one leader per epoch, committed entries stable and on a majority, new leaders holding every committed entry, no acknowledged job lost, one visible result per job; and in liveness mode the cluster converges after the heal. DX_SIM_SEEDS scales the run (CI: 500).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { replicatedScenario } from '../../sim/scenarios/replicated/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'power-loss', 'disk-broken', 'disk-full', 'loss', 'pause', 'skew']
const SEEDS = Number(process.env['DX_SIM_SEEDS'] ?? 100)

async function seeds(mode: 'safety' | 'liveness', first: number, count: number): Promise<{ acked: number; epochs: number }> {
  let acked = 0
  let epochs = 0
  for (let seed = first; seed < first + count; seed++) {
    // Liveness runs heal at 10 s (30 s minus twice the 10 s bound): the leader kills stop before.
    const scenario = replicatedScenario({ submitEveryMs: 300, killLeaderEveryMs: 5000, killUntilMs: mode === 'liveness' ? 9000 : Infinity })
    const result = await runSimulation(scenario, { seed, nodes: 3, durationMs: mode === 'liveness' ? 30_000 : 20_000, faults: FAULTS, mode, swarm: true })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode}): ${result.summary}`)
    acked += Number(/acked=(\d+)/.exec(result.summary)![1])
    epochs += Number(/leader-epochs=(\d+)/.exec(result.summary)![1])
  }
  return { acked, epochs }
}

test(`${Math.ceil(SEEDS * 0.6)} safety seeds of the replicated scenario hold every check`, async () => {
  const n = Math.ceil(SEEDS * 0.6)
  const { acked, epochs } = await seeds('safety', 1, n)
  assert.ok(acked > n * 50, `${acked} acknowledged jobs checked`)
  assert.ok(epochs >= 2 * n, `leaders changed (${epochs} leader epochs over ${n} seeds)`)
})

test(`${Math.floor(SEEDS * 0.4)} liveness seeds of the replicated scenario converge after the heal`, async () => {
  const n = Math.floor(SEEDS * 0.4)
  const { acked } = await seeds('liveness', 10_001, n)
  assert.ok(acked > n * 50, `${acked} acknowledged jobs checked`)
})
