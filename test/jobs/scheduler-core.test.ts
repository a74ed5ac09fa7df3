// Goal: the scheduler core's rules, step by step with no I/O: durable-before-run, priority order,
// placement by outstanding work, retries with backoff, timeouts, deadlines, dependencies,
// cancellation, idempotency, backpressure, first-final-record-wins, and replay by a new leader.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { ASSIGN_REFUSED_RETRY_MS, SchedulerCore, STEAL_ANSWER_MS, type Candidate } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'
import type { JobRecord } from '../../protocols/jobs/codec.js'

const types = new Set(['t'])
const peers = (capacity = 2, n = 2): Candidate[] => Array.from({ length: n }, (_, i) => ({ node: `p${i}`, capacity, types, eventLoopLagMs: 0 }))
const spec = (id: string, options: JobOptions = {}): JobSpec => ({ id, type: 't', input: { id }, options: resolveJobOptions(options), submittedAt: 0 })

function core(maxQueued?: number): SchedulerCore {
  return new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), maxQueued === undefined ? {} : { maxQueued })
}

/** Submits and makes the records durable at once, as a healthy log would. */
function submitDurable(c: SchedulerCore, specs: JobSpec[]): void {
  c.submit(specs, types)
  for (const r of c.takeEffects().append) c.apply(r)
}

/** Appends whatever the core asks to append, until it asks for nothing more; returns all effects. */
function flush(c: SchedulerCore): ReturnType<SchedulerCore['takeEffects']> {
  const all = c.takeEffects()
  for (let pending = all.append; pending.length > 0;) {
    for (const r of pending) c.apply(r)
    const next = c.takeEffects()
    all.finished.push(...next.finished)
    all.durable.push(...next.durable)
    all.abort.push(...next.abort)
    all.assign.push(...next.assign)
    all.append.push(...next.append)
    pending = next.append
  }
  return all
}

test('a job is not assigned before its submission is durable', () => {
  const c = core()
  assert.deepEqual(c.submit([spec('a')], types), [{ status: 'pending' }])
  c.dispatch(0, 0, peers())
  const e = c.takeEffects()
  assert.equal(e.assign.length, 0)
  assert.equal(e.append.length, 1)
  c.apply(e.append[0]!)
  assert.deepEqual(c.takeEffects().durable, ['a'])
  c.dispatch(0, 0, peers())
  assert.equal(c.takeEffects().assign.length, 1)
})

test('higher priority first, then submission order; at most capacity x overcommit per peer', () => {
  const c = core()
  submitDurable(c, [spec('low1'), spec('high', { priority: 5 }), spec('low2'), spec('low3'), spec('low4'), spec('low5')])
  c.dispatch(0, 0, peers(1, 2))
  const assigned = c.takeEffects().assign
  assert.deepEqual(
    assigned.map((a) => a.spec.id),
    ['high', 'low1', 'low2', 'low3'],
  )
  assert.deepEqual(assigned.map((a) => a.node).sort(), ['p0', 'p0', 'p1', 'p1'])
})

test('an ok result is recorded once; a duplicate completion changes nothing', () => {
  const c = core()
  submitDurable(c, [spec('a')])
  c.dispatch(0, 0, peers())
  const [a] = c.takeEffects().assign
  c.attemptFinished('a', a!.attemptKey, { ok: true, value: 1 }, 10)
  c.attemptFinished('a', a!.attemptKey, { ok: true, value: 2 }, 10)
  const e = flush(c)
  assert.equal(e.append.length, 1)
  assert.deepEqual(
    e.finished.map((f) => f.outcome),
    [{ ok: true, value: 1 }],
  )
  c.apply({ kind: 'finished', id: 'a', attempt: 2, outcome: { ok: true, value: 'late' } })
  assert.deepEqual(c.inspect('a')?.outcome, { ok: true, value: 1 })
})

test('failures retry with backoff until retries run out, then the job fails', () => {
  const c = core()
  submitDurable(c, [spec('a', { retries: 1, backoff: { minMs: 100, jitter: 0 } })])
  c.dispatch(0, 0, peers())
  let [attempt] = c.takeEffects().assign
  const boom = { ok: false as const, error: { name: 'Error', code: 'E', message: 'boom' }, permanent: false }
  c.attemptFinished('a', attempt!.attemptKey, boom, 0)
  c.dispatch(99, 0, peers())
  assert.equal(c.takeEffects().assign.length, 0, 'not before the backoff')
  c.dispatch(100, 0, peers())
  ;[attempt] = c.takeEffects().assign
  assert.equal(attempt!.attempt, 2)
  c.attemptFinished('a', attempt!.attemptKey, boom, 200)
  const e = flush(c)
  assert.equal(e.finished[0]?.outcome.ok, false)
  assert.equal(c.inspect('a')?.status, 'failed')
})

