// Goal: shutdown drains work or rejects it with typed errors, stops children before parents, and
// leaves a system that refuses further work clearly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { Ask, DeferredReply } from '../../src/actor/types.js'
import { manualSystem, outcome } from '../helpers/system.js'

type Worker = { type: 'work'; n: number } | Ask<{ type: 'slow'; ms: number }, string> | Ask<{ type: 'hang' }, string>

function worker(log: string[], name: string) {
  return defineActor<Worker>({
    setup(ctx) {
      ctx.onStop(() => void log.push(`stop:${name}`))
      return {
        work: (m) => void log.push(`work:${m.n}`),
        slow(m, c) {
          const reply: DeferredReply<string> = c.defer()
          c.env.timers.schedule(m.ms, () => reply.resolve(`done after ${m.ms}`))
          return reply
        },
        hang: (_m, c) => c.defer(),
      }
    },
  })
}

test('drain: queued messages and pending asks finish before actors stop', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  const ref = system.spawn(worker(log, 'w'))
  for (let n = 0; n < 3; n++) ref.tell({ type: 'work', n })
  const reply = outcome(ref.ask({ type: 'slow', ms: 500 }, { timeoutMs: 5000 }))
  const done = outcome(system.shutdown({ mode: 'drain', timeoutMs: 2000 }))
  await env.advance(499)
  assert.equal(done.settled, false)
  await env.advance(1)
  assert.equal(reply.value, 'done after 500')
  await env.flush()
  assert.equal(done.settled, true)
  assert.deepEqual(log, ['work:0', 'work:1', 'work:2', 'stop:w'])
  assert.equal(system.stats().actors, 0)
})

test('drain gives up at the timeout and rejects what is left with SystemShutdownError', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(worker([], 'w'))
  const reply = outcome(ref.ask({ type: 'hang' }, { timeoutMs: 60_000 }))
  const done = outcome(system.shutdown({ timeoutMs: 1000 }))
  await env.advance(1000)
  await env.flush()
  assert.equal(done.settled, true)
  assert.equal((reply.error as Error).name, 'SystemShutdownError')
  assert.equal(env.pendingTimers, 0, 'no timer outlives the system')
})

test('reject mode rejects in-flight asks at once', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(worker([], 'w'))
  const reply = outcome(ref.ask({ type: 'slow', ms: 500 }, { timeoutMs: 5000 }))
  await env.flush()
  await system.shutdown({ mode: 'reject' })
  assert.equal((reply.error as Error).name, 'SystemShutdownError')
  assert.equal(system.stats().inflightAsks, 0)
})

test('children stop before their parents, and every hook runs once', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  type P = { type: 'noop' }
  system.spawn(
    defineActor<P>({
      setup(ctx) {
        const child = ctx.spawn(
          defineActor<P>({
            setup(c) {
              c.spawn(worker(log, 'grandchild'))
              c.onStop(() => void log.push('stop:child'))
              return { noop() {} }
            },
          }),
        )
        void child
        ctx.onStop(() => void log.push('stop:parent'))
        return { noop() {} }
      },
    }),
  )
  system.spawn(worker(log, 'sibling'))
  await env.flush()
  await system.shutdown()
  assert.ok(log.indexOf('stop:grandchild') < log.indexOf('stop:child'))
  assert.ok(log.indexOf('stop:child') < log.indexOf('stop:parent'))
  assert.equal(log.length, 4)
})

test('a stop hook that never finishes cannot block shutdown past its timeout', async () => {
  const { env, system } = manualSystem()
  type P = { type: 'noop' }
  system.spawn(
    defineActor<P>({
      setup(ctx) {
        ctx.onStop(() => new Promise<void>(() => {}))
        return { noop() {} }
      },
    }),
  )
  const done = outcome(system.shutdown({ timeoutMs: 300 }))
  await env.advance(300)
  await env.flush()
  assert.equal(done.settled, true)
  assert.equal(system.stats().actors, 0)
})

test('after shutdown: tells become dead letters, asks and spawns fail with SystemShutdownError', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(worker([], 'w'))
  await system.shutdown()
  await system.shutdown()
  ref.tell({ type: 'work', n: 1 })
  assert.equal(system.deadLetters.countOf('shutdown'), 1)
  await assert.rejects(ref.ask({ type: 'slow', ms: 1 }, { timeoutMs: 10 }), { name: 'SystemShutdownError' })
  assert.throws(() => system.spawn(worker([], 'x')), { name: 'SystemShutdownError' })
})
