// Goal: remote actor messaging makes tell and ask behave like local ones across nodes, with typed
// failures: remote handler errors keep their name and code, missing actors, unreachable nodes,
// closed connections, and hostile frames that are dropped and counted. Method: two actor systems
// joined by the simulated network (a real Network port implementation) on manual kernel time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import { createActorSystem, type ActorSystem } from '../../src/actor/system.js'
import type { Ask } from '../../src/actor/types.js'
import { MemoryMetrics } from '../../src/env/metrics.js'
import type { NodeUnreachableError } from '../../src/errors.js'
import { ACTOR_PROTOCOL, RemoteMessaging } from '../../src/net/remoting.js'
import { World, type NodeContext } from '../../sim/world.js'
import { PEER_DETECT_MS } from '../../sim/net/network.js'
import { runUntil } from '../sim/helpers.js'

class ValidationError extends Error {
  override readonly name = 'ValidationError'
  readonly code = 'ERR_VALIDATION'
}

type Calc =
  | Ask<{ type: 'add'; a: number; b: number }, number>
  | Ask<{ type: 'check'; n: number }, string>
  | Ask<{ type: 'never' }, number>
  | Ask<{ type: 'slow' }, number>
  | { type: 'note'; text: string }

const notes: string[] = []
const calc = defineActor<Calc>({
  supervision: { decide: () => 'resume' },
  setup: () => ({
    add: (m) => m.a + m.b,
    check(m) {
      if (m.n < 0) throw new ValidationError(`negative: ${m.n}`)
      return 'ok'
    },
    never: (_m, ctx) => ctx.defer(),
    slow(_m, ctx) {
      const reply = ctx.defer()
      ctx.env.timers.schedule(500, () => reply.resolve(1))
      return reply
    },
    note: (m) => void notes.push(m.text),
  }),
})

interface Node {
  ctx: NodeContext
  system: ActorSystem
  metrics: MemoryMetrics
}

function twoNodes(): World<Node> {
  const world = new World<Node>(3, 2, (ctx) => {
    const metrics = new MemoryMetrics()
    const system = createActorSystem({ env: { ...ctx.env, metrics }, nodeId: ctx.id })
    new RemoteMessaging(system, ctx.network).start()
    if (ctx.id === 'n1') system.spawn(calc, { name: 'calc' })
    return { ctx, system, metrics }
  })
  for (const node of world.nodes) world.start(node)
  return world
}

function settle<T>(p: Promise<T>): { value?: T; error?: Error } {
  const out: { value?: T; error?: Error } = {}
  p.then(
    (v) => (out.value = v),
    (e: Error) => (out.error = e),
  )
  return out
}

test('tell and ask reach an actor on another node; replies are typed values', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const n0 = world.node('n0').app!
  const ref = n0.system.refFor(calc, 'dx://n1/user/calc')
  ref.tell({ type: 'note', text: 'hello from n0' })
  const sum = settle(ref.ask({ type: 'add', a: 2, b: 40 }, { timeoutMs: 1000 }))
  await runUntil(world, 100)
  assert.equal(sum.value, 42)
  assert.deepEqual(notes.splice(0), ['hello from n0'])
})

test('a remote handler error arrives with its name, code and message', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const ref = world.node('n0').app!.system.refFor(calc, 'dx://n1/user/calc')
  const result = settle(ref.ask({ type: 'check', n: -1 }, { timeoutMs: 1000 }))
  await runUntil(world, 100)
  assert.equal(result.error?.name, 'ValidationError')
  assert.equal((result.error as { code?: string }).code, 'ERR_VALIDATION')
  assert.equal(result.error?.message, 'negative: -1')
})

test('asking a missing remote actor fails with ActorNotFoundError from the other node', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const ref = world.node('n0').app!.system.refFor(calc, 'dx://n1/user/nobody')
  const result = settle(ref.ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 1000 }))
  await runUntil(world, 100)
  assert.equal(result.error?.name, 'ActorNotFoundError')
  assert.equal(world.node('n1').app!.system.deadLetters.countOf('not-found'), 1)
})

test('an unanswered remote ask times out; its late reply is never sent', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const ref = world.node('n0').app!.system.refFor(calc, 'dx://n1/user/calc')
  const result = settle(ref.ask({ type: 'slow' }, { timeoutMs: 300 }))
  await runUntil(world, 400)
  assert.equal(result.error?.name, 'AskTimeoutError')
  assert.equal(world.node('n0').app!.metrics.read('dx_remote_outstanding_asks'), 0)
  await runUntil(world, 700)
  assert.equal(world.node('n1').app!.metrics.read('dx_remote_late_replies_total'), 1)
})

