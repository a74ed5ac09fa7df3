/** Submission options: defaults, validation and bounds; and the job id an idempotency key implies. */
import { createHash } from 'node:crypto'
import { validBackoff } from '../util/backoff.js'
import { InvalidJobError } from './errors.js'
import type { JobOptions, ResolvedJobOptions } from './types.js'

/** Default per-attempt timeout. */
export const JOB_TIMEOUT_MS = 60_000
/** Default retries after the first attempt. */
export const JOB_RETRIES = 3
/** Most retries a job may ask for. */
export const JOB_MAX_RETRIES = 100
/** Most dependencies of one job. */
export const JOB_MAX_DEPENDENCIES = 1024
/** The longest timer Node keeps: a longer one fires after 1 ms, which would abort the attempt at once. */
export const TIMER_MAX_MS = 2 ** 31 - 1

function fail(message: string): never {
  throw new InvalidJobError(message)
}

/** Applies defaults and checks every option; throws InvalidJobError naming the bad one. */
export function resolveJobOptions(o: JobOptions = {}): ResolvedJobOptions {
  const backoff = { minMs: o.backoff?.minMs ?? 100, maxMs: o.backoff?.maxMs ?? 30_000, factor: o.backoff?.factor ?? 2, jitter: o.backoff?.jitter ?? 0.2 }
  const resolved: ResolvedJobOptions = {
    priority: o.priority ?? 0,
    timeoutMs: o.timeoutMs ?? JOB_TIMEOUT_MS,
    retries: o.retries ?? JOB_RETRIES,
    backoff,
    deadline: o.deadline ?? null,
    idempotencyKey: o.idempotencyKey ?? null,
    dependsOn:
      o.dependsOn === undefined
        ? []
        : Array.isArray(o.dependsOn)
          ? [...(o.dependsOn as readonly string[])]
          : fail(`dependsOn must be a list of job ids, got ${typeof o.dependsOn}`),
    ...(o.durationHintMs === undefined ? {} : { durationHintMs: o.durationHintMs }),
  }
  if (!Number.isFinite(resolved.priority)) throw new InvalidJobError(`priority must be a finite number, got ${String(o.priority)}`)
  if (!(resolved.timeoutMs > 0) || !(resolved.timeoutMs <= TIMER_MAX_MS))
    throw new InvalidJobError(`timeoutMs must be between 1 and ${TIMER_MAX_MS} ms, got ${String(o.timeoutMs)}`)
  if (!Number.isInteger(resolved.retries) || resolved.retries < 0 || resolved.retries > JOB_MAX_RETRIES)
    throw new InvalidJobError(`retries must be an integer in 0..${JOB_MAX_RETRIES}, got ${String(o.retries)}`)
  if (!validBackoff(backoff) || !(backoff.maxMs <= TIMER_MAX_MS)) throw new InvalidJobError(`invalid backoff ${JSON.stringify(backoff)}`)
  if (resolved.deadline !== null && !Number.isFinite(resolved.deadline)) throw new InvalidJobError(`deadline must be a time in ms since the epoch, got ${String(o.deadline)}`)
  if (resolved.idempotencyKey !== null && (typeof resolved.idempotencyKey !== 'string' || resolved.idempotencyKey.length === 0 || resolved.idempotencyKey.length > 4096)) {
    throw new InvalidJobError('idempotencyKey must be a non-empty string of at most 4096 characters')
  }
  if (resolved.dependsOn.length > JOB_MAX_DEPENDENCIES || resolved.dependsOn.some((d) => typeof d !== 'string' || d.length === 0 || d.length > 128)) {
    throw new InvalidJobError(`dependsOn must list at most ${JOB_MAX_DEPENDENCIES} job ids`)
  }
  if (resolved.durationHintMs !== undefined && !(resolved.durationHintMs > 0 && resolved.durationHintMs <= TIMER_MAX_MS)) {
    throw new InvalidJobError(`durationHintMs must be between 1 and ${TIMER_MAX_MS} ms, got ${String(o.durationHintMs)}`)
  }
  return resolved
}

/**
 * The id of the job that owns an idempotency key: a pure function of the key (SHA-256 of
 * "idem:" + key, 128 bits in hex), the same on every node and in every cluster. Because a keyed
 * submission always carries this id, resubmitting it after an ambiguous failure (the node stopped,
 * the log did not answer) names the same job, and the leader's dedupe by id applies even when the
 * first submission's record landed without anyone hearing of it.
 */
export function idempotentJobId(key: string): string {
  return `k-${createHash('sha256').update(`idem:${key}`, 'utf8').digest('hex').slice(0, 32)}`
}
