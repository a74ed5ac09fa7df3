/**
 * A sans-I/O SWIM membership core with the Lifeguard refinements (Das et al. 2002, "SWIM: Scalable
 * Weakly-consistent Infection-style process group Membership"; Dadgar et al. 2018, "Lifeguard").
 * It never reads a clock, draws randomness or touches a socket: the caller passes `nowMs` to `tick`,
 * `receive` and `join`, injects the random source, and after each call collects `ready()` — the
 * messages to send and the membership events — like a raft Ready. `nextDeadlineMs()` says when to
 * tick next.
 *
 * Protocol. Every protocol period (chosen from the cluster size, below) a node probes one member, walking a list
 * shuffled with the injected random source (round-robin, so every member is probed within 2 walks
 * of the list; new members are inserted at a random place). No ack within probeTimeoutMs: it asks
 * k other members (ping-req) to probe the target for it; no ack, direct or forwarded, by the end of
 * the period: it suspects the target. A suspect becomes dead when its suspicion times out; a member
 * that hears itself suspected or declared dead refutes by raising its incarnation and announcing
 * itself alive, which overrides any older state. Updates (join, alive, suspect, dead, left) are
 * queued and piggybacked on pings and acks, each sent retransmitMult * log10(N+1) times at most, fewest
 * sends first; load figures of members ride the same way, a few per message (maxLoadsPerMessage). A
 * joiner exchanges full state (sync) with its seeds, and once more with a random member when the
 * joins concurrent with its own have spread (it was unknown, so nobody told it); dead members are pinged now and then
 * (reconnectIntervalMs) so that the two sides of a healed partition find each other again, through a
 * relay when there is no link (the relay answers news older than its own with its own: `staleNews`).
 * And every antiEntropyMs each node sends one member a digest of the members it holds alive; a
 * member whose view differs answers with its alive members (`pull`), which repairs what bounded
 * gossip missed: a join, a refutation. It carries no suspicion and no death.
 *
 * Convergence. An update reaches every member in O(log N) periods with high probability: each
 * node that has it passes it on about twice a period (on its own ping and on the ack of the ping it
 * receives), so the informed set grows geometrically until it saturates, the epidemic bound of the
 * SWIM paper; with λ·log N sends per node the chance that a member misses it falls as N^-(λ-c). A
 * crash is first detected after about one period (each of N-1 members probes it with chance ~1/N a
 * period, so someone does with chance 1-1/e per period), plus the suspicion timeout, plus
 * dissemination of the dead update: convergence ≈ T·(4 + α·max(1, log10 N) + log3 N) for a period T
 * (`swimPeriodMs` details each term), plus the ack wait of nodes that timed slow round trips within
 * the last seconds (`ackWaitMs`: 0 where acks come in milliseconds, at most maxAckWaitMs). Unless
 * fixed (probeIntervalMs), T is the longest period for which that bound at the current N stays
 * under convergenceTargetMs (10 s), capped at 1 s: 880 ms at 16 members, 700 ms at 50, 450 ms at
 * 1,000. A small cluster sends fewer probes than the bound
 * needs of a large one; the cost per node stays O(1) in N (the period shortens as log N grows,
 * from 1 s to 400 ms at most). A crashed process (kill -9, not a silent host) also closes its
 * connections, and every member that loses its channel to it says so (`lost`): that member is
 * probed out of turn, through the k helpers at once (the direct path has just closed), so each of
 * its peers suspects it within one period by itself, and the suspicions they spread confirm one
 * another (Lifeguard), taking the timeout to its minimum; that probe waits lostProbeMs (500 ms) for
 * the helpers whatever the period, so a longer period does not slow a failover. A closed channel suspects no one by
 * itself: a live member answers the helpers, as after any missed ack. A silent host closes nothing
 * and is found by the walk as before. Every update travels with its age (each node adds the time
 * it held it, in its own clock), so each node knows how long after a change was made it took it
 * in (`SwimEvent.ageMs`, dx_swim_convergence_seconds): the largest such age across the nodes is the
 * dissemination part of the bound, measured (simulated at 50-1,000 nodes: 80-99% of the true spread;
 * transit is not counted).
 *
 * Cost. Per node and period: at most one ping and one ack sent and, on average, one of each
 * received, the voters and the leader included ("Hubs");
 * ping-reqs only on a missed ack (k more, plus their forwarded pings and acks). Every probe-path
 * message carries at most maxPiggybackBytes of updates and maxLoadsPerMessage loads, so messages
 * and bytes per node per second are O(1) in N (the retransmission count grows as log N, so the time
 * an update stays in the queue does, not the size of a message). Only a join costs O(N) bytes, once,
 * and an anti-entropy answer, sent only while two views differ; its digest is a few dozen bytes. A
 * refutation also costs one small message per member the node reaches, at most once a period.
 *
 * Reachability. Messages travel over connections the node dials (src/cluster/dials.ts), and while
 * a cluster forms most members are not connected to most others yet: a ping that cannot leave would
 * count as a failed probe, and every node would suspect most others. So the walk skips members not
 * `reachable` now (they come round in a later walk), and ping-req helpers (those likely linked to
 * the target first, `relays`: the mesh stays partial, src/cluster/dials.ts), a joiner's second
 * sync partner and the dead members pinged for reconnection are chosen among reachable members (an
 * unreachable dead member is pinged through a reachable relay instead); a
 * connection that opens to a member held dead exchanges full state (`meet`), so it refutes then. A
 * member is probed only by the members linked to it (its mesh neighbours, the voters and the
 * leader), each of which walks its own few links: per period it is probed with about the chance a
 * full mesh gives, so the detection bound above holds (1,000 simulated nodes: a crash seen by all
 * in 7.6 s); a crash still closes every connection to the dead member at once (`lost`).
 *
 * Hubs. The voters and the leader are linked to every member (`hub`), so every walk holds them:
 * probed by all n-1 members once per walk of their L links, a hub took n/L times a member's
 * share (50 real peers: a voter 5.4 pings a second, a worker 1), and O(N) in all (1,000 nodes:
 * about 75 a period). So a walk's turn of a hub probes it only with chance L/(n-1), and a turn that
 * does not leaves its period unprobed (unless membership news is waiting to spread): a hub is
 * probed about once a period, as any member of a full mesh is, the other members as often as
 * before, and a worker of an idle cluster sends fewer pings. A node that reaches hubs alone (a
 * joiner linked to its bootstrap peer) probes them every period still: the acks are how it hears.
 * A hub's silent failure is found within the detection bound like any member's; a killed one
 * closes its connections (`lost`).
 *
 * Why false suspicions stay rare. An unanswered direct ping alone suspects no one: k independent
 * paths must fail too (a single bad link is routed around), and a node with no other path to ask
 * (linked to the target alone, as a joiner is to its bootstrap peer) leaves the judgement to members
 * linked to more. A member heard from on another authenticated path (the cluster's records) within
 * two periods is slow, not dead (`heard`), and a member that refutes tells every member it reaches
 * at once. A suspicion lasts long, from
 * suspicionMaxMult times the minimum timeout, and shrinks to the minimum only as independent members
 * report the same suspicion (Lifeguard's dynamic suspicion: a real crash gets confirmed fast, a
 * single node's wrong opinion does not). A probe waits for acks as much longer as this node's
 * recent probes took to be answered, late or not (`ackWaitMs`, an adaptive timeout): a host that
 * answers slowly now is not taken for a dead one. The suspected member is told (the probe carries the
 * suspicion, Lifeguard's "buddy system") and refutes in one round trip. And a node that is itself
 * slow — it misses acks while its ping-req helpers answer with nacks, or it has to refute — raises
 * its local health multiplier, which stretches its own probe interval and timeout, so an overloaded
 * node stops accusing healthy ones (Lifeguard's LHM). A node whose own event loop was held up (a
 * tick more than half a probe timeout late) does not judge a probe, or nack a relayed one, at that
 * tick: the acks may be waiting to be read behind it. It judges a probe timeout later, once, and
 * its health score rises, as for a missed nack.
 */
