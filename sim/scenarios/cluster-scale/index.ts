/**
 * The `cluster-scale` scenario: the real cluster actor on hundreds to thousands of simulated nodes.
 * Most nodes boot as members of a formed cluster (their disks hold the configuration: n0..n4 the
 * voters, the rest workers, as after a restart of the whole cluster), `joiners` nodes join it from
 * scratch, and the workload crashes one worker and then the leader. It measures what the issue asks
 * for against N: time until every live node sees the crashed worker as not up (SWIM detection and
 * dissemination), failover (until every live node follows one new leader), false suspicions,
 * cluster bytes per node per second, and the messages the leader takes in.
 *
 * Invariants (cheap, so that the scenario stays fast at 1,000 nodes): at no instant do two nodes
 * hold a valid lease (checked every 100 ms of simulated time); every joiner is admitted, and every
 * node converges on the crashed worker and the new leader within `boundMs` of each event.
 */
import { ClusterHandle, CLUSTER_STATE_KEY, clusterActor } from '../../../actors/cluster.js'
import { createActorSystem } from '../../../src/actor/system.js'
import type { ClusterOptions } from '../../../src/cluster/core.js'
import { emptyMetrics } from '../../../src/cluster/types.js'
import type { Network } from '../../../src/net/types.js'
import { encodeState } from '../../../protocols/cluster/codec.js'
import type { Scenario } from '../../run.js'
import type { World } from '../../world.js'

export interface ClusterScaleInit {
  nodes: number
  /** Nodes that start without state and join. */
  joiners?: number
  options?: Partial<ClusterOptions>
  /** When the worker is crashed, and the leader after it. */
  crashWorkerAtMs?: number
  crashLeaderAtMs?: number
  /** Each event must converge within this. */
  boundMs?: number
}

/** What the scenario measured. */
export interface ClusterScaleReport {
  nodes: number
  formedAtMs: number | null
  /** From the worker's crash until every live node sees it as not up. */
  detectionMs: number | null
  /** From the leader's crash until every live node follows one new leader. */
  failoverMs: number | null
  /** Suspicions (SWIM) that arose while nothing failed: summed over nodes, over the steady window before the first crash. */
  falseSuspicions: number
  /** Bytes sent plus received by cluster traffic, per node per second, over the steady window before the crash. */
  bytesPerNodeS: number
  /** Messages the leader took in per second over the same window. */
  leaderMsgsPerS: number
}

const VOTERS = 5

/** Counts cluster traffic of one node: bytes in and out, messages in. */
class Meter {
  bytes = 0
  messagesIn = 0
  wrap(network: Network): Network {
    const meter = this
    return {
      self: network.self,
      handle: (protocol, handler) => network.handle(protocol, (from, payload) => {
        meter.bytes += payload.length
        meter.messagesIn++
        handler(from, payload)
      }),
      unhandle: (protocol) => network.unhandle(protocol),
      send: (to, protocol, payload) => {
        meter.bytes += payload.length
        return network.send(to, protocol, payload)
      },
      publish: (topic, payload) => {
        meter.bytes += payload.length
        network.publish(topic, payload)
      },
      subscribe: (topic, handler) => network.subscribe(topic, (from, payload) => {
        meter.bytes += payload.length
        meter.messagesIn++
        handler(from, payload)
      }),
      unsubscribe: (topic) => network.unsubscribe(topic),
      peers: () => network.peers(),
      onPeerChange: (listener) => network.onPeerChange(listener),
      dial: (address, options) => network.dial(address, options),
      addresses: () => network.addresses(),
    }
  }
}

