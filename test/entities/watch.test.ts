// Goal: ctx.watch(entityRef) ends with the activation the watcher's messages reached, with a typed
// reason (issue 14, item 4): passivated when it goes idle, stopped or failed (with the error) when
// the entity ends itself, not-found when the key has no activation, failed-over when its owner
// crashes (within the simulator's peer detection), nothing after unwatch; and the 'ended' and
// 'forget' messages from peers are checked. Method: whole nodes (assembleNode) on the simulator.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validEnded, validWatchIds } from '../../src/entities/wire.js'
import { defineActor } from '../../src/actor/define.js'
import type { ActorRef, Ask, Terminated } from '../../src/actor/types.js'
import { entityAddress } from '../../src/entities/address.js'
import { defineEntity } from '../../src/entities/define.js'
import { toWireError } from '../../src/errors.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { PEER_DETECT_MS } from '../../sim/net/network.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

type ProbeMsg = Ask<{ type: 'where' }, string> | { type: 'stop' } | { type: 'fail' }
const probe = defineEntity<ProbeMsg>('probe', {
  passivateAfterMs: 60_000,
  supervision: { decide: () => 'stop' },
  setup: (ctx) => ({
    where: () => ctx.self.address.node,
    stop: () => ctx.stop(),
    fail: () => {
      throw new RangeError('out of range')
    },
  }),
})
const idle = defineEntity<ProbeMsg>('idle', { passivateAfterMs: 1500, setup: (ctx) => ({ where: () => ctx.self.address.node, stop: () => {}, fail: () => {} }) })

type WatcherMsg = { type: 'watch'; entity: string; key: string } | { type: 'unwatch'; entity: string; key: string } | { type: 'ended'; t: Terminated }
interface Ended {
  key: string
  reason: string
  error?: string
  atMs: number
}

/** Three nodes with both entity types and a watcher on every node; the cluster is formed (shards placeable) at 6 s. */
async function world(): Promise<{ w: World<AssembledNode>; ended: Ended[]; watcher: (node: string) => ActorRef<WatcherMsg> }> {
  const ended: Ended[] = []
  const watchers = new Map<string, ActorRef<WatcherMsg>>()
  const w: World<AssembledNode> = new World<AssembledNode>(5, 3, (ctx) => {
    const app = assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [], entities: [probe, idle], entityOptions: { shards: 8 } },
    )
    const def = defineActor<WatcherMsg>({
      setup: (actx) => ({
        watch: (m) => actx.watch(actx.ref(entityAddress(m.entity, m.key)), (t) => ({ type: 'ended', t })),
        unwatch: (m) => actx.unwatch(actx.ref(entityAddress(m.entity, m.key))),
        ended: (m) =>
          void ended.push({
            key: m.t.address.path.split('/').pop()!,
            reason: m.t.reason,
            ...(m.t.error === undefined ? {} : { error: `${m.t.error.name}: ${m.t.error.message}` }),
            atMs: w.nowMs,
          }),
      }),
    })
    watchers.set(ctx.id, app.system.spawn(def, { name: 'watcher' }))
    return app
  })
  for (const node of w.nodes) w.start(node)
  await runUntil(w, 6000)
  return { w, ended, watcher: (node) => watchers.get(node)! }
}

/** Asks each key where it runs (activating it), from `from`, `forMs` from now; the owners that answered. */
async function where(w: World<AssembledNode>, from: string, def: typeof probe, keys: readonly string[], forMs: number): Promise<Map<string, string>> {
  const owners = new Map<string, string>()
  w.at(w.nowMs + 10, () => {
    for (const key of keys)
      w.node(from)
        .app!.entities.get(def, key)
        .ask({ type: 'where' }, { timeoutMs: 3000 })
        .then(
          (node) => void owners.set(key, node),
          () => {},
        )
  })
  await runUntil(w, w.nowMs + forMs)
  return owners
}

