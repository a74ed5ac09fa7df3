/**
 * The `receptionist` scenario: whole nodes, each registering worker actors under a few service keys
 * and subscribing (with a callback) to every key. At a steady rate a random live node spawns and
 * registers a worker, stops one, or deregisters one; partitions, crashes, pauses and skew cut nodes
 * off and bring them back with new incarnations.
 *
 * Invariant (online): a listing names only actors that were registered on the node hosting them.
 * Liveness: after the final heal, every live node's latest listing of every key is exactly the set
 * of workers registered (and neither stopped nor deregistered) on the live nodes.
 */
import { defineActor } from '../../../src/actor/define.js'
import { formatAddress } from '../../../src/actor/address.js'
import type { ActorRef, Ask } from '../../../src/actor/types.js'
import { assembleNode, type AssembledNode } from '../../../src/node/assemble.js'
import { serviceKey, type ServiceKey } from '../../../src/receptionist/types.js'
import type { Scenario } from '../../run.js'
import type { SimNode, World } from '../../world.js'

type Ping = Ask<{ type: 'ping' }, string>

const worker = defineActor<Ping>({ setup: () => ({ ping: () => 'pong' }) })

interface Worker {
  readonly ref: ActorRef<Ping>
  readonly key: ServiceKey<Ping>
  /** The registration was acknowledged and neither stopped nor deregistered since. */
  registered: boolean
}

export interface ReceptionistApp {
  readonly node: AssembledNode
  readonly workers: Map<string, Worker>
  /** The latest listing of each key, as addresses. */
  readonly seen: Map<string, string[]>
}

export interface ReceptionistScenarioInit {
  keys?: number
  actEveryMs?: number
  /** Workers each incarnation registers when it boots. */
  initialWorkers?: number
}

const FOUNDER = 'n0'

export function receptionistScenario(init: ReceptionistScenarioInit = {}): Scenario<ReceptionistApp> {
  const keys = Array.from({ length: init.keys ?? 3 }, (_, i) => serviceKey<Ping>(`svc-${i}`))
  const actEveryMs = init.actEveryMs ?? 150
  const initial = init.initialWorkers ?? 2
  const problems: string[] = []
  /** Every address ever offered for registration, with the node it lives on. */
  const offered = new Set<string>()
  const stats = { registered: 0, stopped: 0, deregistered: 0, listings: 0 }
  let names = 0

  function spawnWorker(world: World<ReceptionistApp>, app: ReceptionistApp): void {
    const key = keys[world.workload.int(0, keys.length - 1)]!
    const ref = app.node.system.spawn(worker, { name: `w${++names}` })
    const address = formatAddress(ref.address)
    offered.add(address)
    const entry: Worker = { ref, key, registered: false }
    app.workers.set(address, entry)
    app.node.receptionist.register(key, ref).then(
      () => {
        if (app.workers.get(address) === entry) {
          entry.registered = true
          stats.registered++
        }
      },
      () => app.workers.delete(address),
    )
  }

  function act(world: World<ReceptionistApp>, node: SimNode<ReceptionistApp>): void {
    const app = node.app
    if (app === undefined || node.owner.status !== 'up') return
    const registered = [...app.workers].filter(([, w]) => w.registered)
    const roll = world.workload.next()
    if (roll < 0.5 || registered.length === 0) {
      spawnWorker(world, app)
      return
    }
    const [address, chosen] = registered[world.workload.int(0, registered.length - 1)]!
    app.workers.delete(address)
    if (roll < 0.8) {
      stats.stopped++
      void app.node.system.stop(chosen.ref).catch(() => undefined)
    } else {
      stats.deregistered++
      app.node.receptionist.deregister(chosen.key, chosen.ref).then(
        () => undefined,
        () => undefined,
      )
    }
  }

  /** What every live node should list under `key`: the registered workers of the live nodes. */
  function expected(world: World<ReceptionistApp>, key: string): string[] {
    const out: string[] = []
    for (const node of world.nodes) {
      if (node.app === undefined || node.owner.status !== 'up') continue
      for (const [address, w] of node.app.workers) if (w.registered && w.key.id === key) out.push(address)
    }
    return out.sort()
  }

  return {
    name: 'receptionist',
    boot(ctx, world) {
      const node = assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: ctx.id === FOUNDER, jobs: [] })
      const app: ReceptionistApp = { node, workers: new Map(), seen: new Map() }
      for (const key of keys) {
        node.receptionist.subscribe(key, (listing) => {
          stats.listings++
          const addresses = listing.refs.map((r) => formatAddress(r.address))
          for (const a of addresses) if (!offered.has(a)) problems.push(`${ctx.id} lists ${a} under ${key.id}, which no node registered`)
          app.seen.set(key.id, addresses)
        })
      }
      for (let i = 0; i < initial; i++) spawnWorker(world, app)
      return app
    },
    workload(world, endMs) {
      const tick = (): void => {
        if (world.nowMs >= endMs) return
        world.at(world.nowMs + actEveryMs, tick)
        act(world, world.nodes[world.workload.int(0, world.nodes.length - 1)]!)
      }
      world.at(500, tick)
    },
    invariants: [{ name: 'listed-were-registered', check: () => (problems.length > 0 ? problems.slice(0, 3).join('; ') : undefined) }],
    liveness: {
      boundMs: 5000,
      check(world) {
        for (const node of world.nodes) {
          if (node.app === undefined || node.owner.status !== 'up') return `${node.id} is not up`
          for (const key of keys) {
            const want = expected(world, key.id).join(' ')
            const got = (node.app.seen.get(key.id) ?? []).join(' ')
            if (want !== got) return `${node.id} lists [${got}] under ${key.id}, expected [${want}]`
          }
        }
        return undefined
      },
    },
    final: [],
    summary: () => `registered=${stats.registered} stopped=${stats.stopped} deregistered=${stats.deregistered} listings=${stats.listings}`,
  }
}
