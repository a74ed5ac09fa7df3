// Goal: work stealing in the whole system (real scheduler and executors on the simulated network):
// with no faults, idle peers take attempts waiting on the slow node, every job still runs exactly
// once, and the tail latency drops against the same seed without stealing; under crashes,
// partitions, message loss and pauses (60 swarm seeds here, 60 in jobs-steal-swarm.test.ts) no
// acknowledged job is lost and no job has two visible results.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSimulation } from '../../sim/run.js'
import { figure, stealScenario, stealSeeds } from './jobs-steal-seeds.js'

test('without faults, idle peers steal from the slow node: each job runs once, and the p99 latency drops', async () => {
  const run = (steal: boolean) => runSimulation(stealScenario(steal), { seed: 7, nodes: 3, durationMs: 30_000, faults: [], mode: 'liveness', swarm: false, schedule: [] })
  const [on, off] = [await run(true), await run(false)]
  for (const r of [on, off]) {
    assert.deepEqual(r.violations, [], r.summary)
    assert.equal(figure(r, 'executions'), figure(r, 'acked'), `a job ran twice or not at all: ${r.summary}`)
    assert.equal(figure(r, 'ok'), figure(r, 'acked'), r.summary)
  }
  assert.ok(figure(on, 'released') > 20, on.summary)
  assert.equal(figure(off, 'released'), 0, off.summary)
  assert.ok(figure(on, 'latency-p99') < 0.8 * figure(off, 'latency-p99'), `with stealing: ${on.summary}\nwithout: ${off.summary}`)
})

test('jobs declaring 2 slots each, on peers of 4 workers: the same schedule, each job still runs once, and steals happen', async () => {
  const r = await runSimulation(stealScenario(true, 2), { seed: 8, nodes: 3, durationMs: 20_000, faults: [], mode: 'liveness', swarm: false, schedule: [] })
  assert.deepEqual(r.violations, [], r.summary)
  assert.equal(figure(r, 'executions'), figure(r, 'acked'), r.summary)
  assert.ok(figure(r, 'released') > 10, r.summary)
})

test('60 swarm seeds with stealing (odd half): no acknowledged job lost, one visible result each', async () => {
  const { acked, released } = await stealSeeds(1, 60)
  assert.ok(acked > 5000, `${acked} acknowledged jobs checked`)
  assert.ok(released > 1000, `${released} attempts stolen`)
})
