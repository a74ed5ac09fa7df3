// Goal: the S7-DAG scenario runs workflows through the real scheduler core's dependencies (which
// release a task only when its dependencies finish): every task finishes, with or without rank
// priorities, and JCTs are counted per workflow; HEFT's upward rank is a task's duration plus the
// longest path through its dependents. The scheduler's critical-path order with late binding
// (`eect-pull+cp`) shortens workflows against the same policy in FIFO order and against FIFO + wlc;
// the offline HEFT reference schedules each workflow along its critical path when nothing competes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SeededRandom } from '../../src/env/prng.js'
import { ArrivalStream, runPlacement } from '../../sim/placement/engine.js'
import { heftOffline } from '../../sim/placement/heft.js'
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

test('S7-DAG: critical-path order shortens workflows against FIFO order and FIFO + wlc', () => {
  for (const seed of [1, 2]) {
    const scenario = { ...PLACEMENT_SCENARIOS['S7-DAG']!, jobs: 2000 }
    const [cp, fifo, wlc] = ['eect-pull+cp', 'eect-pull', 'wlc'].map((p) => runPlacement(scenario, p, seed))
    assert.equal(cp!.completed, 1)
    assert.ok(cp!.meanJct < 0.9 * fifo!.meanJct, `seed ${seed}: ${cp!.meanJct} vs fifo ${fifo!.meanJct}`)
    assert.ok(cp!.meanJct < wlc!.meanJct, `seed ${seed}: ${cp!.meanJct} vs wlc ${wlc!.meanJct}`)
  }
})

test('offline HEFT: with nothing competing, each workflow takes its critical path on a fastest node', () => {
  // Arrivals far apart (load 0.01) on equal nodes: a workflow's time is its longest path of sizes.
  const scenario = { ...PLACEMENT_SCENARIOS['S7-DAG']!, jobs: 3000, rho: 0.01, speeds: 'homogeneous' as const }
  const stream = new ArrivalStream(scenario, new SeededRandom(`placement:${scenario.name}:1`))
  const paths: number[] = []
  for (let tasks = 0; tasks < scenario.jobs;) {
    const { deps, drawn } = stream.tasks(scenario.jobs - tasks)
    tasks += deps.length
    paths.push(
      Math.max(
        ...upwardRanks(
          deps,
          drawn.map((d) => d.size),
        ),
      ),
    )
    stream.gap(0)
  }
  const kept = paths.slice(Math.floor(paths.length / 10))
  const expected = kept.reduce((a, b) => a + b, 0) / kept.length
  for (const order of ['arrival', 'latest-start'] as const) {
    const r = heftOffline(scenario, 1, order)
    assert.ok(Math.abs(r.meanJct - expected) < 0.01 * expected, `${order}: ${r.meanJct} vs critical paths ${expected}`)
  }
  // At load 0.8 (the same workflows, closer together) none can beat its critical path.
  const loaded = heftOffline({ ...PLACEMENT_SCENARIOS['S7-DAG']!, jobs: 3000, speeds: 'homogeneous' }, 1, 'latest-start')
  assert.ok(loaded.meanJct >= expected * (1 - 1e-9), `loaded ${loaded.meanJct} vs ${expected}`)
})
