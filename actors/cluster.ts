/**
 * The cluster actor: drives the coordination state machine (src/cluster/core.ts) with the node's
 * clock, its network and its durable store. It gossips member records, persists election state
 * before any record that depends on it leaves the node, dials members it learns about, and tells
 * the rest of the node when it gains or loses leadership.
 *
 * With membership 'swim' (ClusterOptions.membership) it also runs a SWIM core (src/cluster/swim/)
 * on the direct protocol SWIM_PROTOCOL: it joins once it has a peer (a founder at once), exchanges
 * full state with every newly connected peer SWIM does not know, ticks it with the cluster's timer,
 * gives it this node's load figures every probe period, and hands it to the cluster core as the
 * liveness source of workers.
 *
 * It is an ordinary actor built with the public actor API; the node assembly spawns it on every
 * node.
 */
import { defineActor } from '../src/actor/define.js'
import type { Ask, DeferredReply } from '../src/actor/types.js'
import { ClusterCore, type ClusterOptions, type RecordInputs } from '../src/cluster/core.js'
import type { ClusterHandle } from '../src/cluster/handle.js'
import type { ClusterView, MemberRecord, NodeMetrics, RemoveReply } from '../src/cluster/types.js'
import type { Network, NodeId } from '../src/net/types.js'
import type { DurableStore } from '../src/storage/types.js'
import { SwimCore, type SwimConfig } from '../src/cluster/swim/core.js'
import { loadValues } from '../src/cluster/swim/load.js'
import { CLUSTER_TOPIC, decodeRecord, decodeState, encodeRecord, encodeState } from '../protocols/cluster/codec.js'
import { ProtocolError } from '../protocols/errors.js'
import { SWIM_PROTOCOL, decodeSwim, encodeSwim } from '../protocols/swim/codec.js'
import type { SwimMessage } from '../protocols/swim/types.js'

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

/**
 * Dials this node keeps in flight. When a joiner learns the addresses of every member at once, or
 * all of them bootstrap together, unpaced dialing starts N² noise handshakes across the cluster at
 * the same moment: on one host that stalls every event loop for seconds, leases lapse and the
 * cluster never forms. Voters and the leader go first: elections and leases need them. Clusters of
 * up to 9 members dial exactly as before (everyone at once).
 */
const DIALS_IN_FLIGHT_MAX = 8

export type ClusterMsg =
  | { type: 'tick' }
  | { type: 'record'; record: MemberRecord }
  | { type: 'swim'; from: NodeId; message: SwimMessage }
  | { type: 'met'; peer: NodeId }
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
  /** SWIM settings with membership 'swim' (the core's defaults otherwise). */
  swim?: Omit<SwimConfig, 'self' | 'random' | 'incarnation'>
}

/** SWIM message types, so that the message counters report zeros too. */
const SWIM_TYPES = ['ping', 'ping-req', 'ack', 'nack', 'sync'] as const

