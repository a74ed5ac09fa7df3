// Goal: every submit is answered once, with one reply per job in its order, only when each job its
// replies name is durable (its own, or the key's owner while that one is pending); a withdrawn
// submit is never answered from here, and releasing hands back every waiting submit exactly once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { answerTo, Submitters } from '../../src/jobs/submitters.js'
import type { SubmitResult } from '../../src/jobs/scheduler-core.js'

const pending: SubmitResult = { status: 'pending' }
const durable: SubmitResult = { status: 'durable' }
const dup = (of: string, isDurable: boolean): SubmitResult => ({ status: 'duplicate', of, durable: isDurable })
const error = { name: 'ClusterSaturatedError', code: 'ERR_SATURATED', message: 'full' }
const refused: SubmitResult = { status: 'refused', error }

test('the answer to each result: now, or when the job it names is durable', () => {
  assert.deepEqual(answerTo('a', pending), { when: 'a', answer: { status: 'accepted' } })
  assert.deepEqual(answerTo('a', durable), { now: { status: 'accepted' } })
  assert.deepEqual(answerTo('a', dup('b', false)), { when: 'b', answer: { status: 'duplicate', of: 'b' } })
  assert.deepEqual(answerTo('a', dup('b', true)), { now: { status: 'duplicate', of: 'b' } })
  assert.deepEqual(answerTo('a', refused), { now: { status: 'refused', error } })
})

test('a submit whose answers are all known is answered at once and not held', () => {
  const s = new Submitters<string>()
  assert.deepEqual(
    s.submit('h', ['a', 'b', 'c'], [durable, dup('x', true), refused])?.map((r) => r.status),
    ['accepted', 'duplicate', 'refused'],
  )
  assert.deepEqual([s.jobs, s.waits('h')], [0, false])
})

test('a submit is answered once, when the last job it waits for is durable, in the order of its jobs', () => {
  const s = new Submitters<string>()
  assert.equal(s.submit('h1', ['a', 'b', 'c'], [pending, refused, pending]), undefined)
  // A duplicate of a job still pending waits for that job, like its own submitter; twice in one submit counts twice.
  assert.equal(s.submit('h2', ['a2', 'a3', 'd'], [dup('a', false), dup('a', false), durable]), undefined)
  assert.deepEqual([s.jobs, s.waits('h1'), s.waits('h2')], [2, true, true])
  const onA = s.durable('a')
  assert.deepEqual(
    onA.map((d) => [d.handle, d.replies]),
    [['h2', [{ status: 'duplicate', of: 'a' }, { status: 'duplicate', of: 'a' }, { status: 'accepted' }]]],
  )
  assert.deepEqual(s.durable('a'), [], 'answered once')
  assert.deepEqual(
    s.durable('c').map((d) => [d.handle, d.replies.map((r) => r.status)]),
    [['h1', ['accepted', 'refused', 'accepted']]],
  )
  assert.deepEqual([s.jobs, s.waits('h1')], [0, false])
})

test('a withdrawn submit is never answered; the others waiting on the same job are', () => {
  const s = new Submitters<string>()
  s.submit('h1', ['a'], [pending])
  s.submit('h2', ['b'], [dup('a', false)])
  s.withdraw('h1')
  s.withdraw('h1')
  assert.deepEqual(
    s.durable('a').map((d) => d.handle),
    ['h2'],
  )
  s.submit('h3', ['c'], [pending])
  s.withdraw('h3')
  assert.equal(s.jobs, 0)
})

test('release hands back every waiting submit once, by the first job each waits for, and forgets them', () => {
  const s = new Submitters<string>()
  s.submit('h1', ['k'], [pending])
  s.submit('h2', ['m', 'n'], [pending, pending])
  s.submit('h3', ['k2'], [dup('k', false)])
  assert.deepEqual(s.release(), ['h1', 'h3', 'h2'])
  assert.deepEqual([s.jobs, s.waits('h2'), s.release().length, s.durable('k').length], [0, false, 0, 0])
})

test('a submit must give one result per job and use its own handle', () => {
  const s = new Submitters<string>()
  assert.throws(() => s.submit('h', ['a'], []), { name: 'AssertionFailure', message: /submitters: one result per job, one submit per handle/ })
  s.submit('h', ['a'], [pending])
  assert.throws(() => s.submit('h', ['b'], [pending]), { name: 'AssertionFailure', message: /submitters: one result per job, one submit per handle/ })
})

/** The private maps the bookkeeping assertions guard, as a bug would leave them. */
interface SubmittersInternals {
  byJob: Map<string, string[]>
  bySubmit: Map<string, { remaining: number }>
}

test('corrupted bookkeeping (private state broken on purpose) trips the assertions instead of answering wrongly', () => {
  const lost = new Submitters<string>()
  lost.submit('h', ['a'], [pending])
  ;(lost as unknown as SubmittersInternals).bySubmit.delete('h')
  assert.throws(() => lost.durable('a'), { name: 'AssertionFailure', message: /submitters: a job waited on by a submit not held/ })

  const miscounted = new Submitters<string>()
  miscounted.submit('h', ['a'], [pending])
  ;(miscounted as unknown as SubmittersInternals).bySubmit.get('h')!.remaining = 0
  assert.throws(() => miscounted.durable('a'), { name: 'AssertionFailure', message: /submitters: negative count/ })

  const orphan = new Submitters<string>()
  orphan.submit('h', ['a'], [pending])
  ;(orphan as unknown as SubmittersInternals).byJob.clear()
  assert.throws(() => orphan.release(), { name: 'AssertionFailure', message: /submitters: every held submit waits for a job/ })
})
