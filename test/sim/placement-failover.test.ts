// Goal (S8): predictive placement survives leader failover, and every node shows the cluster's
// alerts. Method: the `placement` simulator scenario (the jobs workload placed by `eect`, whose
// accounting and predictions die with each leader, with every node reading the alerts as GET
// /alerts does) under crashes and partitions: every check of `jobs` holds (no acknowledged job lost,
// one visible result per job), and the alert documents served on every node are well formed and
// came from the leader on followers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSimulation } from '../../sim/run.js'
import { placementScenario } from '../../sim/scenarios/placement/index.js'

for (const seed of [11, 12]) {
  test(`placement scenario seed ${seed}: eect across failovers, alerts on every node`, { timeout: 180_000 }, async () => {
    const result = await runSimulation(placementScenario(), { seed, nodes: 5, durationMs: 30_000, faults: ['crash', 'partition'], mode: 'safety', swarm: false })
    assert.deepEqual(result.violations, [], result.summary)
    const asked = Number(/asked-of-leader=(\d+)/.exec(result.summary)?.[1])
    assert.ok(asked > 20, result.summary)
  })
}
