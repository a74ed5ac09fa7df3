/**
 * The data of cluster coordination: member records, configurations, metrics and the status view.
 * What nodes gossip and persist (records, configurations, metrics, the election state) is defined
 * with its codec in protocols/cluster/types.ts and re-exported here.
 */
import type { ClusterConfig, NodeMetrics } from '../../protocols/cluster/types.js'
import type { NodeId } from '../net/types.js'

export type { ClusterConfig, LogPosition, MemberRecord, NodeMetrics, PersistedClusterState, SelfStatus, Support } from '../../protocols/cluster/types.js'

/** What a node concludes about a member. */
export type MemberState = 'joining' | 'up' | 'suspect' | 'down' | 'leaving'

/** Why the leader refused to remove a member by hand (`no-leader`: none known, or it did not answer). */
export type RemovalRefusal = 'not-leader' | 'not-member' | 'self' | 'not-down' | 'busy' | 'no-leader'

/** The answer to a removal by hand: done, or why not, with the leader as the node knows it. */
export type RemoveReply = { ok: true } | { ok: false; reason: RemovalRefusal; leader: string | null }

/** A member's part in the cluster as a node sees it: the leader, another voter, or a non-voting worker. */
export type MemberRole = 'leader' | 'voter' | 'worker'

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
  /** Set while this node hears no other member although it should (see ClusterCore.quiet). */
  readonly warning?: string
}

/** An empty metrics record. */
export function emptyMetrics(): NodeMetrics {
  return { capacity: 0, running: 0, queued: 0, eventLoopLagMs: 0, cpu: 0, memoryMb: 0, types: [], durations: {} }
}