test('a permanent failure skips the retries; a stale attempt’s failure is ignored', () => {
  const c = core()
  submitDurable(c, [spec('a', { retries: 5 }), spec('b', { retries: 5 })])
  c.dispatch(0, 0, peers())
  const [a, b] = c.takeEffects().assign
  c.attemptFinished('b', 'other.attempt', { ok: false, error: { name: 'E', code: 'E', message: 'old' }, permanent: true }, 0)
  c.attemptFinished('a', a!.attemptKey, { ok: false, error: { name: 'PermanentJobError', code: 'ERR_PERMANENT', message: 'no' }, permanent: true }, 0)
  flush(c)
  assert.equal(c.inspect('a')?.status, 'failed')
  assert.equal(c.inspect('b')?.status, 'running')
  assert.ok(b)
})

test('an attempt past its timeout is aborted and retried', () => {
  const c = core()
  submitDurable(c, [spec('a', { timeoutMs: 1000, backoff: { minMs: 10, jitter: 0 } })])
  c.dispatch(0, 0, peers())
  const [first] = c.takeEffects().assign
  c.dispatch(2001, 0, peers())
  const e = c.takeEffects()
  assert.deepEqual(e.abort, [{ node: first!.node, id: 'a', attemptKey: first!.attemptKey }])
  c.dispatch(2011, 0, peers())
  assert.equal(c.takeEffects().assign[0]?.attempt, 2)
})

test('a job not started by its deadline fails with DeadlineExceededError', () => {
  const c = core()
  submitDurable(c, [spec('a', { deadline: 5000 })])
  c.dispatch(0, 6000, [])
  flush(c)
  assert.equal(c.inspect('a')?.status, 'failed')
  assert.equal((c.inspect('a')!.outcome as { error: { name: string } }).error.name, 'DeadlineExceededError')
})

test('dependencies: a job waits for its dependency, and fails when it fails', () => {
  const c = core()
  submitDurable(c, [spec('a'), spec('b', { dependsOn: ['a'] }), spec('x', { retries: 0 }), spec('y', { dependsOn: ['x'] })])
  c.dispatch(0, 0, peers(4))
  const first = c.takeEffects().assign
  assert.deepEqual(first.map((x) => x.spec.id).sort(), ['a', 'x'])
  c.attemptFinished('a', first.find((x) => x.spec.id === 'a')!.attemptKey, { ok: true, value: 1 }, 1)
  c.attemptFinished('x', first.find((x) => x.spec.id === 'x')!.attemptKey, { ok: false, error: { name: 'E', code: 'E', message: 'bad' }, permanent: false }, 1)
  flush(c)
  c.dispatch(2, 0, peers(4))
  assert.deepEqual(
    c.takeEffects().assign.map((x) => x.spec.id),
    ['b'],
  )
  assert.equal(c.inspect('y')?.status, 'failed')
  assert.deepEqual(c.submit([spec('z', { dependsOn: ['nope'] })], types)[0], {
    status: 'refused',
    error: { name: 'InvalidJobError', code: 'ERR_INVALID_JOB', message: 'job z depends on unknown job nope' },
  })
})

test('cancel: the running attempt is aborted once the record is durable', () => {
  const c = core()
  submitDurable(c, [spec('a')])
  c.dispatch(0, 0, peers())
  const [a] = c.takeEffects().assign
  c.watch('a', 'w1')
  assert.equal(c.cancel('a'), true)
  const e = flush(c)
  assert.deepEqual(e.abort, [{ node: a!.node, id: 'a', attemptKey: a!.attemptKey }])
  assert.equal(c.inspect('a')?.status, 'cancelled')
  assert.deepEqual(e.finished[0]?.watchers, ['w1'])
  c.attemptFinished('a', a!.attemptKey, { ok: true, value: 1 }, 5)
  assert.equal(flush(c).append.length, 0)
})

