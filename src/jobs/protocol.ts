/**
 * The messages between job clients, the leader's scheduler and every peer's executor, and the
 * checks applied to them when they arrive from another node. Actors refer to each other by address
 * strings here, because message bodies are plain data.
 */
import type { Ask } from '../actor/types.js'
import type { LoadForecast } from '../predict/analytics.js'
import { checkJobSpec, decodeJobRecord } from '../../protocols/jobs/codec.js'
import { checkBody } from '../../protocols/envelope/body.js'
import { toWireError, WIRE_ERROR_MESSAGE_MAX_CHARS, WIRE_ERROR_NAME_MAX_CHARS } from '../../protocols/errors.js'
import { InvalidJobError } from './errors.js'
import type { JobError, JobInfo, JobOutcome, JobSpec, JobStatus } from './types.js'

/** Where the built-in job actors live on every node. */
export const SCHEDULER_PATH = '/system/scheduler'
export const EXECUTOR_PATH = '/system/executor'
export const JOBS_CLIENT_PATH = '/system/jobs-client'

/** Most jobs in one submit or report message. */
export const BATCH_MAX_JOBS = 10_000

/** The answer to one job of a submit. */
export type SubmitReply = { readonly status: 'accepted' } | { readonly status: 'duplicate'; readonly of: string } | { readonly status: 'refused'; readonly error: JobError }

/**
 * The answer to one id of a watch: the outcome of a finished job (retained, or found in the
 * leader's result cache after it expired), `true` for a job still under way (its outcome will be
 * pushed), `'expired'` for one past the retention whose outcome the leader no longer has, `false`
 * for one it does not know. A leader of before outcomes in replies answered only true or false.
 */
export type WatchReply = boolean | 'expired' | { readonly outcome: JobOutcome }

/** What an executor reports about an attempt. */
export type Report =
  | { readonly kind: 'finished'; readonly id: string; readonly attemptKey: string; readonly outcome: JobOutcome; readonly durationMs: number }
  | { readonly kind: 'progress'; readonly id: string; readonly attemptKey: string; readonly fraction: number; readonly message: string | null }
  /**
   * An attempt given up to the leader's steal request, told again the way results travel: the ask's
   * answer is lost when the leader stopped waiting first (this peer was paused past the ask's
   * timeout), and the attempt, removed here, would otherwise hold its job until its timeout.
   */
  | { readonly kind: 'released'; readonly id: string; readonly attemptKey: string }

export type SchedulerMsg =
  /** Each job travels as its encoded job-log record, which the leader checks by decoding and appends as is. */
  | Ask<{ type: 'submit'; records: Uint8Array[]; watcher: string | null }, SubmitReply[]>
  | Ask<{ type: 'watch'; ids: string[]; watcher: string }, WatchReply[]>
  | Ask<{ type: 'cancel'; id: string }, boolean>
  /** `expired` for a job that left the leader's memory after its retention; null for one never seen. */
  | Ask<{ type: 'inspect'; id: string }, JobInfo | 'expired' | null>
  | Ask<{ type: 'list'; status: JobStatus | null; limit: number; cursor: string | null }, { jobs: JobInfo[]; next: string | null }>
  | Ask<{ type: 'reports'; reports: Report[] }, number>
  /** The leader's load forecasts (of at most `nodes` nodes, highest peaks first), bottleneck alerts, learnt durations and (if `history` > 0) that many latest alert transitions; null on a leader that runs no analytics. */
  | Ask<{ type: 'forecast'; nodes: number; history?: number }, LoadForecast | null>
  | { type: 'tick' }
  | { type: 'dispatch' }
  /** An append ended; `offset` is its first record's when ok. */
  | { type: 'appended'; batch: number; ok: boolean; offset: number }
  /** The snapshot append (reflecting the log up to `after`) ended: durable at `offset`, or failed (null). */
  | { type: 'snapshotted'; offset: number | null; after: number; parts: number }
  /** The holder's answers to steal requests (false for each when it did not answer). */
  | { type: 'stealAnswered'; keys: string[]; released: boolean[] }
  /** Assignments a node refused (it did not take this node for its leader); they never entered it. */
  | { type: 'assignRefused'; keys: string[] }

