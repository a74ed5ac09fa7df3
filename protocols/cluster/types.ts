/** What nodes gossip and persist about cluster coordination: member records, configurations, load figures, election state. */
import type { NodeId } from '../address.js'

/** What a node says about itself. */
export type SelfStatus = 'joining' | 'up' | 'leaving'

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
  /**
   * The lease of the sequence this record names, in ms: granted with `leaderSeq` by a leader, and
   * by a follower the one it waits out for `support.seq`. Absent: the receiver's configured lease
   * (records of format version 2 and older).
   */
  readonly leaseMs?: number
  /** The end of its replicated log, or null if it keeps none (its job log lives outside the node). */
  readonly log: LogPosition | null
  /** The cluster it belongs to, or null while it has not been admitted to one. */
  readonly clusterId: string | null
  /** Its configuration version; the leader (and, for a while after a change, everyone) also sends the members. */
  readonly config: { readonly epoch: number; readonly counter: number; readonly members?: readonly NodeId[]; readonly workers?: readonly NodeId[] } | null
  /**
   * The addresses of the configuration's voters other than the sender, sent by the leader with the
   * member lists: a worker hears no voter's own records, and without them it cannot dial one (as
   * Raft's configuration carries the servers' addresses). Absent: none sent (format version 3 and older).
   */
  readonly voters?: ReadonlyArray<{ readonly node: NodeId; readonly addresses: readonly string[] }>
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
