// Goal: an actor's remote policies decide, per message type, which nodes may send it over the
// network: refused messages never reach the mailbox, are counted and dead-lettered, and asks get
// ForbiddenMessageError; admitted ones reach the handler with the sender's node id; messages sent on
// this node are never checked; and a declared block must cover every type (checked by tsc).
// Method: remote arrivals are injected through deliverFromNode, the entry point remoting uses, on
// manual time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { ReplyTarget } from '../../src/actor/reply.js'
import { deliverFromNode } from '../../src/actor/system.js'
import type { Ask, SystemActorDef } from '../../src/actor/types.js'
import { ForbiddenMessageError } from '../../src/errors.js'
import { manualSystem } from '../helpers/system.js'

type Msg = { type: 'tick' } | Ask<{ type: 'get' }, string[]> | { type: 'note'; text: string } | Ask<{ type: 'vip'; text: string }, string>

/** Records each handled message with the sender the context reported. */
function recorder(remote: boolean, trusted = 'node-b') {
  const seen: string[] = []
  const spec = {
    setup: () => ({
      tick: (_m: { type: 'tick' }, ctx: { sender: string | undefined }) => void seen.push(`tick<${ctx.sender ?? 'local'}`),
      get: () => [...seen],
      note: (m: { text: string }, ctx: { sender: string | undefined }) => void seen.push(`${m.text}<${ctx.sender ?? 'local'}`),
      vip: (m: { text: string }, ctx: { sender: string | undefined }) => {
        seen.push(`vip:${m.text}<${ctx.sender ?? 'local'}`)
        return 'welcome'
      },
    }),
  }
  const def = remote
    ? defineActor<Msg>({
        ...spec,
        remote: {
          tick: 'never',
          get: 'any',
          note: 'any',
          vip: (from, message) => {
            if ((message as { text?: unknown }).text === 'boom') throw new Error('check failed')
            return from === trusted
          },
        },
      })
    : defineActor<Msg>(spec)
  return { def, seen }
}

/** A reply target that records how it settled. */
function replyProbe(): ReplyTarget & { value?: unknown; error?: Error } {
  const probe: ReplyTarget & { value?: unknown; error?: Error } = {
    resolve: (value) => void (probe.value = value),
    reject: (error) => void (probe.error = error),
  }
  return probe
}

test('a user actor without a remote block accepts every type from any node, and the handler sees the sender', async () => {
  const { env, system } = manualSystem()
  const { def, seen } = recorder(false)
  const ref = system.spawn(def, { name: 'open' })
  deliverFromNode(system, ref.address, { type: 'tick' }, undefined, 'node-x')
  deliverFromNode(system, ref.address, { type: 'note', text: 'hi' }, undefined, 'node-y')
  ref.tell({ type: 'note', text: 'mine' })
  await env.advance(1)
  assert.deepEqual(seen, ['tick<node-x', 'hi<node-y', 'mine<local'])
  assert.equal(env.metrics.read('dx_actor_dead_letters_total', { reason: 'forbidden' }), 0)
})

test('a refused message is dropped before the mailbox, counted by actor and type, dead-lettered, and an ask gets ForbiddenMessageError', async () => {
  const { env, system } = manualSystem()
  const { def, seen } = recorder(true)
  const ref = system.spawn(def, { name: 'guarded' })
  const letters: string[] = []
  system.deadLetters.subscribe((l) => letters.push(`${l.reason}:${(l.message as { type: string }).type}`))
  deliverFromNode(system, ref.address, { type: 'tick' }, undefined, 'node-b')
  const refusedAsk = replyProbe()
  deliverFromNode(system, ref.address, { type: 'vip', text: 'intruder' }, refusedAsk, 'node-c')
  const admittedAsk = replyProbe()
  deliverFromNode(system, ref.address, { type: 'vip', text: 'friend' }, admittedAsk, 'node-b')
  deliverFromNode(system, ref.address, { type: 'note', text: 'anyone' }, undefined, 'node-c')
  assert.equal(system.stats().queuedMessages, 2, 'only the admitted messages were queued')
  await env.advance(1)
  assert.deepEqual(seen, ['vip:friend<node-b', 'anyone<node-c'])
  assert.equal(admittedAsk.value, 'welcome')
  assert.ok(refusedAsk.error instanceof ForbiddenMessageError)
  assert.equal(refusedAsk.error.code, 'ERR_FORBIDDEN_MESSAGE')
  assert.match(refusedAsk.error.message, /"vip".*node-c/)
  assert.deepEqual(letters, ['forbidden:tick', 'forbidden:vip'])
  assert.equal(env.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: 'tick' }), 1)
  assert.equal(env.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: 'vip' }), 1)
  assert.equal(env.metrics.read('dx_actor_dead_letters_total', { reason: 'forbidden' }), 2)
})