/** One attempt handed to an executor. */
export interface Assignment {
  readonly spec: JobSpec
  readonly attempt: number
  readonly attemptKey: string
}

export type ExecutorMsg =
  /** Answered (null) once the assignments are taken in, so that the leader learns of a refusal at once. */
  | Ask<{ type: 'assign'; leader: string; assignments: Assignment[] }, null>
  | { type: 'abort'; items: Array<{ id: string; attemptKey: string }> }
  /** Work stealing: give up each attempt not started yet; the answer says, per item, whether it was given up. */
  | Ask<{ type: 'release'; items: Array<{ id: string; attemptKey: string }> }, boolean[]>
  | { type: 'flush' }

export type JobsClientMsg =
  | { type: 'finished'; items: Array<{ id: string; outcome: JobOutcome }> }
  | { type: 'progress'; items: Array<{ id: string; fraction: number; message: string | null }> }
  | { type: 'rewatch' }
  /** Rewatch at once if the leader changed since the last rewatch. */
  | { type: 'leaderCheck' }

/** Decodes a submitted job record that came from another node; the codec's validation is the check. */
export function checkSubmission(bytes: unknown): JobSpec {
  if (!(bytes instanceof Uint8Array)) throw new InvalidJobError('a submission must be an encoded job record')
  let record
  try {
    record = decodeJobRecord(bytes)
  } catch (error) {
    throw new InvalidJobError(`malformed job: ${(error as Error).message}`)
  }
  if (record.kind !== 'submitted') throw new InvalidJobError('a submission must be a submitted-job record')
  return record.spec
}

/** Checks a job spec that came from another node inside an assignment, by the job-log codec's rules (without a round trip through the codec). */
export function checkSpec(spec: unknown): JobSpec {
  try {
    return checkJobSpec(spec)
  } catch (error) {
    throw new InvalidJobError(`malformed job: ${(error as Error).message}`)
  }
}

/** Checks an assignment that came from the leader: its spec by the job-log codec's rules, its attempt key (an absent attempt number counts as the first). */
export function checkAssignment(value: unknown): Assignment {
  const a = value as { spec?: unknown; attempt?: unknown; attemptKey?: unknown } | null
  if (typeof a !== 'object' || a === null) throw new InvalidJobError('an assignment must be {spec, attempt, attemptKey}')
  return { spec: checkSpec(a.spec), attempt: typeof a.attempt === 'number' ? a.attempt : 1, attemptKey: checkText(a.attemptKey, 'attemptKey', 64) }
}

/** Checks a list that came from another node. */
export function checkList<T>(items: unknown, what: string): T[] {
  if (!Array.isArray(items) || items.length > BATCH_MAX_JOBS) throw new InvalidJobError(`${what} must be a list of at most ${BATCH_MAX_JOBS}`)
  return items as T[]
}

/** Checks an id or address string that came from another node. */
export function checkText(value: unknown, what: string, max = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new InvalidJobError(`${what} must be a non-empty string`)
  return value
}

/** Checks an outcome that came from another node: its shape, and a value that is plain data. */
export function checkOutcome(outcome: unknown): JobOutcome {
  const o = outcome as { ok?: unknown; value?: unknown; error?: { name?: unknown; code?: unknown; message?: unknown }; permanent?: unknown } | null
  if (typeof o !== 'object' || o === null || typeof o.ok !== 'boolean') throw new InvalidJobError('an outcome must be {ok, value} or {ok, error, permanent}')
  if (o.ok) {
    try {
      checkBody(o.value)
    } catch (error) {
      throw new InvalidJobError(`malformed outcome: ${(error as Error).message}`)
    }
    return { ok: true, value: o.value }
  }
  const e = o.error
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.name !== 'string' ||
    typeof e.code !== 'string' ||
    typeof e.message !== 'string' ||
    typeof o.permanent !== 'boolean' ||
    e.name.length > WIRE_ERROR_NAME_MAX_CHARS ||
    e.code.length > WIRE_ERROR_NAME_MAX_CHARS ||
    e.message.length > WIRE_ERROR_MESSAGE_MAX_CHARS
  ) {
    throw new InvalidJobError('malformed outcome error')
  }
  return { ok: false, error: toWireError(e), permanent: o.permanent }
}
