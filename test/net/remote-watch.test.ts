// Goal: ctx.watch works for actors on other nodes (issue 14, item 4): the watcher hears the
// target's end with its reason (stopped, failed with the error, not-found), hears `unreachable`
// when the target's node goes away, hears nothing after unwatch, and a third node cannot fake a
// target's end. Method: the simulator's network between real actor systems and remoting.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { defineActor } from '../../src/actor/define.js'
import { createActorSystem, type ActorSystem } from '../../src/actor/system.js'
import type { ActorRef, Terminated } from '../../src/actor/types.js'
import { MemoryMetrics } from '../../src/env/metrics.js'
import { ACTOR_PROTOCOL, RemoteMessaging } from '../../src/net/remoting.js'
import { EnvelopeCodec } from '../../protocols/envelope/index.js'
import { World, type NodeContext } from '../../sim/world.js'
import { PEER_DETECT_MS } from '../../sim/net/network.js'
import { runUntil } from '../sim/helpers.js'

type Target = { type: 'stop' } | { type: 'fail' }
const target = defineActor<Target>({
  supervision: { decide: () => 'stop' },
  setup: (ctx) => ({
    stop: () => ctx.stop(),
    fail: () => {
      throw new RangeError('out of range')
    },
  }),
})

type WatcherMsg = { type: 'watch'; path: string } | { type: 'unwatch'; path: string } | { type: 'ended'; t: Terminated }
const ended: Array<{ node: string; path: string; reason: string; error?: string }> = []
const watcher = defineActor<WatcherMsg>({
  setup: (ctx) => ({
    watch: (m) => ctx.watch(ctx.ref(`dx://${m.path}`), (t) => ({ type: 'ended', t })),
    unwatch: (m) => ctx.unwatch(ctx.ref(`dx://${m.path}`)),
    ended: (m) =>
      void ended.push({
        node: m.t.address.node,
        path: m.t.address.path,
        reason: m.t.reason,
        ...(m.t.error === undefined ? {} : { error: `${m.t.error.name}: ${m.t.error.message}` }),
      }),
  }),
})

interface Node {
  ctx: NodeContext
  system: ActorSystem
}

/**
 * The cluster, booted, and the watcher on n0. Tests act through `w.at`: a message sent from
 * outside an event is handled only when the kernel next runs one.
 */
async function world(): Promise<{ w: World<Node>; watch: ActorRef<WatcherMsg> }> {
  ended.length = 0
  const w = new World<Node>(5, 3, (ctx) => {
    const system = createActorSystem({ env: { ...ctx.env, metrics: new MemoryMetrics() }, nodeId: ctx.id })
    new RemoteMessaging(system, ctx.network).start()
    if (ctx.id === 'n1') for (const name of ['a', 'b', 'c', 'd']) system.spawn(target, { name })
    if (ctx.id === 'n0') system.spawn(watcher, { name: 'w' })
    return { ctx, system }
  })
  for (const node of w.nodes) w.start(node)
  await runUntil(w, 1000)
  return { w, watch: w.node('n0').app!.system.refFor(watcher, 'dx://n0/user/w') }
}

test('a remote watcher hears stopped, failed (with the error) and not-found', async () => {
  const { w, watch } = await world()
  w.at(1100, () => {
    for (const name of ['a', 'b', 'nobody']) watch.tell({ type: 'watch', path: `n1/user/${name}` })
  })
  await runUntil(w, 1500)
  const n1 = w.node('n1').app!.system
  w.at(1500, () => {
    n1.refFor(target, 'dx://n1/user/a').tell({ type: 'stop' })
    n1.refFor(target, 'dx://n1/user/b').tell({ type: 'fail' })
  })
  await runUntil(w, 2500)
  assert.deepEqual(
    ended.sort((x, y) => x.path.localeCompare(y.path)),
    [
      { node: 'n1', path: '/user/a', reason: 'stopped' },
      { node: 'n1', path: '/user/b', reason: 'failed', error: 'RangeError: out of range' },
      { node: 'n1', path: '/user/nobody', reason: 'not-found' },
    ],
  )
})

