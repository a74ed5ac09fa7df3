/**
 * The cluster actor: drives the coordination state machine (src/cluster/core.ts) with the node's
 * clock, its network and its durable store. It gossips member records, persists election state
 * before any record that depends on it leaves the node, dials members it learns about, and tells
 * the rest of the node when it gains or loses leadership.
 *
 * With membership 'swim' (ClusterOptions.membership) it also runs a SWIM core (src/cluster/swim/)
 * on the direct protocol SWIM_PROTOCOL: it joins once it has a peer (a founder at once), exchanges
 * full state with every newly connected peer SWIM does not know, has SWIM probe at once a peer
 * whose connection closed (a crashed process closes its connections; the core then stops adding
 * the lag to its wait for that peer if it is the leader, ClusterCore.lost), ticks it with the
 * cluster's timer, gives it this node's load figures every probe period, and hands it to the cluster core as the
 * liveness source of workers. A voter's records then go point to point to the other voters on
 * CLUSTER_RECORD_PROTOCOL, where the core says so ("Election traffic" in src/cluster/core.ts).
 *
 * Its timer ticks the core every 50 ms, except where the core says nothing is due sooner (a lone
 * leader, a quiet worker: "Tick pace" in src/cluster/core.ts): then at the core's or SWIM's next
 * deadline, at least once a second, re-armed after every step that may bring it closer.
 *
 * After every step (a tick, a record, a SWIM message, a removal, a leave) it publishes the core's
 * snapshot to the ClusterHandle, through which the rest of the node reads coordination
 * (src/cluster/handle.ts, snapshot.ts); the handle passes the replicated log's inputs to the core.
 * The decisions live in src/cluster/: the core, the dial plan (dials.ts), the SWIM pump
 * (swim-pump.ts), the quiet watch and leave waits (upkeep.ts), the metrics (metrics.ts); this
 * driver carries out what they return.
 *
 * It is an ordinary actor built with the public actor API; the node assembly spawns it on every
 * node.
 */
import {
  ClusterCore,
  defineActor,
  DialPlan,
  LeaveWait,
  likelyLinked,
  linkedByAll,
  MESH_LAG_MAX_MS,
  meshDials,
  PRUNE_CHECK_MS,
  QuietWatch,
  RecordStats,
  registerClusterMetrics,
  SwimCore,
  SwimPump,
  SwimStats,
  TickPace,
  urgentDials,
} from '../src/internal.js'
import type {
  Ask,
  ClusterHandle,
  ClusterOptions,
  ClusterView,
  DeferredReply,
  DialInputs,
  DurableStore,
  MemberRecord,
  Network,
  NodeId,
  NodeMetrics,
  RecordInputs,
  RemoveReply,
  SwimConfig,
  SwimOut,
} from '../src/internal.js'
import { CLUSTER_RECORD_PROTOCOL, CLUSTER_TOPIC, decodeRecord, decodeState, encodeRecord, encodeState } from '../protocols/cluster/codec.js'
import { ProtocolError } from '../protocols/errors.js'
import { SWIM_PROTOCOL } from '../protocols/swim/codec.js'
import type { SwimMessage } from '../protocols/swim/types.js'

/** Where every node runs its cluster actor: a removal by hand is forwarded to the leader's. */
export const CLUSTER_PATH = '/system/cluster'

/** The durable-store key of the election state. */
export const CLUSTER_STATE_KEY = 'cluster/state'

/** Distinct foreign peers logged (each once); the metric counts them all. */
const FOREIGN_LOGGED_MAX = 1000

export type ClusterMsg =
  | { type: 'tick' }
  | { type: 'record'; record: MemberRecord }
  | { type: 'swim'; from: NodeId; message: SwimMessage }
  | { type: 'met'; peer: NodeId }
  | { type: 'lost'; peer: NodeId }
  /** Traffic for `node` found no connection (remoting): dial it now, ahead of the paced mesh. */
  | { type: 'want'; node: NodeId }
  | Ask<{ type: 'view' }, ClusterView>
  | Ask<{ type: 'leave' }, boolean>
  /** Removes a down member; a node that does not lead forwards it once (`forwarded`) to the leader it knows. */
  | Ask<{ type: 'remove'; node: NodeId; forwarded?: boolean }, RemoveReply>

