/**
 * What the cluster actor publishes after every step: an immutable snapshot of its core's state
 * (ClusterCore.snapshot), from which the node's other components read coordination through the
 * ClusterHandle without touching the core outside the actor's mailbox.
 *
 * A snapshot holds only values that change inside the core's steps; what also depends on time
 * (the lease, whether the followed leader is still live, each member's phi and state, the quiet
 * warning) is computed here at read time from those values and the reader's `nowMs`, with the
 * same formulas the core uses. So a read at time t gives what the core would answer at t, provided
 * the core took no step since the snapshot was published, which the actor ensures by publishing at
 * the end of every step (and the handle after each input it passes on, see handle.ts).
 *
 * Invariant (lease): `leaseEpochAt(s, t)` is defined iff the core that published `s` holds its
 * lease at t: `s.leaseUntilMs` is the core's lease end, a function of its leadership, its
 * configurations, the members' echoes and its send times, all of which change only in steps.
 *
 * Cost: publishing is O(1) plus, on a step that changed a member (a record received, a member
 * forgotten, a new configuration, a SWIM step under 'swim'), a copy of the member map (pointers).
 * The per-message reads (`leaderAt`, `leaseEpochAt`, `knowsIn`, the config) are O(1); only
 * `viewAt` walks the members, computing phi from each member's PhiSummary in O(1).
 */
import type { NodeId } from '../net/types.js'
import { phiAt, type PhiSummary } from './phi.js'
import { withLoad } from './swim/load.js'
import type { ClusterConfig, ClusterView, LeaderView, MemberRecord, MemberRole, MemberState, MemberView, NodeMetrics, SelfStatus } from './types.js'

/** What a member's view depends on, as of its last record. */
export interface PeerBasis {
  readonly record: MemberRecord
  readonly lastHeardMs: number
  readonly phi: PhiSummary
}

/** A worker whose state SWIM decides (membership 'swim'): its status and load, as of the last SWIM step. */
export interface WorkerLiveness {
  readonly status: 'alive' | 'suspect' | 'dead' | 'left'
  readonly load: { readonly version: number; readonly values: readonly number[] } | undefined
  /** When this node first saw that load version. */
  readonly loadSeenMs: number
}

/** The timing the read-time formulas need (the core's ClusterOptions satisfy it). */
export interface SnapshotTiming {
  readonly leaseMs: number
  readonly drift: number
  readonly suspectPhi: number
  readonly downAfterMs: number
}

export interface ClusterSnapshot {
  readonly self: NodeId
  readonly status: SelfStatus
  readonly incarnation: number
  readonly addresses: readonly string[]
  readonly metrics: NodeMetrics
  readonly clusterId: string | null
  readonly config: ClusterConfig | null
  /** Why this node resigned, until it leads again. */
  readonly resigned: string | undefined
  /** The epoch this node leads (with or without a valid lease), else null. */
  readonly leadingEpoch: number | null
  /** Monotonic ms at which this node's lease ends (-Infinity: it holds none). */
  readonly leaseUntilMs: number
  /** The leader this node follows, and when it last heard a new lease sequence from it. */
  readonly follows: { readonly leader: NodeId; readonly epoch: number } | null
  readonly leaderHeardMs: number
  /** The lease of that sequence, as this node waits it out. */
  readonly leaderLeaseMs: number
  /** While leading: the lease its newest sequence granted (ClusterCore "Stretched leases"), else null. */
  readonly grantedLeaseMs: number | null
  /** Until when this node's echoes promise not to grant or vote (ClusterCore "Stretched leases"). */
  readonly promiseEndMs: number
  /** The connection to that leader closed since: its wait drops the lag (ClusterCore.lost). */
  readonly leaderLost: boolean
  /** How much longer than the election timeout this node waits for its leader (a worker under 'swim' hears it less often). */
  readonly leaderSlackMs: number
  /** The observed lag's last sample and when it was taken (ClusterCore "Lag"). */
  readonly lag: { readonly ms: number; readonly atMs: number }
  readonly timing: SnapshotTiming
  /** Members this node has heard from (not itself). */
  readonly peers: ReadonlyMap<NodeId, PeerBasis>
  /** Under 'swim': the workers whose state SWIM decides. */
  readonly liveness: ReadonlyMap<NodeId, WorkerLiveness> | undefined
  /** When this node started, for the quiet warning. */
  readonly bootMs: number
  /** Records ignored because they came from another cluster (a counter). */
  readonly foreignRecords: number
}

/** Observed lag is forgotten at this many ms per ms: a 1 s stall counts for 20 s. */
export const LAG_DECAY = 0.05

/** Most lag added to the election timeout and the leader's check quorum, in leases: bounds failover under load. */
export const LAG_MAX_LEASES = 3

/** Silence from every other node after which a node that should hear some says so. */
export const QUIET_WARNING_MS = 10_000

/** The observed lag at `nowMs`: the sample `lagMs` taken at `lagAtMs`, decayed, capped. */
export function lagAt(lagMs: number, lagAtMs: number, leaseMs: number, nowMs: number): number {
  return Math.min(LAG_MAX_LEASES * leaseMs, Math.max(0, lagMs - (nowMs - lagAtMs) * LAG_DECAY))
}

/** How long a follower waits after its leader's last new lease sequence, whose lease is `leaseMs` (rule 5 plus the lag). */
export function electionTimeoutMs(leaseMs: number, drift: number, lagMs: number): number {
  return leaseMs * (1 + drift) + lagMs
}

