// Goal: the S7-DAG scenario runs workflows through the real scheduler core's dependencies (which
// release a task only when its dependencies finish): every task finishes, with or without rank
// priorities, and JCTs are counted per workflow; HEFT's upward rank is a task's duration plus the
// longest path through its dependents.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRandom } from '../../src/env/prng.js'
import { runPlacement } from '../../sim/placement/engine.js'
import { PLACEMENT_SCENARIOS } from '../../sim/placement/scenarios.js'
import { randomDag, upwardRanks } from '../../sim/placement/workload.js'

test('random DAGs are topologically ordered; upward ranks follow the longest path', () => {
  const deps = randomDag(new SeededRandom(3), 30)
  deps.forEach((ds, i) => ds.forEach((d) => assert.ok(d < i && d >= i - 5)))
  // 0 -> 1 -> 3, 0 -> 2 -> 3
  assert.deepEqual(upwardRanks([[], [0], [0], [1, 2]], [1, 5, 2, 1]), [7, 6, 3, 1])
})

test('S7-DAG: every task of every workflow finishes; one JCT per workflow', () => {
  for (const policy of ['wlc', 'eect-pull+rank']) {
    const r = runPlacement({ ...PLACEMENT_SCENARIOS['S7-DAG']!, jobs: 2000 }, policy, 1)
    assert.equal(r.completed, 1, policy)
    // 2-20 tasks per workflow: between 2000 / 20 and 2000 / 2 workflows (less the 10% warm-up).
    assert.ok(r.jcts.length > 100 && r.jcts.length < 2000 / 2, `${policy}: ${r.jcts.length} workflows`)
    assert.ok(r.p99Jct > r.p50Jct && r.meanJct > 1, `${policy}: mean ${r.meanJct}`)
  }
})
