/**
 * A node's synchronous view of its replicated log, for status pages and checkers outside the
 * replicator actor (which attaches a source of it when it starts).
 */
import type { LogPosition } from './types.js'

/** What the replicator reports about this node's copy of the log. */
export interface ReplicationStatus {
  /** The epoch this node replicates as leader, if any. */
  readonly leaderEpoch: number | undefined
  /** One past the last committed entry this node knows of. */
  readonly commitEnd: number
  /** One past the last durable entry. */
  readonly durableEnd: number
  /** First index held. */
  readonly start: number
  /** The position as it stands, including a write under way. */
  readonly position: LogPosition
  /** Replication frames sent and received, and writes of the local log (each fsynced), since start: the cost of a copy. */
  readonly counts: { readonly framesSent: number; readonly framesReceived: number; readonly writes: number }
}

export class ReplicationHandle {
  private source: (() => ReplicationStatus | undefined) | undefined = undefined

  /** Undefined before the replicator has opened the log, and while it reopens a failed one. */
  status(): ReplicationStatus | undefined {
    return this.source?.()
  }

  /** @internal */
  attach(source: () => ReplicationStatus | undefined): void {
    this.source = source
  }
}
