// Goal: the replicator's waiting requests are answered exactly once: a fence only once its epoch's no-op and everything before the fence are committed, an append once its last entry is, a compaction once the log starts at its offset; fences and appends time out as unavailable (appends as ambiguous), and failing them all empties the list.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { JobLogUnavailableError } from '../../src/storage/errors.js'
import { ReplicationWaiters, type CommitState, type Reply } from '../../src/replication/waiters.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

function recorder<T>(): Reply<T> & { outcomes: Array<{ value?: T; error?: Error }> } {
  const outcomes: Array<{ value?: T; error?: Error }> = []
  return { outcomes, resolve: (value) => outcomes.push({ value }), reject: (error) => outcomes.push({ error }) }
}

const state = (over: Partial<CommitState>): CommitState => ({ ledEpoch: 2, noopIndex: 10, commitEnd: 0, startIndex: 0, ...over })

test('a fence waits for its epoch, the no-op and the log end it saw', () => {
  const w = new ReplicationWaiters(5000)
  const r = recorder<void>()
  w.fence(2, 14, r, 0)
  w.settle(state({ commitEnd: 11 }), 1)
  assert.equal(r.outcomes.length, 0, 'no-op committed, but not the entries the log held at the fence')
  w.settle(state({ commitEnd: 14, ledEpoch: 3 }), 2)
  assert.equal(r.outcomes.length, 0, 'another epoch is led')
  w.settle(state({ commitEnd: 14, noopIndex: undefined }), 3)
  assert.equal(r.outcomes.length, 0, 'no no-op yet')
  w.settle(state({ commitEnd: 14 }), 4)
  assert.deepEqual(r.outcomes, [{ value: undefined }])
  assert.equal(w.pending, false)
  w.settle(state({ commitEnd: 20 }), 5)
  assert.equal(r.outcomes.length, 1, 'answered once')
})

test('an append resolves with its first offset once its last entry commits; compactions once the log starts at their offset', () => {
  const w = new ReplicationWaiters(5000)
  const a = recorder<number>()
  const c = recorder<void>()
  w.append(appendOffset(11), 14, a, 0)
  w.compaction(12, c)
  w.settle(state({ commitEnd: 13, startIndex: 11 }), 1)
  assert.deepEqual([a.outcomes, c.outcomes], [[], []])
  w.settle(state({ commitEnd: 14, startIndex: 12 }), 2)
  assert.deepEqual([a.outcomes, c.outcomes], [[{ value: appendOffset(11) }], [{ value: undefined }]])
})

test('fences and appends time out as unavailable, appends as ambiguous; compactions do not time out', () => {
  const w = new ReplicationWaiters(100)
  const f = recorder<void>()
  const a = recorder<number>()
  const c = recorder<void>()
  w.fence(2, 11, f, 0)
  w.append(appendOffset(11), 12, a, 50)
  w.compaction(5, c)
  w.settle(state({}), 100)
  assert.equal(f.outcomes.length + a.outcomes.length, 0, 'not after exactly the timeout')
  w.settle(state({}), 101)
  assert.ok(f.outcomes[0]?.error instanceof JobLogUnavailableError)
  assert.equal((f.outcomes[0].error as JobLogUnavailableError).ambiguous, false)
  assert.equal(a.outcomes.length, 0)
  w.settle(state({}), 151)
  assert.ok(a.outcomes[0]?.error instanceof JobLogUnavailableError)
  assert.equal((a.outcomes[0].error as JobLogUnavailableError).ambiguous, true)
  w.settle(state({}), 100_000)
  assert.equal(c.outcomes.length, 0)
  assert.equal(w.pending, true)
})

test('failAll rejects fences and compactions with one error and appends with the other, once', () => {
  const w = new ReplicationWaiters(5000)
  const f = recorder<void>()
  const a = recorder<number>()
  const c = recorder<void>()
  w.fence(1, 1, f, 0)
  w.append(1, 1, a, 0)
  w.compaction(1, c)
  const fenceError = new Error('fence')
  const appendError = new Error('append')
  w.failAll(fenceError, appendError)
  assert.deepEqual([f.outcomes, a.outcomes, c.outcomes], [[{ error: fenceError }], [{ error: appendError }], [{ error: fenceError }]])
  assert.equal(w.pending, false)
  w.settle(state({ commitEnd: 100, startIndex: 100 }), 1)
  assert.equal(f.outcomes.length + a.outcomes.length + c.outcomes.length, 3)
})