test('idempotency keys: a second submission is a duplicate of the first; ids are idempotent too', () => {
  const c = core()
  submitDurable(c, [spec('a', { idempotencyKey: 'k' })])
  assert.deepEqual(c.submit([spec('b', { idempotencyKey: 'k' }), spec('a')], types), [{ status: 'duplicate', of: 'a', durable: true }, { status: 'durable' }])
})

test('backpressure: beyond maxQueued unfinished jobs, submissions are refused', () => {
  const c = core(2)
  submitDurable(c, [spec('a'), spec('b')])
  const [result] = c.submit([spec('c')], types)
  assert.equal(result?.status, 'refused')
  assert.equal((result as { error: { name: string } }).error.name, 'ClusterSaturatedError')
  assert.equal(c.submit([spec('d', {})], new Set())[0]?.status, 'refused')
})

test('a peer that goes down has its attempts retried elsewhere', () => {
  const c = core()
  submitDurable(c, [spec('a', { backoff: { minMs: 1, jitter: 0 } })])
  c.dispatch(0, 0, peers(1, 1))
  assert.equal(c.takeEffects().assign[0]?.node, 'p0')
  c.peerDown('p0', 10)
  c.dispatch(20, 0, [{ node: 'p1', capacity: 1, types, eventLoopLagMs: 0 }])
  assert.deepEqual(
    c.takeEffects().assign.map((a) => [a.node, a.attempt]),
    [['p1', 2]],
  )
})

test('a new leader replays the log: finished jobs stay finished, the rest are queued again, first record wins', () => {
  const log: JobRecord[] = []
  const old = core()
  old.submit([spec('done'), spec('inflight'), spec('child', {})], types)
  for (const r of old.takeEffects().append) {
    log.push(r)
    old.apply(r)
  }
  log.push({ kind: 'finished', id: 'done', attempt: 1, outcome: { ok: true, value: 'first' } })
  log.push({ kind: 'finished', id: 'done', attempt: 2, outcome: { ok: true, value: 'second' } })
  const next = new SchedulerCore(2, new LeastLoadedPlacement(), new SeededRandom(2))
  next.beginReplay()
  for (const r of log) next.apply(r)
  next.endReplay()
  assert.deepEqual(next.takeEffects(), { append: [], assign: [], abort: [], durable: [], finished: [], notify: [], progress: [], steal: [] })
  assert.deepEqual(next.inspect('done')?.outcome, { ok: true, value: 'first' })
  next.dispatch(0, 0, peers())
  assert.deepEqual(
    next
      .takeEffects()
      .assign.map((a) => a.spec.id)
      .sort(),
    ['child', 'inflight'],
  )
  assert.equal(next.backlog, 2)
})

/** A core that lets idle peers steal, with `n` jobs assigned to p0 (capacity 2, so 2n/2 wait there). */
function overcommitted(n: number): { c: SchedulerCore; keys: Map<string, string> } {
  const c = new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { steal: true })
  submitDurable(
    c,
    Array.from({ length: n }, (_, i) => spec(`j${i}`, { retries: 0 })),
  )
  c.dispatch(0, 0, [{ node: 'p0', capacity: 2, types, eventLoopLagMs: 0 }])
  const e = c.takeEffects()
  assert.deepEqual(e.steal, [], 'no thief: nothing to steal')
  return { c, keys: new Map(e.assign.map((a) => [a.spec.id, a.attemptKey])) }
}

