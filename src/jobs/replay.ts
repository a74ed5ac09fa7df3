/**
 * How a new leader rebuilds the scheduler from the job log: from the latest snapshot on.
 *
 * Which snapshots count: a snapshot goes out in one append (codec.ts), its parts contiguous. It
 * stands for the log before it only if the record right before it is the last one its state
 * reflects (`after`): an append whose failure was reported may still land later, anywhere, and a
 * snapshot that landed late, after records it does not reflect, must not replace them. A snapshot
 * at the start of a compacted log counts: the leader compacts only at one it checked.
 *
 * And it counts only if all its parts are in the log. One append is not all or nothing on every
 * log: the replicated log sends an append to the followers in batches of at most
 * `batchMaxBytes`, so a leader that stops mid-way can leave only the first parts of a snapshot
 * committed (a snapshot of a few MB is several parts and several batches). Such a prefix restores
 * nothing; taken for the latest snapshot, it made a new leader forget every job before it, while
 * their submitters waited for ever (issue 9's stall after leader changes under load).
 *
 * Finding it: the search reads back from the end of the log in windows that grow eightfold, and
 * stops at the newest snapshot that counts; an incomplete one sends it on below. The search
 * reads about as many records as were appended since that snapshot; after a compaction the log
 * starts at it anyway (file and simulated logs), while Kafka keeps its records and relies on the
 * search alone.
 *
 * Replaying: records are applied in order; a complete snapshot replaces everything applied before
 * it (a fresh core restored from it), which is what replaying those records would have built,
 * since the leader takes a snapshot only once every record it appended before is applied. A record
 * that cannot be decoded is skipped and counted, and so is a snapshot that cannot be.
 */
import { decodeJobRecord, decodeSnapshotState, maybeSnapshotRecord, type JobRecord } from '../../protocols/jobs/codec.js'
import { ProtocolError } from '../../protocols/errors.js'
import type { AbortOptions } from '../env/types.js'
import type { JobLog } from '../storage/types.js'
import type { SchedulerCore } from './scheduler-core.js'

/** Records read per request. */
const READ_CHUNK = 5000
/** The first window the snapshot search reads back from the end. */
const SEARCH_WINDOW = 1024

/** Feeds records to a core in log order, restoring a fresh core at each complete snapshot. */
export class Replayer {
  private core: SchedulerCore
  private collecting: { id: string; parts: number; data: Uint8Array[] } | undefined
  /** Records (and snapshots) that could not be decoded. */
  skipped = 0
  /** Snapshots restored. */
  snapshots = 0
  /** Records applied since the last snapshot restored (or since the start). */
  sinceSnapshot = 0
  /** Offset of the last record fed, -1 before any. */
  lastOffset = -1
  /** Offset of the record before the snapshot being collected. */
  private beforeSnapshot = -1
  /** Offset of the first part of the snapshot being collected. */
  private snapshotAt = -1

  /** `trustedAt`: the offset of a snapshot already checked (the first record of a compacted log, or one the search found). */
  constructor(
    private readonly makeCore: () => SchedulerCore,
    private readonly trustedAt?: number,
  ) {
    this.core = makeCore()
    this.core.beginReplay()
  }

  feed(payload: Uint8Array, offset: number): void {
    const before = this.lastOffset
    this.lastOffset = offset
    let record: JobRecord
    try {
      record = decodeJobRecord(payload)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.skipped++
      return
    }
    if (record.kind === 'snapshot') {
      if (record.part === 0) {
        this.beforeSnapshot = before
        this.snapshotAt = offset
      }
      this.part(record)
      return
    }
    this.collecting = undefined
    this.sinceSnapshot++
    this.core.apply(record)
  }

  /** Ends the replay and returns the core, ready to lead. */
  finish(): SchedulerCore {
    this.core.endReplay()
    return this.core
  }

  private part(record: Extract<JobRecord, { kind: 'snapshot' }>): void {
    if (record.part === 0) this.collecting = { id: record.id, parts: record.parts, data: [] }
    const c = this.collecting
    if (c === undefined || c.id !== record.id || c.parts !== record.parts || c.data.length !== record.part) {
      // Parts out of place cannot come from one append; nothing here can be trusted.
      this.collecting = undefined
      this.skipped++
      return
    }
    c.data.push(record.data)
    if (c.data.length < c.parts) return
    this.collecting = undefined
    // A snapshot that landed after records it does not reflect is passed over (see the module doc).
    if (this.snapshotAt !== this.trustedAt && this.beforeSnapshot !== record.after) return
    const blob = Buffer.concat(c.data)
    let state
    try {
      state = decodeSnapshotState(blob)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.skipped++
      return
    }
    const core = this.makeCore()
    core.beginReplay()
    core.restore(state)
    this.core = core
    this.snapshots++
    this.sinceSnapshot = 0
  }
}

