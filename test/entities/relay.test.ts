// Goal: the entities actor hands an ask to an activation with the asker's own reply target
// (relay), so the activation's answer, error or stop reaches the original asker without a second
// ask; a reference that is not the runtime's is refused (the caller then asks as before).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import { relay } from '../../src/actor/ref.js'
import type { ReplyTarget } from '../../src/actor/reply.js'
import type { ActorRef, Ask, Message } from '../../src/actor/types.js'
import { manualSystem } from '../helpers/system.js'

type Echo = Ask<{ type: 'echo'; body: string }, string> | Ask<{ type: 'boom' }, string>

test('a relayed message is answered, or failed, through the reply target it came with', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(
    defineActor<Echo>({
      setup: () => ({
        echo: (m) => m.body.toUpperCase(),
        boom() {
          throw new RangeError('bad input')
        },
      }),
    }),
  )
  const answers: unknown[] = []
  const target = (): ReplyTarget => ({ resolve: (v) => answers.push(v), reject: (e) => answers.push(e) })
  assert.equal(relay(ref, { type: 'echo', body: 'hi' }, target()), true)
  assert.equal(relay(ref, { type: 'boom' }, target()), true)
  for (let i = 0; i < 20 && answers.length < 2; i++) await new Promise((r) => setImmediate(r))
  assert.equal(answers[0], 'HI')
  assert.ok(answers[1] instanceof RangeError, String(answers[1]))
  await system.stop(ref)
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
  relay(ref, { type: 'echo', body: 'late' }, target())
  for (let i = 0; i < 20 && answers.length < 3; i++) await new Promise((r) => setImmediate(r))
  assert.ok(answers[2] instanceof Error, 'a stopped activation rejects the asker at once')
  const foreign = { address: ref.address, tell: () => {}, ask: () => Promise.reject(new Error('no')), equals: () => false } as unknown as ActorRef<Message>
  assert.equal(relay(foreign, { type: 'echo', body: 'x' }, target()), false)
})
