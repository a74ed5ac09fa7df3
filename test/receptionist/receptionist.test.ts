// Goal: the receptionist keeps every node's listing of a service key equal to the live actors
// registered under it anywhere in the reachable cluster: registrations show up on every node,
// terminated actors and crashed nodes disappear, a healed partition converges, and peers cannot
// announce refs of another node, malformed or stale announcements (dropped and counted, never a
// crash). Method: whole assembled nodes on the simulator (manual virtual time), driven through
// `node.receptionist`; forged and malformed announcements are sent to a receptionist by hand.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { ActorRef, Ask } from '../../src/actor/types.js'
import { MemoryMetrics } from '../../src/env/metrics.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { receptionistOf } from '../../src/receptionist/client.js'
import { RECEPTIONIST_PATH, type ReceptionistMsg } from '../../src/receptionist/protocol.js'
import { MAX_REFS_PER_KEY, serviceKey, type Listing } from '../../src/receptionist/types.js'
import { PEER_DETECT_MS } from '../../sim/net/network.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

type Echo = Ask<{ type: 'echo'; text: string }, string>
const echo = defineActor<Echo>({ setup: (ctx) => ({ echo: (m) => `${ctx.self.address.node}: ${m.text}` }) })
const ECHO = serviceKey<Echo>('echo')

interface App {
  node: AssembledNode
  metrics: MemoryMetrics
  /** Every listing of ECHO received by this node's subscriber, as address lists. */
  listings: string[][]
}

function cluster(nodes = 3): World<App> {
  const world = new World<App>(7, nodes, (ctx) => {
    const metrics = new MemoryMetrics()
    const node = assembleNode(
      { env: { ...ctx.env, metrics }, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [] },
    )
    const app: App = { node, metrics, listings: [] }
    node.receptionist.subscribe(ECHO, (listing: Listing<Echo>) => app.listings.push(listing.refs.map(String)))
    return app
  })
  for (const node of world.nodes) world.start(node)
  return world
}

const app = (world: World<App>, id: string): App => world.node(id).app!
const latest = (a: App): string[] => a.listings.at(-1) ?? []

function settle<T>(p: Promise<T>): { value?: T; error?: Error } {
  const out: { value?: T; error?: Error } = {}
  p.then(
    (v) => (out.value = v),
    (e: Error) => (out.error = e),
  )
  return out
}

/**
 * Runs the world until `out` holds an answer, at most 5 s of virtual time. How long the thousand
 * spawns and registrations ahead of it take in virtual time moved with the node's timers (50 ms was
 * enough before the idle-tick changes, 100 ms after; not diagnosed), and is not what is tested.
 */
async function settled<T>(world: World<App>, out: { value?: T; error?: Error }): Promise<{ value?: T; error?: Error }> {
  const by = world.nowMs + 5000
  while (out.value === undefined && out.error === undefined && world.nowMs < by) await runUntil(world, world.nowMs + 10)
  return out
}

/** Spawns an echo actor on `id` and registers it under ECHO. */
async function register(world: World<App>, id: string, name: string): Promise<ActorRef<Echo>> {
  const a = app(world, id)
  const ref = a.node.system.spawn(echo, { name })
  const done = settle(a.node.receptionist.register(ECHO, ref))
  await runUntil(world, world.nowMs + 50)
  assert.ok(done.error === undefined && 'value' in done, `registered ${name} on ${id}: ${done.error?.message}`)
  return ref
}

test('a registration shows up on every node; subscribers get a listing at once and on every change; find answers typed refs', async () => {
  const world = cluster()
  await runUntil(world, 500)
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(app(world, id).listings, [[]], `${id}: an empty listing at once`)
  await register(world, 'n0', 'a')
  await register(world, 'n1', 'b')
  await runUntil(world, world.nowMs + 50)
  const all = ['dx://n0/user/a', 'dx://n1/user/b']
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), all, id)
  const found = settle(app(world, 'n2').node.receptionist.find(ECHO))
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(found.value?.map(String), all)
  // The refs are typed ActorRef<Echo>: ask one on another node through them.
  const reply = settle(found.value![1]!.ask({ type: 'echo', text: 'hi' }, { timeoutMs: 1000 }))
  await runUntil(world, world.nowMs + 50)
  assert.equal(reply.value, 'n1: hi')
  // An actor registered then deregistered leaves every listing as it was.
  await register(world, 'n0', 'c')
  const c = app(world, 'n0').node.system.ref<Echo>('dx://n0/user/c')
  await runUntil(world, world.nowMs + 50)
  settle(app(world, 'n0').node.receptionist.deregister(ECHO, c))
  await runUntil(world, world.nowMs + 50)
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), all, id)
})

