// Goal: watchers learn of termination (stopped, failed, not found) as a message of their own protocol.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { ActorRef, AnyActorRef, Ask, Terminated } from '../../src/actor/types.js'
import { manualSystem } from '../helpers/system.js'

type Watcher = { type: 'watch'; ref: AnyActorRef } | { type: 'unwatch'; ref: AnyActorRef } | { type: 'gone'; t: Terminated } | Ask<{ type: 'events' }, string[]>
type Target = { type: 'die' } | { type: 'quit' }

const watcher = defineActor<Watcher>({
  setup(ctx) {
    const events: string[] = []
    return {
      watch: (m) => ctx.watch(m.ref, (t) => ({ type: 'gone', t })),
      unwatch: (m) => ctx.unwatch(m.ref),
      gone: (m) => void events.push(`${m.t.address.path}:${m.t.reason}${m.t.error ? `:${m.t.error.message}` : ''}`),
      events: () => events,
    }
  },
})

const target = defineActor<Target>({
  supervision: { decide: () => 'stop' },
  setup: (ctx) => ({
    die() {
      throw new Error('crashed')
    },
    quit: () => ctx.stop(),
  }),
})

async function events(w: ActorRef<Watcher>): Promise<string[]> {
  return w.ask({ type: 'events' }, { timeoutMs: 100 })
}

test('a watcher is told when the watched actor stops', async () => {
  const { env, system } = manualSystem()
  const w = system.spawn(watcher)
  const t = system.spawn(target, { name: 't' })
  w.tell({ type: 'watch', ref: t })
  t.tell({ type: 'quit' })
  await env.flush()
  assert.deepEqual(await events(w), ['/user/t:stopped'])
})

test('a watcher is told of a failure with its error', async () => {
  const { env, system } = manualSystem()
  const w = system.spawn(watcher)
  const t = system.spawn(target, { name: 't' })
  w.tell({ type: 'watch', ref: t })
  t.tell({ type: 'die' })
  await env.flush()
  assert.deepEqual(await events(w), ['/user/t:failed:crashed'])
})

test('watching an actor that does not exist reports not-found at once', async () => {
  const { env, system } = manualSystem()
  const w = system.spawn(watcher)
  w.tell({ type: 'watch', ref: system.refFor(target, 'dx://node-a/user/ghost') })
  await env.flush()
  assert.deepEqual(await events(w), ['/user/ghost:not-found'])
})

test('unwatch cancels the notification', async () => {
  const { env, system } = manualSystem()
  const w = system.spawn(watcher)
  const t = system.spawn(target, { name: 't' })
  w.tell({ type: 'watch', ref: t })
  w.tell({ type: 'unwatch', ref: t })
  t.tell({ type: 'quit' })
  await env.flush()
  assert.deepEqual(await events(w), [])
})

test('a stopped watcher leaves nothing behind in its targets', async () => {
  const { env, system } = manualSystem()
  const w = system.spawn(watcher)
  const t = system.spawn(target, { name: 't' })
  w.tell({ type: 'watch', ref: t })
  await env.flush()
  await system.stop(w)
  t.tell({ type: 'quit' })
  await env.flush()
  assert.equal(system.deadLetters.count, 0, 'no notification is sent to the stopped watcher')
})

test('several watchers are all told', async () => {
  const { env, system } = manualSystem()
  const ws = [system.spawn(watcher), system.spawn(watcher), system.spawn(watcher)]
  const t = system.spawn(target, { name: 't' })
  for (const w of ws) w.tell({ type: 'watch', ref: t })
  t.tell({ type: 'quit' })
  await env.flush()
  for (const w of ws) assert.deepEqual(await events(w), ['/user/t:stopped'])
})
