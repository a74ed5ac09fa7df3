/**
 * The cluster actor: drives the coordination state machine (src/cluster/core.ts) with the node's
 * clock, its network and its durable store. It gossips member records, persists election state
 * before any record that depends on it leaves the node, dials members it learns about, and tells
 * the rest of the node when it gains or loses leadership.
 *
 * It is an ordinary actor built with the public actor API; the node assembly spawns it on every
 * node.
 */
import { defineActor } from '../src/actor/define.js'
import type { Ask, DeferredReply } from '../src/actor/types.js'
import { ClusterCore, type ClusterOptions } from '../src/cluster/core.js'
import type { ClusterHandle } from '../src/cluster/handle.js'
import type { ClusterView, MemberRecord, NodeMetrics, RemoveReply } from '../src/cluster/types.js'
import type { Network, NodeId } from '../src/net/types.js'
import type { DurableStore } from '../src/storage/types.js'
import { CLUSTER_TOPIC, decodeRecord, decodeState, encodeRecord, encodeState } from '../protocols/cluster/codec.js'
import { ProtocolError } from '../protocols/errors.js'

/** Where every node runs its cluster actor: a removal by hand is forwarded to the leader's. */
export const CLUSTER_PATH = '/system/cluster'

/** The durable-store key of the election state. */
export const CLUSTER_STATE_KEY = 'cluster/state'

/** Member states, so that the members gauge reports zeros too. */
const MEMBER_STATES = ['joining', 'up', 'suspect', 'down', 'leaving'] as const

/** How long a graceful leave waits to be removed from the configuration. */
const LEAVE_TIMEOUT_MS = 5000

/** Distinct foreign peers logged (each once); the metric counts them all. */
const FOREIGN_LOGGED_MAX = 1000

/** Minimum time between dials of the same member. */
const REDIAL_MS = 5000

export type ClusterMsg =
  | { type: 'tick' }
  | { type: 'record'; record: MemberRecord }
  | Ask<{ type: 'view' }, ClusterView>
  | Ask<{ type: 'leave' }, boolean>
  /** Removes a down member; a node that does not lead forwards it once (`forwarded`) to the leader it knows. */
  | Ask<{ type: 'remove'; node: NodeId; forwarded?: boolean }, RemoveReply>

/** How long a forwarded removal waits for the leader. */
const FORWARD_TIMEOUT_MS = 5000

/** Options of the cluster actor. */
export interface ClusterActorInit {
  network: Network
  store: DurableStore
  /** True when started without bootstrap peers: this node may found a new cluster. */
  founder: boolean
  handle: ClusterHandle
  /** Current load figures to gossip. */
  metrics: () => NodeMetrics
  options?: Partial<ClusterOptions>
  /** Time between evaluations of timeouts and leases. Default 50 ms. */
  tickMs?: number
}

/** True for a voter or worker of the configuration this node holds. */
function admitted(handle: ClusterHandle, node: NodeId): boolean {
  const config = handle.view()?.config
  return config !== null && config !== undefined && (config.members.includes(node) || config.workers.includes(node))
}

