// Goal: actor timers deliver on the injected clock, exactly when due, and die with their actor.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { Ask } from '../../src/actor/types.js'
import { manualSystem } from '../helpers/system.js'

type Clocked = { type: 'tick'; label: string } | { type: 'cancel'; key: string } | { type: 'restart' } | Ask<{ type: 'ticks' }, string[]>

function clocked(start: (timers: import('../../src/actor/types.js').ActorTimers<Clocked>) => void) {
  return defineActor<Clocked>({
    supervision: { backoff: { minMs: 1, jitter: 0 } },
    setup(ctx) {
      const ticks: string[] = []
      start(ctx.timers)
      return {
        tick: (m) => void ticks.push(`${m.label}@${ctx.env.clock.monotonicMs()}`),
        cancel: (m) => ctx.timers.cancel(m.key),
        restart() {
          throw new Error('restart')
        },
        ticks: () => ticks,
      }
    },
  })
}

test('a once timer fires exactly after its delay, not before', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(clocked((t) => t.once('a', 300, { type: 'tick', label: 'a' })))
  await env.advance(299)
  assert.deepEqual(await ref.ask({ type: 'ticks' }, { timeoutMs: 10 }), [])
  await env.advance(1)
  assert.deepEqual(await ref.ask({ type: 'ticks' }, { timeoutMs: 10 }), ['a@300'])
  await env.advance(1000)
  assert.deepEqual(await ref.ask({ type: 'ticks' }, { timeoutMs: 10 }), ['a@300'])
})

test('a periodic timer repeats until cancelled', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(clocked((t) => t.every('p', 100, { type: 'tick', label: 'p' })))
  await env.advance(350)
  ref.tell({ type: 'cancel', key: 'p' })
  await env.advance(1000)
  assert.equal(env.pendingTimers, 0)
  assert.deepEqual(await ref.ask({ type: 'ticks' }, { timeoutMs: 10 }), ['p@100', 'p@200', 'p@300'])
})

test('starting a timer under a used key replaces the old one', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(
    clocked((t) => {
      t.once('k', 100, { type: 'tick', label: 'first' })
      t.once('k', 200, { type: 'tick', label: 'second' })
    }),
  )
  await env.advance(500)
  assert.deepEqual(await ref.ask({ type: 'ticks' }, { timeoutMs: 10 }), ['second@200'])
})

test('timers are cancelled when the actor stops or restarts', async () => {
  const { env, system } = manualSystem()
  const a = system.spawn(clocked((t) => t.every('p', 100, { type: 'tick', label: 'p' })))
  const b = system.spawn(clocked((t) => t.once('once', 1000, { type: 'tick', label: 'x' })))
  await env.advance(150)
  await system.stop(a)
  b.tell({ type: 'restart' })
  await env.flush()
  assert.equal(env.pendingTimers, 1, 'only the restart backoff timer of b is left')
  await env.advance(5)
  assert.equal(env.pendingTimers, 1, 'the restarted b (at 151) started its own timer again')
  await env.advance(2000)
  assert.deepEqual(await b.ask({ type: 'ticks' }, { timeoutMs: 10 }), ['x@1151'])
})