import type { SwimAliveState, SwimLoad, SwimMemberState, SwimMessage, SwimUpdate } from '../../../protocols/swim/types.js'
import { SWIM_PIGGYBACK_MAX } from '../../../protocols/swim/codec.js'
import { hash32 } from '../../env/prng.js'
import type { Random } from '../../env/types.js'
import { TransmitQueue } from './queue.js'

export interface SwimConfig {
  /** This node's id. */
  readonly self: string
  /** The random source for the probe order and the choice of helpers (the simulator seeds it). */
  readonly random: Pick<Random, 'next'>
  /** Starting incarnation; a restart that remembers nothing starts at 0 and refutes its way up. */
  readonly incarnation?: number
  /** Length of a protocol period, fixed. Default: chosen from the cluster size (`swimPeriodMs`). */
  readonly probeIntervalMs?: number
  /** With the period chosen from the cluster size: the crash convergence it is chosen to stay under. Default 10,000. */
  readonly convergenceTargetMs?: number
  /** With the period chosen from the cluster size: its longest. Default 1,000. */
  readonly maxProbeIntervalMs?: number
  /** How long a probe of a member whose channel closed (`lost`) waits for the helpers, whatever the period. Default 500. */
  readonly lostProbeMs?: number
  /** Wait for a direct ack before indirect probes. Default 200. */
  readonly probeTimeoutMs?: number
  /** The most a probe's waits grow by the round trips this node measured (`ackWaitMs`). Default 5,000. */
  readonly maxAckWaitMs?: number
  /** Members asked to probe indirectly (k). Default 3. */
  readonly indirectProbes?: number
  /** λ: each update is sent ceil(λ·log10(N+1)) times. Default 6: a member misses an update with chance about e^-(λ·log10 N). */
  readonly retransmitMult?: number
  /** Minimum suspicion timeout = suspicionMult · max(1, log10 N) · probeIntervalMs. Default 4. */
  readonly suspicionMult?: number
  /** Maximum suspicion timeout = suspicionMaxMult · minimum. Default 6. */
  readonly suspicionMaxMult?: number
  /** Highest local health multiplier score (Lifeguard LHM). Default 8. */
  readonly healthMax?: number
  /** Estimated bytes of updates per probe-path message; it bounds how fast a burst of joins drains. Default 1,200 (one datagram). */
  readonly maxPiggybackBytes?: number
  /** Load entries per probe-path message (bounded fanout). Default 4. */
  readonly maxLoadsPerMessage?: number
  /** How long a dead or left member is remembered (and pinged for reconnection). Default 60 s. */
  readonly deadRetentionMs?: number
  /** How often a node with dead members pings one of them. Default 2 s. */
  readonly reconnectIntervalMs?: number
  /** How often a joiner that heard from no seed asks again. Default 1 s. */
  readonly joinRetryMs?: number
  /** How often a node compares its alive members with one other member's (anti-entropy); 0: never. Default 15 s. */
  readonly antiEntropyMs?: number
  /**
   * Whether a message to a member can leave now (its connection is open). Absent: every member.
   * Probes and ping-req helpers are chosen among these ("Reachability" in the module doc).
   */
  readonly reachable?: (id: string) => boolean
  /**
   * Members likely linked to `target`, drawn first as its ping-req helpers: over a partial mesh
   * (src/cluster/dials.ts) a helper without a link to the target cannot forward the ping, and a
   * single lost ping would then suspect a live member. Absent: every helper is as good.
   */
  readonly relays?: (target: string) => ReadonlySet<string>
  /**
   * Whether every member links to `id` (the voters and the leader, src/cluster/dials.ts): a walk
   * that reaches one probes it only with the chance that keeps it probed about once a period
   * ("Hubs" in the module doc). Absent: no member is.
   */
  readonly hub?: (id: string) => boolean
}

export type SwimStatus = 'alive' | 'suspect' | 'dead' | 'left'

/** A membership change as this node sees it. */
export interface SwimEvent {
  readonly type: 'joined' | 'alive' | 'suspect' | 'dead' | 'left'
  readonly member: string
  readonly incarnation: number
  /**
   * How long after it was made this node took the change in (0: made here), when gossip brought it
   * (`SwimUpdate.ageMs`); absent when a full-state exchange, a member's own message or the
   * configuration did, which carry no age.
   */
  readonly ageMs?: number
}

export interface SwimOutgoing {
  readonly to: string
  readonly message: SwimMessage
}

/** What to do after a call: send `messages`, apply `events`. */
export interface SwimReady {
  readonly messages: SwimOutgoing[]
  readonly events: SwimEvent[]
}

interface Suspicion {
  readonly startMs: number
  readonly minMs: number
  readonly maxMs: number
  /** Confirmations expected before the timeout reaches its minimum. */
  readonly expected: number
  /** Whose suspicion started it: its retransmissions confirm nothing. */
  readonly accuser: string
  /** Other members that suspected the same incarnation independently. */
  readonly confirmers: Set<string>
  deadlineMs: number
}

interface Member {
  readonly id: string
  incarnation: number
  status: SwimStatus
  sinceMs: number
  /** When its current state was made where it was made, in this node's clock: now minus the age the news came with. */
  bornMs: number
  suspicion: Suspicion | null
  /** When this node last heard the member on another authenticated path (`heard`). */
  heardMs: number
}

interface Probe {
  readonly target: string
  readonly seq: number
  readonly startMs: number
  /** Out of turn, because the target's channel closed (`lost`). */
  readonly lost: boolean
  readonly timeoutAtMs: number
  endAtMs: number
  indirect: boolean
  helpers: number
  nacks: number
  /** The probe's end was already put off once because this node ran late. */
  late: boolean
}

interface Relay {
  readonly origin: string
  readonly originSeq: number
  nackAtMs: number
  /** The nack was already put off once because this node ran late. */
  late: boolean
}

const LIVE = (s: SwimStatus): boolean => s === 'alive' || s === 'suspect'

/** A member newly known alive, not yet heard on another path. */
const aliveMember = (id: string, incarnation: number, nowMs: number, bornMs = nowMs): Member => ({
  id,
  incarnation,
  status: 'alive',
  sinceMs: nowMs,
  bornMs,
  suspicion: null,
  heardMs: -Infinity,
})

/** A queued update and when it was made, in this node's clock: each send gives it its age then (`SwimUpdate.ageMs`). */
interface News {
  readonly update: SwimUpdate
  readonly bornMs: number
}