/**
 * The offset of the first part of the newest snapshot that counts in [start, end), or `start` if
 * there is none: one that reflects the record right before it, and whose parts are all there.
 */
export async function findLatestSnapshot(log: JobLog, start: number, end: number, options: AbortOptions = {}): Promise<number> {
  for (let hi = end; hi > start;) {
    const found = await newestPlacedSnapshot(log, start, hi, options)
    if (found === undefined) return start
    if (await hasAllParts(log, found, end, options)) return found
    hi = found
  }
  return start
}

/**
 * The offset of the first part of the newest snapshot in [start, hi) that reflects the record
 * right before it (or starts a compacted log), whatever follows it. A window's first record has no
 * known predecessor, so the next window ends just past it and looks at it again.
 */
async function newestPlacedSnapshot(log: JobLog, start: number, end: number, options: AbortOptions): Promise<number | undefined> {
  let window = SEARCH_WINDOW
  for (let hi = end; hi > start; window *= 8) {
    const lo = Math.max(start, hi - window)
    let found: number | undefined
    let first: number | undefined
    let before: number | undefined
    for (let offset = lo; offset < hi;) {
      const chunk = await log.read(offset, Math.min(READ_CHUNK, hi - offset), options)
      if (chunk.length === 0) break
      for (const entry of chunk) {
        if (entry.offset >= hi) break
        const after = firstSnapshotPart(entry.payload)
        if (after !== undefined) {
          const atStart = first === undefined && lo === start
          if (before === after || (atStart && (after === -1 || start > 0))) found = entry.offset
        }
        first ??= entry.offset
        before = entry.offset
        offset = entry.offset + 1
      }
      if (chunk[chunk.length - 1]!.offset >= hi) break
    }
    if (found !== undefined) return found
    if (first === undefined || lo === start) hi = lo
    else hi = first + 1
  }
  return undefined
}

/** True if the snapshot whose first part is at `at` has all its parts, in order, before `end`. */
async function hasAllParts(log: JobLog, at: number, end: number, options: AbortOptions): Promise<boolean> {
  let expected: { id: string; parts: number } | undefined
  let seen = 0
  for (let offset = at; offset < end && (expected === undefined || seen < expected.parts);) {
    const chunk = await log.read(offset, expected === undefined ? 1 : expected.parts - seen, options)
    if (chunk.length === 0) break
    for (const entry of chunk) {
      if (entry.offset >= end || (expected !== undefined && seen >= expected.parts)) break
      const part = snapshotPart(entry.payload)
      if (part === undefined || part.part !== seen || (expected !== undefined && (part.id !== expected.id || part.parts !== expected.parts))) return false
      expected ??= { id: part.id, parts: part.parts }
      seen++
      offset = entry.offset + 1
    }
  }
  return expected !== undefined && seen === expected.parts
}

/** What a replay found. */
export interface ReplayResult {
  readonly core: SchedulerCore
  /** Where the replay began (the latest snapshot, or the log's start). */
  readonly from: number
  /** One past the last record read. */
  readonly end: number
  readonly skipped: number
  /** Records after the snapshot restored, which count toward the next snapshot. */
  readonly sinceSnapshot: number
  /** Offset of the last record read, -1 for an empty log. */
  readonly lastOffset: number
}

/** Replays `log` from its latest snapshot into a core made by `makeCore`. */
export async function replayJobLog(log: JobLog, makeCore: () => SchedulerCore, options: AbortOptions = {}): Promise<ReplayResult> {
  const start = await log.startOffset(options)
  const end = await log.endOffset(options)
  const from = await findLatestSnapshot(log, start, end, options)
  const replayer = new Replayer(makeCore, from)
  let offset = from
  while (offset < end) {
    const chunk = await log.read(offset, READ_CHUNK, options)
    if (chunk.length === 0) break
    for (const entry of chunk) {
      replayer.feed(entry.payload, entry.offset)
      offset = entry.offset + 1
    }
  }
  return { core: replayer.finish(), from, end: offset, skipped: replayer.skipped, sinceSnapshot: replayer.sinceSnapshot, lastOffset: replayer.lastOffset }
}

/** The `after` of a snapshot's first part, or undefined for any other record. */
function firstSnapshotPart(payload: Uint8Array): number | undefined {
  const part = snapshotPart(payload)
  return part?.part === 0 ? part.after : undefined
}

/** The snapshot part `payload` holds, or undefined for any other record (or bytes no decoder reads). */
function snapshotPart(payload: Uint8Array): Extract<JobRecord, { kind: 'snapshot' }> | undefined {
  if (!maybeSnapshotRecord(payload)) return undefined
  try {
    const record = decodeJobRecord(payload)
    return record.kind === 'snapshot' ? record : undefined
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error
    return undefined
  }
}
