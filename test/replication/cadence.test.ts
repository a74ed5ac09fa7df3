// Goal: the replicator ticks when time-driven work is due, never more often than the fast tick nor
// less often than the idle one, and re-arms its timer for an earlier tick or when the work it was
// armed for went away; learners are recomputed at most every LEARNERS_REFRESH_MS and keep their
// identity while unchanged. Method: TickPace and LearnersCache driven directly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LEARNERS_REFRESH_MS, LearnersCache, TickPace } from '../../src/replication/cadence.js'

test('the tick comes when work is due, within the fast and idle bounds, and is re-armed for earlier work at once', () => {
  const pace = new TickPace(25, 1000)
  assert.equal(pace.next(0, undefined), 1000, 'nothing due: the idle tick')
  assert.equal(pace.next(10, undefined), undefined, 'the armed timer comes soon enough')
  assert.equal(pace.next(20, 500), 480, 'a heartbeat due sooner: re-armed for it')
  assert.equal(pace.next(30, 510), undefined, 'due a little later than armed: the timer stays')
  assert.equal(pace.next(40, 40), 25, 'due now: no sooner than the fast tick')
  pace.fired()
  assert.equal(pace.next(65, 5000), 1000, 'due late: no later than the idle tick')
  pace.fired()
  assert.equal(pace.next(1065, 1070), 25)
  assert.equal(new TickPace(50, 10).next(0, undefined), 50, 'idle never ticks faster than busy')
})

test('a timer armed for work that went away is moved to the next work due, not to the idle bound', () => {
  const pace = new TickPace(50, 1000)
  assert.equal(pace.next(0, 200), 200, 'a probe times out at 200')
  assert.equal(pace.next(5, 500), 495, 'answered: the next probe at 500, not a wasted tick at 200')
  assert.equal(pace.next(10, 530), undefined, 'within the fast tick of the armed one: kept')
  assert.equal(pace.next(20, undefined), undefined, 'nothing due: the idle bound does not move it later')
  assert.equal(pace.next(30, 5000), undefined, 'due past the idle bound: not moved either')
  assert.equal(pace.next(40, 60), 50, 'earlier work still re-arms at once')
  pace.fired()
  assert.equal(pace.next(90, undefined), 1000)
  for (let now = 100; now < 3000; now += 100) assert.equal(pace.next(now, undefined), undefined, 'steady inputs never push the idle tick on')
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