/** Moves the items that pass `first` to the front (in place, keeping no order); returns how many passed. */
function partition<T>(items: T[], first: (item: T) => boolean): number {
  let n = 0
  for (let i = 0; i < items.length; i++) {
    if (!first(items[i]!)) continue
    ;[items[n], items[i]] = [items[i]!, items[n]!]
    n++
  }
  return n
}

export class SwimCore {
  readonly self: string
  private readonly random: Pick<Random, 'next'>
  private readonly reachable: (id: string) => boolean
  private readonly relaysOf: ((target: string) => ReadonlySet<string>) | undefined
  private readonly hub: ((id: string) => boolean) | undefined
  private readonly fixedIntervalMs: number | undefined
  private readonly targetMs: number
  private readonly maxIntervalMs: number
  private readonly lostProbeMs: number
  private readonly timeoutMs: number
  private readonly maxAckWaitMs: number
  private readonly k: number
  private readonly lambda: number
  private readonly suspicionMult: number
  private readonly suspicionMaxMult: number
  private readonly healthMax: number
  private readonly piggybackBytes: number
  private readonly loadsPerMessage: number
  private readonly retentionMs: number
  private readonly reconnectMs: number
  private readonly joinRetryMs: number
  private readonly antiEntropyMs: number

  private readonly members = new Map<string, Member>()
  private liveCount = 1
  private readonly suspects = new Set<string>()
  /** Dead and left members, until forgotten. */
  private readonly gone = new Set<string>()
  /** Dead members asked about through a relay (`reconnect`), with how often: RELAY_ASKS_MAX each. */
  private readonly asked = new Map<string, number>()
  private order: string[] = []
  private orderIndex = 0
  private seq = 0
  private probe: Probe | null = null
  /** This node's recent probes by seq (the last PROBES_TIMED), their target and start: an ack after its probe ended still times its round trip. */
  private readonly probeStarts = new Map<number, { readonly target: string; readonly startMs: number }>()
  /** The longest recent probe round trip and when it was timed, forgotten at RTT_DECAY (`ackWaitMs`). */
  private rttMs = 0
  private rttAtMs = -Infinity
  /** Members whose channel closed (`lost`), probed before the walk goes on. */
  private readonly urgent = new Set<string>()
  private readonly relays = new Map<number, Relay>()
  private readonly updates = new TransmitQueue<News>()
  private readonly loadQueue = new TransmitQueue<SwimLoad>()
  private readonly loadTable = new Map<string, SwimLoad>()
  /** Counts changes to any other member's presence, status or load: `changes`. */
  private changed = 0
  private health = 0
  private nextProbeAtMs = 0
  private nextReconnectAtMs = 0
  private joining: { seeds: string[]; nextAtMs: number } | null = null
  /** When a joiner syncs once more, with a random member, to learn the members that joined while it did. */
  private resyncAtMs: number | null = null
  /** When the next anti-entropy digest is due (`pull`), and how many went before (which partner is next). */
  private pullAtMs: number | null = null
  private pulls = 0
  /** When a refutation last went to every reachable member (`applySelf`). */
  private refutedAtMs = -Infinity
  private leaving = false
  private messages: SwimOutgoing[] = []
  private events: SwimEvent[] = []

  constructor(config: SwimConfig) {
    this.self = config.self
    this.random = config.random
    this.reachable = config.reachable ?? (() => true)
    this.relaysOf = config.relays
    this.hub = config.hub
    this.fixedIntervalMs = config.probeIntervalMs
    this.targetMs = config.convergenceTargetMs ?? 10_000
    this.maxIntervalMs = config.maxProbeIntervalMs ?? 1_000
    this.lostProbeMs = config.lostProbeMs ?? 500
    this.timeoutMs = config.probeTimeoutMs ?? 200
    this.maxAckWaitMs = config.maxAckWaitMs ?? 5_000
    this.k = config.indirectProbes ?? 3
    this.lambda = config.retransmitMult ?? 6
    this.suspicionMult = config.suspicionMult ?? 4
    this.suspicionMaxMult = config.suspicionMaxMult ?? 6
    this.healthMax = config.healthMax ?? 8
    this.piggybackBytes = config.maxPiggybackBytes ?? 1_200
    this.loadsPerMessage = config.maxLoadsPerMessage ?? 4
    this.retentionMs = config.deadRetentionMs ?? 60_000
    this.reconnectMs = config.reconnectIntervalMs ?? 2_000
    this.joinRetryMs = config.joinRetryMs ?? 1_000
    this.antiEntropyMs = config.antiEntropyMs ?? 15_000
    this.members.set(this.self, aliveMember(this.self, config.incarnation ?? 0, 0))
  }

  /** This node's incarnation. */
  get incarnation(): number {
    return this.members.get(this.self)!.incarnation
  }

  /** Lifeguard local health score, 0 (healthy) to healthMax; periods and timeouts are stretched by (1 + score). */
  get healthScore(): number {
    return this.health
  }

  /** The protocol period at the current cluster size (before the health multiplier stretches it). */
  get periodMs(): number {
    return (
      this.fixedIntervalMs ?? swimPeriodMs(this.liveCount, { targetMs: this.targetMs, maxMs: this.maxIntervalMs, minMs: 2 * this.timeoutMs, suspicionMult: this.suspicionMult })
    )
  }

  /** Members alive or suspect, this node included. */
  get size(): number {
    return this.liveCount
  }

  /** The state of one member, or undefined when unknown or forgotten. */
  member(id: string): SwimMemberState | undefined {
    const m = this.members.get(id)
    return m === undefined ? undefined : { member: m.id, incarnation: m.incarnation, status: m.status }
  }

  /** Every remembered member, this node included. */
  view(): SwimMemberState[] {
    return [...this.members.values()].map((m) => ({ member: m.id, incarnation: m.incarnation, status: m.status }))
  }

  /** Members held suspect, and members held dead (not left): the driver dials the dead it has no link to, to hear them refute (src/cluster/dials.ts). */
  doubted(): { suspect: Set<string>; dead: Set<string> } {
    const dead = new Set<string>()
    for (const id of this.gone) if (this.members.get(id)!.status === 'dead') dead.add(id)
    return { suspect: new Set(this.suspects), dead }
  }

  /** Membership updates waiting to be piggybacked: 0 once every change this node knows has been passed on its λ·log N times. */
  get queuedUpdates(): number {
    return this.updates.size
  }

  /**
   * A count that moves whenever another member is added, forgotten, changes status or brings news
   * of its load: a reader that derives state from `member` and `load` (the cluster core's
   * liveness map) derives it again only when this moved, not after every message.
   */
  get changes(): number {
    return this.changed
  }

  /** The latest load figures heard of `id`. */
  load(id: string): SwimLoad | undefined {
    return this.loadTable.get(id)
  }

  /** Sets this node's load figures; a change is piggybacked to others (a delta: unchanged figures cost nothing). */
  setLoad(values: readonly number[]): void {
    const old = this.loadTable.get(this.self)
    if (old !== undefined && old.values.length === values.length && old.values.every((v, i) => v === values[i])) return
    const load: SwimLoad = { member: this.self, version: (old?.version ?? 0) + 1, values: [...values] }
    this.loadTable.set(this.self, load)
    this.loadQueue.put(this.self, load, loadBytes(load))
  }

