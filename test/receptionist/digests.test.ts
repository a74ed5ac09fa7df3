// Goal: digests go to every peer for hotMs after a change, then to one peer per tick, each peer in
// turn (by id) however the peer list is ordered or changes. Method: DigestSchedule with explicit times.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DigestSchedule } from '../../src/receptionist/digests.js'

test('every peer while hot; then one a tick, in turn by id, each within N ticks', () => {
  const schedule = new DigestSchedule(10_000)
  assert.deepEqual(schedule.due(['c', 'a', 'b'], 0), ['a'], 'nothing changed yet: quiet from the start')
  schedule.changed(1000)
  assert.deepEqual(schedule.due(['c', 'a', 'b'], 2000), ['c', 'a', 'b'])
  assert.deepEqual(schedule.due(['c', 'a', 'b'], 10_999), ['c', 'a', 'b'])
  const turns = [11_000, 13_000, 15_000, 17_000].map((t) => schedule.due(['c', 'a', 'b'], t))
  assert.deepEqual(turns, [['b'], ['c'], ['a'], ['b']], 'the turn continues after the one served before the change')
})

test('a peer that joins or leaves mid-rotation neither stops the turn nor is skipped for long', () => {
  const schedule = new DigestSchedule(0)
  assert.deepEqual(schedule.due(['a', 'b', 'c'], 0), ['a'])
  assert.deepEqual(schedule.due(['a', 'c'], 1), ['c'], 'b left: the next by id')
  assert.deepEqual(schedule.due(['a', 'c', 'ab'], 2), ['a'], 'wraps round')
  assert.deepEqual(schedule.due(['a', 'c', 'ab'], 3), ['ab'], 'a newcomer gets its turn in id order')
  assert.deepEqual(schedule.due([], 4), [])
})
