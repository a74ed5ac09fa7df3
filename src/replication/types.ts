/** Types of job-log replication (see core.ts). */
import type { NodeId } from '../net/types.js'
import type { ReplicaEntry } from '../storage/types.js'
import type { ReplicationMessage } from '../../protocols/replication/codec.js'

/** The end of a node's log as the election compares it: epoch of the last entry, index one past it. */
export interface LogPosition {
  readonly epoch: number
  readonly index: number
}

/** A mutation of the local ReplicaLog; the driver runs one at a time and reports it with `opDone`. */
export type LocalOp =
  | { readonly kind: 'write'; readonly from: number; readonly entries: readonly ReplicaEntry[] }
  | { readonly kind: 'compact'; readonly index: number }
  | { readonly kind: 'reset'; readonly start: number; readonly prevEpoch: number }

/** A read of durable entries the leader no longer buffers, to send to a follower behind. */
export interface ReadRequest {
  readonly peer: NodeId
  readonly from: number
  /** One past the last index wanted. */
  readonly to: number
  /** Distinguishes reads of an earlier leadership, whose results are dropped. */
  readonly term: number
}

/** What the driver must do after feeding the core. */
export interface Ready {
  /** Report this position to the election BEFORE starting `op`. */
  readonly position: LogPosition | undefined
  /** The next local mutation to start, if none is under way. */
  readonly op: LocalOp | undefined
  readonly send: ReadonlyArray<{ readonly to: NodeId; readonly message: ReplicationMessage }>
  readonly reads: readonly ReadRequest[]
}

/** Timing and sizes of replication. */
export interface ReplicationOptions {
  /** A follower with nothing to receive gets an empty append this often (commit index, liveness). */
  heartbeatMs: number
  /** The same for a follower that holds the whole log and knows the commit index: nothing to tell it. */
  idleHeartbeatMs: number
  /** The same for a learner (a follower that does not vote): its idle heartbeat only finds a lost log. */
  learnerIdleHeartbeatMs: number
  /**
   * An append unanswered this long, by a follower silent this long, is considered lost: the leader
   * resends from the last match. The core waits longer for a follower whose measured round trip
   * (plus four deviations) is longer, up to 8 times this (core.ts, `retryMs`).
   */
  retryMs: number
  /** Appends in flight per follower (flow control). */
  window: number
  /** Entries per append. */
  batchMaxEntries: number
  /**
   * Payload bytes per append (one larger entry still travels alone). With the entry limit it must
   * keep every append within REPLICATION_NETWORK_PAYLOAD_BYTES.
   */
  batchMaxBytes: number
  /** Entries the leader keeps in memory for followers; older ones are read back from its log. */
  bufferMaxBytes: number
  /** Messages a busy follower queues; more are dropped (the leader resends). */
  followerQueueMax: number
}

export const DEFAULT_REPLICATION_OPTIONS: ReplicationOptions = {
  heartbeatMs: 100,
  idleHeartbeatMs: 1000,
  learnerIdleHeartbeatMs: 5000,
  retryMs: 500,
  window: 4,
  batchMaxEntries: 1000,
  batchMaxBytes: 256 * 1024,
  bufferMaxBytes: 64 * 1024 * 1024,
  followerQueueMax: 16,
}

/** Who this node follows, as the cluster view says: accepted appends must come from it. */
export interface Following {
  readonly leader: NodeId
  readonly epoch: number
}
