/**
 * How job results sit in the result cache: `job:<id>` holds the recorded outcome, `idem:<key>` the
 * id of the job that owns an idempotency key. Only the leader writes, after the outcome is durable
 * in the job log, with setIfAbsent; any node reads, which serves results without asking the leader.
 */
import { Packr } from 'msgpackr'
import { checkOutcome } from './protocol.js'
import type { JobOutcome } from './types.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/** How long cached results live. */
export const RESULT_TTL_MS = 24 * 3600_000

/** The cache key of a job's recorded outcome. */
export function resultKey(id: string): string {
  return `job:${id}`
}

/** The cache key mapping an idempotency key to the job that owns it. */
export function idempotencyCacheKey(key: string): string {
  return `idem:${key}`
}

/** Encodes an outcome for the cache. */
export function encodeOutcome(outcome: JobOutcome): Uint8Array {
  return packr.pack(outcome)
}

/** Decodes a cached outcome, or undefined if the bytes are not one (a cache may hold anything). */
export function decodeOutcome(bytes: Uint8Array): JobOutcome | undefined {
  try {
    return checkOutcome(packr.unpack(bytes))
  } catch {
    return undefined
  }
}
