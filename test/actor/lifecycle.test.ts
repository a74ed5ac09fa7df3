// Goal: spawning, naming, async setup, stop hooks, the incarnation signal and addresses behave as documented.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import { parseAddress } from '../../src/actor/address.js'
import type { Ask } from '../../src/actor/types.js'
import { manualSystem, outcome } from '../helpers/system.js'

type Echo = Ask<{ type: 'echo'; text: string }, string> | { type: 'quit' }

const echo = defineActor<Echo>({ setup: (ctx) => ({ echo: (m) => m.text, quit: () => ctx.stop() }) })

test('async setup: messages sent meanwhile wait and are processed in order', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(
    defineActor<Echo>({
      async setup(ctx) {
        await ctx.env.timers.sleep(100)
        return { echo: (m) => `ready:${m.text}`, quit: () => ctx.stop() }
      },
    }),
  )
  const a = outcome(ref.ask({ type: 'echo', text: 'a' }, { timeoutMs: 1000 }))
  const b = outcome(ref.ask({ type: 'echo', text: 'b' }, { timeoutMs: 1000 }))
  await env.advance(99)
  assert.equal(a.settled, false)
  await env.advance(1)
  assert.deepEqual([a.value, b.value], ['ready:a', 'ready:b'])
})

test('names are unique among siblings and validated; generated names are distinct', () => {
  const { system } = manualSystem()
  const ref = system.spawn(echo, { name: 'echo' })
  assert.equal(ref.toString(), 'dx://node-a/user/echo')
  assert.throws(() => system.spawn(echo, { name: 'echo' }), { name: 'ActorNameTakenError' })
  for (const bad of ['', 'a/b', '$x', '-x', 'x'.repeat(200)]) assert.throws(() => system.spawn(echo, { name: bad }), { name: 'InvalidArgumentError' })
  const a = system.spawn(echo)
  const b = system.spawn(echo)
  assert.notEqual(a.toString(), b.toString())
  assert.match(a.toString(), /^dx:\/\/node-a\/user\/\$/)
})

test('ctx.stop() aborts the incarnation signal at once, finishes the current message, then stops', async () => {
  const { env, system } = manualSystem()
  const events: string[] = []
  type Q = Ask<{ type: 'quit' }, string> | { type: 'after' }
  const ref = system.spawn(
    defineActor<Q>({
      setup(ctx) {
        ctx.signal.addEventListener('abort', () => events.push(`aborted ${(ctx.signal.reason as { code?: string }).code}`))
        ctx.onStop(() => void events.push('hook'))
        return {
          quit() {
            ctx.stop()
            events.push('handler-end')
            return 'bye'
          },
          after: () => void events.push('after'),
        }
      },
    }),
  )
  const reply = outcome(ref.ask({ type: 'quit' }, { timeoutMs: 100 }))
  ref.tell({ type: 'after' })
  await env.flush()
  assert.equal(reply.value, 'bye')
  assert.deepEqual(events, ['aborted ERR_ACTOR_STOPPED', 'handler-end', 'hook'])
  assert.equal(system.deadLetters.countOf('stopped'), 1)
})

test('stop hooks run in reverse order of registration', async () => {
  const { system } = manualSystem()
  const order: number[] = []
  const ref = system.spawn(
    defineActor<Echo>({
      setup(ctx) {
        for (let i = 0; i < 3; i++) ctx.onStop(() => void order.push(i))
        return { echo: (m) => m.text, quit: () => ctx.stop() }
      },
    }),
  )
  await system.stop(ref)
  assert.deepEqual(order, [2, 1, 0])
})

test('a typed reference from an address string reaches the actor', async () => {
  const { system } = manualSystem()
  system.spawn(echo, { name: 'e' })
  const ref = system.refFor(echo, 'dx://node-a/user/e')
  assert.equal(await ref.ask({ type: 'echo', text: 'hi' }, { timeoutMs: 10 }), 'hi')
  assert.equal(ref.equals(system.refFor(echo, parseAddress(ref.toString()))), true)
  assert.throws(() => parseAddress('http://x/y'), { name: 'InvalidArgumentError' })
  assert.throws(() => parseAddress('dx://node/../etc'), { name: 'InvalidArgumentError' })
})

test('stats and metrics report live actors and processed messages', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(echo)
  for (let i = 0; i < 10; i++) await ref.ask({ type: 'echo', text: String(i) }, { timeoutMs: 10 })
  const stats = system.stats()
  assert.equal(stats.actors, 1)
  assert.equal(stats.processedMessages, 10)
  assert.equal(env.metrics.read('dx_actors'), 1)
  assert.equal(env.metrics.read('dx_actor_messages_processed_total'), 10)
})
