/**
 * The replicator's answers to the job-log session's asks (protocol.ts) that wait for nothing: reads
 * and bounds of the committed log, the check of a compaction, and the errors that answer waiting
 * requests when the replicator cannot serve them. Sans-I/O: the driver (actors/replicator.ts) reads
 * the local log as a ReadRange says and rejects or resolves with what these return.
 *
 * What is readable is what is both committed and durable here, the entries `[startIndex,
 * min(commitEnd, durable))`; below the start it was compacted away. The session speaks in record
 * offsets, the core in entry indexes (protocols/replication/offsets.ts): bounds are the offsets of
 * the appends starting at those indexes, so a read or compaction at an offset maps to an index by
 * arithmetic.
 */
import { InvalidArgumentError, toError } from '../errors.js'
import { JobLogUnavailableError } from '../storage/errors.js'
import { appendIndexOf, appendOffset } from '../../protocols/replication/offsets.js'
import type { LogBounds } from './protocol.js'

/** What the asks need of the replication core. */
export interface LogExtent {
  readonly startIndex: number
  readonly commitEnd: number
  readonly durable: number
}

/** A read of the session: an error, nothing to read, or the committed entries to read (records from `offset`). */
export type ReadRange = { readonly error: Error } | { readonly empty: true } | { readonly offset: number; readonly from: number; readonly to: number; readonly max: number }

/** Refuses any ask while the local log is reopened (after a failure, or before it first opens). */
export function reopening(): JobLogUnavailableError {
  return new JobLogUnavailableError('the local replica log is being reopened', false)
}

/** What a read of up to `max` records from `offset` does, on a log of `extent` (undefined while reopening). */
export function readRange(extent: LogExtent | undefined, offset: number, max: number): ReadRange {
  if (extent === undefined) return { error: reopening() }
  const start = appendOffset(extent.startIndex)
  if (offset < start) return { error: new JobLogUnavailableError(`offset ${offset} was compacted away; the log starts at ${start}`, false) }
  const from = appendIndexOf(offset)
  const to = Math.min(extent.commitEnd, extent.durable)
  if (from >= to || max <= 0) return { empty: true }
  return { offset, from, to, max }
}

/** The error that answers a read of the local log that failed. */
export function readFailed(error: unknown): JobLogUnavailableError {
  return new JobLogUnavailableError(`reading the local replica log failed: ${toError(error).message}`, false, { cause: error })
}

/** The bounds of the readable log, or the error while reopening. */
export function logBounds(extent: LogExtent | undefined): LogBounds | { readonly error: Error } {
  if (extent === undefined) return { error: reopening() }
  return { start: appendOffset(extent.startIndex), end: appendOffset(Math.min(extent.commitEnd, extent.durable)) }
}

/**
 * The entry index to compact below for a compaction below `offset`: the start of the append holding
 * it (a snapshot is the whole of one append, so that is exact for it; for any other offset a few of
 * the records below stay, as the JobLog port allows).
 */
export function compactionIndex(offset: number): number {
  return appendIndexOf(offset)
}

/** Why the log cannot be compacted below entry `index`, if it cannot: only committed entries may go. */
export function compactionProblem(index: number, commitEnd: number): InvalidArgumentError | undefined {
  return index > commitEnd ? new InvalidArgumentError(`cannot compact below entry ${index}: only ${commitEnd} entries are committed`) : undefined
}

/**
 * The errors that answer every waiting request when the replicator cannot go on (`reason`): fences
 * and compactions are refused, appends are ambiguous (their records may already be committed).
 */
export function unavailable(reason: string): readonly [fence: JobLogUnavailableError, append: JobLogUnavailableError] {
  return [new JobLogUnavailableError(reason, false), new JobLogUnavailableError(`${reason}; the records may or may not be committed`, true)]
}
