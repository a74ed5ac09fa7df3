// Goal: result waits end when the node stops: closing the waiters rejects every pending wait and
// every later one with the given error, while outcomes already known still resolve.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SystemShutdownError } from '../../src/errors.js'
import { ResultWaiters } from '../../src/jobs/waiters.js'

test('close rejects pending and later waits; known outcomes still resolve', async () => {
  const waiters = new ResultWaiters()
  waiters.settle('done', { ok: true, value: 1 })
  const pending = new Promise((resolve, reject) => waiters.wait('a', resolve, reject))
  const cancelled = new Promise((resolve, reject) => {
    const cancel = waiters.wait('b', resolve, reject)
    cancel()
    resolve('cancelled before close')
  })
  waiters.close(new SystemShutdownError('stopping'))
  await assert.rejects(pending, SystemShutdownError)
  assert.equal(await cancelled, 'cancelled before close')
  await assert.rejects(new Promise((resolve, reject) => waiters.wait('c', resolve, reject)), SystemShutdownError)
  assert.deepEqual(await new Promise((resolve, reject) => waiters.wait('done', resolve, reject)), { ok: true, value: 1 })
  assert.deepEqual(waiters.pendingIds(), [])
})

test('keeps the newest 10,000 outcomes: the oldest are forgotten first', () => {
  const waiters = new ResultWaiters()
  for (let i = 0; i < 25_005; i++) waiters.settle(`j${i}`, { ok: true, value: i })
  assert.equal(waiters.known('j15004'), undefined)
  assert.deepEqual(waiters.known('j15005'), { ok: true, value: 15_005 })
  assert.deepEqual(waiters.known('j25004'), { ok: true, value: 25_004 })
  // A second outcome for a kept id changes nothing and evicts nothing.
  waiters.settle('j25004', { ok: true, value: -1 })
  assert.deepEqual(waiters.known('j25004'), { ok: true, value: 25_004 })
  assert.deepEqual(waiters.known('j15005'), { ok: true, value: 15_005 })
})
