/**
 * The `mesh` scenario: real actor systems on every node, joined by remote messaging over the
 * simulated network. Each node runs a gossip heartbeat and a client; node n0 also runs a ledger that
 * the clients of all nodes call remotely with retried, idempotent requests.
 *
 * Invariants: heartbeat views never move backwards (online); every acknowledged request is durably
 * applied (no lost acknowledgements), none is applied twice, and nothing is applied that no client
 * asked for (history, at the end). Liveness: after the final heal, every node sees every other as
 * alive and every request older than a few seconds is acknowledged.
 */
import { createActorSystem } from '../../../src/actor/system.js'
import { RemoteMessaging } from '../../../src/net/remoting.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'
import { client, type History } from './client.js'
import { heartbeat, type PeerView } from './heartbeat.js'
import { appliedKey, ledger } from './ledger.js'

/** Deliberate bugs, for proving that the checkers catch them. */
export type MeshBug = 'lazy-persist' | 'stale-heartbeats' | 'no-retry'

/** Options of the mesh scenario. */
export interface MeshInit {
  heartbeatMs?: number
  suspectAfterMs?: number
  clientIntervalMs?: number
  bugs?: readonly MeshBug[]
}

/** What one node incarnation exposes to the checkers; `lastSeenMs` values are on that node's own monotonic clock. */
export interface MeshApp {
  readonly view: Map<string, PeerView>
  /** Peers whose view entry changed since the invariant last looked. */
  readonly changed: string[]
}

const LEDGER_NODE = 'n0'

export function meshScenario(init: MeshInit = {}): Scenario<MeshApp> {
  const heartbeatMs = init.heartbeatMs ?? 500
  const suspectAfterMs = init.suspectAfterMs ?? 2000
  const clientIntervalMs = init.clientIntervalMs ?? 500
  const bugs = new Set(init.bugs ?? [])
  const invokedAt = new Map<string, number>()
  const acked = new Set<string>()
  const appliedWrites = new Map<string, number>()
  const ghostViews = new Map<string, Map<string, { incarnation: number; counter: number }>>()
  const history: History = {
    invoked: (id, atMs) => invokedAt.set(id, atMs),
    acked: (id) => acked.add(id),
  }
  let watchingDisk = false
  let active = (): boolean => true

  return {
    name: 'mesh',
    boot(ctx, world) {
      if (!watchingDisk) {
        watchingDisk = true
        world.node(LEDGER_NODE).disk.onWrite = (key) => {
          if (key.startsWith('applied/')) appliedWrites.set(key.slice(8), (appliedWrites.get(key.slice(8)) ?? 0) + 1)
        }
      }
      ghostViews.set(ctx.id, new Map())
      const system = createActorSystem({ env: ctx.env, nodeId: ctx.id })
      new RemoteMessaging(system, ctx.network).start()
      const view = new Map<string, PeerView>()
      const changed: string[] = []
      system.spawnSystem(heartbeat({ network: ctx.network, store: ctx.store, intervalMs: heartbeatMs, view, changed, acceptStale: bugs.has('stale-heartbeats') }), {
        name: 'heartbeat',
      })
      const ledgerDef = ledger({ store: ctx.store, lazyPersist: bugs.has('lazy-persist') })
      if (ctx.id === LEDGER_NODE) system.spawn(ledgerDef, { name: 'ledger' })
      system.spawn(
        client({
          node: ctx.id,
          incarnation: ctx.incarnation,
          ledger: system.refFor(ledgerDef, `dx://${LEDGER_NODE}/user/ledger`),
          intervalMs: clientIntervalMs,
          history,
          active: () => active(),
          retry: !bugs.has('no-retry'),
        }),
        { name: 'client' },
      )
      return { view, changed }
    },
    workload(world, endMs) {
      active = () => world.nowMs < endMs
    },
    invariants: [
      {
        name: 'heartbeat-views-monotonic',
        check(world, index) {
          if (index === undefined) return undefined
          const node = world.nodes[index]!
          const ghost = ghostViews.get(node.id)
          if (node.app === undefined || ghost === undefined) return undefined
          for (const peer of node.app.changed.splice(0)) {
            const seen = node.app.view.get(peer)!
            const before = ghost.get(peer)
            if (before !== undefined && (seen.incarnation < before.incarnation || (seen.incarnation === before.incarnation && seen.counter < before.counter))) {
              return `${node.id}'s view of ${peer} went back from ${before.incarnation}.${before.counter} to ${seen.incarnation}.${seen.counter}`
            }
            ghost.set(peer, { incarnation: seen.incarnation, counter: seen.counter })
          }
          return undefined
        },
      },
    ],
    liveness: {
      boundMs: 15_000,
      check(world) {
        const now = world.nowMs
        for (const node of world.nodes) {
          if (node.app === undefined || node.owner.status !== 'up') return `${node.id} is not up`
          const nodeNow = node.skew.monotonicMs(world.kernel)
          for (const other of world.nodes) {
            if (other === node) continue
            const seen = node.app.view.get(other.id)
            if (seen === undefined || nodeNow - seen.lastSeenMs > suspectAfterMs) return `${node.id} does not see ${other.id} alive`
          }
        }
        for (const [id, at] of invokedAt) {
          if (!acked.has(id) && now - at > 5000 && isLiveIncarnation(world, id)) return `request ${id} not acknowledged after ${Math.round(now - at)} ms`
        }
        return undefined
      },
    },
    final: [
      {
        name: 'no-lost-acks',
        check(world) {
          const disk = world.node(LEDGER_NODE).disk
          const lost = [...acked].filter((id) => !disk.data.has(appliedKey(id)))
          return lost.length === 0 ? undefined : `${lost.length} acknowledged requests are not applied, e.g. ${lost.slice(0, 3).join(', ')}`
        },
      },
      {
        name: 'no-duplicate-effects',
        check() {
          const dup = [...appliedWrites].filter(([, n]) => n > 1)
          return dup.length === 0 ? undefined : `${dup.length} requests applied more than once, e.g. ${dup[0]![0]}`
        },
      },
      {
        name: 'no-unexpected-effects',
        check() {
          const unexpected = [...appliedWrites.keys()].filter((id) => !invokedAt.has(id))
          return unexpected.length === 0 ? undefined : `${unexpected.length} applied requests were never invoked`
        },
      },
    ],
    summary() {
      return `requests: invoked=${invokedAt.size} acked=${acked.size} applied=${appliedWrites.size}`
    },
  }
}

/** True when the client incarnation that invoked `id` (encoded in it) is still running. */
function isLiveIncarnation(world: World<MeshApp>, id: string): boolean {
  const [node, incarnation] = id.split('.')
  const slot = world.nodes.find((n) => n.id === node)
  return slot !== undefined && slot.owner.incarnation === Number(incarnation) && slot.owner.status === 'up'
}