test('messages sent on this node are never checked, even for types no other node may send', async () => {
  const { env, system } = manualSystem()
  const { def, seen } = recorder(true)
  const ref = system.spawn(def, { name: 'guarded' })
  ref.tell({ type: 'tick' })
  assert.equal(await ref.ask({ type: 'vip', text: 'local' }, { timeoutMs: 100 }), 'welcome')
  await env.advance(1)
  assert.deepEqual(seen, ['tick<local', 'vip:local<local'])
  assert.equal(env.metrics.read('dx_actor_dead_letters_total', { reason: 'forbidden' }), 0)
})

test('types missing from a declared block, non-messages and throwing checks are refused without failing the actor', async () => {
  const { env, system } = manualSystem()
  const { def, seen } = recorder(true)
  const ref = system.spawn(def, { name: 'guarded' })
  const undeclared = replyProbe()
  deliverFromNode(system, ref.address, { type: 'constructor' }, undeclared, 'node-b')
  deliverFromNode(system, ref.address, { type: 'x'.repeat(10_000) }, undefined, 'node-b')
  deliverFromNode(system, ref.address, null, undefined, 'node-b')
  deliverFromNode(system, ref.address, 42, undefined, 'node-b')
  const boom = replyProbe()
  deliverFromNode(system, ref.address, { type: 'vip', text: 'boom' }, boom, 'node-b')
  await env.advance(1)
  assert.deepEqual(seen, [])
  assert.equal(undeclared.error?.name, 'ForbiddenMessageError')
  assert.equal(boom.error?.name, 'ForbiddenMessageError')
  // Undeclared types share one label value, so a peer cannot grow the metric without bound.
  assert.equal(env.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: '(undeclared)' }), 4)
  assert.equal(env.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: 'vip' }), 1)
  assert.equal(system.stats().failures, 0)
  assert.deepEqual(await ref.ask({ type: 'get' }, { timeoutMs: 100 }), [])
})

test('a system actor that declares no policies (only possible from untyped code) accepts nothing from the network', async () => {
  const { env, system } = manualSystem()
  const { def, seen } = recorder(false)
  const ref = system.spawnSystem(def as SystemActorDef<Msg>, { name: 'bare' })
  deliverFromNode(system, ref.address, { type: 'note', text: 'remote' }, undefined, 'node-b')
  ref.tell({ type: 'note', text: 'local' })
  await env.advance(1)
  assert.deepEqual(seen, ['local<local'])
  assert.equal(env.metrics.read('dx_remote_refused_total', { actor: '/system/bare', type: '(undeclared)' }), 1)
})

test('the sender stays visible across an async handler and is cleared afterwards', async () => {
  const { env, system } = manualSystem()
  const seen: Array<string | undefined> = []
  type Slow = { type: 'slow' } | Ask<{ type: 'who' }, string | undefined>
  const def = defineActor<Slow>({
    remote: { slow: 'any', who: 'never' },
    setup: () => ({
      async slow(_m, ctx) {
        seen.push(ctx.sender)
        await ctx.env.timers.sleep(10)
        seen.push(ctx.sender)
      },
      who: (_m, ctx) => ctx.sender,
    }),
  })
  const ref = system.spawn(def, { name: 'slow' })
  deliverFromNode(system, ref.address, { type: 'slow' }, undefined, 'node-b')
  await env.advance(20)
  assert.deepEqual(seen, ['node-b', 'node-b'])
  assert.equal(await ref.ask({ type: 'who' }, { timeoutMs: 100 }), undefined)
})

test('a remote block must name every message type, and spawnSystem requires one (compile-time checks)', () => {
  type Two = { type: 'a' } | { type: 'b' }
  const setup = () => ({ a: () => {}, b: () => {} })
  // @ts-expect-error: 'b' has no policy
  defineActor<Two>({ remote: { a: 'any' }, setup })
  // @ts-expect-error: 'maybe' is not a policy
  defineActor<Two>({ remote: { a: 'any', b: 'maybe' }, setup })
  const plain = defineActor<Two>({ setup })
  const full = defineActor<Two>({ remote: { a: 'any', b: 'never' }, setup })
  const { system } = manualSystem()
  system.spawnSystem(full, { name: 'full' })
  // @ts-expect-error: a system actor must declare its remote policies
  system.spawnSystem(plain, { name: 'plain' })
  assert.equal(system.stats().actors, 2)
})