  /** Joins through `seeds`: a full-state exchange with each, retried until one answers. */
  join(seeds: readonly string[], nowMs: number): void {
    const others = seeds.filter((s) => s !== this.self)
    this.enqueue({ kind: 'join', member: this.self, incarnation: this.incarnation }, nowMs)
    this.nextProbeAtMs = nowMs + this.periodMs
    // The first digest at a point of the interval set by this node's id: nodes started together spread out.
    if (this.antiEntropyMs > 0) this.pullAtMs = nowMs + (hash32(this.self) % this.antiEntropyMs)
    if (others.length === 0) return
    this.joining = { seeds: others, nextAtMs: nowMs + this.joinRetryMs }
    for (const seed of others) this.send(seed, this.syncMessage(false))
  }

  /**
   * Exchanges full state (push-pull) with `id`, a node the caller found by other means (a new
   * connection) and this core does not know, or holds suspect or dead: two groups that formed apart,
   * or a member that restarted as a founder, merge at once instead of waiting for a reconnection
   * ping; a member held dead while no connection reached it (a mesh still being dialled) hears so
   * and refutes in the reply. No-op for a member held alive.
   */
  meet(id: string): void {
    const status = this.members.get(id)?.status
    if (id === this.self || status === 'alive' || status === 'left' || this.leaving) return
    this.send(id, this.syncMessage(false))
  }

  /**
   * The transport lost its channel to `id` (the connection closed): evidence that it may have
   * crashed, not proof. A live member is probed at once if no probe is under way, else next,
   * through the k helpers without waiting for the direct ack, so a crash is suspected within one
   * period instead of whenever the walk reaches it. One probe at a time as always, so a burst of
   * closed channels (this node's own network failing) costs no more messages than the walk, and
   * Lifeguard's health score still stretches the periods of a node whose probes keep failing.
   */
  lost(id: string, nowMs: number): void {
    const m = this.members.get(id)
    if (id === this.self || m?.status !== 'alive' || this.leaving || this.probe?.target === id) return
    this.urgent.add(id)
    if (this.probe === null) this.startProbe(nowMs)
  }

  /**
   * `id` was heard on another path whose sender is authenticated (a cluster record): evidence that
   * it runs. A probe of it that goes unanswered suspects it only if it was not heard since two
   * periods before the probe began. On one host that 50 peers saturate while they form, the
   * leader and the voters, which work most, answered probes late: a few of their probers suspected
   * them, the suspicion reached most members before the member could refute it, and formation
   * waited for every member to see every other up again. Every prober of the leader hears its
   * records at least once a second (later when it lags), so its own probes no longer accuse it.
   * The cost: a member that stops answering probes and keeps sending records (a one-way
   * partition) is not suspected by those that hear it, and a silent crash of a member that sent
   * records is suspected up to two periods later. A probe of a member whose channel closed
   * (`lost`) ignores this and judges as before, so a killed process is suspected as fast.
   */
  heard(id: string, nowMs: number): void {
    const m = this.members.get(id)
    if (m !== undefined && id !== this.self) m.heardMs = nowMs
  }

  /**
   * Adds `id` as alive at incarnation 0 (below any it announces) unless this core knows it: the
   * cluster's configuration has just admitted it. Not gossiped, as every member learns the
   * configuration itself. When many join at once, join updates crowded out of full piggybacks leave
   * members unknown to some nodes until the joiner's walk reaches them (N periods); this closes that
   * gap. The member is probed within one walk, which corrects its incarnation or finds it dead.
   */
  admit(id: string, nowMs: number): void {
    if (id === this.self || this.members.has(id) || this.leaving) return
    this.members.set(id, aliveMember(id, 0, nowMs))
    this.changed++
    this.liveCount++
    this.addToOrder(id)
    this.emit('joined', id, 0, undefined)
  }

  /** Announces a graceful departure; keep ticking a few periods so that it spreads. */
  leave(nowMs: number): void {
    const me = this.members.get(this.self)!
    this.leaving = true
    me.status = 'left'
    this.enqueue({ kind: 'left', member: this.self, incarnation: me.incarnation }, nowMs)
  }

  /** Takes the messages and events produced since the last call. */
  ready(): SwimReady {
    const out = { messages: this.messages, events: this.events }
    this.messages = []
    this.events = []
    return out
  }

  /** When `tick` has work next. */
  nextDeadlineMs(): number {
    let at = this.probeDueMs()
    for (const r of this.relays.values()) at = Math.min(at, r.nackAtMs)
    for (const id of this.suspects) at = Math.min(at, this.members.get(id)!.suspicion!.deadlineMs)
    for (const id of this.gone) at = Math.min(at, this.members.get(id)!.sinceMs + this.retentionMs)
    if (this.gone.size > 0) at = Math.min(at, this.nextReconnectAtMs)
    if (this.joining !== null) at = Math.min(at, this.joining.nextAtMs)
    if (this.resyncAtMs !== null) at = Math.min(at, this.resyncAtMs)
    return at
  }

  /**
   * The probe's next phase, or when the next probe starts. A probe that waits for acks past its
   * period (`ackWaitMs`) holds the next one back, so its own deadline comes first.
   */
  private probeDueMs(): number {
    const p = this.probe
    if (p !== null) return p.indirect ? p.endAtMs : p.timeoutAtMs
    return this.urgent.size > 0 ? -Infinity : this.nextProbeAtMs
  }

  /** Advances timers: probe phases, relay nacks, suspicion timeouts, reconnection, join retries. */
  tick(nowMs: number): void {
    const p = this.probe
    if (p !== null && !p.indirect && nowMs >= p.timeoutAtMs) this.probeIndirectly(p, nowMs)
    if (p !== null && nowMs >= p.endAtMs) {
      if (!p.late && this.ranLate(p.endAtMs, nowMs)) {
        p.late = true
        p.endAtMs = nowMs + this.timeoutMs
      } else this.probeFailed(p, nowMs)
    }
    if (this.probe === null && (nowMs >= this.nextProbeAtMs || this.urgent.size > 0)) this.startProbe(nowMs)
    for (const [seq, r] of this.relays) {
      if (nowMs < r.nackAtMs) continue
      if (!r.late && this.ranLate(r.nackAtMs, nowMs)) {
        r.late = true
        r.nackAtMs = nowMs + this.timeoutMs
        continue
      }
      this.relays.delete(seq)
      this.send(r.origin, { type: 'nack', seq: r.originSeq })
    }
    for (const id of this.suspects) {
      const m = this.members.get(id)!
      if (nowMs >= m.suspicion!.deadlineMs) this.apply({ kind: 'dead', member: id, incarnation: m.incarnation, from: this.self, ageMs: 0 }, nowMs, this.self)
    }
    for (const id of this.gone) {
      const m = this.members.get(id)!
      if (nowMs < m.sinceMs + this.retentionMs) continue
      this.gone.delete(id)
      this.asked.delete(id)
      this.members.delete(id)
      this.changed++
      this.loadTable.delete(id)
      this.loadQueue.delete(id)
    }
    if (nowMs >= this.nextReconnectAtMs) {
      this.nextReconnectAtMs = nowMs + this.reconnectMs
      this.reconnect(nowMs)
    }
    if (this.joining !== null && nowMs >= this.joining.nextAtMs) {
      this.joining.nextAtMs = nowMs + this.joinRetryMs
      for (const seed of this.joining.seeds) this.send(seed, this.syncMessage(false))
    }
    if (this.resyncAtMs !== null && nowMs >= this.resyncAtMs) {
      this.resyncAtMs = null
      const peers = [...this.members.values()].filter((m) => m.status === 'alive' && m.id !== this.self && this.reachable(m.id))
      if (peers.length > 0) this.send(this.pick(peers).id, this.syncMessage(false))
    }
    if (this.pullAtMs !== null && nowMs >= this.pullAtMs && !this.leaving) {
      this.pullAtMs = nowMs + this.antiEntropyMs
      this.pull()
    }
  }

