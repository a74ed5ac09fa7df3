// Goal: a watch reply carries outcomes only while they fit its byte budget; past it a finished job
// is answered `true` (its outcome comes by push or the next watch), and every outcome counts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeOutcome } from '../../src/jobs/result-cache.js'
import { WATCH_REPLY_MAX_BYTES, WatchBudget } from '../../src/jobs/watch-budget.js'

const outcome = { ok: true as const, value: 'x' }

test('outcomes while they fit, then true; an exact fit still carries its outcome', () => {
  const budget = new WatchBudget(250, () => 100)
  assert.deepEqual([budget.answer(outcome), budget.answer(outcome), budget.open], [{ outcome }, { outcome }, true])
  assert.equal(budget.answer(outcome), true)
  assert.equal(budget.open, false)
  const exact = new WatchBudget(200, () => 100)
  assert.deepEqual([exact.answer(outcome), exact.answer(outcome), exact.open], [{ outcome }, { outcome }, false])
})

test('by default outcomes count their encoded size against WATCH_REPLY_MAX_BYTES', () => {
  const big = { ok: true as const, value: 'y'.repeat(WATCH_REPLY_MAX_BYTES / 2) }
  const size = encodeOutcome(big).length
  assert.ok(size > WATCH_REPLY_MAX_BYTES / 2)
  const budget = new WatchBudget()
  assert.deepEqual([budget.answer(big), budget.answer(big)], [{ outcome: big }, true])
})
