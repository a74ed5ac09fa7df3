// Shared by the two halves of the 500-seed jobs swarm.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { jobsScenario } from '../../sim/scenarios/jobs/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'ambiguous-ack', 'log-outage', 'cache-loss', 'loss', 'pause', 'skew']

/** Runs every second seed from `first` in `mode`; the two halves live in two files so they run in parallel. */
export async function seeds(first: number, mode: 'safety' | 'liveness'): Promise<number> {
  let acked = 0
  for (let seed = first; seed <= 500; seed += 2) {
    const result = await runSimulation(jobsScenario({ submitEveryMs: 300 }), {
      seed,
      nodes: 3,
      durationMs: mode === 'liveness' ? 60_000 : 40_000,
      faults: FAULTS,
      mode,
      swarm: true,
      stopWhenConverged: true,
    })
    assert.deepEqual(result.violations, [], `seed ${seed} (${mode}): ${result.summary}`)
    acked += Number(/acked=(\d+)/.exec(result.summary)![1])
  }
  return acked
}