test('a watch ends with passivated, stopped, failed (with the error) or not-found, once', async () => {
  const { w, ended, watcher } = await world()
  assert.equal((await where(w, 'n0', probe, ['s', 'f'], 1500)).size, 2)
  assert.equal((await where(w, 'n0', idle, ['i'], 400)).size, 1)
  w.at(w.nowMs + 10, () => {
    watcher('n0').tell({ type: 'watch', entity: 'probe', key: 's' })
    watcher('n0').tell({ type: 'watch', entity: 'probe', key: 'f' })
    watcher('n0').tell({ type: 'watch', entity: 'idle', key: 'i' })
    watcher('n0').tell({ type: 'watch', entity: 'probe', key: 'never-used' })
  })
  const t0 = w.nowMs
  await runUntil(w, t0 + 300)
  assert.deepEqual(
    ended.map((e) => [e.key, e.reason]),
    [['never-used', 'not-found']],
    'only the key without an activation ended at once; the idle one is still within its 1,500 ms',
  )
  w.at(w.nowMs + 10, () => {
    const app = w.node('n1').app!
    app.entities.get(probe, 's').tell({ type: 'stop' })
    app.entities.get(probe, 'f').tell({ type: 'fail' })
  })
  await runUntil(w, t0 + 3000)
  assert.deepEqual(
    ended.map(({ key, reason, error }) => ({ key, reason, ...(error === undefined ? {} : { error }) })).sort((a, b) => a.key.localeCompare(b.key)),
    [
      { key: 'f', reason: 'failed', error: 'RangeError: out of range' },
      { key: 'i', reason: 'passivated' },
      { key: 'never-used', reason: 'not-found' },
      { key: 's', reason: 'stopped' },
    ],
  )
})

test("the crash of the owner ends a remote watcher's watch with failed-over; an unwatched key ends silently", async () => {
  const { w, ended, watcher } = await world()
  const owners = await where(
    w,
    'n0',
    probe,
    Array.from({ length: 12 }, (_, k) => `k${k}`),
    2000,
  )
  // Keys owned by n1 or n2, watched from the other one (never from the node that crashes).
  const count = (node: string): number => [...owners.values()].filter((o) => o === node).length
  const victim = count('n1') >= count('n2') ? 'n1' : 'n2'
  const keys = [...owners].filter(([, o]) => o === victim).map(([k]) => k)
  assert.ok(keys.length >= 2, `keys on ${victim}: ${JSON.stringify([...owners])}`)
  const from = victim === 'n1' ? 'n2' : 'n1'
  w.at(w.nowMs + 10, () => {
    for (const key of keys) watcher(from).tell({ type: 'watch', entity: 'probe', key })
  })
  await runUntil(w, w.nowMs + 500)
  w.at(w.nowMs + 10, () => watcher(from).tell({ type: 'unwatch', entity: 'probe', key: keys[0]! }))
  await runUntil(w, w.nowMs + 500)
  assert.equal(ended.length, 0, 'nothing ended before the crash')
  const crashAt = w.nowMs + 10
  w.at(crashAt, () => w.crash(w.node(victim)))
  await runUntil(w, crashAt + PEER_DETECT_MS + 500)
  assert.deepEqual(
    ended.map((e) => [e.key, e.reason]).sort(),
    keys
      .slice(1)
      .map((k) => [k, 'failed-over'])
      .sort(),
  )
  for (const e of ended) assert.ok(e.atMs - crashAt <= PEER_DETECT_MS + 100, `heard ${e.atMs - crashAt} ms after the crash`)
  // The next message reactivates the key on a live peer.
  const again = (await where(w, from, probe, [keys[0]!], 6000)).get(keys[0]!)
  assert.ok(again !== undefined && again !== victim, `reactivated on a live peer: ${again}`)
})

test("'ended', 'forget' and 'watching' from peers are checked for version, ids and reason", () => {
  const error = toWireError(new RangeError('x'), 'ERR_REMOTE')
  assert.ok(validEnded('n1', { type: 'ended', v: 3, ids: [1, 2], reason: 'passivated', error: null }))
  assert.ok(validEnded('n1', { type: 'ended', v: 3, ids: [1], reason: 'failed', error }))
  assert.ok(!validEnded('n1', { type: 'ended', v: 2, ids: [1], reason: 'passivated', error: null }), 'another version')
  assert.ok(!validEnded('n1', { type: 'ended', v: 3, ids: [], reason: 'passivated', error: null }), 'no ids')
  assert.ok(!validEnded('n1', { type: 'ended', v: 3, ids: [-1], reason: 'passivated', error: null }), 'a bad id')
  assert.ok(!validEnded('n1', { type: 'ended', v: 3, ids: [1], reason: 'unreachable', error: null }), 'a reason only the watcher side gives')
  assert.ok(!validEnded('n1', { type: 'ended', v: 3, ids: [1], reason: 'failed', error: 'boom' }), 'an error that is not a wire error')
  assert.ok(validWatchIds('n1', { type: 'forget', v: 3, ids: [4] }))
  assert.ok(!validWatchIds('n1', { type: 'forget', v: 3, ids: Array.from({ length: 100_001 }, (_, i) => i) }), 'too many ids')
  assert.ok(!validWatchIds('n1', { type: 'forget', v: 3, ids: [1.5] }))
})
