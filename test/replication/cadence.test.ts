// Goal: the replicator ticks when time-driven work is due, never more often than the fast tick nor
// less often than the idle one, and re-arms its timer only for an earlier tick; learners are
// recomputed at most every LEARNERS_REFRESH_MS and keep their identity while unchanged. Method:
// TickPace and LearnersCache driven directly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LEARNERS_REFRESH_MS, LearnersCache, TickPace } from '../../src/replication/cadence.js'

test('the tick comes when work is due, within the fast and idle bounds, and is re-armed only earlier', () => {
  const pace = new TickPace(25, 1000)
  assert.equal(pace.next(0, undefined), 1000, 'nothing due: the idle tick')
  assert.equal(pace.next(10, undefined), undefined, 'the armed timer comes soon enough')
  assert.equal(pace.next(20, 500), 480, 'a heartbeat due sooner: re-armed for it')
  assert.equal(pace.next(30, 900), undefined, 'due later than armed: the timer stays')
  assert.equal(pace.next(40, 40), 25, 'due now: no sooner than the fast tick')
  pace.fired()
  assert.equal(pace.next(65, 5000), 1000, 'due late: no later than the idle tick')
  pace.fired()
  assert.equal(pace.next(1065, 1070), 25)
  assert.equal(new TickPace(50, 10).next(0, undefined), 50, 'idle never ticks faster than busy')
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