test('steal: an idle peer gets the newest attempts waiting on an overcommitted one, once the holder gives them up', () => {
  const { c, keys } = overcommitted(4)
  assert.equal(keys.size, 4, 'p0 holds twice its capacity')
  c.dispatch(10, 0, peers(2, 2))
  const asked = c.takeEffects().steal
  assert.deepEqual(
    asked.map((s) => [s.node, s.id]),
    [
      ['p0', 'j3'],
      ['p0', 'j2'],
    ],
    'the two attempts beyond p0 capacity, newest first',
  )
  assert.equal(c.stealsInFlight, 2)
  c.dispatch(20, 0, peers(2, 2))
  assert.deepEqual(c.takeEffects().steal, [], 'an attempt asked about is not asked again')

  c.stealAnswered(keys.get('j3')!, true, 30)
  const moved = c.takeEffects().assign
  assert.deepEqual(
    moved.map((a) => [a.node, a.spec.id, a.attempt]),
    [['p1', 'j3', 1]],
    'a new attempt on the thief; the released one spent no retry',
  )
  assert.notEqual(moved[0]!.attemptKey, keys.get('j3'))
  assert.equal(c.attemptNode(keys.get('j3')!), undefined, 'the released attempt is no longer live: its reports are refused')
  assert.equal(c.inspect('j3')?.assignedTo, 'p1')

  // The race: p0 started j2 just before the request arrived, and says no. j2 stays on p0.
  c.stealAnswered(keys.get('j2')!, false, 30)
  assert.deepEqual(c.takeEffects().assign, [])
  assert.equal(c.attemptNode(keys.get('j2')!), 'p0')
  assert.equal(c.stealsInFlight, 0)

  // The released attempt's success, were it to arrive, is not the job's result; the new attempt's is.
  c.attemptFinished('j3', moved[0]!.attemptKey, { ok: true, value: 'p1' }, 40)
  const done = flush(c)
  assert.deepEqual(
    done.finished.map((f) => [f.id, f.outcome]),
    [['j3', { ok: true, value: 'p1' }]],
  )
  c.attemptFinished('j2', keys.get('j2')!, { ok: true, value: 'p0' }, 50)
  assert.deepEqual(
    flush(c).finished.map((f) => [f.id, f.outcome]),
    [['j2', { ok: true, value: 'p0' }]],
  )
})

test('steal: a "yes" for an attempt that already ended changes nothing, and a thief that went down gets nothing', () => {
  const { c, keys } = overcommitted(4)
  c.dispatch(10, 0, peers(2, 2))
  assert.equal(c.takeEffects().steal.length, 2)
  // j3's attempt timed out at the leader meanwhile (no retries left): it failed, and a late yes cannot revive it.
  c.dispatch(10 + 60_000 + 1001, 0, [{ node: 'p0', capacity: 2, types, eventLoopLagMs: 0 }])
  flush(c)
  assert.equal(c.inspect('j3')?.status, 'failed')
  c.stealAnswered(keys.get('j3')!, true, 70_000)
  assert.deepEqual(c.takeEffects().assign, [])

  const second = overcommitted(4)
  second.c.dispatch(10, 0, peers(2, 2))
  second.c.takeEffects()
  second.c.peerDown('p1', 15)
  second.c.stealAnswered(second.keys.get('j3')!, true, 20)
  assert.deepEqual(second.c.takeEffects().assign, [], 'the thief is gone: the job waits at the leader')
  assert.equal(second.c.inspect('j3')?.status, 'queued')
  assert.equal(second.c.inspect('j3')?.attempts, 0)
  second.c.dispatch(30, 0, [
    { node: 'p0', capacity: 2, types, eventLoopLagMs: 0 },
    { node: 'p2', capacity: 2, types, eventLoopLagMs: 0 },
  ])
  assert.deepEqual(
    second.c.takeEffects().assign.map((a) => [a.node, a.spec.id, a.attempt]),
    [['p2', 'j3', 1]],
  )
})

test('steal: an unanswered request lapses, so the thief slot is offered again; nothing is stolen while jobs wait at the leader', () => {
  const { c } = overcommitted(5)
  assert.equal(c.inspect('j4')?.status, 'queued', 'p0 is full, j4 waits at the leader')
  c.dispatch(10, 0, [
    { node: 'p0', capacity: 2, types, eventLoopLagMs: 0 },
    { node: 'p1', capacity: 1, types, eventLoopLagMs: 0 },
  ])
  const e = c.takeEffects()
  assert.deepEqual(e.steal, [], 'the waiting job takes the idle slot instead')
  assert.deepEqual(
    e.assign.map((a) => [a.node, a.spec.id]),
    [['p1', 'j4']],
  )

  const { c: lapsed } = overcommitted(4)
  const small = [
    { node: 'p0', capacity: 2, types, eventLoopLagMs: 0 },
    { node: 'p1', capacity: 1, types, eventLoopLagMs: 0 },
  ]
  lapsed.dispatch(10, 0, small)
  assert.deepEqual(
    lapsed.takeEffects().steal.map((s) => s.id),
    ['j3'],
    'one idle slot: one request',
  )
  lapsed.dispatch(500, 0, small)
  assert.deepEqual(lapsed.takeEffects().steal, [], 'the slot is reserved while the request is open')
  lapsed.dispatch(10 + STEAL_ANSWER_MS, 0, small)
  assert.deepEqual(
    lapsed.takeEffects().steal.map((s) => s.id),
    ['j2'],
    'after the request lapsed, the next newest attempt',
  )
})