test('the crash of the target node ends its watches with unreachable; unwatch ends one silently', async () => {
  const { w, watch } = await world()
  w.at(1100, () => {
    watch.tell({ type: 'watch', path: 'n1/user/c' })
    watch.tell({ type: 'watch', path: 'n1/user/d' })
  })
  w.at(1500, () => watch.tell({ type: 'unwatch', path: 'n1/user/d' }))
  await runUntil(w, 2000)
  assert.equal(w.node('n1').app!.system.stats().remoteWatchers, 1)
  w.crash(w.node('n1'))
  await runUntil(w, 2000 + PEER_DETECT_MS + 500)
  assert.deepEqual(ended, [{ node: 'n1', path: '/user/c', reason: 'unreachable' }])
})

test('a watcher that stops is forgotten by the target node; a stop afterwards sends nothing', async () => {
  const { w, watch } = await world()
  w.at(1100, () => watch.tell({ type: 'watch', path: 'n1/user/a' }))
  await runUntil(w, 1900)
  assert.equal(w.node('n1').app!.system.stats().remoteWatchers, 1)
  w.at(2000, () => void w.node('n0').app!.system.stop(watch))
  await runUntil(w, 3000)
  assert.equal(w.node('n1').app!.system.stats().remoteWatchers, 0)
  const dead = w.node('n0').app!.system.deadLetters.count
  w.at(3100, () => w.node('n1').app!.system.refFor(target, 'dx://n1/user/a').tell({ type: 'stop' }))
  await runUntil(w, 4000)
  assert.deepEqual(ended, [])
  assert.equal(w.node('n0').app!.system.deadLetters.count, dead, 'no notification reached the stopped watcher')
})

test('a third node cannot end a watch: only the node hosting the target can', async () => {
  const { w, watch } = await world()
  w.at(1100, () => watch.tell({ type: 'watch', path: 'n1/user/a' }))
  await runUntil(w, 1500)
  const forged = new EnvelopeCodec().encode({ kind: 'terminated', target: '/user/a', watcher: '/user/w', reason: 'stopped', error: null })
  w.at(1600, () => w.node('n2').app!.ctx.network.send('n0', ACTOR_PROTOCOL, forged))
  await runUntil(w, 2000)
  assert.deepEqual(ended, [])
  w.at(2100, () => w.node('n1').app!.system.refFor(target, 'dx://n1/user/a').tell({ type: 'stop' }))
  await runUntil(w, 3000)
  assert.deepEqual(ended, [{ node: 'n1', path: '/user/a', reason: 'stopped' }])
})

test('watch envelopes round-trip and bad ones are refused with a typed error', () => {
  const codec = new EnvelopeCodec()
  for (const e of [
    { kind: 'watch', target: '/user/a', watcher: '/user/w' },
    { kind: 'unwatch', target: '/user/a/$b', watcher: '/system/x' },
    { kind: 'terminated', target: '/user/a', watcher: '/user/w', reason: 'failed', error: { name: 'RangeError', code: 'ERR_X', message: 'm' } },
    { kind: 'terminated', target: '/user/a', watcher: '/user/w', reason: 'not-found', error: null },
  ] as const)
    assert.deepEqual(codec.decode(codec.encode(e)), e)
  const bad = [
    [1, 4, 'user/a', '/user/w'],
    [1, 4, '/user/a'],
    [1, 6, '/user/a', '/user/w', 'unreachable', null],
    [1, 6, '/user/a', '/user/w', 'failed', ['only-name']],
  ]
  const packr = new Packr({ useRecords: false })
  for (const wire of bad) assert.throws(() => codec.decode(packr.pack(wire)), { name: 'InvalidEnvelopeError' })
})
