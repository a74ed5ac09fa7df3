/**
 * The job model: what is submitted, how it runs, and what is recorded. The recorded part (spec,
 * resolved options, outcome) is what the job log stores, so it lives with its codec in
 * protocols/jobs/types.ts and is re-exported here.
 */
import type { JobOutcome } from '../../protocols/jobs/types.js'
import type { Environment } from '../env/types.js'

export type { JobError, JobOutcome, JobSpec, ResolvedJobOptions } from '../../protocols/jobs/types.js'

/** Options of one submission; every field is optional. */
export interface JobOptions {
  /** Higher runs first. Default 0. */
  priority?: number
  /** Each attempt is aborted after this long. Default 60,000. */
  timeoutMs?: number
  /** Attempts after the first. Default 3. */
  retries?: number
  /** Delay before retry n: min(maxMs, minMs * factor^(n-1)) +- jitter. */
  backoff?: { minMs?: number; maxMs?: number; factor?: number; jitter?: number }
  /** Wall-clock time (ms since the epoch) by which the job must have started, or it fails. */
  deadline?: number
  /** Jobs with the same key run once; later submissions get the first one's result. */
  idempotencyKey?: string
  /** Ids of jobs that must complete first; if one fails, this one fails too. */
  dependsOn?: readonly string[]
  /** The submitter's estimate of how long the job runs (ms); placement uses it instead of the learnt one. */
  durationHintMs?: number
}

/** Where a job is in its life. */
export type JobStatus = 'waiting' | 'queued' | 'retrying' | 'running' | 'completed' | 'failed' | 'cancelled'

/** True for statuses a job never leaves. */
export function isFinal(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled'
}

/** A job as `inspect` and `list` report it. */
export interface JobInfo {
  readonly id: string
  readonly type: string
  readonly status: JobStatus
  readonly attempts: number
  readonly assignedTo: string | null
  readonly progress: { readonly fraction: number; readonly message: string | null } | null
  readonly outcome: JobOutcome | null
  readonly submittedAt: number
  /** When the leader recorded the final outcome (wall clock, ms), or null while the job is not final. */
  readonly finishedAt: number | null
}

/** What a handler gets besides its input. */
export interface JobContext {
  readonly jobId: string
  /** 1 for the first attempt. */
  readonly attempt: number
  /** Aborted when the job is cancelled or its attempt times out. */
  readonly signal: AbortSignal
  readonly env: Environment
  /** Reports progress (0..1) to the submitter; frequent calls are throttled. */
  progress(fraction: number, message?: string): void
}

/** A job type: its name and handler, registered on every peer. */
/** What one job takes of a peer while it runs or waits there. */
export interface JobResources {
  /** Worker slots of its type's pool it holds while it runs (at most the type's concurrency); it counts as that many against the peer's capacity in placement. */
  readonly slots: number
}

export interface JobDef<I = unknown, O = unknown> {
  readonly type: string
  run(input: I, ctx: JobContext): O | Promise<O>
  /** How many jobs of this type one peer runs at once. Default 16. */
  readonly concurrency: number
  /** Checks (and may convert) the input at submission; throw to refuse it. */
  readonly validate?: (input: unknown) => I
  /** What one job of this type takes of a peer; absent: one slot. */
  readonly resources?: JobResources
  /** Phantom: the result type, for typed `result()`. */
  readonly __output?: O
}
