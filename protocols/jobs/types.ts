/** A job as the job log records it: the submitted spec with its resolved options, and an outcome. */
import type { WireError } from '../errors.js'

/** Submission options with every default applied, as stored in the job log. */
export interface ResolvedJobOptions {
  readonly priority: number
  readonly timeoutMs: number
  readonly retries: number
  readonly backoff: { readonly minMs: number; readonly maxMs: number; readonly factor: number; readonly jitter: number }
  readonly deadline: number | null
  readonly idempotencyKey: string | null
  readonly dependsOn: readonly string[]
  /** Absent when the submitter gave no estimate (records written before it existed lack it). */
  readonly durationHintMs?: number
}

/** A submitted job. */
export interface JobSpec {
  readonly id: string
  readonly type: string
  readonly input: unknown
  readonly options: ResolvedJobOptions
  /** Wall-clock time of submission, from the submitting node. */
  readonly submittedAt: number
}

/** An error as jobs record it: the wire form of the error (see toWireError). */
export type JobError = WireError

/** How one attempt or one job ended. */
export type JobOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: JobError; readonly permanent: boolean }