/** How long a forwarded removal waits for the leader. */
const FORWARD_TIMEOUT_MS = 5000

/** The longest pause between ticks in a calm role ("Tick pace" in src/cluster/core.ts): dials and the quiet watch run on ticks. */
const CALM_TICK_MS = 1000

/** How long a member traffic asked for (`want`) stays among the urgent dials. */
const WANT_MS = 30_000

/** Members wanted at once, at most: each costs a dial and a connection. */
const WANTED_MAX = 256

/** No member in doubt (membership 'gossip', which has no SWIM). */
const NOBODY = { suspect: new Set<NodeId>(), dead: new Set<NodeId>() }

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
  /** Time between evaluations of timeouts and leases, where the core does not say it can wait ("Tick pace"). Default 50 ms. */
  tickMs?: number
  /** SWIM settings with membership 'swim' (the core's defaults otherwise). */
  swim?: Omit<SwimConfig, 'self' | 'random' | 'incarnation'>
  /**
   * Called every PRUNE_CHECK_MS: which nodes' links actor traffic used since the last call or needs
   * now (asks waiting, watches); those are not hung up (src/cluster/dials.ts, `prune`). Without it
   * no link is.
   */
  linksInUse?: () => (node: NodeId) => boolean
}

/** True for a voter or worker of the configuration this node holds. */
function admitted(handle: ClusterHandle, node: NodeId): boolean {
  const config = handle.config()
  return config !== null && config !== undefined && (config.members.includes(node) || config.workers.includes(node))
}

/** Decodes a gossiped record; undefined (and counted) if malformed or not about its sender. */
function intake(from: NodeId, payload: Uint8Array, stats: RecordStats): MemberRecord | undefined {
  let record: MemberRecord
  try {
    record = decodeRecord(payload)
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    stats.invalid++
    return undefined
  }
  if (record.node !== from) {
    stats.invalid++
    return undefined
  }
  stats.received++
  return record
}

