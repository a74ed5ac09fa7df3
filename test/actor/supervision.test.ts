// Goal: each supervision decision (restart with backoff and a window limit, resume, stop, escalate)
// does what it says, on manual time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { ActorDef, Ask, SupervisionInit, Terminated } from '../../src/actor/types.js'
import { manualSystem, outcome } from '../helpers/system.js'

type Counter = { type: 'inc' } | { type: 'fail'; reason: string } | Ask<{ type: 'get' }, { count: number; restarts: number }>

function counter(log: string[] = [], supervision?: SupervisionInit): ActorDef<Counter> {
  return defineActor<Counter>({
    supervision,
    setup(ctx) {
      let count = 0
      log.push(`setup#${ctx.restarts}`)
      ctx.onStop((cause) => void log.push(`stop:${cause.kind}`))
      return {
        inc: () => void count++,
        fail(m) {
          throw new Error(m.reason)
        },
        get: () => ({ count, restarts: ctx.restarts }),
      }
    },
  })
}

test('restart: fresh state after a backoff delay, hooks run, messages wait meanwhile', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  const ref = system.spawn(counter(log, { backoff: { minMs: 100, maxMs: 1000, jitter: 0 } }))
  ref.tell({ type: 'inc' })
  ref.tell({ type: 'fail', reason: 'x' })
  const reply = outcome(ref.ask({ type: 'get' }, { timeoutMs: 10_000 }))
  await env.advance(99)
  assert.equal(reply.settled, false, 'no message is processed during the backoff')
  assert.deepEqual(log, ['setup#0', 'stop:restart'])
  await env.advance(1)
  assert.deepEqual(reply.value, { count: 0, restarts: 1 })
  assert.deepEqual(log, ['setup#0', 'stop:restart', 'setup#1'])
  assert.equal(system.stats().restarts, 1)
})

test('restart backoff grows exponentially and is capped', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  const ref = system.spawn(counter(log, { backoff: { minMs: 100, maxMs: 300, factor: 2, jitter: 0 } }))
  const times: number[] = []
  for (let i = 0; i < 4; i++) {
    ref.tell({ type: 'fail', reason: `f${i}` })
    const before = env.now
    await env.flush()
    let waited = 0
    while (log.filter((l) => l.startsWith('setup')).length < i + 2) {
      await env.advance(1)
      waited++
    }
    times.push(env.now - before)
    assert.ok(waited > 0)
  }
  assert.deepEqual(times, [100, 200, 300, 300])
})

test('more restarts than allowed within the window stops the actor as failed', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(counter([], { maxRestarts: 2, windowMs: 10_000, backoff: { minMs: 1, jitter: 0 } }))
  const ended = outcome(system.whenTerminated(ref))
  for (let i = 0; i < 3; i++) {
    ref.tell({ type: 'fail', reason: `crash ${i}` })
    await env.advance(50)
  }
  const t = ended.value as Terminated
  assert.equal(t.reason, 'failed')
  assert.equal(t.error?.message, 'crash 2')
  await assert.rejects(ref.ask({ type: 'get' }, { timeoutMs: 10 }), { name: 'ActorNotFoundError' })
})

test('restarts outside the window do not count toward the limit', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(counter([], { maxRestarts: 2, windowMs: 1000, backoff: { minMs: 1, jitter: 0 } }))
  for (let i = 0; i < 5; i++) {
    ref.tell({ type: 'fail', reason: 'again' })
    await env.advance(600)
  }
  assert.deepEqual(await ref.ask({ type: 'get' }, { timeoutMs: 10 }), { count: 0, restarts: 5 })
})

test('resume keeps the state and drops only the failing message', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  const ref = system.spawn(counter(log, { decide: () => 'resume' }))
  ref.tell({ type: 'inc' })
  ref.tell({ type: 'fail', reason: 'transient' })
  ref.tell({ type: 'inc' })
  await env.flush()
  assert.deepEqual(await ref.ask({ type: 'get' }, { timeoutMs: 10 }), { count: 2, restarts: 0 })
  assert.deepEqual(log, ['setup#0'])
})

