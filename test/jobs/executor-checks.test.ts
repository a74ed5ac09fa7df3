// Goal: the executor's pure decisions outside its core: an attempt's failure is reported with the
// abort's reason when its signal was aborted (a timeout stays a timeout whatever the handler threw),
// a PermanentJobError by class or by name is not retried, and an assignment from the leader is
// checked whole (spec, attempt key) before anything of it runs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidJobError, JobTimeoutError, PermanentJobError } from '../../src/jobs/errors.js'
import { failureOutcome } from '../../src/jobs/executor-core.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { checkAssignment } from '../../src/jobs/protocol.js'

test('a failure carries what the handler threw, or the abort reason when the signal was aborted', () => {
  assert.deepEqual(failureOutcome(new Error('boom'), undefined), { ok: false, error: { name: 'Error', code: 'ERR_JOB', message: 'boom' }, permanent: false })
  const timedOut = failureOutcome(new Error('AbortError'), new JobTimeoutError(100))
  assert.equal(timedOut.ok === false && timedOut.error.name, 'JobTimeoutError')
  // A reason that is not an Error does not hide what was thrown.
  const plain = failureOutcome(new Error('thrown'), 'why')
  assert.equal(plain.ok === false && plain.error.message, 'thrown')
  assert.equal(failureOutcome('a string', undefined).ok, false)
})

test('a PermanentJobError, by class or by name, is not retried', () => {
  const byClass = failureOutcome(new PermanentJobError('bad input'), undefined)
  assert.equal(byClass.ok === false && byClass.permanent, true)
  const named = Object.assign(new Error('from another copy of the library'), { name: 'PermanentJobError' })
  const outcome = failureOutcome(named, undefined)
  assert.equal(outcome.ok === false && outcome.permanent, true)
})

test('an assignment is checked whole; an absent attempt number counts as the first', () => {
  const spec = { id: 'j', type: 't', input: { a: 1 }, options: resolveJobOptions({}), submittedAt: 1 }
  assert.deepEqual(checkAssignment({ spec, attempt: 3, attemptKey: 'k' }), { spec, attempt: 3, attemptKey: 'k' })
  assert.equal(checkAssignment({ spec, attemptKey: 'k' }).attempt, 1)
  for (const bad of [null, 'x', { spec, attempt: 1 }, { spec, attempt: 1, attemptKey: 'k'.repeat(65) }, { spec: { ...spec, id: '' }, attemptKey: 'k' }, { attemptKey: 'k' }]) {
    assert.throws(() => checkAssignment(bad), InvalidJobError, JSON.stringify(bad))
  }
})
