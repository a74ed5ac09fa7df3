// Goal: a node's entity handle never loses a message silently. Past its bound of routed messages
// the entities actor has not taken yet, an ask fails at once with MailboxFullError (a message the
// actor's mailbox refused used to vanish: its ask waited for its whole timeout).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EntitiesHandle } from '../../actors/entities.js'
import type { ReplyTarget } from '../../src/actor/reply.js'
import { entityAddress } from '../../src/entities/address.js'
import type { Delivery } from '../../src/entities/router.js'
import { MailboxFullError } from '../../src/errors.js'

test('routed messages past the bound are refused with MailboxFullError, and room comes back as the actor takes them', () => {
  const handle = new EntitiesHandle(8, 3)
  const taken: Delivery[] = []
  handle.attach(
    (_shard, delivery) => taken.push(delivery),
    () => [],
    { monotonicMs: () => 0 },
  )
  const errors: Error[] = []
  const reply = (): ReplyTarget => ({ resolve: () => assert.fail('nothing answers here'), reject: (error) => errors.push(error) })
  for (let i = 0; i < 4; i++) handle.send(entityAddress('echo', `k${i}`), { type: 'echo' }, reply())
  assert.equal(taken.length, 3)
  assert.equal(errors.length, 1)
  assert.ok(errors[0] instanceof MailboxFullError, String(errors[0]))
  handle.routed()
  handle.send(entityAddress('echo', 'k4'), { type: 'echo' }, reply())
  assert.equal(taken.length, 4)
  assert.equal(errors.length, 1)
})
