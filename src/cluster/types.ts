/** The data of cluster coordination: member records, configurations, metrics and the status view. */
import type { NodeId } from '../net/types.js'

/** What a node says about itself. */
export type SelfStatus = 'joining' | 'up' | 'leaving'

/** What a node concludes about a member. */
export type MemberState = 'joining' | 'up' | 'suspect' | 'down' | 'leaving'

/** Load figures each node gossips, used for placement and shown by /status. */
export interface NodeMetrics {
  /** Tasks this node may run at once. */
  capacity: number
  running: number
  queued: number
  eventLoopLagMs: number
  /** CPU use of the process, 0..1 per core. */
  cpu: number
  memoryMb: number
  /** Job types this node can run. */
  types: string[]
  /** Per task type: attempts run in total (the leader merges each new batch) and duration percentiles of recent runs. */
  durations: Record<string, { count: number; p50Ms: number; p90Ms: number }>
}

/**
 * The end of a node's replicated log: `index` is one past the last durable entry, `epoch` the epoch
 * of the entry at index-1. Ordered lexicographically by (epoch, index), as in Raft §5.4.1.
 */
export interface LogPosition {
  readonly epoch: number
  readonly index: number
}

/** Why the leader refused to remove a member by hand (`no-leader`: none known, or it did not answer). */
export type RemovalRefusal = 'not-leader' | 'not-member' | 'self' | 'not-down' | 'busy' | 'no-leader'

/** The answer to a removal by hand: done, or why not, with the leader as the node knows it. */
export type RemoveReply = { ok: true } | { ok: false; reason: RemovalRefusal; leader: string | null }

/** A member's part in the cluster as a node sees it: the leader, another voter, or a non-voting worker. */
export type MemberRole = 'leader' | 'voter' | 'worker'

/**
 * The admitted members, with a version ordered by (epoch, counter): `members` are the voters (the
 * quorum set), `workers` the admitted members that run jobs but never count for a quorum.
 */
export interface ClusterConfig {
  readonly epoch: number
  readonly counter: number
  readonly members: readonly NodeId[]
  readonly workers: readonly NodeId[]
}

/** A node's support of a leader: whom, in which epoch, and the newest lease sequence seen from it. */
export interface Support {
  readonly leader: NodeId
  readonly epoch: number
  readonly seq: number
}

/** The record every node gossips about itself, periodically and whenever its election state changes. */
export interface MemberRecord {
  readonly node: NodeId
  /** Grows with every restart of the node. */
  readonly incarnation: number
  /** Grows with every record within an incarnation. */
  readonly seq: number
  readonly status: SelfStatus
  readonly addresses: readonly string[]
  readonly metrics: NodeMetrics
  /** The highest epoch this node voted in or followed (persisted). */
  readonly epoch: number
  /** Whom it voted for in `epoch`. */
  readonly vote: NodeId | null
  /** The epoch it is pre-campaigning for, if any. */
  readonly preVote: number | null
  /** Its newest pre-vote grant. */
  readonly grant: { readonly candidate: NodeId; readonly epoch: number } | null
  /** Set while it leads `epoch`: the lease sequence number of this record. */
  readonly leaderSeq: number | null
  readonly support: Support | null
  /** The end of its replicated log, or null if it keeps none (its job log lives outside the node). */
  readonly log: LogPosition | null
  /** The cluster it belongs to, or null while it has not been admitted to one. */
  readonly clusterId: string | null
  /** Its configuration version; the leader (and, for a while after a change, everyone) also sends the members. */
  readonly config: { readonly epoch: number; readonly counter: number; readonly members?: readonly NodeId[]; readonly workers?: readonly NodeId[] } | null
}

/** What a node keeps on disk so that restarts never move its epoch or vote backwards. */
export interface PersistedClusterState {
  readonly incarnation: number
  readonly epoch: number
  readonly vote: NodeId | null
  readonly config: ClusterConfig | null
  /** The cluster this node belongs to (created by the founder, adopted on admission), or null. */
  readonly clusterId: string | null
}

/** One member as this node sees it. */
export interface MemberView {
  readonly nodeId: NodeId
  readonly state: MemberState
  readonly addresses: readonly string[]
  readonly incarnation: number
  /** True if it counts for quorums. */
  readonly voter: boolean
  readonly role: MemberRole
  readonly phi: number
  readonly lastSeenMsAgo: number | null
  readonly metrics: NodeMetrics | null
}

/** The leader as this node sees it. */
export interface LeaderView {
  readonly nodeId: NodeId
  readonly epoch: number
}

/** This node's view of the cluster. */
export interface ClusterView {
  readonly self: NodeId
  /** The cluster's identity, once this node knows it. */
  readonly clusterId: string | null
  readonly leader: LeaderView | null
  /** True while this node holds the leader lease and may run manager duties. */
  readonly leading: boolean
  readonly config: ClusterConfig | null
  readonly members: readonly MemberView[]
  /** Why this node gave up the lead (ClusterCore.resign), until it leads again. */
  readonly resigned?: string
}

/** An empty metrics record. */
export function emptyMetrics(): NodeMetrics {
  return { capacity: 0, running: 0, queued: 0, eventLoopLagMs: 0, cpu: 0, memoryMb: 0, types: [], durations: {} }
}
