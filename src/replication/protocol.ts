/**
 * The messages the replicated job-log session (job-log.ts) sends to the node's replicator actor
 * (actors/replicator.ts). The session never touches the replicator's state; it asks.
 */
import type { Ask } from '../actor/types.js'
import type { LogRecord } from '../storage/types.js'

/** Where the committed log begins and ends, as the leader sees it. */
export interface LogBounds {
  /** First index still held (entries below were compacted). */
  readonly start: number
  /** One past the last committed entry this node holds. */
  readonly end: number
}

export type ReplicatedLogRequest =
  /** Resolves once this node leads `epoch` and the epoch's no-op entry is committed. */
  | Ask<{ type: 'fence'; epoch: number }, void>
  /** Resolves with the first entry's index once all entries are committed. */
  | Ask<{ type: 'append'; epoch: number; payloads: readonly Uint8Array[] }, number>
  /** Committed records from `from`, no-op entries skipped. */
  | Ask<{ type: 'read'; from: number; max: number }, LogRecord[]>
  | Ask<{ type: 'bounds' }, LogBounds>
  /** Lets the log drop entries below `offset` (a committed snapshot record sits there). */
  | Ask<{ type: 'compact'; epoch: number; offset: number }, void>
