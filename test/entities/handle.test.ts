// Goal: a node's entity handle never loses a message silently. Past its bound of messages the
// entities actor has not taken yet, an ask fails at once with MailboxFullError (a message the
// actor's mailbox refused used to vanish: its ask waited for its whole timeout). A burst of sends
// wakes the actor once, and it takes them all, in order, watches included.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EntitiesHandle } from '../../actors/entities.js'
import type { ReplyTarget } from '../../src/actor/reply.js'
import { entityAddress } from '../../src/entities/address.js'
import { MailboxFullError } from '../../src/errors.js'

test('routed messages past the bound are refused with MailboxFullError, and room comes back as the actor takes them', () => {
  const handle = new EntitiesHandle(8, 3)
  let wakes = 0
  handle.attach(
    () => void wakes++,
    () => [],
    { monotonicMs: () => 0 },
  )
  const errors: Error[] = []
  const reply = (): ReplyTarget => ({ resolve: () => assert.fail('nothing answers here'), reject: (error) => errors.push(error) })
  for (let i = 0; i < 4; i++) handle.send(entityAddress('echo', `k${i}`), { type: 'echo' }, reply())
  assert.equal(errors.length, 1)
  assert.ok(errors[0] instanceof MailboxFullError, String(errors[0]))
  assert.equal(wakes, 1, 'one wake for the burst')
  const taken = handle.take()
  assert.deepEqual(
    taken.map((e) => ('control' in e ? 'control' : e.key)),
    ['k0', 'k1', 'k2'],
  )
  handle.send(entityAddress('echo', 'k4'), { type: 'echo' }, reply())
  assert.ok(handle.control('@entities', { kind: 'watch', target: entityAddress('echo', 'k4').path, watcher: '/user/w' }))
  assert.equal(wakes, 2)
  assert.deepEqual(
    handle.take().map((e) => ('control' in e ? e.control.kind : e.key)),
    ['k4', 'watch'],
  )
  assert.equal(errors.length, 1)
})