  /** Handles one decoded message from `from`. */
  receive(from: string, message: SwimMessage, nowMs: number): void {
    if (from === this.self) return
    switch (message.type) {
      case 'ping':
        if (message.target !== this.self) return
        this.absorb(from, message.updates, message.loads, nowMs, message.incarnation)
        this.send(from, { type: 'ack', seq: message.seq, incarnation: this.incarnation, ...this.piggyback(from, null, nowMs) })
        return
      case 'ping-req': {
        this.absorb(from, message.updates, message.loads, nowMs, message.incarnation)
        if (message.target === this.self) return
        const seq = ++this.seq
        this.relays.set(seq, { origin: from, originSeq: message.seq, nackAtMs: nowMs + Math.floor(this.timeoutMs * 0.8), late: false })
        this.send(message.target, { type: 'ping', seq, incarnation: this.incarnation, target: message.target, ...this.piggyback(message.target, message.target, nowMs) })
        return
      }
      case 'ack': {
        this.absorb(from, message.updates, message.loads, nowMs, message.incarnation)
        this.timeRoundTrip(from, message.seq, nowMs)
        if (this.probe !== null && message.seq === this.probe.seq) {
          this.probe = null
          this.health = Math.max(0, this.health - 1)
          return
        }
        const relay = this.relays.get(message.seq)
        if (relay === undefined) return
        this.relays.delete(message.seq)
        this.send(relay.origin, { type: 'ack', seq: relay.originSeq, incarnation: this.incarnation, ...this.piggyback(relay.origin, null, nowMs) })
        return
      }
      case 'nack':
        if (this.probe !== null && message.seq === this.probe.seq) this.probe.nacks++
        return
      case 'sync':
        for (const s of message.members) {
          const kind = s.status === 'alive' ? 'alive' : s.status === 'left' ? 'left' : 'suspect'
          // A remote "dead" is only a suspicion here: this node times it out itself (or the member refutes).
          // Of a sync only the joiner itself is news worth gossiping; the rest is old news to everyone but this node.
          this.apply(
            kind === 'suspect' ? { kind, member: s.member, incarnation: s.incarnation, from } : { kind, member: s.member, incarnation: s.incarnation },
            nowMs,
            from,
            !message.reply && s.member === from,
          )
        }
        this.absorbLoads(message.loads)
        if (!message.reply) this.send(from, this.syncMessage(true))
        else if (this.joining !== null) {
          // Joins concurrent with this one were gossiped while nobody knew this node yet: ask again once they have spread.
          this.joining = null
          this.resyncAtMs = nowMs + this.retransmitLimit() * this.periodMs
        }
        return
      case 'digest': {
        this.apply({ kind: 'alive', member: from, incarnation: message.incarnation }, nowMs, from)
        const mine = this.aliveDigest()
        if (mine.digest !== message.digest || mine.count !== message.count) this.send(from, { type: 'live', incarnation: this.incarnation, members: this.aliveMembers() })
        return
      }
      case 'live':
        this.apply({ kind: 'alive', member: from, incarnation: message.incarnation }, nowMs, from)
        for (const s of message.members) this.apply({ kind: 'alive', member: s.member, incarnation: s.incarnation }, nowMs, from)
        return
    }
  }

  /**
   * Anti-entropy, every antiEntropyMs (at the first tick after it falls due: probes tick every
   * period): sends one reachable member a digest of the members this node holds alive; one that
   * holds others, or other incarnations, answers with its alive members, and each is applied as an
   * `alive` update. So a member this node missed (its join crowded out of full piggybacks) is
   * added, and a refutation it missed (gossiped a bounded number of times) overrides the suspicion
   * or death it holds, at a higher incarnation only, as any refutation does. It carries no
   * suspicion and no death: a full-state exchange that did (tried 2026-11-30) spread a saturated
   * host's false suspicions after a failover faster than members refuted them. Cost per node: one
   * digest sent and one received per interval, a few dozen bytes when views agree; O(N) bytes when
   * they differ. The partner is drawn by hashing (not the random source), one after another.
   */
  private pull(): void {
    const peers: string[] = []
    for (const m of this.members.values()) if (m.status === 'alive' && m.id !== this.self && this.reachable(m.id)) peers.push(m.id)
    if (peers.length === 0) return
    peers.sort()
    const partner = peers[hash32(`${this.self}/${this.pulls++}`) % peers.length]!
    this.send(partner, { type: 'digest', incarnation: this.incarnation, ...this.aliveDigest() })
  }

  /** The members held alive, this node included. */
  private aliveMembers(): SwimAliveState[] {
    const alive: SwimAliveState[] = []
    for (const m of this.members.values()) if (m.status === 'alive') alive.push({ member: m.id, incarnation: m.incarnation })
    return alive
  }

  /** An order-free digest of the members held alive with their incarnations (a sum of hashes), and their count. */
  private aliveDigest(): { digest: number; count: number } {
    let digest = 0
    let count = 0
    for (const m of this.members.values()) {
      if (m.status !== 'alive') continue
      digest = (digest + hash32(`${m.id}/${m.incarnation}`)) >>> 0
      count++
    }
    return { digest, count }
  }

  /** Probes the next member: a lost one out of turn (the walk's schedule unchanged), else the walk's next when its period has come. */
  private startProbe(nowMs: number): void {
    const scale = 1 + this.health
    const lost = this.nextLost()
    if (lost === undefined && nowMs < this.nextProbeAtMs) return
    const periodMs = this.periodMs
    if (lost === undefined) this.nextProbeAtMs = nowMs + periodMs * scale
    const target = lost ?? this.nextWalkTarget()
    if (target === undefined) return
    const seq = ++this.seq
    this.probeStarts.set(seq, { target, startMs: nowMs })
    if (this.probeStarts.size > PROBES_TIMED) this.probeStarts.delete(this.probeStarts.keys().next().value!)
    const windowMs = lost === undefined ? periodMs : Math.min(periodMs, this.lostProbeMs)
    const waitMs = lost === undefined ? this.ackWaitMs(nowMs) : 0
    this.probe = {
      target,
      seq,
      startMs: nowMs,
      lost: lost !== undefined,
      timeoutAtMs: nowMs + this.timeoutMs * scale + waitMs,
      endAtMs: nowMs + windowMs * scale + waitMs,
      indirect: false,
      helpers: 0,
      nacks: 0,
      late: false,
    }
    this.send(target, { type: 'ping', seq, incarnation: this.incarnation, target, ...this.piggyback(target, target, nowMs) })
    // A lost member's channel has closed (the ping goes anyway, should it have reopened): ask the helpers at once.
    if (lost !== undefined) this.probeIndirectly(this.probe, nowMs)
  }