export function clusterActor(init: ClusterActorInit) {
  return defineActor<ClusterMsg>({
    // The node sends these to itself: ticks from its timer, records from the gossip subscription
    // (which checks that a record comes from the node it describes), views and leave from its own
    // assembly. A removal by hand is forwarded to the leader by the member whose API was asked, so
    // it may come from an admitted member (voter or worker), and from nobody else.
    remote: {
      tick: 'never',
      record: 'never',
      swim: 'never',
      met: 'never',
      lost: 'never',
      want: 'never',
      view: 'never',
      leave: 'never',
      remove: (from) => admitted(init.handle, from),
    },
    async setup(ctx) {
      const { network, handle } = init
      const clock = ctx.env.clock
      const stored = await init.store.read(CLUSTER_STATE_KEY)
      const persisted = stored === undefined ? undefined : decodeState(stored)
      // The peers connected now, kept in step with the network (not through the mailbox): SWIM probes only these.
      const connected = new Set(network.peers())
      // SWIM starts at the record incarnation, so a restart outranks what others remember of the last run.
      const swim =
        init.options?.membership === 'swim'
          ? new SwimCore({
              ...init.swim,
              self: network.self,
              random: ctx.env.random.fork('swim'),
              incarnation: (persisted?.incarnation ?? 0) + 1,
              reachable: (id) => connected.has(id),
              relays: (target): ReadonlySet<NodeId> => likelyLinked(target, core.currentConfig, core.leader(clock.monotonicMs())?.nodeId, core.knownAddresses()),
              hub: (id): boolean => linkedByAll(id, core.currentConfig, core.leader(clock.monotonicMs())?.nodeId),
            })
          : undefined
      const core = new ClusterCore({
        self: network.self,
        addresses: network.addresses(),
        persisted,
        founder: init.founder,
        ...(init.options === undefined ? {} : { options: init.options }),
        random: ctx.env.random,
        nowMs: clock.monotonicMs(),
        ...(swim === undefined ? {} : { liveness: swim }),
      })
      const publish = (): void => handle.publish(core.snapshot(clock.monotonicMs()))
      handle.attach(
        {
          setLogPosition: (position) => core.setLogPosition(position),
          setCommitIndex: (index) => core.setCommitIndex(index),
          setLogMatches: (epoch, byNode) => core.setLogMatches(epoch, byNode),
          resign: (reason) => {
            core.resign(reason, clock.monotonicMs())
            return core.snapshot(clock.monotonicMs())
          },
        },
        clock,
        () => ctx.self.tell({ type: 'tick' }),
        () => core.snapshot(clock.monotonicMs()),
      )
      const records = new RecordStats()
      const swimStats = new SwimStats()
      registerClusterMetrics(ctx.env.metrics, { handle, records, swimStats, swim })
      const foreignSeen = new Set<string>()
      const dials = new DialPlan()
      /** Links this node hung up itself (`pruneLinks`), until it hears them closed. */
      const hungUp = new Set<NodeId>()
      let pruned = 0
      let pruneAtMs = clock.monotonicMs() + PRUNE_CHECK_MS
      ctx.env.metrics.counter('dx_cluster_links_pruned_total', 'Connections this node hung up because its dial plan no longer wanted them and nothing used them', [], (set) =>
        set(pruned),
      )
      /** Members traffic asked for (`want`), with when: dialled like the urgent ones for WANT_MS. */
      const wanted = new Map<NodeId, number>()
      const quiet = new QuietWatch()
      const leaving = new LeaveWait<DeferredReply<boolean>>()

      const take = (from: NodeId, payload: Uint8Array): void => {
        const record = intake(from, payload, records)
        if (record !== undefined) ctx.self.tell({ type: 'record', record })
      }
      network.subscribe(CLUSTER_TOPIC, take)
      network.handle(CLUSTER_RECORD_PROTOCOL, take)
      ctx.onStop(() => {
        network.unsubscribe(CLUSTER_TOPIC)
        network.unhandle(CLUSTER_RECORD_PROTOCOL)
      })

      // SWIM's messages come in through the mailbox like records, so SWIM and the cluster core run one step at a time.
      const pump = swim === undefined ? undefined : new SwimPump({ swim, founder: init.founder, loadEveryMs: init.swim?.probeIntervalMs ?? 500, stats: swimStats })
      if (pump !== undefined) {
        network.handle(SWIM_PROTOCOL, (from, payload) => {
          const message = pump.decode(payload)
          if (message !== undefined) ctx.self.tell({ type: 'swim', from, message })
        })
        ctx.onStop(() => network.unhandle(SWIM_PROTOCOL))
      }
      // New peers meet SWIM; closed connections speed up both SWIM's probe and the wait for a leader (lost).
      const offPeers = network.onPeerChange((peer, up) => {
        if (up) connected.add(peer)
        else connected.delete(peer)
        ctx.self.tell(up ? { type: 'met', peer } : { type: 'lost', peer })
      })
      ctx.onStop(offPeers)
      for (const peer of connected) core.met(peer)
      /** Sends what SWIM produced. */
      const sendSwim = (out: SwimOut): void => {
        for (const { type, error } of out.oversize) ctx.log.warn('a SWIM message exceeds its size limit', { type, error })
        for (const { to, payload } of out.send) if (!network.send(to, SWIM_PROTOCOL, payload)) pump!.refused()
        for (const e of out.departures) ctx.log.info(`SWIM: member ${e.type}`, { member: e.member, incarnation: e.incarnation })
      }

      const recordInputs = (): RecordInputs => ({ metrics: init.metrics(), addresses: network.addresses() })

      /**
       * Ends a step: publishes the snapshot (before anything else can run), persists, then gossips
       * whatever the step produced, and updates the leadership listeners.
       */
      const flush = async (): Promise<void> => {
        const ready = core.takeReady(clock.monotonicMs(), recordInputs)
        publish()
        if (ready.persist !== undefined) await init.store.write(CLUSTER_STATE_KEY, encodeState(ready.persist))
        if (ready.publish !== undefined) send(ready.publish, ready.to)
        handle.notify()
        logLeader()
      }

      /** Says in the log when the leader this node knows changes: operators read failovers there. */
      let knownLeader: { nodeId: NodeId; epoch: number } | null = null
      const logLeader = (): void => {
        const nowMs = clock.monotonicMs()
        const leader = core.leader(nowMs)
        if (leader?.nodeId === knownLeader?.nodeId && leader?.epoch === knownLeader?.epoch) return
        const was = knownLeader
        knownLeader = leader
        const lagMs = Math.round(core.lag(nowMs))
        if (was?.nodeId === network.self)
          ctx.log.info('stopped leading', { epoch: was.epoch, reason: core.stepDownReason, lagMs, ...(core.stepDownReason === 'no-quorum' ? { voters: core.lastEchoes } : {}) })
        if (leader === null) ctx.log.info('no live leader known', { lastEpoch: was?.epoch, lagMs })
        else if (leader.nodeId === network.self) ctx.log.info('leading', { epoch: leader.epoch, voters: core.currentConfig?.members.length, lagMs })
        else ctx.log.info('following a leader', { leader: leader.nodeId, epoch: leader.epoch })
      }

      /**
       * Sends a record where the core says: point to point to `to` (the voters' and the leader's
       * path), or to all. A target it cannot reach (no connection yet) would miss it, so the record
       * goes to all as well where the core says so (`recordFallsBack`). With no peer at all (a
       * founder alone) it is not even encoded.
       */
      const send = (record: MemberRecord, to: readonly NodeId[] | undefined): void => {
        if (to === undefined && network.peers().length === 0) {
          records.paths.nobody++
          return
        }
        const payload = encodeRecord(record)
        records.sent++
        if (to !== undefined) {
          const nowMs = clock.monotonicMs()
          const unreached = to.filter((id) => !network.send(id, CLUSTER_RECORD_PROTOCOL, payload))
          records.paths.direct++
          if (unreached.length === 0 || !core.recordFallsBack(unreached, nowMs)) return
          records.paths.fallback++
        } else records.paths.topic++
        network.publish(CLUSTER_TOPIC, payload)
      }

      /** What the dial plan decides on now. */
      const planInputs = (): DialInputs => {
        const nowMs = clock.monotonicMs()
        const known = core.knownAddresses()
        const doubted = swim?.doubted() ?? NOBODY
        const urgent = urgentDials({ self: network.self, config: core.currentConfig, leader: core.leader(nowMs)?.nodeId, leading: core.leaderEpoch !== null, known, doubted })
        for (const [node, atMs] of wanted) {
          if (connected.has(node) || nowMs - atMs > WANT_MS) wanted.delete(node)
          else urgent.add(node)
        }
        const meshAlso = meshDials({ self: network.self, config: core.currentConfig, leading: core.leaderEpoch !== null, doubted })
        const mesh = core.memberState(network.self, nowMs) === 'up' && core.lag(nowMs) <= MESH_LAG_MAX_MS
        return { nowMs, self: network.self, connected, urgent, mesh, known, meshAlso }
      }

      /** Connects to the members it needs, a few dials at a time (dials.ts): the leader, the voters (on a voter) and the joiners (on the leader) first, then its part of the mesh. */
      const dialMembers = (inputs = planInputs()): void => {
        for (const { node, address } of dials.due(inputs)) {
          network
            .dial(address)
            .then((id) => dials.opened(id))
            .catch((error: unknown) => {
              dials.failed(node)
              ctx.log.debug('dial failed', { node, error })
            })
            .finally(() => dials.ended(node))
        }
      }

      /** Every PRUNE_CHECK_MS, hangs up the links it dialled that its plan no longer wants and nothing uses (dials.ts, `prune`). */
      const pruneLinks = (inputs: DialInputs): void => {
        if (inputs.nowMs < pruneAtMs) return
        pruneAtMs = inputs.nowMs + PRUNE_CHECK_MS
        const inUse = init.linksInUse?.()
        if (inUse === undefined) return
        for (const node of dials.prune({ ...inputs, inUse })) {
          hungUp.add(node)
          pruned++
          ctx.log.debug('hanging up a link the mesh no longer needs', { node })
          network.hangUp(node).catch((error: unknown) => {
            hungUp.delete(node)
            ctx.log.debug('hang-up failed', { node, error })
          })
        }
      }

      /** Says once, in the log, when this node starts and stops hearing nothing from the others. */
      const watchQuiet = (): void => {
        const warning = core.quiet(clock.monotonicMs())
        const change = quiet.update(warning)
        if (change === 'warn') ctx.log.warn(warning!, { peers: network.peers().length })
        else if (change === 'clear') ctx.log.info('hearing other members again')
      }

      const settleLeave = (): void => {
        const nowMs = clock.monotonicMs()
        for (const reply of leaving.settle(core.departed(nowMs), nowMs)) reply.resolve(core.departed(nowMs))
      }

      const pace = new TickPace(init.tickMs ?? Math.min(50, core.options.gossipIntervalMs / 5), CALM_TICK_MS)
      /** Arms the tick for the earliest work due (the core's, SWIM's), after any step that may have brought it closer. */
      const rearm = (): void => {
        const nowMs = clock.monotonicMs()
        const calm = core.nextTickMs(nowMs)
        const swimAt = pump?.nextTickMs()
        const dueMs = calm === undefined || (pump !== undefined && swimAt === undefined) ? nowMs : Math.min(calm, swimAt ?? Infinity)
        const delayMs = pace.next(nowMs, dueMs)
        if (delayMs !== undefined) ctx.timers.once('tick', Math.ceil(delayMs), { type: 'tick' })
      }
      await flush()
      rearm()
      return {
        async tick() {
          pace.fired()
          try {
            if (pump !== undefined) sendSwim(pump.tick(clock.monotonicMs(), () => network.peers(), init.metrics))
            core.tick(clock.monotonicMs())
            await flush()
            const inputs = planInputs()
            dialMembers(inputs)
            pruneLinks(inputs)
            watchQuiet()
            settleLeave()
          } finally {
            rearm()
          }
        },
        async record(msg) {
          const foreignBefore = core.foreignRecords
          core.receive(msg.record, clock.monotonicMs())
          pump?.heard(msg.record.node, clock.monotonicMs())
          const key = `${msg.record.node}/${msg.record.clusterId}`
          if (core.foreignRecords > foreignBefore && !foreignSeen.has(key) && foreignSeen.size < FOREIGN_LOGGED_MAX) {
            foreignSeen.add(key)
            ctx.log.warn('ignoring a peer of another cluster: it was founded or admitted elsewhere (a wiped data dir, or a bootstrap address of the wrong cluster)', {
              peer: msg.record.node,
              theirCluster: msg.record.clusterId,
              ourCluster: core.clusterId,
            })
          }
          await flush()
          rearm()
        },
        swim(msg) {
          if (pump === undefined) return
          sendSwim(pump.receive(msg.from, msg.message, clock.monotonicMs()))
          publish()
          rearm()
        },
        met(msg) {
          hungUp.delete(msg.peer)
          core.met(msg.peer)
          if (pump === undefined) return
          sendSwim(pump.met(msg.peer))
          publish()
          rearm()
        },
        want(msg) {
          if (msg.node === network.self || connected.has(msg.node) || (!wanted.has(msg.node) && wanted.size >= WANTED_MAX)) return
          wanted.set(msg.node, clock.monotonicMs())
          dialMembers()
        },
        async lost(msg) {
          dials.closed(msg.peer)
          core.lost(msg.peer)
          // A link this node hung up is no sign of a crash: no probe out of turn.
          if (pump !== undefined && !hungUp.delete(msg.peer)) sendSwim(pump.lost(msg.peer, clock.monotonicMs()))
          await flush()
          rearm()
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
            rearm()
            return { ok: true }
          }
          const leader = core.leader(now)?.nodeId ?? null
          if (refusal !== 'not-leader') return { ok: false, reason: refusal, leader }
          if (msg.forwarded === true || leader === null || leader === network.self) return { ok: false, reason: 'no-leader', leader }
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
          const nowMs = clock.monotonicMs()
          leaving.add(reply, nowMs)
          core.leave()
          pump?.leave(nowMs)
          await flush()
          rearm()
          return reply
        },
      }
    },
  })
}
