/**
 * The messages between job clients, the leader's scheduler and every peer's executor, and the
 * checks applied to them when they arrive from another node. Actors refer to each other by address
 * strings here, because message bodies are plain data.
 */
import type { Ask } from '../actor/types.js'
import { decodeJobRecord, encodeJobRecord } from '../../protocols/jobs/codec.js'
import { InvalidJobError } from './errors.js'
import type { JobError, JobInfo, JobOutcome, JobSpec, JobStatus } from './types.js'

/** Where the built-in job actors live on every node. */
export const SCHEDULER_PATH = '/system/scheduler'
export const EXECUTOR_PATH = '/system/executor'
export const JOBS_CLIENT_PATH = '/system/jobs-client'

/** Most jobs in one submit or report message. */
export const BATCH_MAX = 10_000

/** The answer to one job of a submit. */
export type SubmitReply = { readonly status: 'accepted' } | { readonly status: 'duplicate'; readonly of: string } | { readonly status: 'refused'; readonly error: JobError }

/** What an executor reports about an attempt. */
export type Report =
  | { readonly kind: 'finished'; readonly id: string; readonly attemptKey: string; readonly outcome: JobOutcome; readonly durationMs: number }
  | { readonly kind: 'progress'; readonly id: string; readonly attemptKey: string; readonly fraction: number; readonly message: string | null }

export type SchedulerMsg =
  | Ask<{ type: 'submit'; jobs: JobSpec[]; watcher: string | null }, SubmitReply[]>
  | Ask<{ type: 'watch'; ids: string[]; watcher: string }, boolean[]>
  | Ask<{ type: 'cancel'; id: string }, boolean>
  | Ask<{ type: 'inspect'; id: string }, JobInfo | null>
  | Ask<{ type: 'list'; status: JobStatus | null; limit: number }, JobInfo[]>
  | Ask<{ type: 'reports'; reports: Report[] }, number>
  | { type: 'tick' }
  | { type: 'dispatch' }
  | { type: 'appended'; ok: boolean }

/** One attempt handed to an executor. */
export interface Assignment {
  readonly spec: JobSpec
  readonly attempt: number
  readonly attemptKey: string
}

export type ExecutorMsg =
  | { type: 'assign'; leader: string; assignments: Assignment[] }
  | { type: 'abort'; items: Array<{ id: string; attemptKey: string }> }
  | { type: 'flush' }

export type JobsClientMsg =
  | { type: 'finished'; items: Array<{ id: string; outcome: JobOutcome }> }
  | { type: 'progress'; items: Array<{ id: string; fraction: number; message: string | null }> }
  | { type: 'rewatch' }

/** Checks a job spec that came from another node, through the job-log codec's own validation. */
export function checkSpec(spec: unknown): JobSpec {
  try {
    const record = decodeJobRecord(encodeJobRecord({ kind: 'submitted', spec: spec as JobSpec }))
    if (record.kind !== 'submitted') throw new InvalidJobError('not a job')
    return record.spec
  } catch (error) {
    if (error instanceof InvalidJobError) throw error
    throw new InvalidJobError(`malformed job: ${(error as Error).message}`)
  }
}

/** Checks a list that came from another node. */
export function checkList<T>(items: unknown, what: string): T[] {
  if (!Array.isArray(items) || items.length > BATCH_MAX) throw new InvalidJobError(`${what} must be a list of at most ${BATCH_MAX}`)
  return items as T[]
}

/** Checks an id or address string that came from another node. */
export function checkText(value: unknown, what: string, max = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new InvalidJobError(`${what} must be a non-empty string`)
  return value
}

/** Checks an outcome that came from another node. */
export function checkOutcome(outcome: unknown): JobOutcome {
  try {
    const record = decodeJobRecord(encodeJobRecord({ kind: 'finished', id: 'x', attempt: 0, outcome: outcome as JobOutcome }))
    if (record.kind !== 'finished') throw new InvalidJobError('not an outcome')
    return record.outcome
  } catch (error) {
    if (error instanceof InvalidJobError) throw error
    throw new InvalidJobError(`malformed outcome: ${(error as Error).message}`)
  }
}
