// Goal: the leader's appends with no log or clock: records go out in arrival order in bounded
// batches with a bounded number under way, a submitted record goes out as the bytes it arrived in,
// a failed batch goes back to the front after the backoff and stays in doubt until its retry lands,
// and a due snapshot is a barrier: it waits for the appends under way and for every doubtful
// record, and no append starts while it is under way.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JobRecord } from '../../protocols/jobs/codec.js'
import type { Random } from '../../src/env/types.js'
import { AppendHealth } from '../../src/jobs/append-health.js'
import { AppendPipeline, type AppendStep } from '../../src/jobs/append-pipeline.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { SnapshotSchedule, type SnapshotPolicy } from '../../src/jobs/snapshot-schedule.js'

const still: Random = { next: () => 0.5, int: (lo) => lo, bytes: (n) => new Uint8Array(n), id: () => '0'.repeat(32), fork: () => still }
const cancelled = (id: string): JobRecord => ({ kind: 'cancelled', id })
const submitted = (id: string): JobRecord => ({ kind: 'submitted', spec: { id, type: 't', input: null, options: resolveJobOptions({}), submittedAt: 0 } })
/** Every record encodes to 10 bytes holding its first letter, so tests see which bytes went out. */
const encode = (r: JobRecord): Uint8Array => new Uint8Array(10).fill((r.kind === 'submitted' ? r.spec.id : r.kind === 'snapshot' ? 's' : r.id).charCodeAt(0))

function pipeline(policy: SnapshotPolicy = { everyRecords: 1_000_000, everyBytes: 1e12 }, batchMax = 2, maxInFlight = 2) {
  const health = new AppendHealth(still)
  const snapshots = new SnapshotSchedule(1, policy, { sinceSnapshot: 0, lastOffset: -1 })
  return { p: new AppendPipeline(encode, health, snapshots, batchMax, maxInFlight), snapshots, health }
}

const ids = (step: AppendStep | undefined): string[] =>
  step?.kind === 'append' ? step.records.map((r) => (r.kind === 'submitted' ? r.spec.id : r.kind === 'snapshot' ? 'snapshot' : r.id)) : [String(step?.kind)]

test('records go out in arrival order, in bounded batches, with a bounded number under way', () => {
  const { p } = pipeline()
  p.enqueue(['a', 'b', 'c', 'd', 'e'].map(cancelled))
  const first = p.next(0)
  const second = p.next(0)
  assert.deepEqual([ids(first), ids(second), ids(p.next(0))], [['a', 'b'], ['c', 'd'], ['undefined']])
  assert.deepEqual([p.appending, p.waiting], [2, 1])
  // Batches may land in any order; each returns its own records, in order.
  assert.ok(second?.kind === 'append')
  assert.deepEqual(
    p.landed(second.batch, 10)?.map((r) => (r.kind === 'cancelled' ? r.id : '')),
    ['c', 'd'],
  )
  assert.deepEqual(ids(p.next(0)), ['e'])
  assert.equal(p.landed(99, 0), undefined)
  assert.equal(p.failed(99, 0), false)
})

test('a submitted record goes out as the bytes it arrived in until it lands', () => {
  const { p } = pipeline()
  const arrived = new Uint8Array([1, 2, 3])
  p.keepSubmitted('a', arrived)
  p.keepSubmitted('b', new Uint8Array([9]))
  p.dropSubmitted('b')
  p.enqueue([submitted('a'), submitted('b')])
  const step = p.next(0)
  assert.ok(step?.kind === 'append')
  assert.equal(step.payloads[0], arrived)
  assert.deepEqual([...step.payloads[1]!], Array(10).fill('b'.charCodeAt(0)))
})

test('a failed batch goes back to the front after the backoff; the log is in trouble until a batch lands', () => {
  const { p } = pipeline()
  p.enqueue(['a', 'b', 'c'].map(cancelled))
  const step = p.next(100)
  assert.ok(step?.kind === 'append')
  assert.equal(p.trouble(100), undefined)
  assert.equal(p.failed(step.batch, 100), true)
  assert.match(p.trouble(100) ?? '', /failing/)
  assert.equal(p.next(149), undefined, 'backoff of 50 ms')
  const retry = p.next(150)
  assert.deepEqual(ids(retry), ['a', 'b'])
  assert.ok(retry?.kind === 'append')
  p.landed(retry.batch, 0)
  assert.equal(p.trouble(150), undefined)
})

test('an append unanswered past the stall bound is trouble', () => {
  const { p } = pipeline()
  p.enqueue([cancelled('a')])
  p.next(1000)
  assert.equal(p.oldestStartedMs(), 1000)
  assert.equal(p.trouble(3000), undefined)
  assert.match(p.trouble(3001) ?? '', /has not acknowledged an append for 2001 ms/)
})

test('a due snapshot waits for the appends under way and the doubtful records, and holds appends while under way', () => {
  const { p, snapshots } = pipeline({ everyRecords: 2, everyBytes: 1e12 })
  p.enqueue(['a', 'b', 'c', 'd'].map(cancelled))
  const one = p.next(0)
  const two = p.next(0)
  assert.ok(one?.kind === 'append' && two?.kind === 'append')
  p.landed(one.batch, 0)
  assert.equal(snapshots.due(), true)
  assert.equal(p.next(0), undefined, 'an append is under way: the barrier holds')
  // The other batch fails: its records are in doubt, so they are retried before the snapshot.
  p.failed(two.batch, 0)
  assert.equal(p.next(10), undefined, 'in backoff')
  const retry = p.next(50)
  assert.deepEqual(ids(retry), ['c', 'd'])
  assert.ok(retry?.kind === 'append')
  assert.equal(p.next(50), undefined)
  p.landed(retry.batch, 2)
  p.enqueue([cancelled('e')])
  assert.deepEqual(p.next(60), { kind: 'snapshot' })
  // A snapshot too large to take: the driver asks again without it and appends go on.
  const e = p.next(60, false)
  assert.deepEqual(ids(e), ['e'])
  assert.ok(e?.kind === 'append')
  p.landed(e.batch, 3)
  assert.deepEqual(p.next(60), { kind: 'snapshot' })
  snapshots.begin()
  snapshots.appending(100)
  p.enqueue([cancelled('f')])
  assert.equal(p.next(60), undefined, 'no append while the snapshot is under way')
  snapshots.ended(5, 1)
  assert.deepEqual(ids(p.next(60)), ['f'])
})

test('limits that make no sense are refused', () => {
  const { health, snapshots } = pipeline()
  assert.throws(() => new AppendPipeline(encode, health, snapshots, 0, 1), { name: 'AssertionFailure', message: /append pipeline: invalid limits/ })
  assert.throws(() => new AppendPipeline(encode, health, snapshots, 1, 0), { name: 'AssertionFailure', message: /append pipeline: invalid limits/ })
})
