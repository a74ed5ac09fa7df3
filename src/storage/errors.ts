/** Errors of the storage ports (job log, result cache, node-local store). */
import { DistributeXError } from '../errors.js'

/** Thrown when an append or fence carries an epoch lower than one the log has already accepted. */
export class FencedError extends DistributeXError {
  override readonly name = 'FencedError'
  override readonly code = 'ERR_FENCED'
  constructor(
    readonly epoch: number,
    readonly fencedBy: number | undefined,
    message = `epoch ${epoch} is fenced${fencedBy === undefined ? '' : ` by epoch ${fencedBy}`}`,
  ) {
    super(message)
  }
}

/**
 * Thrown when the job log cannot be reached or does not answer in time. When `ambiguous` is true
 * the operation may have taken effect (an append may be in the log); callers must not assume either way.
 */
export class JobLogUnavailableError extends DistributeXError {
  override readonly name = 'JobLogUnavailableError'
  override readonly code = 'ERR_JOB_LOG_UNAVAILABLE'
  constructor(
    message: string,
    readonly ambiguous: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Thrown when the result cache cannot be reached or does not answer in time. */
export class CacheUnavailableError extends DistributeXError {
  override readonly name = 'CacheUnavailableError'
  override readonly code = 'ERR_CACHE_UNAVAILABLE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Thrown when a node-local durable store fails to read or write. */
export class StoreError extends DistributeXError {
  override readonly name = 'StoreError'
  override readonly code = 'ERR_STORE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * Thrown by a replica log whose mutation failed (or that is closed): the instance is poisoned,
 * since the failed write may or may not have reached the disk. The owner reopens the log, and
 * recovery finds the true durable state.
 */
export class ReplicaLogFailedError extends DistributeXError {
  override readonly name = 'ReplicaLogFailedError'
  override readonly code = 'REPLICA_LOG_FAILED'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** Thrown when a replica log already belongs to another cluster than the one it is asked to join. */
export class ClusterMismatchError extends DistributeXError {
  override readonly name = 'ClusterMismatchError'
  override readonly code = 'CLUSTER_MISMATCH'
  constructor(
    readonly recorded: string,
    readonly requested: string,
    readonly path?: string,
  ) {
    super(
      `the job log${path === undefined ? '' : ` ${path}`} belongs to cluster ${recorded}, not to this node's cluster ${requested}: it was left by another cluster (start this one with a fresh --job-log directory or data directory, or remove the old log)`,
    )
  }
}

/**
 * Thrown when a write to a log file stored fewer bytes than asked (a full disk, a quota): the
 * file now ends in a partial frame, so the writer must stop and let recovery cut it.
 */
export class ShortWriteError extends DistributeXError {
  override readonly name = 'ShortWriteError'
  override readonly code = 'ERR_SHORT_WRITE'
  constructor(
    readonly path: string,
    readonly position: number,
    readonly expected: number,
    readonly written: number,
  ) {
    super(`short write to ${path} at byte ${position}: ${written} of ${expected} bytes`)
  }
}

/** Thrown when a replica log holds damage that a crash cannot explain (a bad frame before the tail, a gap). */
export class ReplicaLogCorruptedError extends DistributeXError {
  override readonly name = 'ReplicaLogCorruptedError'
  override readonly code = 'ERR_REPLICA_LOG_CORRUPTED'
  constructor(
    readonly path: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(`replica log ${path} is corrupted at byte ${position}: ${reason}`)
  }
}

/**
 * Thrown when a node would lead on a `file:` job log that some voters do not share: they run on
 * another host (or name another directory), so their copy differs and a failover would lose jobs.
 */
export class JobLogNotSharedError extends DistributeXError {
  override readonly name = 'JobLogNotSharedError'
  override readonly code = 'ERR_JOB_LOG_NOT_SHARED'
  constructor(
    readonly dir: string,
    readonly voters: readonly string[],
  ) {
    super(
      `the file: job log ${dir} is not shared with voter${voters.length === 1 ? '' : 's'} ${voters.join(', ')} (another host, or another directory): leading on it would lose their acknowledged jobs at the next failover; on several hosts use the replicated default (no --job-log) or Kafka`,
    )
  }
}
