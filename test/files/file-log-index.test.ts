// Goal: the file log's frame index holds only what its invariant allows (frames in file order with
// contiguous offsets, a start moved only while empty) and answers only for offsets it holds, so a
// recovery or read bug stops at the index instead of reading the wrong bytes. Method: a small index,
// then each call that breaks the order, and lookups at both ends.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FrameIndex } from '../../src/files/file-log-index.js'

test('frames are found by offset, in [start, end)', () => {
  const index = new FrameIndex()
  index.startAt(10)
  index.add(10, 3, 0, 100)
  index.add(13, 1, 100, 50)
  assert.deepEqual([index.frameOf(10), index.frameOf(12), index.frameOf(13)], [0, 0, 1])
  assert.throws(() => index.frameOf(9), { name: 'AssertionFailure', message: /offset 9 is outside \[10, 14\)/ })
  assert.throws(() => index.frameOf(14), { name: 'AssertionFailure', message: /is outside \[/ })
})

test('a frame out of order, an empty frame or a late start move is refused', () => {
  const index = new FrameIndex()
  index.add(0, 2, 0, 100)
  assert.throws(() => index.startAt(5), { name: 'AssertionFailure', message: /only an empty index can move its start/ })
  assert.throws(() => index.add(3, 1, 100, 10), { name: 'AssertionFailure', message: /frame starts at offset 3, expected 2/ })
  assert.throws(() => index.add(2, 0, 100, 10), { name: 'AssertionFailure', message: /a records frame holds at least one record/ })
  assert.throws(() => index.add(2, 1, 0, 10), { name: 'AssertionFailure', message: /frames are indexed in file order/ })
  assert.equal(index.length, 1, 'nothing refused was indexed')
  assert.equal(index.endOffset, 2)
})
