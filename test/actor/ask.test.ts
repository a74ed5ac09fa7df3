// Goal: asks resolve with typed replies and fail with typed errors: timeout, abort, handler error,
// unhandled type, missing actor, unreachable node, bad options; deferred replies work.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { Ask, DeferredReply } from '../../src/actor/types.js'
import { manualSystem, outcome } from '../helpers/system.js'

type Calc =
  | Ask<{ type: 'add'; a: number; b: number }, number>
  | Ask<{ type: 'never' }, string>
  | Ask<{ type: 'boom' }, number>
  | Ask<{ type: 'later'; value: string }, string>
  | { type: 'release' }

function calc() {
  const parked: Array<{ reply: DeferredReply<string>; value: string }> = []
  return defineActor<Calc>({
    setup: () => ({
      add: (m) => m.a + m.b,
      never: (_m, ctx) => ctx.defer(),
      boom() {
        throw new RangeError('bad input')
      },
      later(m, ctx) {
        parked.push({ reply: ctx.defer(), value: m.value })
        return parked[parked.length - 1]!.reply
      },
      release() {
        for (const p of parked.splice(0)) p.reply.resolve(p.value.toUpperCase())
      },
    }),
  })
}

test('ask resolves with the handler’s return value', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(calc())
  const sum: number = await ref.ask({ type: 'add', a: 2, b: 3 }, { timeoutMs: 100 })
  assert.equal(sum, 5)
  assert.equal(system.stats().inflightAsks, 0)
})

test('an unanswered ask rejects with AskTimeoutError exactly at its deadline', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(calc(), { name: 'calc' })
  const result = outcome(ref.ask({ type: 'never' }, { timeoutMs: 250 }))
  await env.advance(249)
  assert.equal(result.settled, false)
  await env.advance(1)
  assert.equal((result.error as Error).name, 'AskTimeoutError')
  assert.equal((result.error as { code: string }).code, 'ERR_ASK_TIMEOUT')
  assert.match((result.error as Error).message, /dx:\/\/node-a\/user\/calc.*250 ms/)
  assert.equal(system.stats().inflightAsks, 0)
  assert.equal(env.pendingTimers, 0)
})

test('asks with different timeouts each time out at their own deadline', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(calc())
  const slow = outcome(ref.ask({ type: 'never' }, { timeoutMs: 500 }))
  const fast = outcome(ref.ask({ type: 'never' }, { timeoutMs: 100 }))
  await env.advance(100)
  assert.equal(fast.settled, true)
  assert.equal(slow.settled, false)
  await env.advance(400)
  assert.equal((slow.error as Error).name, 'AskTimeoutError')
})

test('aborting the signal rejects the ask with AbortedError carrying the reason', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(calc())
  const controller = new AbortController()
  const result = outcome(ref.ask({ type: 'never' }, { timeoutMs: 10_000, signal: controller.signal }))
  await env.advance(5)
  controller.abort(new Error('user cancelled'))
  await env.flush()
  assert.equal((result.error as Error).name, 'AbortedError')
  assert.equal(((result.error as Error).cause as Error).message, 'user cancelled')
  assert.equal(system.stats().inflightAsks, 0)
})

test('an already aborted signal rejects at once', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(calc())
  await assert.rejects(ref.ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 100, signal: AbortSignal.abort('no') }), { name: 'AbortedError' })
})

test('a handler error rejects the asker with that error', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(calc(), { supervision: { decide: () => 'resume' } })
  await assert.rejects(ref.ask({ type: 'boom' }, { timeoutMs: 100 }), (e: Error) => e instanceof RangeError && e.message === 'bad input')
  assert.equal(await ref.ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 100 }), 2)
})

test('deferred replies answer later without blocking the mailbox', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(calc())
  const a = outcome(ref.ask({ type: 'later', value: 'x' }, { timeoutMs: 100 }))
  const b = outcome(ref.ask({ type: 'later', value: 'y' }, { timeoutMs: 100 }))
  await env.flush()
  assert.equal(a.settled, false)
  ref.tell({ type: 'release' })
  await env.flush()
  assert.deepEqual([a.value, b.value], ['X', 'Y'])
})

test('a message type without a handler becomes an unhandled dead letter and a typed error', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(calc())
  const loose = ref as unknown as { ask(m: unknown, o: { timeoutMs: number }): Promise<unknown>; tell(m: unknown): void }
  await assert.rejects(loose.ask({ type: 'divide' }, { timeoutMs: 100 }), { name: 'UnhandledMessageError', code: 'ERR_UNHANDLED_MESSAGE' })
  await assert.rejects(loose.ask({ type: 'constructor' }, { timeoutMs: 100 }), { name: 'UnhandledMessageError' })
  loose.tell(42)
  await assert.rejects(loose.ask(null, { timeoutMs: 100 }), { name: 'UnhandledMessageError' })
  assert.equal(system.deadLetters.countOf('unhandled'), 4)
})

test('asking an actor that does not exist rejects with ActorNotFoundError', async () => {
  const { system } = manualSystem()
  const ref = system.refFor(calc(), 'dx://node-a/user/nobody')
  await assert.rejects(ref.ask({ type: 'add', a: 1, b: 2 }, { timeoutMs: 100 }), { name: 'ActorNotFoundError', address: 'dx://node-a/user/nobody' })
  assert.equal(system.deadLetters.countOf('not-found'), 1)
})

test('asking an actor on another node without a transport rejects with NodeUnreachableError', async () => {
  const { system } = manualSystem()
  const ref = system.refFor(calc(), { node: 'node-b', path: '/user/calc' })
  await assert.rejects(ref.ask({ type: 'add', a: 1, b: 2 }, { timeoutMs: 100 }), { name: 'NodeUnreachableError' })
  assert.equal(system.deadLetters.countOf('unreachable'), 1)
})

test('a missing, zero or infinite timeout is refused with InvalidArgumentError', async () => {
  const { system } = manualSystem()
  const ref = system.spawn(calc())
  for (const timeoutMs of [0, -1, Number.POSITIVE_INFINITY, Number.NaN, undefined]) {
    await assert.rejects(ref.ask({ type: 'add', a: 1, b: 2 }, { timeoutMs } as { timeoutMs: number }), { name: 'InvalidArgumentError' })
  }
})

test('a reference resolves a respawned actor by its address', async () => {
  const { system } = manualSystem()
  const old = system.spawn(calc(), { name: 'calc' })
  await system.stop(old)
  system.spawn(calc(), { name: 'calc' })
  assert.equal(await old.ask({ type: 'add', a: 20, b: 22 }, { timeoutMs: 100 }), 42)
})

test('asks sharing one signal share one abort listener, and aborting rejects them all', async () => {
  const { env, system } = manualSystem()
  const ref = system.spawn(calc())
  const controller = new AbortController()
  const results = Array.from({ length: 1000 }, () => outcome(ref.ask({ type: 'never' }, { timeoutMs: 10_000, signal: controller.signal })))
  await env.flush()
  assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 1)
  controller.abort('enough')
  await env.flush()
  assert.ok(results.every((r) => (r.error as Error).name === 'AbortedError'))
  assert.equal(system.stats().inflightAsks, 0)
  const other = new AbortController()
  await ref.ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 100, signal: other.signal })
  assert.equal(EventEmitter.getEventListeners(other.signal, 'abort').length, 0, 'the listener goes once its last ask settles')
})
