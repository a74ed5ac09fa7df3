/**
 * Record offsets of the replicated job log (src/replication) (issue 9: one entry per scheduler append). An entry
 * carries a batch of records, so offsets are not entry indexes: the records of an append that
 * starts at entry index A get offsets A * OFFSET_STRIDE, A * OFFSET_STRIDE + 1, ... (consecutive,
 * as the JobLog port's callers count on), even when the append is split over several entries (a
 * later entry of the same append carries on from the offset after its predecessor's last record).
 * So the entry holding an offset is found by arithmetic: it is at or after `appendIndexOf(offset)`,
 * within the same append, with no per-entry offset table; offsets have gaps between appends, which
 * the port allows. An append of more than OFFSET_STRIDE records is refused.
 */

/** Offsets per entry index: the most records one append may hold. */
export const OFFSET_STRIDE = 65_536

/** The offset of the first record of an append that starts at entry `index`. */
export function appendOffset(index: number): number {
  return index * OFFSET_STRIDE
}

/** The index of the entry where the append holding `offset` starts (the entry holding it is at or after it). */
export function appendIndexOf(offset: number): number {
  return Math.floor(offset / OFFSET_STRIDE)
}

/**
 * Why an entry at `index` whose records start at `offset` and number `count` breaks the rules above,
 * given where its predecessor's records ended (`previousEnd`, undefined when unknown); undefined
 * when it follows them. A new append starts at its own index's offset; a continuation carries on
 * exactly from its predecessor; either way its records stay within its append's stride.
 */
export function entryOffsetProblem(index: number, offset: number, count: number, previousEnd: number | undefined): string | undefined {
  if (!Number.isSafeInteger(offset) || offset < 0) return `offset ${offset} is not a non-negative safe integer`
  if (count < 1 || count > OFFSET_STRIDE) return `${count} records, outside [1, ${OFFSET_STRIDE}]`
  const start = appendIndexOf(offset)
  if (start > index) return `offset ${offset} belongs to an append at index ${start}, after the entry's ${index}`
  if (offset - appendOffset(start) + count > OFFSET_STRIDE) return `records from offset ${offset} outgrow their append's ${OFFSET_STRIDE} offsets`
  if (start === index ? offset !== appendOffset(index) : previousEnd !== undefined && offset !== previousEnd)
    return `offset ${offset} neither starts an append at index ${index} nor continues the previous entry (ending at ${previousEnd})`
  return undefined
}

/** Per-record framing counted with an entry's payload bytes (a length prefix on disk and on the wire). */
export const RECORD_OVERHEAD_BYTES = 4

/** What an entry weighs in the byte budgets of batches and buffers: its records and their framing. */
export function entryBytes(entry: { readonly payloads: readonly Uint8Array[] }): number {
  let bytes = 0
  for (const p of entry.payloads) bytes += p.length + RECORD_OVERHEAD_BYTES
  return bytes
}