export function clusterScaleScenario(init: ClusterScaleInit, report: (r: ClusterScaleReport) => void = () => {}): Scenario<ClusterHandle> {
  const n = init.nodes
  const joiners = init.joiners ?? Math.min(5, Math.floor(n / 10))
  const crashWorkerAt = init.crashWorkerAtMs ?? 20_000
  const crashLeaderAt = init.crashLeaderAtMs ?? 35_000
  const boundMs = init.boundMs ?? 10_000
  const ids = Array.from({ length: n }, (_, i) => `n${i}`)
  const formed = ids.slice(0, n - joiners)
  const seeded = encodeState({ incarnation: 1, epoch: 1, vote: null, config: { epoch: 1, counter: 1, members: formed.slice(0, VOTERS), workers: formed.slice(VOTERS) }, clusterId: 'scale' })
  const meters = ids.map(() => new Meter())
  const result: ClusterScaleReport = { nodes: n, formedAtMs: null, detectionMs: null, failoverMs: null, falseSuspicions: 0, bytesPerNodeS: 0, leaderMsgsPerS: 0 }
  const victim = ids[Math.floor(n / 2)]!
  let leaderVictim: string | undefined

  return {
    name: 'cluster-scale',
    boot(ctx) {
      const system = createActorSystem({ env: ctx.env, nodeId: ctx.id })
      const handle = new ClusterHandle()
      const preformed = ctx.index < n - joiners
      const store = { read: async (key: string) => (await ctx.store.read(key)) ?? (preformed && key === CLUSTER_STATE_KEY ? seeded : undefined), write: ctx.store.write.bind(ctx.store) }
      system.spawnSystem(clusterActor({ network: meters[ctx.index]!.wrap(ctx.network), store, founder: false, handle, metrics: emptyMetrics, ...(init.options === undefined ? {} : { options: init.options }) }), { name: 'cluster' })
      return handle
    },
    workload(world: World<ClusterHandle>) {
      const live = () => world.nodes.filter((node) => node.owner.status === 'up' && node.app !== undefined)
      const leases = (): void => {
        const holders = live().filter((node) => node.app!.leaderEpoch() !== undefined)
        if (holders.length > 1) world.violate('lease-exclusive', `${holders.map((h) => h.id).join(' and ')} hold a lease at once`)
        world.at(world.nowMs + 100, leases)
      }
      world.at(100, leases)
      // Formed: one leader known to all, every node admitted and up in the leader's view.
      const formation = (): void => {
        const nodes = live()
        const leader = nodes[0]!.app!.leaderId()
        const lead = leader === undefined ? undefined : world.node(leader).app
        if (leader !== undefined && lead !== undefined && nodes.every((node) => node.app!.leaderId() === leader) && ids.every((id) => lead.memberState(id) === 'up')) {
          result.formedAtMs = world.nowMs
          return
        }
        if (world.nowMs < crashWorkerAt) world.at(world.nowMs + 250, formation)
        else world.violate('liveness', `not formed by ${crashWorkerAt} ms`)
      }
      world.at(250, formation)
      // Steady window: traffic between formation and the first crash.
      const windowStart = crashWorkerAt - 5000
      let bytes0 = 0
      let leaderIn0 = 0
      let leaderAt = 0
      let suspicions0 = 0
      const suspicions = (): number => world.nodes.reduce((a, node) => a + (node.app?.swimStats()?.counters.suspicions ?? 0), 0)
      world.at(windowStart, () => {
        suspicions0 = suspicions()
        bytes0 = meters.reduce((a, m) => a + m.bytes, 0)
        leaderAt = ids.indexOf(world.nodes[0]!.app?.leaderId() ?? 'n0')
        leaderIn0 = meters[leaderAt]!.messagesIn
      })
      world.at(crashWorkerAt, () => {
        const seconds = (crashWorkerAt - windowStart) / 1000
        result.bytesPerNodeS = Math.round((meters.reduce((a, m) => a + m.bytes, 0) - bytes0) / n / seconds)
        result.leaderMsgsPerS = Math.round((meters[leaderAt]!.messagesIn - leaderIn0) / seconds)
        result.falseSuspicions = suspicions() - suspicions0
        world.crash(world.node(victim))
        const detect = (): void => {
          if (live().every((node) => node.app!.memberState(victim) !== 'up')) {
            result.detectionMs = world.nowMs - crashWorkerAt
            return
          }
          if (world.nowMs - crashWorkerAt < boundMs) world.at(world.nowMs + 50, detect)
          else world.violate('detection', `${victim} still seen up by some ${boundMs} ms after its crash`)
        }
        world.at(crashWorkerAt + 50, detect)
      })
      world.at(crashLeaderAt, () => {
        leaderVictim = live()[0]!.app!.leaderId()
        if (leaderVictim === undefined) {
          world.violate('liveness', 'no leader to crash')
          return
        }
        world.crash(world.node(leaderVictim))
        const failover = (): void => {
          const nodes = live()
          const leader = nodes[0]!.app!.leaderId()
          if (leader !== undefined && leader !== leaderVictim && nodes.every((node) => node.app!.leaderId() === leader) && world.node(leader).app!.leaderEpoch() !== undefined) {
            result.failoverMs = world.nowMs - crashLeaderAt
            return
          }
          if (world.nowMs - crashLeaderAt < boundMs) world.at(world.nowMs + 50, failover)
          else world.violate('failover', `no new leader followed by all ${boundMs} ms after the leader's crash`)
        }
        world.at(crashLeaderAt + 50, failover)
      })
    },
    invariants: [],
    final: [
      {
        name: 'report',
        check() {
          report(result)
          return undefined
        },
      },
    ],
    summary: () => JSON.stringify(result),
  }
}
