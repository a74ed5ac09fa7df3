// Goal: the job-log session's reads and bounds cover exactly the committed and durable entries
// still held, a compaction may not go past the commit index, every ask is refused while the log is
// reopened, and the errors that end waiting requests are retriable for fences and ambiguous for
// appends. Method: the functions of asks.ts over hand-made log extents.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.js'
import { compactionProblem, logBounds, readFailed, readRange, reopening, unavailable } from '../../src/replication/asks.js'
import { JobLogUnavailableError } from '../../src/storage/errors.js'

const extent = { startIndex: 10, commitEnd: 20, durable: 18 }

test('a read covers what is committed and durable from the log start; below it, the entries were compacted', () => {
  assert.deepEqual(readRange(extent, 12, 5), { from: 12, to: 18, max: 5 }, 'to the durable end, below the commit end')
  assert.deepEqual(readRange({ ...extent, durable: 25 }, 12, 5), { from: 12, to: 20, max: 5 }, 'to the commit end, below the durable end')
  assert.deepEqual(readRange(extent, 18, 5), { empty: true })
  assert.deepEqual(readRange(extent, 12, 0), { empty: true })
  const compacted = readRange(extent, 9, 5)
  assert.ok('error' in compacted && compacted.error instanceof JobLogUnavailableError && !compacted.error.ambiguous)
  assert.match(compacted.error.message, /offset 9 was compacted away; the log starts at 10/)
  const closed = readRange(undefined, 12, 5)
  assert.ok('error' in closed && closed.error.message === reopening().message)
  const failed = readFailed(new Error('EIO'))
  assert.match(failed.message, /reading the local replica log failed: EIO/)
  assert.equal((failed.cause as Error).message, 'EIO')
})

test('bounds are the readable range; a compaction stops at the commit index', () => {
  assert.deepEqual(logBounds(extent), { start: 10, end: 18 })
  assert.ok('error' in logBounds(undefined))
  assert.equal(compactionProblem(20, 20), undefined)
  assert.ok(compactionProblem(21, 20) instanceof InvalidArgumentError)
})

test('requests that cannot be served: fences refused, appends ambiguous', () => {
  const [fence, append] = unavailable('the replicator stopped')
  assert.equal(fence.message, 'the replicator stopped')
  assert.equal(fence.ambiguous, false)
  assert.equal(append.message, 'the replicator stopped; the records may or may not be committed')
  assert.equal(append.ambiguous, true)
})