test('steal: only where the job would finish sooner, by node speed (the thief run against the wait and the run on the holder)', () => {
  const at = (thiefSpeed: number): string[] => {
    const speeds: Record<string, number> = { p0: 4, p1: thiefSpeed }
    const c = new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { steal: true, speed: (n) => speeds[n] ?? 1 })
    submitDurable(
      c,
      Array.from({ length: 4 }, (_, i) => spec(`j${i}`)),
    )
    c.dispatch(0, 0, [{ node: 'p0', capacity: 2, types, eventLoopLagMs: 0 }])
    c.takeEffects()
    c.dispatch(10, 0, peers(2, 2))
    return c.takeEffects().steal.map((s) => s.id)
  }
  // p0 (speed 4) holds 2 beyond its 2 slots: the newest waits one run there, so it finishes after 2 runs of speed 4.
  assert.deepEqual(at(1), [], 'a thief of speed 1 would be slower')
  assert.deepEqual(at(2), [], 'speed 2 only ties')
  assert.deepEqual(at(2.5), ['j3'], 'speed 2.5 beats it for the newest; the next one waits only half a run there, and stays')
  assert.deepEqual(at(3), ['j3', 'j2'], 'speed 3 beats both')
})

test('a refused assignment is queued again without spending a retry, after ASSIGN_REFUSED_RETRY_MS, and a stale refusal changes nothing', () => {
  const c = core()
  submitDurable(c, [spec('a', { retries: 0 }), spec('b')])
  c.dispatch(0, 0, peers(1, 2))
  const assigned = c.takeEffects().assign
  const a = assigned.find((x) => x.spec.id === 'a')!
  const b = assigned.find((x) => x.spec.id === 'b')!

  // p-a's executor did not take this leader for its leader: the attempt never entered it.
  c.assignRefused(a.attemptKey, 10)
  assert.equal(c.attemptNode(a.attemptKey), undefined, 'the refused attempt is no longer live')
  assert.equal(c.inspect('a')?.status, 'retrying')
  c.dispatch(10 + ASSIGN_REFUSED_RETRY_MS - 1, 0, peers(1, 2))
  assert.deepEqual(c.takeEffects().assign, [], 'not placed again at once')
  c.dispatch(10 + ASSIGN_REFUSED_RETRY_MS, 0, peers(1, 2))
  const again = c.takeEffects().assign
  assert.deepEqual(
    again.map((x) => [x.spec.id, x.attempt]),
    [['a', 1]],
    'the same attempt number: with retries 0 the job still runs',
  )
  assert.notEqual(again[0]!.attemptKey, a.attemptKey)

  // A refusal that arrives after the attempt ended (b finished) changes nothing.
  c.attemptFinished('b', b.attemptKey, { ok: true, value: 1 }, 20)
  flush(c)
  c.assignRefused(b.attemptKey, 30)
  assert.equal(c.inspect('b')?.status, 'completed')
  c.assignRefused(a.attemptKey, 30)
  assert.equal(c.attemptNode(again[0]!.attemptKey), again[0]!.node, 'a stale key does not touch the current attempt')
})

test('steal: a release the holder reports after its answer was lost (taken for a "no") still moves the job, at once', () => {
  const { c, keys } = overcommitted(4)
  c.dispatch(10, 0, peers(2, 2))
  assert.equal(c.takeEffects().steal.length, 2)
  // The holder was paused past the question's timeout: no answer counts as "no", the job stays on p0...
  c.stealAnswered(keys.get('j3')!, false, 10 + STEAL_ANSWER_MS)
  assert.equal(c.attemptNode(keys.get('j3')!), 'p0')
  // ...but it had removed the attempt, and its release report (sent like a result) arrives later.
  c.stealAnswered(keys.get('j3')!, true, 10 + STEAL_ANSWER_MS + 500)
  assert.equal(c.attemptNode(keys.get('j3')!), undefined, 'the given-up attempt no longer holds the job')
  c.dispatch(10 + STEAL_ANSWER_MS + 500, 0, peers(2, 2))
  const placed = c.takeEffects().assign.filter((a) => a.spec.id === 'j3')
  assert.equal(placed.length, 1, 'placed again without waiting for its timeout')
  assert.equal(placed[0]!.attempt, 1, 'no retry spent')
})
