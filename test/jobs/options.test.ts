// Goal: submission options are checked before anything is sent: a timeout a timer cannot hold
// (above 2^31-1 ms, which Node fires after 1 ms and would abort the attempt at once) is refused
// with InvalidJobError, on the client and again by the job-log codec the leader decodes with.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveJobOptions, TIMER_MAX_MS } from '../../src/jobs/options.js'
import { decodeJobRecord, encodeJobRecord } from '../../protocols/jobs/codec.js'
import { ProtocolError } from '../../protocols/errors.js'

test('timeouts and backoffs beyond the longest timer are refused', () => {
  assert.equal(resolveJobOptions({ timeoutMs: TIMER_MAX_MS }).timeoutMs, TIMER_MAX_MS)
  for (const options of [{ timeoutMs: TIMER_MAX_MS + 1 }, { timeoutMs: Infinity }, { timeoutMs: 0 }, { backoff: { maxMs: 2 ** 40 } }]) {
    assert.throws(() => resolveJobOptions(options), { name: 'InvalidJobError' }, JSON.stringify(options))
  }
})

test('the leader refuses an encoded submission whose timeout a timer cannot hold', () => {
  const options = { ...resolveJobOptions({}), timeoutMs: 2 ** 31 }
  const bytes = encodeJobRecord({ kind: 'submitted', spec: { id: 'j', type: 't', input: null, options, submittedAt: 0 } })
  assert.throws(
    () => decodeJobRecord(bytes),
    (e: unknown) => e instanceof ProtocolError && /beyond the longest timer/.test(e.message),
  )
})