test('an actor that terminates leaves every listing', async () => {
  const world = cluster()
  await runUntil(world, 500)
  const a = await register(world, 'n1', 'a')
  await register(world, 'n2', 'b')
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(latest(app(world, 'n0')), ['dx://n1/user/a', 'dx://n2/user/b'])
  settle(app(world, 'n1').node.system.stop(a))
  await runUntil(world, world.nowMs + 50)
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), ['dx://n2/user/b'], id)
})

test("a crashed node's registrations disappear from the other nodes' listings", async () => {
  const world = cluster()
  await runUntil(world, 500)
  await register(world, 'n0', 'a')
  await register(world, 'n2', 'b')
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(latest(app(world, 'n1')), ['dx://n0/user/a', 'dx://n2/user/b'])
  world.crash(world.node('n2'))
  await runUntil(world, world.nowMs + PEER_DETECT_MS + 50)
  for (const id of ['n0', 'n1']) assert.deepEqual(latest(app(world, id)), ['dx://n0/user/a'], id)
  // It comes back empty (a new incarnation): still nothing of it listed until it registers again.
  world.start(world.node('n2'))
  await runUntil(world, world.nowMs + 500)
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), ['dx://n0/user/a'], id)
  await register(world, 'n2', 'b2')
  await runUntil(world, world.nowMs + 50)
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), ['dx://n0/user/a', 'dx://n2/user/b2'], id)
})

test('a partition splits the listings; once it heals they converge', async () => {
  const world = cluster()
  await runUntil(world, 500)
  const a = await register(world, 'n0', 'a')
  await register(world, 'n2', 'b')
  await runUntil(world, world.nowMs + 50)
  const isolate = ['n0', 'n1'].flatMap((n): Array<[string, string]> => [
    ['n2', n],
    [n, 'n2'],
  ])
  world.network.block(isolate)
  await runUntil(world, world.nowMs + PEER_DETECT_MS + 50)
  assert.deepEqual(latest(app(world, 'n0')), ['dx://n0/user/a'], 'n2 is unreachable: its actor is not listed')
  assert.deepEqual(latest(app(world, 'n2')), ['dx://n2/user/b'], 'and n0 is unreachable from n2')
  // Changes on both sides while cut off.
  settle(app(world, 'n0').node.system.stop(a))
  await register(world, 'n1', 'c')
  await register(world, 'n2', 'd')
  await runUntil(world, world.nowMs + 50)
  world.network.heal()
  await runUntil(world, world.nowMs + 100)
  const all = ['dx://n1/user/c', 'dx://n2/user/b', 'dx://n2/user/d']
  for (const id of ['n0', 'n1', 'n2']) assert.deepEqual(latest(app(world, id)), all, id)
})

test('forged, malformed and stale announcements are dropped and counted; the receptionist keeps working', async () => {
  const world = cluster()
  await runUntil(world, 500)
  await register(world, 'n2', 'b')
  await runUntil(world, world.nowMs + 50)
  const n0 = app(world, 'n0')
  const toN0 = app(world, 'n1').node.system.ref<ReceptionistMsg>({ node: 'n0', path: RECEPTIONIST_PATH })
  const dropped = (reason: string): number => n0.metrics.read('dx_receptionist_dropped_total', { reason }) ?? 0
  // n1 announces an actor of n2, and one of its own next to one of n0.
  toN0.tell({ type: 'update', inc: 1, version: 1, key: 'echo', refs: ['dx://n2/user/evil'] })
  toN0.tell({ type: 'update', inc: 1, version: 2, key: 'echo', refs: ['dx://n1/user/x', 'dx://n0/user/y'] })
  // Malformed: bad address, bad key, bad numbers, too many refs, a digest of garbage.
  const hostile = [
    { type: 'update', inc: 1, version: 3, key: 'echo', refs: ['not an address'] },
    { type: 'update', inc: 1, version: 3, key: '', refs: [] },
    { type: 'update', inc: -1, version: 3, key: 'echo', refs: [] },
    { type: 'update', inc: 1, version: 3, key: 'echo', refs: Array.from({ length: MAX_REFS_PER_KEY + 1 }, (_, i) => `dx://n1/user/w${i}`) },
    { type: 'digest', inc: 1, version: 3, keys: [['echo', 'x']] },
    { type: 'digest', inc: 1, version: 3, keys: 'all' },
  ]
  for (const m of hostile) toN0.tell(m as unknown as ReceptionistMsg)
  // Local-only messages from a peer are refused by the remote policy.
  toN0.tell({ type: 'peer', node: 'n2', up: false })
  await runUntil(world, world.nowMs + 50)
  assert.equal(dropped('forged'), 2)
  assert.equal(dropped('malformed'), 6)
  assert.deepEqual(latest(n0), ['dx://n2/user/b'], 'nothing forged is listed, n2 is still there')
  // A genuine announcement of n1 at a high version, then a late one at a lower version: the late one is ignored.
  const inc = Number.MAX_SAFE_INTEGER - 1
  toN0.tell({ type: 'update', inc, version: 10, key: 'echo', refs: ['dx://n1/user/new'] })
  toN0.tell({ type: 'update', inc, version: 9, key: 'echo', refs: ['dx://n1/user/old'] })
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(latest(n0), ['dx://n1/user/new', 'dx://n2/user/b'])
  assert.equal(dropped('stale'), 1)
  // The node still registers and lists.
  await register(world, 'n0', 'a')
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(latest(n0), ['dx://n0/user/a', 'dx://n1/user/new', 'dx://n2/user/b'])
})

