// Goal: the scheduler's lease gate (src/jobs/scheduler-lease.ts) opens exactly while the lease of
// its own epoch holds, counts each lapse and each return once, holds what is decided during a lapse
// and gives it back in order once the lease is back, and refuses misuse (its asserts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SchedulerLease, SchedulerStats } from '../../src/jobs/scheduler-lease.js'
import { AssertionFailure } from '../../src/assert.js'

test('open only with the lease of its own epoch; each change is reported and counted once', () => {
  const stats = new SchedulerStats()
  const lease = new SchedulerLease<string>(4, stats)
  assert.equal(lease.open, true, 'a scheduler starts with its lease held')
  assert.equal(lease.observe(4), undefined)
  assert.equal(lease.observe(undefined), 'paused')
  assert.equal(lease.open, false)
  assert.equal(lease.observe(undefined), undefined)
  assert.equal(lease.observe(5), undefined, 'a newer epoch is no lease of this one')
  assert.equal(lease.open, false)
  assert.equal(lease.observe(4), 'resumed')
  assert.equal(lease.open, true)
  assert.equal(lease.observe(3), 'paused', 'nor an older one')
  assert.deepEqual({ ...stats }, { replays: 0, pauses: 2, resumes: 1 })
})

test('messages held during a lapse come back in order, once', () => {
  const lease = new SchedulerLease<string>(1, new SchedulerStats())
  lease.observe(undefined)
  lease.hold('assign n1')
  lease.hold('abort n2')
  assert.equal(lease.holding, 2)
  lease.observe(1)
  assert.deepEqual(lease.release(), ['assign n1', 'abort n2'])
  assert.deepEqual(lease.release(), [])
  assert.equal(lease.holding, 0)
})

test('holding while the lease holds, or releasing while it has lapsed, is a bug', () => {
  const lease = new SchedulerLease<string>(1, new SchedulerStats())
  assert.throws(() => lease.hold('assign'), { name: 'AssertionFailure', message: /held a message while the lease holds/ })
  lease.observe(undefined)
  assert.throws(() => lease.release(), { name: 'AssertionFailure', message: /released held messages while the lease has lapsed/ })
})