/** The leader this node knows at `nowMs` (itself while it leads), as ClusterCore.leader. */
export function leaderAt(s: ClusterSnapshot, nowMs: number): LeaderView | null {
  if (s.leadingEpoch !== null) return { nodeId: s.self, epoch: s.leadingEpoch }
  if (s.follows === null) return null
  const lag = s.leaderLost ? 0 : lagAt(s.lag.ms, s.lag.atMs, s.timing.leaseMs, nowMs)
  const timeoutAtMs = Math.max(s.leaderHeardMs + electionTimeoutMs(s.leaderLeaseMs, s.timing.drift, lag) + s.leaderSlackMs, s.promiseEndMs)
  return nowMs <= timeoutAtMs ? { nodeId: s.follows.leader, epoch: s.follows.epoch } : null
}

/** The epoch this node leads if its lease holds at `nowMs`, else undefined. */
export function leaseEpochAt(s: ClusterSnapshot, nowMs: number): number | undefined {
  return s.leaseUntilMs > nowMs && s.leadingEpoch !== null ? s.leadingEpoch : undefined
}

/** True when `id` is among the members a view lists: this node, the configuration, or a node heard from. */
export function knowsIn(s: ClusterSnapshot, id: NodeId): boolean {
  return id === s.self || s.peers.has(id) || isMemberOf(s.config, id)
}

function isMemberOf(config: ClusterConfig | null, id: NodeId): boolean {
  return config !== null && (config.members.includes(id) || config.workers.includes(id))
}

/** The warning for a node that heard nobody for `silentMs` (see ClusterCore.quiet), or undefined. */
export function quietWarning(silentMs: number, joining: boolean, others: number): string | undefined {
  if (silentMs < QUIET_WARNING_MS) return undefined
  if (!joining && others === 0) return undefined
  const seconds = Math.round(silentMs / 1000)
  return joining
    ? `joining, but no gossip from any member for ${seconds} s: check that a bootstrap peer is reachable and holds the same cluster secret`
    : `no gossip from any other member for ${seconds} s: this node may be cut off from the cluster`
}

/** Why this node looks cut off at `nowMs` (ClusterCore.quiet), or undefined. */
export function quietAt(s: ClusterSnapshot, nowMs: number): string | undefined {
  let heardMs = s.bootMs
  for (const peer of s.peers.values()) heardMs = Math.max(heardMs, peer.lastHeardMs)
  const others = (s.config?.members.length ?? 0) + (s.config?.workers.length ?? 0) - (isMemberOf(s.config, s.self) ? 1 : 0)
  return quietWarning(nowMs - heardMs, s.status === 'joining', others)
}

/** The state of member `id` (not this node) at `nowMs`, as ClusterCore.memberState. */
function stateAt(s: ClusterSnapshot, id: NodeId, peer: PeerBasis | undefined, swim: WorkerLiveness | undefined, nowMs: number): MemberState {
  if (swim !== undefined) {
    if (peer?.record.status === 'leaving' || swim.status === 'left') return 'leaving'
    return swim.status === 'alive' ? 'up' : swim.status === 'suspect' ? 'suspect' : 'down'
  }
  if (peer === undefined) return 'down'
  if (peer.record.status === 'leaving') return 'leaving'
  if (phiAt(peer.phi, nowMs) >= s.timing.suspectPhi) return nowMs - peer.lastHeardMs > s.timing.downAfterMs ? 'down' : 'suspect'
  return isMemberOf(s.config, id) ? 'up' : 'joining'
}

/** The node's view of the cluster at `nowMs`. */
export function viewAt(s: ClusterSnapshot, nowMs: number): ClusterView {
  const members: MemberView[] = []
  const voters = new Set(s.config?.members ?? [])
  const leader = leaderAt(s, nowMs)
  const warning = quietAt(s, nowMs)
  const role = (id: NodeId): MemberRole => (id === leader?.nodeId ? 'leader' : voters.has(id) ? 'voter' : 'worker')
  members.push({
    nodeId: s.self,
    state: s.status,
    addresses: s.addresses,
    incarnation: s.incarnation,
    voter: voters.has(s.self),
    role: role(s.self),
    phi: 0,
    lastSeenMsAgo: 0,
    metrics: s.metrics,
  })
  const ids = new Set([...voters, ...(s.config?.workers ?? []), ...s.peers.keys()])
  ids.delete(s.self)
  for (const id of [...ids].sort()) {
    const peer = s.peers.get(id)
    const swim = s.liveness?.get(id)
    const state = stateAt(s, id, peer, swim, nowMs)
    let lastSeenMsAgo = peer === undefined ? null : nowMs - peer.lastHeardMs
    let metrics = peer?.record.metrics ?? null
    // A worker under SWIM: its load figures come by SWIM, as of when this node first saw their version.
    if (swim?.load !== undefined && metrics !== null) {
      metrics = withLoad(metrics, swim.load.values)
      lastSeenMsAgo = Math.min(lastSeenMsAgo ?? Infinity, nowMs - swim.loadSeenMs)
    }
    members.push({
      nodeId: id,
      state,
      addresses: peer?.record.addresses ?? [],
      incarnation: peer?.record.incarnation ?? 0,
      voter: voters.has(id),
      role: role(id),
      phi: swim !== undefined ? (state === 'up' ? 0 : state === 'suspect' ? s.timing.suspectPhi : Infinity) : peer === undefined ? Infinity : phiAt(peer.phi, nowMs),
      lastSeenMsAgo,
      metrics,
    })
  }
  return {
    self: s.self,
    clusterId: s.clusterId,
    leader,
    leading: leaseEpochAt(s, nowMs) !== undefined,
    config: s.config,
    members,
    ...(s.resigned === undefined ? {} : { resigned: s.resigned }),
    ...(warning === undefined ? {} : { warning }),
  }
}