test('only actors of this node can be registered; bounds are enforced with typed errors', async () => {
  const world = cluster(1)
  await runUntil(world, 100)
  const n0 = app(world, 'n0')
  const remote = n0.node.system.ref<Echo>('dx://n9/user/x')
  const refused = settle(n0.node.receptionist.register(ECHO, remote))
  await runUntil(world, world.nowMs + 50)
  assert.equal(refused.error?.name, 'InvalidArgumentError')
  assert.throws(() => serviceKey('bad key!'), { name: 'InvalidArgumentError' })
  const many = serviceKey<Echo>('many')
  for (let i = 0; i < MAX_REFS_PER_KEY; i++) settle(n0.node.receptionist.register(many, n0.node.system.spawn(echo)))
  await runUntil(world, world.nowMs + 100)
  const full = await settled(world, settle(n0.node.receptionist.register(many, n0.node.system.spawn(echo))))
  assert.equal(full.error?.name, 'ReceptionistFullError')
  assert.equal((full.error as { code?: string }).code, 'ERR_RECEPTIONIST_FULL')
  const found = await settled(world, settle(n0.node.receptionist.find(many)))
  assert.equal(found.value?.length, MAX_REFS_PER_KEY)
})

test('inside an actor, receptionistOf(ctx) registers and subscribes the actor itself; its subscription ends when it stops', async () => {
  type Watcher = Listing<Echo> | Ask<{ type: 'seen' }, string[][]>
  const watcher = defineActor<Watcher>({
    setup(ctx) {
      const seen: string[][] = []
      receptionistOf(ctx).subscribe(ECHO, ctx.self)
      return { listing: (m) => void seen.push(m.refs.map(String)), seen: () => seen }
    },
  })
  const registering = defineActor<Echo>({
    setup(ctx) {
      void receptionistOf(ctx)
        .register(ECHO, ctx.self)
        .catch((error: unknown) => ctx.log.error('register failed', { error }))
      return { echo: (m) => m.text }
    },
  })
  const world = cluster(2)
  await runUntil(world, 500)
  const w = app(world, 'n0').node.system.spawn(watcher, { name: 'watcher' })
  await runUntil(world, world.nowMs + 50)
  app(world, 'n1').node.system.spawn(registering, { name: 'r' })
  await runUntil(world, world.nowMs + 50)
  const seen = settle(w.ask({ type: 'seen' }, { timeoutMs: 1000 }))
  await runUntil(world, world.nowMs + 50)
  assert.deepEqual(seen.value, [[], ['dx://n1/user/r']])
  assert.throws(
    () => app(world, 'n0').node.receptionist.subscribe(ECHO, app(world, 'n0').node.system.ref<Listing<Echo>>('dx://n1/user/x')),
    { name: 'InvalidArgumentError' },
    'subscribers are actors of this node',
  )
  // The watcher stops: its subscription ends with it, and later changes go nowhere.
  settle(app(world, 'n0').node.system.stop(w))
  await runUntil(world, world.nowMs + 50)
  await register(world, 'n1', 'later')
  await runUntil(world, world.nowMs + 50)
  assert.equal(app(world, 'n0').node.system.deadLetters.countOf('not-found'), 0)
})
