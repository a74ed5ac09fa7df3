/**
 * The storage ports. The job log is the durable record of the cluster's work; the result cache
 * speeds up reads of results and task state but is never the only record of anything; the
 * node-local store keeps what one node must remember across restarts (its identity, its epochs).
 * Each has a production adapter (Kafka, Redis, a file) and an embedded default; the implementations
 * live under src/adapters/ (file-log/, memory/, kafka/, redis/, replica-log/), so this folder holds
 * the ports alone.
 */
import type { AbortOptions } from '../env/types.js'

/** One record of the job log. */
export interface LogRecord {
  /** Position in the log; offsets strictly increase. */
  readonly offset: number
  /** The epoch of the leader that appended it. */
  readonly epoch: number
  readonly payload: Uint8Array
}

/**
 * A totally ordered, durable, epoch-fenced log.
 *
 * Fencing: the log remembers the highest epoch it has seen in `fence` or `append`; an append or
 * fence with a lower epoch is rejected with FencedError, so a deposed leader cannot write.
 * Failures: JobLogUnavailableError with `ambiguous: true` means an append may or may not be in
 * the log (its acknowledgement was lost); readers must tolerate duplicates.
 */
export interface JobLog {
  /** Claims the log for `epoch`; every later append with a lower epoch fails with FencedError. */
  fence(epoch: number, options?: AbortOptions): Promise<void>
  /** Appends `payloads` atomically and in order; resolves with the first offset once they are durable. */
  append(epoch: number, payloads: readonly Uint8Array[], options?: AbortOptions): Promise<number>
  /** Reads up to `max` records starting at `offset`; returns fewer at the end of the log. */
  read(offset: number, max: number, options?: AbortOptions): Promise<LogRecord[]>
  /** The offset one past the last record. */
  endOffset(options?: AbortOptions): Promise<number>
  /** The first offset still readable: records below it were compacted away (0 if never). */
  startOffset(options?: AbortOptions): Promise<number>
  /**
   * Lets the log drop records below `offset`: the caller appended, at `offset`, a record (a snapshot)
   * that replaces everything before it, and it is durable. The log may keep them (Kafka does).
   */
  compact(offset: number, options?: AbortOptions): Promise<void>
}

/** Options of a cache write. */
export interface CacheWriteOptions extends AbortOptions {
  /** Expiry; none when absent. */
  ttlMs?: number
}

/** A key-value cache of results and task state; may lose entries, so never the only record. */
export interface ResultCache {
  get(key: string, options?: AbortOptions): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array, options?: CacheWriteOptions): Promise<void>
  /** Writes only if the key is absent; resolves true when this call wrote it. */
  setIfAbsent(key: string, value: Uint8Array, options?: CacheWriteOptions): Promise<boolean>
}

/** A node's own durable key-value state, surviving restarts of that node. */
export interface DurableStore {
  read(key: string, options?: AbortOptions): Promise<Uint8Array | undefined>
  /** Resolves once the value is durable (fsynced). */
  write(key: string, value: Uint8Array, options?: AbortOptions): Promise<void>
}

/** A job log held open by one leader for as long as it leads. */
export interface JobLogSession extends JobLog {
  /** Releases the log (its lock, its producer) so the next leader can take it. */
  close(): Promise<void>
}

/** Opens job-log sessions: each new leader opens one, fences it, and closes it when it stops leading. */
export interface JobLogFactory {
  open(options?: AbortOptions): Promise<JobLogSession>
}

/**
 * One entry of a node's copy of the replicated job log: a batch of records (all or part of one
 * append), so that per-entry costs (frames, checksums, index slots, wire headers) are paid once
 * per batch on every copy, not once per record (issue 9).
 */
export interface ReplicaEntry {
  /** Position in the log, contiguous. */
  readonly index: number
  /** Epoch of the leader that created the entry. */
  readonly epoch: number
  /** Offset of the first record; the others follow consecutively (protocols/replication/offsets.ts). */
  readonly offset: number
  /** The records, at least one (a leader's no-op entry holds one empty record). */
  readonly payloads: readonly Uint8Array[]
}

/** Where a node's copy of the replicated log begins and ends. */
export interface ReplicaLogState {
  /** The cluster this copy belongs to; undefined for a fresh copy. */
  readonly clusterId: string | undefined
  /** Index of the first entry held; entries below were compacted away (start === end when empty). */
  readonly start: number
  /** Index one past the last durable entry. */
  readonly end: number
  /** Epoch of the entry at end-1 (or of the entry just below `start` when empty); 0 for a fresh log. */
  readonly lastEpoch: number
}

/**
 * A node's durable copy of the replicated job log (Raft's log). Unlike JobLog it can be cut back
 * (a suffix that conflicts with the leader's) and compacted (below a snapshot record). Mutations are
 * issued one at a time by the caller (never concurrently); each resolves once durable (fsynced).
 * After a failed mutation the instance is poisoned: every later call rejects with
 * ReplicaLogFailedError (src/storage/errors.ts), and the owner must reopen it (recovery finds the
 * true durable state).
 */
export interface ReplicaLog {
  state(): ReplicaLogState
  /** Epoch of the entry at `index`; for index === start-1 the epoch remembered at compaction; else undefined. */
  epochAt(index: number): number | undefined
  /** Records the cluster identity (durable). Rejects with ClusterMismatchError if a different one is recorded. */
  setClusterId(id: string): Promise<void>
  /** Drops entries with index >= from (start <= from <= end), then appends `entries` (contiguous from `from`). */
  write(from: number, entries: readonly ReplicaEntry[]): Promise<void>
  /** Entries from `from` (start <= from <= end), at most `max` of them and about `maxBytes` (always at least one if any). */
  read(from: number, max: number, maxBytes: number): Promise<ReplicaEntry[]>
  /** Drops entries below `index` (start <= index <= end); epochAt(index-1) stays known. */
  compact(index: number): Promise<void>
  /** Replaces the whole copy by an empty log starting at `start`, with epochAt(start-1) = prevEpoch. */
  reset(start: number, prevEpoch: number): Promise<void>
  close(): Promise<void>
}

/** Opens a node's copy (recovering it from disk). */
export interface ReplicaLogOpener {
  open(options?: AbortOptions): Promise<ReplicaLog>
}
