// Goal: each invariant the scheduler core asserts (its module doc lists them) is checked where it
// could break: corrupting the core's private state the way a bug would makes the next public call
// throw AssertionFailure instead of scheduling on from a wrong state. Method: a healthy core, one
// field broken through a cast, then the call that relies on it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SchedulerCore, type Candidate } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'

const types = new Set(['t'])
const peers: Candidate[] = [{ node: 'p0', capacity: 4, types, eventLoopLagMs: 0 }]
const spec = (id: string, options: JobOptions = {}): JobSpec => ({ id, type: 't', input: null, options: resolveJobOptions(options), submittedAt: 0 })

/** The private state the assertions guard, as a bug would see it. */
interface Internals {
  jobs: Map<string, { status: string; waitingOn: number }>
  seq: number
  pendingSubmissions: number
  unfinished: number
  attemptCounter: number
  outstanding: Map<string, number>
  retention: { maxFinished: number; maxAgeMs: number }
  enqueue(job: unknown): void
  start(job: unknown, node: string, nowMs: number): void
}

function core(): { c: SchedulerCore; inner: Internals } {
  // Its own retention object: one test breaks it.
  const c = new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 100, maxAgeMs: 3600_000 } })
  return { c, inner: c as unknown as Internals }
}

function durable(c: SchedulerCore, specs: JobSpec[]): void {
  c.submit(specs, types)
  for (const r of c.takeEffects().append) c.apply(r)
}

test('the owner of an idempotency key is held while the key is', () => {
  const { c, inner } = core()
  durable(c, [spec('a', { idempotencyKey: 'k' })])
  inner.jobs.delete('a')
  assert.throws(() => c.submit([spec('b', { idempotencyKey: 'k' })], types), { name: 'AssertionFailure', message: /an idempotency key outlived the job that owns it/ })
})

test('no more submissions become durable than were pending', () => {
  const { c, inner } = core()
  c.submit([spec('a')], types)
  const [record] = c.takeEffects().append
  inner.pendingSubmissions = 0
  assert.throws(() => c.apply(record!), { name: 'AssertionFailure', message: /more submissions became durable than were pending/ })
})

test('jobs are held in submission order', () => {
  const { c, inner } = core()
  durable(c, [spec('a')])
  inner.seq = 0
  assert.throws(() => c.submit([spec('b')], types), { name: 'AssertionFailure', message: /jobs are held out of submission order/ })
})

test('only a durable job without open dependencies is queued or started', () => {
  const { c, inner } = core()
  c.submit([spec('a')], types)
  const pending = inner.jobs.get('a')!
  assert.throws(() => inner.enqueue(pending), { name: 'AssertionFailure', message: /queued a job that is not durable, or still waits on a dependency/ })
  assert.throws(() => inner.start(pending, 'p0', 0), { name: 'AssertionFailure', message: /started a job that is not durable and queued/ })
  durable(c, [spec('b')])
  const queued = inner.jobs.get('b')!
  queued.waitingOn = 1
  assert.throws(() => inner.start(queued, 'p0', 0), { name: 'AssertionFailure', message: /started a job that is not durable and queued/ })
})

test('an attempt key is never used twice', () => {
  const { c, inner } = core()
  durable(c, [spec('a')])
  c.dispatch(0, 0, peers)
  assert.equal(c.takeEffects().assign.length, 1)
  durable(c, [spec('b')])
  inner.attemptCounter = 0
  assert.throws(() => c.dispatch(0, 0, peers), { name: 'AssertionFailure', message: /an attempt key was used twice/ })
})

test('an attempt is released once, from the node it runs on', () => {
  const { c, inner } = core()
  durable(c, [spec('a')])
  c.dispatch(0, 0, peers)
  const [assigned] = c.takeEffects().assign
  inner.outstanding.clear()
  assert.throws(() => c.attemptFinished('a', assigned!.attemptKey, { ok: true, value: 1 }, 1), {
    name: 'AssertionFailure',
    message: /released an attempt that is not live on that node/,
  })
})

test('no more jobs finish than were admitted', () => {
  const { c, inner } = core()
  durable(c, [spec('a')])
  c.cancel('a')
  const [record] = c.takeEffects().append
  inner.unfinished = 0
  assert.throws(() => c.apply(record!), { name: 'AssertionFailure', message: /more jobs finished than were admitted/ })
})

test('retention holds after every retirement', () => {
  const { c, inner } = core()
  durable(c, [spec('a'), spec('b')])
  c.cancel('a')
  const [record] = c.takeEffects().append
  inner.retention.maxFinished = -1
  assert.throws(() => c.apply(record!), { name: 'AssertionFailure', message: /more finished jobs held than the retention allows/ })
})