export function clusterActor(init: ClusterActorInit) {
  return defineActor<ClusterMsg>({
    // The node sends these to itself: ticks from its timer, records from the gossip subscription
    // (which checks that a record comes from the node it describes), views and leave from its own
    // assembly. A removal by hand is forwarded to the leader by the member whose API was asked, so
    // it may come from an admitted member (voter or worker), and from nobody else.
    remote: { tick: 'never', record: 'never', view: 'never', leave: 'never', remove: (from) => admitted(init.handle, from) },
    async setup(ctx) {
      const clock = ctx.env.clock
      const stored = await init.store.read(CLUSTER_STATE_KEY)
      const core = new ClusterCore({
        self: init.network.self,
        addresses: init.network.addresses(),
        persisted: stored === undefined ? undefined : decodeState(stored),
        founder: init.founder,
        ...(init.options === undefined ? {} : { options: init.options }),
        random: ctx.env.random,
        nowMs: clock.monotonicMs(),
      })
      init.handle.attach(core, clock, () => ctx.self.tell({ type: 'tick' }))
      let invalidRecords = 0
      ctx.env.metrics.counter('dx_cluster_invalid_records_total', 'Gossiped member records that failed to decode or were spoofed', [], (set) => set(invalidRecords))
      ctx.env.metrics.counter('dx_cluster_foreign_records_total', 'Member records ignored because they belong to another cluster', [], (set) => set(core.foreignRecords))
      const foreignSeen = new Set<string>()
      ctx.env.metrics.gauge('dx_cluster_members', 'Members this node knows, by state', ['state'], (set) => {
        const counts = new Map<string, number>(MEMBER_STATES.map((state) => [state, 0]))
        for (const m of core.view(clock.monotonicMs()).members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1)
        for (const [state, n] of counts) set(n, { state })
      })
      ctx.env.metrics.gauge('dx_cluster_leader_epoch', 'Epoch of the leader this node knows (0: none)', [], (set) => set(core.view(clock.monotonicMs()).leader?.epoch ?? 0))
      ctx.env.metrics.gauge('dx_cluster_leading', '1 while this node leads with a valid lease', [], (set) => set(core.view(clock.monotonicMs()).leading ? 1 : 0))
      init.network.subscribe(CLUSTER_TOPIC, (from, payload) => {
        let record: MemberRecord
        try {
          record = decodeRecord(payload)
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error
          invalidRecords++
          return
        }
        if (record.node !== from) {
          invalidRecords++
          return
        }
        ctx.self.tell({ type: 'record', record })
      })
      ctx.onStop(() => init.network.unsubscribe(CLUSTER_TOPIC))
      const lastDial = new Map<NodeId, number>()
      const leaving: Array<DeferredReply<boolean>> = []
      let leaveDeadline = Infinity

      /** Persists, then publishes, whatever the last step produced; then updates listeners. */
      const flush = async (): Promise<void> => {
        const ready = core.takeReady(clock.monotonicMs())
        if (ready.persist !== undefined) await init.store.write(CLUSTER_STATE_KEY, encodeState(ready.persist))
        if (ready.publish) {
          core.setMetrics(init.metrics())
          core.setAddresses(init.network.addresses())
          init.network.publish(CLUSTER_TOPIC, encodeRecord(core.record(clock.monotonicMs())))
        }
        init.handle.notify()
      }

      const dialMembers = (): void => {
        const connected = new Set(init.network.peers())
        const now = clock.monotonicMs()
        for (const { node, addresses } of core.knownAddresses()) {
          if (connected.has(node) || addresses.length === 0 || now - (lastDial.get(node) ?? -Infinity) < REDIAL_MS) continue
          lastDial.set(node, now)
          init.network.dial(addresses[0]!).catch((error: unknown) => ctx.log.debug('dial failed', { node, error }))
        }
      }

      const settleLeave = (): void => {
        if (leaving.length === 0 || (!core.departed(clock.monotonicMs()) && clock.monotonicMs() < leaveDeadline)) return
        for (const reply of leaving.splice(0)) reply.resolve(core.departed(clock.monotonicMs()))
      }

      ctx.timers.every('tick', init.tickMs ?? Math.min(50, core.options.gossipIntervalMs / 5), { type: 'tick' })
      await flush()
      return {
        async tick() {
          core.tick(clock.monotonicMs())
          await flush()
          dialMembers()
          settleLeave()
        },
        async record(msg) {
          const foreignBefore = core.foreignRecords
          core.receive(msg.record, clock.monotonicMs())
          if (core.foreignRecords > foreignBefore && !foreignSeen.has(`${msg.record.node}/${msg.record.clusterId}`) && foreignSeen.size < FOREIGN_LOGGED_MAX) {
            foreignSeen.add(`${msg.record.node}/${msg.record.clusterId}`)
            ctx.log.warn('ignoring a peer of another cluster: it was founded or admitted elsewhere (a wiped data dir, or a bootstrap address of the wrong cluster)', {
              peer: msg.record.node,
              theirCluster: msg.record.clusterId,
              ourCluster: core.clusterId,
            })
          }
          await flush()
        },
        view: () => core.view(clock.monotonicMs()),
        async remove(msg, c) {
          // It may come from another node: check the shape before use.
          if (typeof msg.node !== 'string' || msg.node.length === 0 || msg.node.length > 128) return { ok: false, reason: 'not-member', leader: null }
          const now = clock.monotonicMs()
          const refusal = core.removeMember(msg.node, now)
          if (refusal === undefined) {
            ctx.log.info('removed a down member by hand', { node: msg.node })
            await flush()
            return { ok: true }
          }
          const leader = core.view(now).leader?.nodeId ?? null
          if (refusal !== 'not-leader') return { ok: false, reason: refusal, leader }
          if (msg.forwarded === true || leader === null || leader === init.network.self) return { ok: false, reason: 'no-leader', leader }
          // Answered later: gossip and leases must not wait for the leader's answer.
          const reply = c.defer()
          ctx
            .ref<ClusterMsg>({ node: leader, path: CLUSTER_PATH })
            .ask({ type: 'remove', node: msg.node, forwarded: true }, { timeoutMs: FORWARD_TIMEOUT_MS })
            .then(reply.resolve, (error: unknown) => {
              ctx.log.warn('the leader did not answer a removal', { leader, error })
              reply.resolve({ ok: false, reason: 'no-leader', leader })
            })
          return reply
        },
        async leave(_msg, c) {
          const reply = c.defer()
          leaving.push(reply)
          leaveDeadline = Math.min(leaveDeadline, clock.monotonicMs() + LEAVE_TIMEOUT_MS)
          core.leave()
          await flush()
          return reply
        },
      }
    },
  })
}
