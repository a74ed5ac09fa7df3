// Shared by the two halves of the replicated swarm (500 seeds in CI: 300 safety, 200 liveness), in
// two files so that they run in parallel. DX_SIM_SEEDS scales the run.
import assert from 'node:assert/strict'
import type { FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { replicatedScenario } from '../../sim/scenarios/replicated/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'power-loss', 'disk-broken', 'disk-full', 'loss', 'pause', 'skew']
export const SEEDS = Number(process.env['DX_SIM_SEEDS'] ?? 500)

/**
 * Runs `count` seeds from `first` in `mode`; returns the acknowledged jobs checked and the leader
 * epochs seen. `retainJobs` shrinks the leaders' retention of finished jobs.
 */
export async function seeds(mode: 'safety' | 'liveness', first: number, count: number, retainJobs?: number): Promise<{ acked: number; epochs: number }> {
  let acked = 0
  let epochs = 0
  for (let seed = first; seed < first + count; seed++) {
    // Liveness runs heal at 10 s (30 s minus twice the 10 s bound): the leader kills stop before.
    const scenario = replicatedScenario({
      submitEveryMs: 300,
      killLeaderEveryMs: 5000,
      killUntilMs: mode === 'liveness' ? 9000 : Infinity,
      ...(retainJobs === undefined ? {} : { retainJobs }),
    })
    const result = await runSimulation(scenario, { seed, nodes: 3, durationMs: mode === 'liveness' ? 30_000 : 20_000, faults: FAULTS, mode, swarm: true, stopWhenConverged: true })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode}): ${result.summary}`)
    acked += Number(/acked=(\d+)/.exec(result.summary)![1])
    epochs += Number(/leader-epochs=(\d+)/.exec(result.summary)![1])
  }
  return { acked, epochs }
}