test('sending to an unreachable node fails fast, marked unsent; a closed connection fails waiting asks, not marked', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const n0 = world.node('n0').app!
  const ghost = n0.system.refFor(calc, 'dx://n9/user/calc')
  const unknown = settle(ghost.ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 1000 }))
  const waiting = settle(n0.system.refFor(calc, 'dx://n1/user/calc').ask({ type: 'never' }, { timeoutMs: 10_000 }))
  await runUntil(world, 10)
  assert.equal(unknown.error?.name, 'NodeUnreachableError')
  assert.equal((unknown.error as NodeUnreachableError).unsent, true)
  world.crash(world.node('n1'))
  await runUntil(world, 10 + PEER_DETECT_MS + 10)
  assert.equal(waiting.error?.name, 'NodeUnreachableError')
  assert.match(waiting.error!.message, /connection closed/)
  assert.equal((waiting.error as NodeUnreachableError).unsent, false)
})

test('a message that finds no connection asks for one (connect), so that its retry goes through; a connected node is not asked for', async () => {
  const asked: string[] = []
  const world = new World<Node>(3, 2, (ctx) => {
    const metrics = new MemoryMetrics()
    const system = createActorSystem({ env: { ...ctx.env, metrics }, nodeId: ctx.id })
    new RemoteMessaging(system, ctx.network, ctx.id === 'n0' ? { connect: (node) => asked.push(node) } : {}).start()
    if (ctx.id === 'n1') system.spawn(calc, { name: 'calc' })
    return { ctx, system, metrics }
  })
  for (const node of world.nodes) world.start(node)
  await runUntil(world, 1)
  const n0 = world.node('n0').app!
  const ghost = settle(n0.system.refFor(calc, 'dx://n9/user/calc').ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 1000 }))
  const sum = settle(n0.system.refFor(calc, 'dx://n1/user/calc').ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 1000 }))
  await runUntil(world, 10)
  assert.equal((ghost.error as NodeUnreachableError).unsent, true)
  assert.equal(sum.value, 2)
  assert.deepEqual(asked, ['n9'])
})

test('hostile frames and spoofed replies are dropped and counted; the node keeps working', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const n0 = world.node('n0').app!
  const n1 = world.node('n1').app!
  n0.ctx.network.send('n1', ACTOR_PROTOCOL, Uint8Array.of(0xc1, 0xff, 0x00))
  n0.ctx.network.send('n1', ACTOR_PROTOCOL, new Uint8Array(0))
  const pending = settle(n1.system.refFor(calc, 'dx://n0/user/none').ask({ type: 'add', a: 1, b: 1 }, { timeoutMs: 5000 }))
  const { EnvelopeCodec } = await import('../../protocols/envelope/index.js')
  n0.ctx.network.send('n1', ACTOR_PROTOCOL, new EnvelopeCodec().encode({ kind: 'reply', id: 999, body: 'spoof' }))
  n0.ctx.network.send('n1', ACTOR_PROTOCOL, new EnvelopeCodec().encode({ kind: 'tell', to: { node: 'n7', path: '/user/x' }, body: {} }))
  await runUntil(world, 100)
  assert.equal(n1.metrics.read('dx_remote_invalid_frames_total'), 2)
  assert.equal(n1.metrics.read('dx_remote_misrouted_total'), 2)
  assert.equal(pending.error?.name, 'ActorNotFoundError')
  const ok = settle(n0.system.refFor(calc, 'dx://n1/user/calc').ask({ type: 'add', a: 1, b: 2 }, { timeoutMs: 1000 }))
  await runUntil(world, 200)
  assert.equal(ok.value, 3)
})

test('a message body that cannot travel fails at the sender with a typed error', async () => {
  const world = twoNodes()
  await runUntil(world, 1)
  const ref = world.node('n0').app!.system.refFor(calc, 'dx://n1/user/calc')
  const loose = ref as unknown as { ask(m: unknown, o: { timeoutMs: number }): Promise<unknown> }
  await assert.rejects(loose.ask({ type: 'add', a: () => 1, b: 2 }, { timeoutMs: 100 }), { name: 'InvalidEnvelopeError' })
})

