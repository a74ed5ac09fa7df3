// Goal: the leader snapshots when its policy says, with no I/O: after enough records or bytes since
// the last snapshot, never before as many bytes were appended as the last snapshot took (write
// amplification below 2), counting from what a new leader replayed; a snapshot reflects the last
// record known durable, which only grows; one at a time, each with its own id.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_SNAPSHOT_POLICY, SnapshotSchedule } from '../../src/jobs/snapshot-schedule.js'

test('due after enough records, counting those a new leader replayed', () => {
  const s = new SnapshotSchedule(7, { everyRecords: 3, everyBytes: 1_000_000 }, { sinceSnapshot: 2, lastOffset: 9 })
  assert.equal(s.due(), false)
  s.landed(10, 1, 50)
  assert.equal(s.due(), true)
  assert.deepEqual(s.begin(), { id: '7.1', after: 10 })
  assert.equal(s.due(), false)
})

test('a new leader takes no snapshot before its first append lands, however much it replayed', () => {
  const s = new SnapshotSchedule(4, { everyRecords: 3, everyBytes: 1_000_000 }, { sinceSnapshot: 10, lastOffset: 40 })
  assert.equal(s.due(), false, 'the replayed records alone would make one due: the first submissions must not wait behind it')
  s.landed(42, 1, 20)
  assert.equal(s.due(), true, 'the replayed records still count once an append landed')
  assert.deepEqual(s.begin(), { id: '4.1', after: 42 })
})

test('due after enough bytes; never before as many bytes as the last snapshot took', () => {
  const s = new SnapshotSchedule(1, { everyRecords: 2, everyBytes: 300 }, { sinceSnapshot: 0, lastOffset: -1 })
  s.landed(0, 1, 300)
  assert.equal(s.due(), true)
  s.begin()
  s.appending(500)
  s.ended(1, 1)
  s.landed(4, 3, 100)
  assert.equal(s.due(), false, 'records enough, but fewer bytes than the last snapshot took')
  s.landed(5, 1, 400)
  assert.equal(s.due(), true)
})

test('one snapshot at a time; it reflects the last record known durable, which only grows', () => {
  const s = new SnapshotSchedule(3, DEFAULT_SNAPSHOT_POLICY, { sinceSnapshot: 0, lastOffset: 20 })
  s.landed(15, 1, 10)
  assert.equal(s.lastLanded, 20, 'a batch landing late does not move it back')
  const first = s.begin()
  s.appending(100)
  assert.equal(s.underWay, true)
  assert.throws(() => s.begin(), { name: 'AssertionFailure', message: /snapshot: begun while another is being appended/ })
  assert.throws(() => s.appending(100), { name: 'AssertionFailure', message: /snapshot: a second append while one is under way/ })
  s.ended(null, 2)
  assert.deepEqual([s.underWay, s.lastLanded], [false, 20])
  const second = s.begin()
  s.appending(100)
  s.ended(30, 2)
  assert.deepEqual([first, second, s.lastLanded], [{ id: '3.1', after: 20 }, { id: '3.2', after: 20 }, 31])
})
