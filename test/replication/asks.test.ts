// Goal: the job-log session's reads and bounds cover exactly the committed and durable entries
// still held, in record offsets (an append at entry index i starts at offset i * OFFSET_STRIDE),
// a compaction may not go past the commit index, every ask is refused while the log is
// reopened, and the errors that end waiting requests are retriable for fences and ambiguous for
// appends. Method: the functions of asks.ts over hand-made log extents.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.js'
import { compactionIndex, compactionProblem, logBounds, readFailed, readRange, reopening, unavailable } from '../../src/replication/asks.js'
import { JobLogUnavailableError } from '../../src/storage/errors.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

const extent = { startIndex: 10, commitEnd: 20, durable: 18 }

test('a read covers what is committed and durable from the log start; below it, the entries were compacted', () => {
  const at12 = appendOffset(12)
  assert.deepEqual(readRange(extent, at12, 5), { offset: at12, from: 12, to: 18, max: 5 }, 'to the durable end, below the commit end')
  assert.deepEqual(readRange({ ...extent, durable: 25 }, at12, 5), { offset: at12, from: 12, to: 20, max: 5 }, 'to the commit end, below the durable end')
  assert.deepEqual(readRange(extent, at12 + 7, 5), { offset: at12 + 7, from: 12, to: 18, max: 5 }, 'an offset within an append reads from the entry where it starts')
  assert.deepEqual(readRange(extent, appendOffset(18), 5), { empty: true })
  assert.deepEqual(readRange(extent, at12, 0), { empty: true })
  const compacted = readRange(extent, appendOffset(10) - 1, 5)
  assert.ok('error' in compacted && compacted.error instanceof JobLogUnavailableError && !compacted.error.ambiguous)
  assert.equal(compacted.error.message, `offset ${appendOffset(10) - 1} was compacted away; the log starts at ${appendOffset(10)}`)
  const closed = readRange(undefined, at12, 5)
  assert.ok('error' in closed && closed.error.message === reopening().message)
  const failed = readFailed(new Error('EIO'))
  assert.match(failed.message, /reading the local replica log failed: EIO/)
  assert.equal((failed.cause as Error).message, 'EIO')
})

test('bounds are the readable range; a compaction stops at the commit index', () => {
  assert.deepEqual(logBounds(extent), { start: appendOffset(10), end: appendOffset(18) })
  assert.equal(compactionIndex(appendOffset(20)), 20, "a snapshot's offset starts its append: exact")
  assert.equal(compactionIndex(appendOffset(20) + 3), 20, 'any other offset: the start of its append (records below may stay)')
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
