/**
 * The replicator's answers to the job-log session's asks (protocol.ts) that wait for nothing: reads
 * and bounds of the committed log, the check of a compaction, and the errors that answer waiting
 * requests when the replicator cannot serve them. Sans-I/O: the driver (actors/replicator.ts) reads
 * the local log as a ReadRange says and rejects or resolves with what these return.
 *
 * What is readable is what is both committed and durable here, `[startIndex, min(commitEnd,
 * durable))`; below the start it was compacted away.
 */
import { InvalidArgumentError, toError } from '../errors.js'
import { JobLogUnavailableError } from '../storage/errors.js'
import type { LogBounds } from './protocol.js'

/** What the asks need of the replication core. */
export interface LogExtent {
  readonly startIndex: number
  readonly commitEnd: number
  readonly durable: number
}

/** A read of the session: an error, nothing to read, or the committed range to read. */
export type ReadRange = { readonly error: Error } | { readonly empty: true } | { readonly from: number; readonly to: number; readonly max: number }

/** Refuses any ask while the local log is reopened (after a failure, or before it first opens). */
export function reopening(): JobLogUnavailableError {
  return new JobLogUnavailableError('the local replica log is being reopened', false)
}

/** What a read of up to `max` records from `from` does, on a log of `extent` (undefined while reopening). */
export function readRange(extent: LogExtent | undefined, from: number, max: number): ReadRange {
  if (extent === undefined) return { error: reopening() }
  if (from < extent.startIndex) return { error: new JobLogUnavailableError(`offset ${from} was compacted away; the log starts at ${extent.startIndex}`, false) }
  const to = Math.min(extent.commitEnd, extent.durable)
  if (from >= to || max <= 0) return { empty: true }
  return { from, to, max }
}

/** The error that answers a read of the local log that failed. */
export function readFailed(error: unknown): JobLogUnavailableError {
  return new JobLogUnavailableError(`reading the local replica log failed: ${toError(error).message}`, false, { cause: error })
}

/** The bounds of the readable log, or the error while reopening. */
export function logBounds(extent: LogExtent | undefined): LogBounds | { readonly error: Error } {
  if (extent === undefined) return { error: reopening() }
  return { start: extent.startIndex, end: Math.min(extent.commitEnd, extent.durable) }
}

/** Why the log cannot be compacted below `offset`, if it cannot: only committed entries may go. */
export function compactionProblem(offset: number, commitEnd: number): InvalidArgumentError | undefined {
  return offset > commitEnd ? new InvalidArgumentError(`cannot compact below ${offset}: only ${commitEnd} entries are committed`) : undefined
}

/**
 * The errors that answer every waiting request when the replicator cannot go on (`reason`): fences
 * and compactions are refused, appends are ambiguous (their records may already be committed).
 */
export function unavailable(reason: string): readonly [fence: JobLogUnavailableError, append: JobLogUnavailableError] {
  return [new JobLogUnavailableError(reason, false), new JobLogUnavailableError(`${reason}; the records may or may not be committed`, true)]
}