test('stop ends the actor; queued asks get ActorStoppedError and watchers see the failure', async () => {
  const { env, system } = manualSystem()
  const log: string[] = []
  const ref = system.spawn(counter(log, { decide: () => 'stop' }))
  ref.tell({ type: 'fail', reason: 'fatal' })
  const queued = outcome(ref.ask({ type: 'get' }, { timeoutMs: 10 }))
  const ended = outcome(system.whenTerminated(ref))
  await env.flush()
  assert.equal((queued.error as Error).name, 'ActorStoppedError')
  assert.equal((ended.value as Terminated).reason, 'failed')
  assert.deepEqual(log, ['setup#0', 'stop:stop'])
  assert.equal(system.deadLetters.countOf('stopped'), 1)
})

test('escalate stops the child and fails the parent, whose supervisor decides', async () => {
  const { env, system } = manualSystem()
  const seen: Error[] = []
  const log: string[] = []
  type Parent = Ask<{ type: 'child' }, import('../../src/actor/types.js').ActorRef<Counter>> | Ask<{ type: 'gen' }, number>
  const parent = system.spawn(
    defineActor<Parent>({
      supervision: {
        decide: (e) => {
          seen.push(e)
          return 'restart'
        },
        backoff: { minMs: 1, jitter: 0 },
      },
      setup(ctx) {
        const child = ctx.spawn(counter(log, { decide: () => 'escalate' }), { name: 'worker' })
        return { child: () => child, gen: () => ctx.restarts }
      },
    }),
    { name: 'parent' },
  )
  const child = await parent.ask({ type: 'child' }, { timeoutMs: 10 })
  assert.equal(child.toString(), 'dx://node-a/user/parent/worker')
  child.tell({ type: 'fail', reason: 'deep' })
  await env.advance(10)
  assert.equal(seen.length, 1)
  assert.equal(seen[0]!.name, 'ChildFailedError')
  assert.equal((seen[0]!.cause as Error).message, 'deep')
  assert.equal(await parent.ask({ type: 'gen' }, { timeoutMs: 10 }), 1)
  assert.deepEqual(log, ['setup#0', 'stop:stop', 'setup#0'], 'the failed child stopped; the restarted parent spawned a new one')
})

test('a failing setup is supervised like a failing handler', async () => {
  const { env, system } = manualSystem()
  let attempts = 0
  type P = Ask<{ type: 'ping' }, string>
  const ref = system.spawn(
    defineActor<P>({
      supervision: { backoff: { minMs: 10, jitter: 0 } },
      setup() {
        attempts++
        if (attempts < 3) throw new Error(`setup failed ${attempts}`)
        return { ping: () => 'pong' }
      },
    }),
  )
  const reply = outcome(ref.ask({ type: 'ping' }, { timeoutMs: 1000 }))
  await env.advance(100)
  assert.equal(reply.value, 'pong')
  assert.equal(attempts, 3)
})

test('a decide function that throws stops the actor', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(
    counter([], {
      decide: () => {
        throw new Error('bad supervisor')
      },
    }),
  )
  const ended = outcome(system.whenTerminated(ref))
  ref.tell({ type: 'fail', reason: 'x' })
  await env.flush()
  assert.equal((ended.value as Terminated).reason, 'failed')
})

test('restart stops children first and aborts the incarnation’s signal', async () => {
  const { env, system } = manualSystem()
  const events: string[] = []
  type P = { type: 'fail' }
  const parent = system.spawn(
    defineActor<P>({
      supervision: { backoff: { minMs: 5, jitter: 0 } },
      setup(ctx) {
        const incarnation = ctx.restarts
        ctx.signal.addEventListener('abort', () => events.push(`abort#${incarnation} ${(ctx.signal.reason as Error).message}`))
        ctx.spawn(
          defineActor<{ type: 'noop' }>({
            setup(c) {
              c.onStop(() => void events.push(`child-stop#${incarnation}`))
              return { noop() {} }
            },
          }),
          { name: 'child' },
        )
        ctx.onStop((cause) => void events.push(`parent-${cause.kind}#${incarnation}`))
        return {
          fail() {
            throw new Error('restart me')
          },
        }
      },
    }),
  )
  parent.tell({ type: 'fail' })
  await env.advance(10)
  assert.deepEqual(events, ['abort#0 restart me', 'child-stop#0', 'parent-restart#0'])
  assert.equal(system.stats().actors, 2, 'parent and its new child')
})
