// Goal: the leader dies while jobs stream in, and acknowledgements are ambiguous for a while: every
// acknowledged job still completes once. (The 500-seed swarm is in jobs-swarm-*.test.ts.)
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSimulation } from '../../sim/run.js'
import { jobsScenario } from '../../sim/scenarios/jobs/index.js'

test('the leader crashes while jobs stream in: every acknowledged job completes, once', async () => {
  const result = await runSimulation(jobsScenario(), {
    seed: 21,
    nodes: 3,
    durationMs: 60_000,
    faults: [],
    mode: 'liveness',
    swarm: false,
    schedule: [
      { atMs: 10_000, kind: 'crash', node: 'n0' },
      { atMs: 14_000, kind: 'restart', node: 'n0' },
      { atMs: 25_000, kind: 'ambiguous-ack', rate: 0.5, forMs: 5000 },
    ],
  })
  assert.deepEqual(result.violations, [], result.logTail.slice(-8).join('\n'))
  const acked = Number(/acked=(\d+)/.exec(result.summary)![1])
  const ok = Number(/ ok=(\d+)/.exec(result.summary)![1])
  assert.ok(acked > 300, result.summary)
  assert.ok(ok >= acked, result.summary)
})

test('a worker restarts before it is found down: its attempts run again at once, not after their timeout', async () => {
  // Attempts are not logged, so the restarted worker holds none of them; the leader learns of the
  // restart from the worker's new incarnation. Before it did, they waited out their minute.
  // One worker per node and a job every 400 ms from each: n2 holds an attempt most of the time.
  const result = await runSimulation(jobsScenario({ timeoutMs: 60_000, jobMaxMs: 400, concurrency: 1, submitEveryMs: 400 }), {
    seed: 5,
    nodes: 3,
    // Faults heal at 25 s (the run's last 20 s are the liveness bound's); the minute's timeout would end at 71 s.
    durationMs: 45_000,
    faults: [],
    mode: 'liveness',
    swarm: false,
    schedule: [
      { atMs: 10_000, kind: 'crash', node: 'n2' },
      { atMs: 10_300, kind: 'restart', node: 'n2' },
    ],
  })
  assert.deepEqual(result.violations, [], result.logTail.slice(-8).join('\n'))
})
