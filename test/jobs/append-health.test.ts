// Goal: the leader hears when the job log does not keep up, with no clock or I/O: after a failed
// append no append starts before the backoff's delay (growing with consecutive failures, capped),
// the log is in trouble while the last append failed or one under way is unanswered past the stall
// bound, and a durable append ends the trouble.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Random } from '../../src/env/types.js'
import { APPEND_STALL_MS, AppendHealth } from '../../src/jobs/append-health.js'

/** No jitter: every delay is the backoff's base. */
const still: Random = { next: () => 0.5, int: (lo) => lo, bytes: (n) => new Uint8Array(n), id: () => '0'.repeat(32), fork: () => still }

test('a failed append holds the next one for a delay that doubles per failure, up to the cap', () => {
  const health = new AppendHealth(still)
  assert.equal(health.mayAppend(0), true)
  health.failed(100)
  assert.deepEqual([health.mayAppend(149), health.mayAppend(150)], [false, true])
  health.failed(150)
  assert.deepEqual([health.mayAppend(249), health.mayAppend(250)], [false, true])
  for (let i = 0; i < 20; i++) health.failed(1000)
  assert.equal(health.consecutiveFailures, 22)
  assert.deepEqual([health.mayAppend(5999), health.mayAppend(6000)], [false, true])
})

test('the log is in trouble while the last append failed, with its error, until one is durable', () => {
  const health = new AppendHealth(still)
  assert.equal(health.trouble(Infinity, 0), undefined)
  health.noteError(new Error('disk full'))
  // Noted but not yet counted: the failure arrives as a message after its error.
  assert.equal(health.trouble(Infinity, 0), undefined)
  health.failed(0)
  assert.equal(health.trouble(Infinity, 0), 'the job log is failing: disk full')
  health.succeeded()
  assert.equal(health.consecutiveFailures, 0)
  assert.equal(health.trouble(Infinity, 10), undefined)
})

test('an append unanswered past the stall bound is trouble; one under the bound is not', () => {
  const health = new AppendHealth(still)
  assert.equal(health.trouble(1000, 1000 + APPEND_STALL_MS), undefined)
  assert.equal(health.trouble(1000, 1001 + APPEND_STALL_MS), `the job log has not acknowledged an append for ${APPEND_STALL_MS + 1} ms`)
  assert.equal(new AppendHealth(still, 10).trouble(0, 11), 'the job log has not acknowledged an append for 11 ms')
})

test('settings that make no sense are refused', () => {
  assert.throws(() => new AppendHealth(still, 100, { minMs: 100, maxMs: 10, factor: 2, jitter: 0 }), { name: 'AssertionFailure', message: /append health: invalid settings/ })
  assert.throws(() => new AppendHealth(still, -1), { name: 'AssertionFailure', message: /append health: invalid settings/ })
})

test('retryNow ends the backoff and the trouble at once, and a later failure starts the backoff afresh', () => {
  const health = new AppendHealth(still)
  health.noteError(new Error("this node's lease on epoch 3 lapsed"))
  for (let i = 0; i < 5; i++) health.failed(1000)
  assert.equal(health.mayAppend(1100), false)
  health.retryNow()
  assert.deepEqual([health.mayAppend(1100), health.consecutiveFailures, health.trouble(Infinity, 1100)], [true, 0, undefined])
  health.failed(1200)
  assert.deepEqual([health.mayAppend(1249), health.mayAppend(1250)], [false, true])
})