  /**
   * Whether this tick, due at `dueMs`, comes more than half a probe timeout late: this node's own
   * event loop was held up (a starved process), and the acks that would have answered in time may be
   * waiting to be read behind this very tick (a late timer fires before the pending input is read).
   * The caller then judges once more after a probe timeout instead of now, and the local health
   * score rises (Lifeguard: a slow node stretches its own periods and timeouts).
   */
  private ranLate(dueMs: number, nowMs: number): boolean {
    if (nowMs - dueMs <= this.timeoutMs / 2) return false
    this.health = Math.min(this.healthMax, this.health + 1)
    return true
  }

  /**
   * How much longer than its fixed timeouts a probe waits for acks now: the longest round trip of a
   * direct ack to this node's recent probes, late or not, forgotten at RTT_DECAY, at most
   * maxAckWaitMs (an adaptive timeout, as TCP's retransmission timeout follows measured round
   * trips). On a host that 50 forming peers saturate, every failed probe in one formation was
   * answered 0.9-3.9 s after it began: the target was slow, not dead, and the windows of 200 and
   * 700 ms made a suspicion of each. A node's own round trips measure how slow the members it
   * probes answer now; Lifeguard's health score stretches the windows only for a node that is slow
   * itself. Probes of a member
   * whose channel closed (`lost`) keep their fixed window, so a killed process is suspected as fast.
   */
  private ackWaitMs(nowMs: number): number {
    return Math.max(0, this.rttMs - (nowMs - this.rttAtMs) * RTT_DECAY)
  }

  /** Times the round trip of a direct ack only: one forwarded by a helper also took the probe timeout and two more hops. */
  private timeRoundTrip(from: string, seq: number, nowMs: number): void {
    const probe = this.probeStarts.get(seq)
    if (probe === undefined || probe.target !== from) return
    this.probeStarts.delete(seq)
    const rttMs = Math.min(this.maxAckWaitMs, nowMs - probe.startMs)
    if (rttMs > this.ackWaitMs(nowMs)) [this.rttMs, this.rttAtMs] = [rttMs, nowMs]
  }

  /** The first member still alive whose channel closed, taken off the list. */
  private nextLost(): string | undefined {
    for (const id of this.urgent) {
      this.urgent.delete(id)
      if (this.members.get(id)?.status === 'alive') return id
    }
    return undefined
  }

  private probeIndirectly(p: Probe, nowMs: number): void {
    p.indirect = true
    const candidates: string[] = []
    for (const m of this.members.values()) if (m.status === 'alive' && m.id !== this.self && m.id !== p.target && this.reachable(m.id)) candidates.push(m.id)
    // Members likely linked to the target first (`relays`), each group in random order.
    const relays = this.relaysOf?.(p.target)
    const preferred = relays === undefined ? candidates.length : partition(candidates, (id) => relays.has(id))
    for (let i = 0; i < Math.min(this.k, candidates.length); i++) {
      const end = i < preferred ? preferred : candidates.length
      const j = i + Math.floor(this.random.next() * (end - i))
      ;[candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!]
      this.send(candidates[i]!, { type: 'ping-req', seq: p.seq, incarnation: this.incarnation, target: p.target, ...this.piggyback(candidates[i]!, p.target, nowMs) })
      p.helpers++
    }
  }

  private probeFailed(p: Probe, nowMs: number): void {
    this.probe = null
    // Lifeguard: helpers that answered with a nack prove this node's links work; missing nacks point at this node.
    if (p.helpers === 0 || p.nacks < p.helpers) this.health = Math.min(this.healthMax, this.health + 1)
    const m = this.members.get(p.target)
    if (m === undefined || !LIVE(m.status)) return
    if (!p.lost && (this.unconfirmed(p) || m.heardMs >= p.startMs - 2 * this.periodMs)) return
    this.apply({ kind: 'suspect', member: m.id, incarnation: m.incarnation, from: this.self, ageMs: 0 }, nowMs, this.self)
  }

  /**
   * Whether a probe's failure is one path's word alone: no helper could be asked (none connected
   * but the target) while other members live. SWIM suspects on a missed direct ack only when k
   * other paths fail too; a joiner linked to its bootstrap peer alone suspected it on its first
   * probe whenever that peer answered late, and at 50 peers forming on one host the founder, which
   * admits them all, answered 1-4 s late: 118 of 210 false suspicions in one formation, each spread
   * to most members before the founder refuted it. Members linked to more judge instead. With no
   * other member (two nodes) the one path is all there is, and it judges as before.
   */
  private unconfirmed(p: Probe): boolean {
    return p.helpers === 0 && this.k > 0 && this.liveCount > 2
  }

  /**
   * The member the walk probes this period ("Hubs"): a hub's turn probes it with chance L/(n-1), L
   * the live members this node reaches now and n-1 all other live ones, so the n-1 members that
   * walk their own L links each probe it 1/(n-1) of their periods, once a period in all (a node
   * that reaches everyone, a voter or a full mesh, always probes). A turn that does not probe its
   * hub leaves the period unprobed, unless membership news waits to ride on probes: then the walk
   * goes on, so that news spreads at a ping a period as before. A node that reaches hubs alone
   * probes one every period, as before: its pings' acks are how it hears.
   */
  private nextWalkTarget(): string | undefined {
    const hub = this.hub
    let reach: { links: number; hubs: number } | undefined
    let passed: string | undefined
    for (let turns = 0; turns <= this.members.size; turns++) {
      const target = this.nextTarget()
      if (target === undefined || hub === undefined || !hub(target)) return target
      // Counted now, not at the walk's start: a joiner's first walk began before it had a link, and lasts minutes.
      reach ??= this.reach(hub)
      if (this.random.next() * (this.liveCount - 1) < reach.links) return target
      if (passed === target || reach.hubs === reach.links) return target
      passed ??= target
      if (this.updates.size === 0) return undefined
    }
    return passed
  }

  /** Live members this node reaches now, and how many of them are hubs. */
  private reach(hub: (id: string) => boolean): { links: number; hubs: number } {
    let links = 0
    let hubs = 0
    for (const m of this.members.values())
      if (m.id !== this.self && LIVE(m.status) && this.reachable(m.id)) {
        links++
        if (hub(m.id)) hubs++
      }
    return { links, hubs }
  }

