/**
 * Errors of the job system. Submission errors tell the submitter what to fix (or to retry later);
 * run errors are what `handle.result()` rejects with. `PermanentJobError`, thrown by a handler,
 * skips the remaining retries.
 */
import { DistributeXError } from '../errors.js'

/** Thrown at submission for a job type no peer registered. */
export class UnknownJobTypeError extends DistributeXError {
  override readonly name = 'UnknownJobTypeError'
  override readonly code = 'ERR_UNKNOWN_JOB_TYPE'
  constructor(readonly jobType: string) {
    super(`no handler is registered for job type ${JSON.stringify(jobType)}`)
  }
}

/**
 * A job that finished longer ago than the leader's retention (by count or by age): it is no longer
 * held, though its result may still be in the result cache.
 */
export class JobExpiredError extends DistributeXError {
  override readonly name = 'JobExpiredError'
  override readonly code = 'JOB_EXPIRED'
  constructor(readonly jobId: string) {
    super(`job ${jobId} finished longer ago than the leader's retention and is no longer held`)
  }
}

/** Thrown at submission for input or options that are malformed. */
export class InvalidJobError extends DistributeXError {
  override readonly name = 'InvalidJobError'
  override readonly code = 'ERR_INVALID_JOB'
}

/** Thrown at submission for an input larger than the limit. */
export class PayloadTooLargeError extends DistributeXError {
  override readonly name = 'PayloadTooLargeError'
  override readonly code = 'ERR_PAYLOAD_TOO_LARGE'
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`job input of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`)
  }
}

/** Thrown at submission when the cluster's queue is full: back off and submit again. */
export class ClusterSaturatedError extends DistributeXError {
  override readonly name = 'ClusterSaturatedError'
  override readonly code = 'ERR_CLUSTER_SATURATED'
  constructor(readonly queued: number) {
    super(`the cluster has ${queued} jobs waiting, its limit; retry later`)
  }
}

/** Thrown when no leader can accept work right now (an election is under way, or the job log is unreachable). */
export class NoLeaderError extends DistributeXError {
  override readonly name = 'NoLeaderError'
  override readonly code = 'ERR_NO_LEADER'
}

/** The rejection of `result()` for a job that failed for good; `cause` describes the last attempt. */
export class JobFailedError extends DistributeXError {
  override readonly name = 'JobFailedError'
  override readonly code = 'ERR_JOB_FAILED'
  constructor(
    readonly jobId: string,
    readonly reason: { name: string; code: string; message: string },
  ) {
    super(`job ${jobId} failed: ${reason.name}: ${reason.message}`)
  }
}

/** The rejection of `result()` for a cancelled job. */
export class JobCancelledError extends DistributeXError {
  override readonly name = 'JobCancelledError'
  override readonly code = 'ERR_JOB_CANCELLED'
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`)
  }
}

/** Why an attempt ended: it ran past its timeout. */
export class JobTimeoutError extends DistributeXError {
  override readonly name = 'JobTimeoutError'
  override readonly code = 'ERR_JOB_TIMEOUT'
  constructor(readonly timeoutMs: number) {
    super(`attempt ran longer than ${timeoutMs} ms`)
  }
}

/** Why a job failed: it could not start before its deadline. */
export class DeadlineExceededError extends DistributeXError {
  override readonly name = 'DeadlineExceededError'
  override readonly code = 'ERR_DEADLINE_EXCEEDED'
}

/** Why a job failed: a job it depends on failed or was cancelled. */
export class DependencyFailedError extends DistributeXError {
  override readonly name = 'DependencyFailedError'
  override readonly code = 'ERR_DEPENDENCY_FAILED'
}

/** Thrown by a handler to fail the job at once, without the remaining retries. */
export class PermanentJobError extends DistributeXError {
  override readonly name = 'PermanentJobError'
  override readonly code = 'ERR_PERMANENT'
}