test('remote policies see the sender the network authenticated; a refused ask fails with ForbiddenMessageError on the asking node', async () => {
  type Guarded = Ask<{ type: 'whoami' }, string | null> | Ask<{ type: 'admin' }, string> | Ask<{ type: 'fromN2' }, string>
  const guarded = defineActor<Guarded>({
    remote: { whoami: 'any', admin: 'never', fromN2: (from) => from === 'n2' },
    setup: () => ({ whoami: (_m, ctx) => ctx.sender ?? null, admin: () => 'done', fromN2: () => 'hi n2' }),
  })
  const world = twoNodes()
  await runUntil(world, 1)
  const n0 = world.node('n0').app!
  const n1 = world.node('n1').app!
  const local = n1.system.spawn(guarded, { name: 'guarded' })
  const ref = n0.system.refFor(guarded, 'dx://n1/user/guarded')
  const who = settle(ref.ask({ type: 'whoami' }, { timeoutMs: 1000 }))
  const admin = settle(ref.ask({ type: 'admin' }, { timeoutMs: 1000 }))
  const impostor = settle(ref.ask({ type: 'fromN2' }, { timeoutMs: 1000 }))
  // A frame cannot claim another sender: the envelope has no such field, and a forged one is ignored.
  const { EnvelopeCodec } = await import('../../protocols/envelope/index.js')
  n0.ctx.network.send(
    'n1',
    ACTOR_PROTOCOL,
    new EnvelopeCodec().encode({ kind: 'tell', to: { node: 'n1', path: '/user/guarded' }, body: { type: 'fromN2', from: 'n2', sender: 'n2' } }),
  )
  await runUntil(world, 100)
  assert.equal(who.value, 'n0')
  assert.equal(admin.error?.name, 'ForbiddenMessageError')
  assert.equal((admin.error as { code?: string }).code, 'ERR_FORBIDDEN_MESSAGE')
  assert.match(admin.error!.message, /"admin".*node n0/)
  assert.equal(impostor.error?.name, 'ForbiddenMessageError')
  assert.equal(n1.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: 'fromN2' }), 2)
  assert.equal(n1.metrics.read('dx_remote_refused_total', { actor: '/user/guarded', type: 'admin' }), 1)
  assert.equal(await local.ask({ type: 'admin' }, { timeoutMs: 100 }), 'done', 'local senders are not checked')
  assert.equal(await local.ask({ type: 'whoami' }, { timeoutMs: 100 }), null)
})

test('takeActive: the nodes actor traffic used since the last call, ambient paths aside, and those an ask waits on or a watch crosses to', async () => {
  let remoting: RemoteMessaging | undefined
  type Watcher = { type: 'watch'; path: string } | { type: 'ended' }
  const watcher = defineActor<Watcher>({ setup: (ctx) => ({ watch: (m) => ctx.watch(ctx.ref(`dx://${m.path}`), () => ({ type: 'ended' })), ended: () => undefined }) })
  const world = new World<Node>(3, 2, (ctx) => {
    const metrics = new MemoryMetrics()
    const system = createActorSystem({ env: { ...ctx.env, metrics }, nodeId: ctx.id })
    const r = new RemoteMessaging(system, ctx.network, { ambientPaths: ['/user/ambient'] })
    r.start()
    if (ctx.id === 'n0') remoting = r
    else {
      system.spawn(calc, { name: 'calc' })
      system.spawn(calc, { name: 'ambient' })
    }
    return { ctx, system, metrics }
  })
  for (const node of world.nodes) world.start(node)
  await runUntil(world, 100)
  const n0 = world.node('n0').app!
  assert.deepEqual([...remoting!.takeActive()], [], 'nothing yet')
  n0.system.refFor(calc, 'dx://n1/user/ambient').tell({ type: 'note', text: 'digest' })
  await runUntil(world, 200)
  assert.deepEqual([...remoting!.takeActive()], [], 'an ambient path does not count')
  const sum = settle(n0.system.refFor(calc, 'dx://n1/user/calc').ask({ type: 'add', a: 1, b: 2 }, { timeoutMs: 1000 }))
  await runUntil(world, 300)
  assert.equal(sum.value, 3)
  assert.deepEqual([...remoting!.takeActive()], ['n1'], 'an ask and its reply')
  assert.deepEqual([...remoting!.takeActive()], [], 'reset by the call')
  const waiting = settle(n0.system.refFor(calc, 'dx://n1/user/calc').ask({ type: 'never' }, { timeoutMs: 60_000 }))
  await runUntil(world, 400)
  remoting!.takeActive()
  assert.deepEqual([...remoting!.takeActive()], ['n1'], 'an ask still waiting keeps its node in use')
  assert.equal(waiting.error, undefined)
  assert.equal(remoting!.watches('n1'), false)
  n0.system.spawn(watcher, { name: 'w' }).tell({ type: 'watch', path: 'n1/user/calc' })
  await runUntil(world, 500)
  assert.equal(remoting!.watches('n1'), true, 'a watch crosses to n1')
})
