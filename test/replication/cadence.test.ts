// Goal: the replicator ticks fast only while it has time-driven work, never slower than the fast
// tick when idle, and sets its timer only when the pace changes; learners are recomputed at most
// every LEARNERS_REFRESH_MS and keep their identity while unchanged. Method: TickPace and
// LearnersCache driven directly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LEARNERS_REFRESH_MS, LearnersCache, TickPace } from '../../src/replication/cadence.js'

test('the tick is fast while busy, slow otherwise, and changes only when the pace does', () => {
  const pace = new TickPace(25, 1000)
  assert.equal(pace.next(false), 1000)
  assert.equal(pace.next(false), undefined, 'unchanged: the timer stays')
  assert.equal(pace.next(true), 25)
  assert.equal(pace.next(true), undefined)
  assert.equal(pace.next(false), 1000)
  assert.equal(new TickPace(50, 10).next(false), 50, 'idle never ticks faster than busy')
})

test('learners are due every LEARNERS_REFRESH_MS and keep their identity while the same', () => {
  const cache = new LearnersCache()
  assert.deepEqual(cache.current, [])
  assert.ok(cache.due(0), 'due at once')
  cache.refresh(['n3', 'n4'], 100)
  const first = cache.current
  assert.deepEqual(first, ['n3', 'n4'])
  assert.ok(!cache.due(100 + LEARNERS_REFRESH_MS - 1))
  assert.ok(cache.due(100 + LEARNERS_REFRESH_MS))
  cache.refresh(['n3', 'n4'], 400)
  assert.equal(cache.current, first, 'the same learners: the same list')
  cache.refresh(['n3'], 700)
  assert.deepEqual(cache.current, ['n3'])
  assert.notEqual(cache.current, first)
})
