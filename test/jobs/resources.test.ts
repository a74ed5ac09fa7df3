// Goal: a job type's declared resources: `resources.slots` is checked when the type is defined (a
// typed error for anything but a positive integer the type's concurrency can hold), a job of k
// slots holds k workers of its pool on the executor and counts k in the gossiped figures, and the
// leader counts it as k against its peer's capacity, in placement and in work stealing.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.js'
import { SeededRandom } from '../../src/env/prng.js'
import { defineJob } from '../../src/jobs/define.js'
import { ExecutorCore } from '../../src/jobs/executor-core.js'
import { ExecutorStats } from '../../src/jobs/executor-stats.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import type { JobResources, JobSpec } from '../../src/jobs/types.js'

const spec = (id: string, type: string): JobSpec => ({ id, type, input: null, options: resolveJobOptions({ retries: 0 }), submittedAt: 0 })

test('defineJob checks resources: slots a positive integer within the concurrency, nothing else', () => {
  assert.deepEqual(defineJob('a', () => 1, { concurrency: 4, resources: { slots: 4 } }).resources, { slots: 4 })
  assert.equal(defineJob('a', () => 1).resources, undefined)
  const bad: Array<[unknown, RegExp]> = [
    [{ slots: 0 }, /positive integer/],
    [{ slots: 1.5 }, /positive integer/],
    [{ slots: '2' }, /positive integer/],
    [{ slots: 5 }, /exceeds the concurrency \(4\)/],
    [{ slots: 1, cpu: 2 }, /unknown job resource "cpu"/],
    [null, /must be an object/],
  ]
  for (const [resources, message] of bad) {
    assert.throws(
      () => defineJob('a', () => 1, { concurrency: 4, resources: resources as JobResources }),
      (error: unknown) => error instanceof InvalidArgumentError && error.code === 'ERR_INVALID_ARGUMENT' && message.test(error.message),
      JSON.stringify(resources),
    )
  }
})

test('executor: a job of 2 slots holds 2 workers while it runs and counts 2 in the stats', () => {
  const stats = new ExecutorStats()
  const core = new ExecutorCore<string>(stats)
  core.addPool('big', ['w1', 'w2', 'w3'], 2)
  core.addPool('small', ['s1'])
  const a = (id: string, type: string) => ({ spec: spec(id, type), attempt: 1, attemptKey: `1.${id}` })
  const first = core.accept(a('b1', 'big'))
  assert.equal(first.length, 1)
  assert.deepEqual(core.accept(a('b2', 'big')), [], 'one worker left of the pool: a 2-slot job waits')
  assert.deepEqual([stats.capacity, stats.running, stats.queued], [4, 2, 2])
  assert.equal(core.accept(a('s', 'small')).length, 1, 'other pools are not affected')
  assert.equal(core.release('b2', '1.b2'), true)
  assert.deepEqual([stats.running, stats.queued], [3, 0])
  core.accept(a('b3', 'big'))
  const next = core.finished(first[0]!.run, first[0]!.worker, { ok: true, value: null }, 1, false)
  assert.deepEqual(
    next.map((s) => s.run.spec.id),
    ['b3'],
    'the finished job gave back both its workers',
  )
  assert.deepEqual([stats.running, stats.queued], [3, 0])
  core.finished(next[0]!.run, next[0]!.worker, { ok: true, value: null }, 1, false)
  assert.deepEqual([stats.running, stats.queued], [1, 0])
})

test('leader: a job of k slots counts k against its peer, in placement and in stealing', () => {
  const types = new Set(['big', 'small'])
  const c = new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { steal: true, slots: (t) => (t === 'big' ? 3 : 1) })
  c.submit([spec('b1', 'big'), spec('b2', 'big'), spec('s1', 'small'), spec('s2', 'small')], types)
  for (const r of c.takeEffects().append) c.apply(r)
  // p0 and p1 have 4 slots each (8 with overcommit): b1 and b2 go one each (3/4 busy), then the small ones balance.
  c.dispatch(0, 0, [
    { node: 'p0', capacity: 4, types, eventLoopLagMs: 0 },
    { node: 'p1', capacity: 4, types, eventLoopLagMs: 0 },
  ])
  const assigned = c.takeEffects().assign.map((a) => [a.spec.id, a.node])
  assert.deepEqual(assigned, [
    ['b1', 'p0'],
    ['b2', 'p1'],
    ['s1', 'p0'],
    ['s2', 'p1'],
  ])

  // One peer of 2 slots (4 with overcommit) holding a 3-slot job and a 1-slot one: 2 slots beyond
  // capacity. A thief with 2 free slots can take the small job, not the big one.
  const d = new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { steal: true, slots: (t) => (t === 'big' ? 3 : 1) })
  d.submit([spec('s1', 'small'), spec('b1', 'big')], types)
  for (const r of d.takeEffects().append) d.apply(r)
  d.dispatch(0, 0, [{ node: 'p0', capacity: 2, types, eventLoopLagMs: 0 }])
  assert.equal(d.takeEffects().assign.length, 2)
  d.dispatch(10, 0, [
    { node: 'p0', capacity: 2, types, eventLoopLagMs: 0 },
    { node: 'p1', capacity: 2, types, eventLoopLagMs: 0 },
  ])
  assert.deepEqual(
    d.takeEffects().steal.map((s) => s.id),
    ['s1'],
  )
  d.dispatch(20, 0, [
    { node: 'p0', capacity: 2, types, eventLoopLagMs: 0 },
    { node: 'p1', capacity: 3, types, eventLoopLagMs: 0 },
  ])
  assert.deepEqual(d.takeEffects().steal, [], 'the reserved slot leaves 2 free: still too few for the big job')
})
