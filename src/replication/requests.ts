/**
 * The job-log session's requests to the replicator that need no replication state: checking an
 * append's records, and reading committed records back from the local log.
 */
import { InvalidArgumentError } from '../errors.js'
import type { LogRecord, ReplicaLog } from '../storage/types.js'
import { REPLICATION_PAYLOAD_MAX_BYTES } from '../../protocols/replication/codec.js'
import { OFFSET_STRIDE } from '../../protocols/replication/offsets.js'

/** Bytes per read of the local log. */
const READ_MAX_BYTES = 4 * 1024 * 1024

/** Why records cannot be appended, if they cannot: empty ones mark the log's own (no-op) entries. */
export function checkAppend(payloads: readonly Uint8Array[]): InvalidArgumentError | undefined {
  if (payloads.length === 0 || payloads.some((p) => p.length === 0)) return new InvalidArgumentError('empty records are reserved for the log itself')
  if (payloads.length > OFFSET_STRIDE) return new InvalidArgumentError(`an append of ${payloads.length} records exceeds ${OFFSET_STRIDE}`)
  if (payloads.some((p) => p.length > REPLICATION_PAYLOAD_MAX_BYTES)) return new InvalidArgumentError(`a record exceeds ${REPLICATION_PAYLOAD_MAX_BYTES} bytes`)
  return undefined
}

/**
 * Committed records of `log` at offsets from `offset` on, in the entries from index `from` (the
 * append holding `offset`, or the log's start) below `to`, skipping the no-op entries' empty
 * records, up to `max`; empty only at the end. Every entry holds at least one record, so `max`
 * entries are enough.
 */
export async function readCommitted(log: ReplicaLog, offset: number, from: number, to: number, max: number): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  for (let at = from; at < to && out.length === 0;) {
    const entries = await log.read(at, Math.min(max, to - at), READ_MAX_BYTES)
    if (entries.length === 0) break
    for (const e of entries) {
      if (e.index >= to) break
      for (let i = 0; i < e.payloads.length && out.length < max; i++) {
        const payload = e.payloads[i]!
        if (payload.length > 0 && e.offset + i >= offset) out.push({ offset: e.offset + i, epoch: e.epoch, payload })
      }
    }
    at = entries[entries.length - 1]!.index + 1
  }
  return out
}