  /** The next live member in the shuffled round-robin list, reshuffled after each walk. */
  private nextTarget(): string | undefined {
    for (let tries = 0; tries <= this.members.size; tries++) {
      if (this.orderIndex >= this.order.length) {
        this.order = [...this.members.values()].filter((m) => m.id !== this.self && LIVE(m.status)).map((m) => m.id)
        this.orderIndex = 0
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = Math.floor(this.random.next() * (i + 1))
          ;[this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!]
        }
        if (this.order.length === 0) return undefined
      }
      const id = this.order[this.orderIndex++]!
      const m = this.members.get(id)
      if (m !== undefined && LIVE(m.status) && this.reachable(id)) return id
    }
    return undefined
  }

  /** Inserts a member at a random place in the rest of the current walk, so it is probed within one walk. */
  private addToOrder(id: string): void {
    this.order.splice(this.orderIndex + Math.floor(this.random.next() * (this.order.length - this.orderIndex + 1)), 0, id)
  }

  /**
   * Pings one remembered dead member, telling it it is dead, so a healed partition or a restart
   * refutes. With none reachable, asks a member likely linked to one (`relays`) to ping it: the
   * request says it is held dead, and a relay that holds it alive at a newer incarnation sends that
   * back (stale news, `apply`), so a node that missed the refutation while it had no link of its own
   * hears it (30 peers on one host: a worker held another dead for a minute, never having heard its
   * address to dial it). RELAY_ASKS_MAX times per death, reconnectIntervalMs apart and twice as far
   * each time (0, 2, 6, 14, 30 s after it): after a real crash every node asks, and its relays (the
   * voters among them) take N of each ask.
   */
  private reconnect(nowMs: number): void {
    const dead = [...this.gone].filter((id) => this.members.get(id)!.status === 'dead')
    const direct = dead.filter((id) => this.reachable(id))
    if (direct.length > 0) {
      const target = this.pick(direct)
      this.send(target, { type: 'ping', seq: ++this.seq, incarnation: this.incarnation, target, ...this.piggyback(target, target, nowMs) })
      return
    }
    const unasked = dead.filter((id) => {
      const n = this.asked.get(id) ?? 0
      return n < RELAY_ASKS_MAX && nowMs >= this.members.get(id)!.sinceMs + this.reconnectMs * (2 ** n - 1)
    })
    if (unasked.length === 0 || this.relaysOf === undefined) return
    const target = this.pick(unasked)
    this.asked.set(target, (this.asked.get(target) ?? 0) + 1)
    const relays = [...this.relaysOf(target)].filter((id) => id !== this.self && id !== target && this.members.get(id)?.status === 'alive' && this.reachable(id))
    if (relays.length === 0) return
    const relay = this.pick(relays)
    this.send(relay, { type: 'ping-req', seq: ++this.seq, incarnation: this.incarnation, target, ...this.piggyback(relay, target, nowMs) })
  }

  private absorb(from: string, updates: readonly SwimUpdate[], loads: readonly SwimLoad[], nowMs: number, incarnation: number): void {
    this.apply({ kind: 'alive', member: from, incarnation }, nowMs, from)
    for (const u of updates) this.apply(u, nowMs, from)
    this.absorbLoads(loads)
  }

  private absorbLoads(loads: readonly SwimLoad[]): void {
    for (const l of loads) {
      if (l.member === this.self || !this.members.has(l.member)) continue
      const old = this.loadTable.get(l.member)
      if (old !== undefined && old.version >= l.version) continue
      this.loadTable.set(l.member, l)
      this.changed++
      this.loadQueue.put(l.member, l, loadBytes(l))
    }
  }

  /** Applies one update by the SWIM ordering rules: higher incarnation wins; at equal incarnation dead/left > suspect > alive. */
  private apply(u: SwimUpdate, nowMs: number, via: string, gossip = true): void {
    if (u.member === this.self) {
      this.applySelf(u, nowMs)
      return
    }
    const m = this.members.get(u.member)
    // News without an age (a full-state exchange, a member's own word) counts as made now.
    const bornMs = nowMs - (u.ageMs ?? 0)
    switch (u.kind) {
      case 'join':
      case 'alive':
        if (m === undefined) {
          this.members.set(u.member, aliveMember(u.member, u.incarnation, nowMs, bornMs))
          this.changed++
          this.liveCount++
          this.addToOrder(u.member)
          this.emit('joined', u.member, u.incarnation, u.ageMs)
          if (gossip) this.enqueue(u, bornMs)
        } else if (u.incarnation > m.incarnation) {
          const was = m.status
          m.incarnation = u.incarnation
          this.setStatus(m, 'alive', nowMs, bornMs)
          if (!LIVE(was)) this.addToOrder(m.id)
          if (was !== 'alive') this.emit(was === 'suspect' ? 'alive' : 'joined', m.id, m.incarnation, u.ageMs)
          if (gossip) this.enqueue(u, bornMs)
        }
        return
      case 'suspect': {
        if (m !== undefined && u.incarnation < m.incarnation) this.staleNews(m)
        if (m === undefined || !LIVE(m.status) || u.incarnation < m.incarnation) return
        const from = u.from ?? via
        if (m.status === 'suspect' && u.incarnation === m.incarnation) {
          const s = m.suspicion!
          if (from === s.accuser || s.confirmers.has(from)) return
          s.confirmers.add(from)
          s.deadlineMs = s.startMs + suspicionTimeout(s)
          if (gossip) this.enqueue({ kind: 'suspect', member: m.id, incarnation: m.incarnation, from }, bornMs)
          return
        }
        m.incarnation = u.incarnation
        this.setStatus(m, 'suspect', nowMs, bornMs)
        const n = this.liveCount
        const minMs = this.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * this.periodMs
        const expected = Math.max(0, Math.min(this.suspicionMult - 2, n - 2))
        const s: Suspicion = { startMs: nowMs, minMs, maxMs: this.suspicionMaxMult * minMs, expected, accuser: from, confirmers: new Set(), deadlineMs: 0 }
        s.deadlineMs = nowMs + suspicionTimeout(s)
        m.suspicion = s
        this.suspects.add(m.id)
        this.emit('suspect', m.id, m.incarnation, u.ageMs)
        if (gossip) this.enqueue({ kind: 'suspect', member: m.id, incarnation: m.incarnation, from }, bornMs)
        return
      }
      case 'dead':
      case 'left':
        if (m !== undefined && u.incarnation < m.incarnation) this.staleNews(m)
        if (m === undefined || !LIVE(m.status) || u.incarnation < m.incarnation) return
        m.incarnation = u.incarnation
        this.setStatus(m, u.kind, nowMs, bornMs)
        this.emit(u.kind, m.id, m.incarnation, u.ageMs)
        if (gossip) this.enqueue(u.kind === 'dead' ? { kind: 'dead', member: m.id, incarnation: m.incarnation, from: u.from ?? via } : u, bornMs)
        return
    }
  }

  /**
   * Something about this node: refute a suspicion or death (unless leaving), adopt a forgotten
   * higher incarnation. A refutation is gossiped as any update, and also sent at once, as a `live`
   * of this node alone, to every member it can reach, at most once a period: gossip takes O(log N)
   * periods to undo a suspicion that has already spread as far, and until then every member holds
   * this one not up. The leader and the voters, whom a host saturated by 50 forming peers made
   * answer late, are linked to most members, so their refutation ends the suspicion in one hop.
   */
  private applySelf(u: SwimUpdate, nowMs: number): void {
    const me = this.members.get(this.self)!
    if (this.leaving || u.incarnation < me.incarnation) return
    const accused = u.kind === 'suspect' || u.kind === 'dead' || u.kind === 'left'
    if (accused) this.health = Math.min(this.healthMax, this.health + 1)
    else if (u.incarnation === me.incarnation) return
    me.incarnation = u.incarnation + 1
    this.enqueue({ kind: 'alive', member: this.self, incarnation: me.incarnation }, nowMs)
    if (!accused || nowMs - this.refutedAtMs < this.periodMs) return
    this.refutedAtMs = nowMs
    for (const m of this.members.values()) {
      if (m.id !== this.self && LIVE(m.status) && this.reachable(m.id)) this.send(m.id, { type: 'live', incarnation: me.incarnation, members: [] })
    }
  }

  private setStatus(m: Member, status: SwimStatus, nowMs: number, bornMs: number): void {
    const wasLive = LIVE(m.status)
    if (m.status !== status) this.changed++
    m.status = status
    m.sinceMs = nowMs
    m.bornMs = bornMs
    if (status !== 'suspect') {
      m.suspicion = null
      this.suspects.delete(m.id)
    }
    if (LIVE(status)) this.gone.delete(m.id)
    else this.gone.add(m.id)
    this.asked.delete(m.id)
    this.liveCount += (LIVE(status) ? 1 : 0) - (wasLive ? 1 : 0)
  }

  /** One of `xs` (not empty), drawn from the injected random source. */
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random.next() * xs.length)]!
  }

  /**
   * Someone sent a suspicion or death of `m` older than the incarnation held here: it missed the
   * refutation, which is gossiped a bounded number of times. An alive member's state goes out again,
   * first in the next messages (fewest sends first), the reply to that sender among them.
   */
  private staleNews(m: Member): void {
    if (m.status === 'alive') this.enqueue({ kind: 'alive', member: m.id, incarnation: m.incarnation }, m.bornMs)
  }

  /** Queues `u`, made at `bornMs` (this node's clock), for piggybacking. */
  private enqueue(u: SwimUpdate, bornMs: number): void {
    this.updates.put(u.member, { update: u, bornMs }, updateBytes(u))
  }

  private emit(type: SwimEvent['type'], member: string, incarnation: number, ageMs: number | undefined): void {
    this.events.push(ageMs === undefined ? { type, member, incarnation } : { type, member, incarnation, ageMs })
  }

  private send(to: string, message: SwimMessage): void {
    this.messages.push({ to, message })
  }

  /** Updates and loads for one probe-path message to `to`; `about` is the probed member, told first what is said of it. */
  private piggyback(to: string, about: string | null, nowMs: number): { updates: SwimUpdate[]; loads: SwimLoad[] } {
    const limit = this.retransmitLimit()
    const updates: SwimUpdate[] = []
    let budget = this.piggybackBytes
    const m = about === null ? undefined : this.members.get(about)
    if (m !== undefined && m.status !== 'alive') {
      const accused = m.status === 'suspect' || m.status === 'dead'
      const buddy: SwimUpdate = { kind: m.status, member: m.id, incarnation: m.incarnation, ageMs: nowMs - m.bornMs, ...(accused ? { from: this.self } : {}) }
      updates.push(buddy)
      budget -= updateBytes(buddy)
    }
    for (const news of this.updates.take(limit, budget, SWIM_PIGGYBACK_MAX - updates.length, m !== undefined && m.status !== 'alive' ? m.id : undefined))
      updates.push({ ...news.update, ageMs: nowMs - news.bornMs })
    const loads: SwimLoad[] = []
    const own = this.loadsPerMessage > 0 ? this.loadQueue.takeKey(this.self, limit) : undefined
    if (own !== undefined) loads.push(own)
    loads.push(...this.loadQueue.take(limit, Infinity, this.loadsPerMessage - loads.length, to))
    return { updates, loads }
  }

  /** Sends of each update: λ·log10(N+1), rounded up. */
  private retransmitLimit(): number {
    return Math.ceil(this.lambda * Math.log10(this.liveCount + 1))
  }

  private syncMessage(reply: boolean): SwimMessage {
    const members: SwimMemberState[] = []
    for (const m of this.members.values()) members.push({ member: m.id, incarnation: m.incarnation, status: m.status })
    return { type: 'sync', reply, members, loads: [...this.loadTable.values()] }
  }
}