/** SWIM membership events, counted by type. */
const SWIM_EVENTS = ['joined', 'alive', 'suspect', 'dead', 'left'] as const

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
    remote: { tick: 'never', record: 'never', swim: 'never', met: 'never', view: 'never', leave: 'never', remove: (from) => admitted(init.handle, from) },
    async setup(ctx) {
      const clock = ctx.env.clock
      const stored = await init.store.read(CLUSTER_STATE_KEY)
      const persisted = stored === undefined ? undefined : decodeState(stored)
      // SWIM starts at the record incarnation, so a restart outranks what others remember of the last run.
      const swim =
        init.options?.membership === 'swim'
          ? new SwimCore({ ...init.swim, self: init.network.self, random: ctx.env.random.fork('swim'), incarnation: (persisted?.incarnation ?? 0) + 1 })
          : undefined
      const core = new ClusterCore({
        self: init.network.self,
        addresses: init.network.addresses(),
        persisted,
        founder: init.founder,
        ...(init.options === undefined ? {} : { options: init.options }),
        random: ctx.env.random,
        nowMs: clock.monotonicMs(),
        ...(swim === undefined ? {} : { liveness: swim }),
      })
      init.handle.attach(core, clock, () => ctx.self.tell({ type: 'tick' }))
      let invalidRecords = 0
      let recordsSent = 0
      let recordsReceived = 0
      ctx.env.metrics.counter('dx_cluster_records_total', 'Member records this node published (sent) and took in from others (received)', ['direction'], (set) => {
        set(recordsSent, { direction: 'sent' })
        set(recordsReceived, { direction: 'received' })
      })
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
        recordsReceived++
        ctx.self.tell({ type: 'record', record })
      })
      ctx.onStop(() => init.network.unsubscribe(CLUSTER_TOPIC))
      // SWIM's metrics exist in every mode (zeros with 'gossip'), so dashboards and the catalogue see one set.
      const swimStats = {
        sent: new Map<string, number>(SWIM_TYPES.map((t) => [t, 0])),
        received: new Map<string, number>(SWIM_TYPES.map((t) => [t, 0])),
        events: new Map<string, number>(SWIM_EVENTS.map((t) => [t, 0])),
        bytes: { sent: 0, received: 0 },
        invalid: 0,
        refused: 0,
      }
      ctx.env.metrics.counter('dx_swim_messages_total', 'SWIM messages sent and received, by type (probes: ping; indirect probes: ping-req)', ['direction', 'type'], (set) => {
        for (const [type, n] of swimStats.sent) set(n, { direction: 'sent', type })
        for (const [type, n] of swimStats.received) set(n, { direction: 'received', type })
      })
      ctx.env.metrics.counter('dx_swim_bytes_total', 'Wire bytes of SWIM messages sent and received', ['direction'], (set) => {
        set(swimStats.bytes.sent, { direction: 'sent' })
        set(swimStats.bytes.received, { direction: 'received' })
      })
      ctx.env.metrics.counter('dx_swim_events_total', 'SWIM membership changes this node saw, by type (suspect: suspicions; alive: refutations heard)', ['type'], (set) => {
        for (const [type, n] of swimStats.events) set(n, { type })
      })
      ctx.env.metrics.counter('dx_swim_invalid_messages_total', 'SWIM messages that failed to decode', [], (set) => set(swimStats.invalid))
      ctx.env.metrics.counter('dx_swim_send_refused_total', 'SWIM messages the network refused (peer not connected, or its queue full): lost like a dropped datagram', [], (set) =>
        set(swimStats.refused),
      )
      ctx.env.metrics.gauge('dx_swim_members', 'Members SWIM knows, by status (all zero with membership gossip)', ['status'], (set) => {
        const counts = new Map<string, number>([
          ['alive', 0],
          ['suspect', 0],
          ['dead', 0],
          ['left', 0],
        ])
        for (const m of swim?.view() ?? []) counts.set(m.status, (counts.get(m.status) ?? 0) + 1)
        for (const [status, n] of counts) set(n, { status })
      })
      ctx.env.metrics.gauge('dx_swim_health', 'Lifeguard local health score of this node (0: healthy; it stretches the probe period)', [], (set) => set(swim?.healthScore ?? 0))
      const lastDial = new Map<NodeId, number>()
      const dialing = new Set<NodeId>()
      let quietWarned = false
      ctx.env.metrics.gauge('dx_cluster_quiet', '1 while this node hears no other member although it should (joining, or one of several members)', [], (set) =>
        set(core.quiet(clock.monotonicMs()) === undefined ? 0 : 1),
      )
      const leaving: Array<DeferredReply<boolean>> = []
      let leaveDeadline = Infinity

      /**
       * The SWIM side: its protocol handler, joining, peers met, load figures, metrics. Messages come
       * in through the mailbox like records, so SWIM and the cluster core run one step at a time.
       */
      function driveSwim(s: SwimCore) {
        const { sent, received, events, bytes } = swimStats
        let joined = false
        let loadAtMs = -Infinity
        const loadEveryMs = init.swim?.probeIntervalMs ?? 500
        init.network.handle(SWIM_PROTOCOL, (from, payload) => {
          let message: SwimMessage
          try {
            message = decodeSwim(payload)
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error
            swimStats.invalid++
            return
          }
          bytes.received += payload.length
          received.set(message.type, (received.get(message.type) ?? 0) + 1)
          ctx.self.tell({ type: 'swim', from, message })
        })
        const offPeers = init.network.onPeerChange((peer, connected) => {
          if (connected) ctx.self.tell({ type: 'met', peer })
        })
        /** Sends what SWIM produced and counts its events. */
        const flushSwim = (): void => {
          const ready = s.ready()
          for (const { to, message } of ready.messages) {
            let payload: Uint8Array
            try {
              payload = encodeSwim(message)
            } catch (error) {
              if (!(error instanceof ProtocolError)) throw error
              ctx.log.warn('a SWIM message exceeds its size limit', { type: message.type, error })
              continue
            }
            sent.set(message.type, (sent.get(message.type) ?? 0) + 1)
            bytes.sent += payload.length
            if (!init.network.send(to, SWIM_PROTOCOL, payload)) swimStats.refused++
          }
          for (const e of ready.events) {
            events.set(e.type, (events.get(e.type) ?? 0) + 1)
            if (e.type === 'dead' || e.type === 'left') ctx.log.info(`SWIM: member ${e.type}`, { member: e.member, incarnation: e.incarnation })
          }
        }
        return {
          tick(nowMs: number): void {
            if (!joined) {
              // A founder starts alone; any other node once it has a peer to exchange state with.
              const seeds = init.network.peers()
              if (!init.founder && seeds.length === 0) return
              s.join(seeds, nowMs)
              joined = true
            }
            if (nowMs - loadAtMs >= loadEveryMs) {
              loadAtMs = nowMs
              s.setLoad(loadValues(init.metrics()))
            }
            s.tick(nowMs)
            flushSwim()
          },
          receive(from: NodeId, message: SwimMessage, nowMs: number): void {
            if (!joined) return
            s.receive(from, message, nowMs)
            flushSwim()
          },
          /** A new connection: if SWIM does not know that peer, the two exchange full state. */
          met(peer: NodeId): void {
            if (!joined) return
            s.meet(peer)
            flushSwim()
          },
          leave(): void {
            if (joined) s.leave()
          },
          stop(): void {
            offPeers()
            init.network.unhandle(SWIM_PROTOCOL)
          },
        }
      }

      const swimDriver = swim === undefined ? undefined : driveSwim(swim)
      if (swimDriver !== undefined) ctx.onStop(swimDriver.stop)

      const recordInputs = (): RecordInputs => ({ metrics: init.metrics(), addresses: init.network.addresses() })

      /** Persists, then publishes, whatever the last step produced; then updates listeners. */
      const flush = async (): Promise<void> => {
        const ready = core.takeReady(clock.monotonicMs(), recordInputs)
        if (ready.persist !== undefined) await init.store.write(CLUSTER_STATE_KEY, encodeState(ready.persist))
        if (ready.publish !== undefined) {
          init.network.publish(CLUSTER_TOPIC, encodeRecord(ready.publish))
          recordsSent++
        }
        init.handle.notify()
      }

      /** Connects to every member heard of, a few dials at a time, voters and the leader first. */
      const dialMembers = (): void => {
        const connected = new Set(init.network.peers())
        const now = clock.monotonicMs()
        const voters = new Set(core.currentConfig?.members ?? [])
        const leader = core.leader(now)?.nodeId
        const known = core.knownAddresses()
        const due: Array<{ node: NodeId; address: string; urgent: boolean }> = []
        for (const { node, addresses } of known) {
          if (connected.has(node) || dialing.has(node) || addresses.length === 0 || now - (lastDial.get(node) ?? -Infinity) < REDIAL_MS) continue
          due.push({ node, address: addresses[0]!, urgent: voters.has(node) || node === leader })
        }
        if (lastDial.size > known.length) {
          const ids = new Set(known.map((k) => k.node))
          for (const node of lastDial.keys()) if (!ids.has(node)) lastDial.delete(node)
        }
        due.sort((a, b) => Number(b.urgent) - Number(a.urgent))
        for (const { node, address } of due) {
          if (dialing.size >= DIALS_IN_FLIGHT_MAX) break
          dialing.add(node)
          lastDial.set(node, now)
          init.network
            .dial(address)
            .catch((error: unknown) => ctx.log.debug('dial failed', { node, error }))
            .finally(() => dialing.delete(node))
        }
      }

      /** Says once, in the log, when this node starts and stops hearing nothing from the others. */
      const watchQuiet = (): void => {
        const warning = core.quiet(clock.monotonicMs())
        if ((warning !== undefined) === quietWarned) return
        quietWarned = warning !== undefined
        if (warning !== undefined) ctx.log.warn(warning, { peers: init.network.peers().length })
        else ctx.log.info('hearing other members again')
      }

      const settleLeave = (): void => {
        if (leaving.length === 0 || (!core.departed(clock.monotonicMs()) && clock.monotonicMs() < leaveDeadline)) return
        for (const reply of leaving.splice(0)) reply.resolve(core.departed(clock.monotonicMs()))
      }

      ctx.timers.every('tick', init.tickMs ?? Math.min(50, core.options.gossipIntervalMs / 5), { type: 'tick' })
      await flush()
      return {
        async tick() {
          swimDriver?.tick(clock.monotonicMs())
          core.tick(clock.monotonicMs())
          await flush()
          dialMembers()
          watchQuiet()
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
        swim(msg) {
          swimDriver?.receive(msg.from, msg.message, clock.monotonicMs())
        },
        met(msg) {
          swimDriver?.met(msg.peer)
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
          swimDriver?.leave()
          await flush()
          return reply
        },
      }
    },
  })
}
