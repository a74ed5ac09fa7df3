// Goal: the scheduler core's critical-path order (SchedulerCoreOptions.order): among ready jobs of
// equal priority, the one with the earliest latest start time (its workflow's ideal finish minus its
// upward rank) goes first, so a workflow's long chain is not queued behind its side branches;
// independent jobs keep submission order, and explicit priority still comes first.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SchedulerCore, type Candidate } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'

const types = new Set(['t'])
/** One peer that holds one attempt at a time, so ready jobs wait in the leader's queue and its order shows. */
const peer: Candidate[] = [{ node: 'p0', capacity: 1, types, eventLoopLagMs: 0 }]
const spec = (id: string, options: JobOptions = {}): JobSpec => ({ id, type: 't', input: null, options: resolveJobOptions(options), submittedAt: 0 })

function core(order: 'fifo' | 'critical-path'): SchedulerCore {
  return new SchedulerCore(1, new LeastLoadedPlacement(undefined, 1), new SeededRandom(1), { order })
}

function submitDurable(c: SchedulerCore, specs: JobSpec[]): void {
  c.submit(specs, types)
  for (const r of c.takeEffects().append) c.apply(r)
}

/** Runs every job to completion, one at a time, each taking its hint; returns the order they ran in. */
function runAll(c: SchedulerCore, startMs = 0): string[] {
  const ran: string[] = []
  let now = startMs
  for (;;) {
    c.dispatch(now, now, peer)
    const [a] = c.takeEffects().assign
    if (a === undefined) return ran
    ran.push(a.spec.id)
    now += a.spec.options.durationHintMs ?? 1
    c.attemptFinished(a.spec.id, a.attemptKey, { ok: true, value: null }, now)
    for (const r of c.takeEffects().append) c.apply(r)
  }
}

// r -> s (short side branch), r -> x -> y (the critical path), submitted in that order.
const workflow = (): JobSpec[] => [
  spec('r', { durationHintMs: 100 }),
  spec('s', { durationHintMs: 10, dependsOn: ['r'] }),
  spec('x', { durationHintMs: 1000, dependsOn: ['r'] }),
  spec('y', { durationHintMs: 1000, dependsOn: ['x'] }),
]

test('critical-path order runs the long chain before a side branch with slack; fifo runs by submission', () => {
  const fifo = core('fifo')
  submitDurable(fifo, workflow())
  assert.deepEqual(runAll(fifo), ['r', 's', 'x', 'y'])
  const cp = core('critical-path')
  submitDurable(cp, workflow())
  // s has 1,990 ms of slack (the path through x takes 2,000), so it waits for the whole chain.
  assert.deepEqual(runAll(cp), ['r', 'x', 'y', 's'])
})

test('ranks grow with dependents submitted later, before their dependency finishes', () => {
  const c = core('critical-path')
  // b is short and submitted first; a gains a long dependent in a second submission, which then also goes before b.
  submitDurable(c, [spec('root', { durationHintMs: 10 }), spec('b', { durationHintMs: 50, dependsOn: ['root'] }), spec('a', { durationHintMs: 50, dependsOn: ['root'] })])
  submitDurable(c, [spec('a2', { durationHintMs: 5000, dependsOn: ['a'] })])
  assert.deepEqual(runAll(c), ['root', 'a', 'a2', 'b'])
})

test('critical-path order keeps independent jobs in submission order, and priority first', () => {
  const c = core('critical-path')
  submitDurable(c, [
    spec('j1', { durationHintMs: 9000 }),
    spec('j2', { durationHintMs: 1 }),
    spec('j3', { durationHintMs: 500 }),
    spec('urgent', { priority: 1, durationHintMs: 1 }),
  ])
  assert.deepEqual(runAll(c), ['urgent', 'j1', 'j2', 'j3'])
})

test('an older workflow goes before a newer one that became ready later', () => {
  const c = core('critical-path')
  submitDurable(c, [spec('old', { durationHintMs: 100 }), spec('old-next', { durationHintMs: 100, dependsOn: ['old'] })])
  c.dispatch(0, 0, peer)
  const [first] = c.takeEffects().assign
  assert.equal(first!.spec.id, 'old')
  // While `old` runs, a new workflow with a much longer path arrives (its root becomes ready at 60).
  c.dispatch(60, 60, peer)
  submitDurable(c, [spec('new', { durationHintMs: 100 }), spec('new-next', { durationHintMs: 9000, dependsOn: ['new'] })])
  c.attemptFinished('old', first!.attemptKey, { ok: true, value: null }, 100)
  for (const r of c.takeEffects().append) c.apply(r)
  // old-next should have started at 100 (0 + 200 - 100); new at 60: `new` first, then old-next, whose slack is gone, before new-next (ideal start 160).
  assert.deepEqual(runAll(c, 100), ['new', 'old-next', 'new-next'])
})