/** Probes whose start this node keeps to time their acks, however late (`timeRoundTrip`). */
const PROBES_TIMED = 16
/** How fast a measured round trip is forgotten, ms per ms: a 2 s round trip no longer counts 8 s later. */
const RTT_DECAY = 0.25

/** How often a node asks relays about one death of a member it has no link to (`reconnect`). */
const RELAY_ASKS_MAX = 5

/** Lifeguard's dynamic suspicion timeout: max at no confirmations, falling logarithmically to min at `expected`. */
function suspicionTimeout(s: Suspicion): number {
  if (s.expected <= 0) return s.minMs
  const frac = Math.log(s.confirmers.size + 1) / Math.log(s.expected + 1)
  return Math.max(s.minMs, Math.floor(s.maxMs - (s.maxMs - s.minMs) * frac))
}

function updateBytes(u: SwimUpdate): number {
  return u.member.length + (u.from?.length ?? 0) + 16
}

function loadBytes(l: SwimLoad): number {
  return l.member.length + 8 + 9 * l.values.length
}

/** What the period is chosen from: `swimPeriodMs`. */
export interface SwimPeriodBounds {
  /** The crash convergence to stay under, ms. */
  readonly targetMs: number
  /** Shortest and longest period, ms. */
  readonly minMs: number
  readonly maxMs: number
  /** α of the minimum suspicion timeout, α·max(1, log10 n) periods (SwimConfig.suspicionMult). */
  readonly suspicionMult: number
}

/**
 * The protocol period T for `n` members: the longest, within [minMs, maxMs], for which the
 * convergence bound of a silent crash (every member sees it dead) stays under targetMs:
 *
 *   convergence ≈ T · (4 + α·max(1, log10 n) + log3 n)
 *
 * - detection, 4 periods: each of the n-1 walks probes the member with chance ~1/n a period, so
 *   some walk does with chance 1-1/e (expected e/(e-1) ≈ 1.6 periods; none in 3 periods with chance
 *   e^-3 ≈ 5%, the allowance taken), then that probe's own period runs out;
 * - the minimum suspicion timeout, α·max(1, log10 n) periods, reached once the suspicion is
 *   confirmed by independent members (Lifeguard);
 * - dissemination of the death, log3 n periods: each member that has it passes it on about twice
 *   a period (its ping, the ack of the ping it receives), so the informed set triples.
 * At α = 4: n = 16 → 880 ms, 50 → 700 ms, 200 → 560 ms, 1,000 → 450 ms; 1,000 ms below 10 members
 * (the cap). A small cluster probes less often, as its bound allows; a large one more often, so that
 * its longer suspicion and dissemination still fit. A crash whose connections close is suspected
 * through `lost` within lostProbeMs, whatever the period.
 */
export function swimPeriodMs(n: number, b: SwimPeriodBounds): number {
  const members = Math.max(1, n)
  const periods = 4 + b.suspicionMult * Math.max(1, Math.log10(members)) + Math.log(members) / Math.log(3)
  return Math.round(Math.min(b.maxMs, Math.max(b.minMs, b.targetMs / periods)))
}
