// Goal: messages are processed one at a time, in order per sender, with sync and async handlers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { Ask } from '../../src/actor/types.js'
import { manualSystem } from '../helpers/system.js'

type Seq = { type: 'item'; sender: string; n: number } | Ask<{ type: 'seen' }, string[]>

test('a sync actor sees each sender’s messages in send order', async () => {
  const { env, system } = manualSystem()
  const seen: string[] = []
  const ref = system.spawn(defineActor<Seq>({ setup: () => ({ item: (m) => void seen.push(`${m.sender}${m.n}`), seen: () => seen }) }))
  for (let n = 0; n < 5000; n++) {
    ref.tell({ type: 'item', sender: 'a', n })
    ref.tell({ type: 'item', sender: 'b', n })
  }
  await env.flush()
  for (const sender of ['a', 'b']) {
    const mine = seen.filter((s) => s.startsWith(sender)).map((s) => Number(s.slice(1)))
    assert.deepEqual(
      mine,
      Array.from({ length: 5000 }, (_, i) => i),
    )
  }
})

test('an async handler holds the actor: never two messages at once, order kept', async () => {
  const { env, system } = manualSystem()
  let running = 0
  let maxRunning = 0
  const order: number[] = []
  const ref = system.spawn(
    defineActor<Seq>({
      setup: (ctx) => ({
        async item(m) {
          running++
          maxRunning = Math.max(maxRunning, running)
          await ctx.env.timers.sleep(m.n % 3)
          order.push(m.n)
          running--
        },
        seen: () => [],
      }),
    }),
  )
  for (let n = 0; n < 30; n++) ref.tell({ type: 'item', sender: 'a', n })
  await env.advance(100)
  assert.equal(maxRunning, 1)
  assert.deepEqual(
    order,
    Array.from({ length: 30 }, (_, i) => i),
  )
})

test('a chain of actors preserves order end to end', async () => {
  const { env, system } = manualSystem()
  const out: number[] = []
  type N = { type: 'n'; n: number }
  const sink = system.spawn(defineActor<N>({ setup: () => ({ n: (m) => void out.push(m.n) }) }))
  const relay = system.spawn(defineActor<N>({ setup: () => ({ n: (m) => sink.tell(m) }) }))
  for (let n = 0; n < 1000; n++) relay.tell({ type: 'n', n })
  await env.flush()
  assert.deepEqual(
    out,
    Array.from({ length: 1000 }, (_, i) => i),
  )
})

test('a message storm yields to timers through the dispatcher’s budget', async () => {
  const { env, system } = manualSystem()
  type P = { type: 'p' }
  let count = 0
  let timerFiredAt = -1
  env.timers.schedule(0, () => (timerFiredAt = count))
  const a: { ref?: import('../../src/actor/types.js').ActorRef<P> } = {}
  a.ref = system.spawn(
    defineActor<P>({
      setup: (ctx) => ({
        p() {
          count++
          if (count < 200_000) ctx.self.tell({ type: 'p' })
        },
      }),
    }),
  )
  a.ref.tell({ type: 'p' })
  await env.flush()
  assert.equal(count, 200_000)
  assert.ok(timerFiredAt > 0 && timerFiredAt < 200_000, `timer ran mid-storm at ${timerFiredAt}`)
})
