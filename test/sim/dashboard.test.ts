// Goal: the dashboard hub tells the truth about a cluster under faults. Method: the `dashboard`
// simulator scenario (the jobs workload with a watched hub on every node) under crashes and
// partitions: every check of `jobs` holds, the leader histories the pages show move forward and agree,
// and no page counts more finished jobs than the log recorded.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSimulation } from '../../sim/run.js'
import { dashboardScenario } from '../../sim/scenarios/dashboard/index.js'

test('dashboard scenario: pages under crashes and partitions show true figures', { timeout: 180_000 }, async () => {
  const result = await runSimulation(dashboardScenario(), { seed: 11, nodes: 5, durationMs: 30_000, faults: ['crash', 'partition'], mode: 'safety', swarm: false })
  assert.deepEqual(result.violations, [], result.summary)
  const summaries = Number(/dashboard: pages=\d+ summaries=(\d+)/.exec(result.summary)?.[1])
  assert.ok(summaries > 100, result.summary)
})
