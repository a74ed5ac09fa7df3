/**
 * When the leader snapshots its state into the job log, with no I/O (actors/scheduler.ts appends
 * the snapshot; src/jobs/append-pipeline.ts holds appends around it).
 *
 * - A snapshot is due after `everyRecords` records or `everyBytes` bytes appended since the last
 *   one, and only once at least as many bytes were appended as the last snapshot took: snapshots
 *   never write more than the log they let go, so write amplification stays below 2 however much
 *   state the leader holds.
 * - A snapshot reflects the log up to the last record of this leader known durable (or replayed):
 *   `lastLanded` only grows.
 * - One snapshot is under way at a time; each has an id unique in the epoch.
 * - A new leader takes no snapshot before its first append has landed, even if the records it
 *   replayed since the latest snapshot already make one due: a snapshot is a barrier (the state
 *   encoded on the event loop, then its append replicated) that the first submissions after a
 *   failover would wait behind. With 10,000 retained jobs that was ~100-200 ms of encode plus the
 *   append of a few MB, inside the failover time (test/bench/RESULTS.md, failover, 2026-11-29). The
 *   records replayed still count, so the snapshot follows the first append that lands.
 */
import { assert } from '../assert.js'

/** When the scheduler snapshots its state into the log (and lets the log compact). */
export interface SnapshotPolicy {
  /** Records appended since the last snapshot that trigger the next one. */
  everyRecords: number
  /** Bytes appended since the last snapshot that trigger the next one. */
  everyBytes: number
  /** Bytes of state per snapshot record (SNAPSHOT_PART_BYTES when absent); the simulator makes it small so that snapshots span several records and replication batches. */
  partBytes?: number
}

/** Default snapshot policy: every 10,000 records or 64 MiB. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { everyRecords: 10_000, everyBytes: 64 * 1024 * 1024 }

/** A snapshot to take: its id, and the offset of the last record it reflects (-1 for none). */
export interface SnapshotTicket {
  readonly id: string
  readonly after: number
}

export class SnapshotSchedule {
  private sinceRecords: number
  private sinceBytes = 0
  private lastSnapshotBytes = 0
  private count = 0
  private taking = false
  private landedOffset: number
  /** True once an append of this leader has landed: no snapshot before (see the module doc). */
  private appended = false

  /** `replayed`: the records a new leader replayed after the latest snapshot, and the offset of the last record it replayed. */
  constructor(
    private readonly epoch: number,
    private readonly policy: SnapshotPolicy,
    replayed: { readonly sinceSnapshot: number; readonly lastOffset: number },
  ) {
    this.sinceRecords = replayed.sinceSnapshot
    this.landedOffset = replayed.lastOffset
  }

  /** True while a snapshot append is under way. */
  get underWay(): boolean {
    return this.taking
  }

  /** The offset of the last record known durable: what a snapshot taken now reflects. */
  get lastLanded(): number {
    return this.landedOffset
  }

  /** True when the next snapshot should be taken. */
  due(): boolean {
    const { everyRecords, everyBytes } = this.policy
    return this.appended && (this.sinceRecords >= everyRecords || this.sinceBytes >= everyBytes) && this.sinceBytes >= this.lastSnapshotBytes
  }

  /** `records` records of `bytes` bytes landed, the last at `lastOffset`. */
  landed(lastOffset: number, records: number, bytes: number): void {
    this.landedOffset = Math.max(this.landedOffset, lastOffset)
    this.appended = true
    this.sinceRecords += records
    this.sinceBytes += bytes
  }

  /** Begins the next snapshot: the count starts again, whether or not it can be appended. */
  begin(): SnapshotTicket {
    assert(!this.taking, 'snapshot: begun while another is being appended')
    this.sinceRecords = 0
    this.sinceBytes = 0
    return { id: `${this.epoch}.${++this.count}`, after: this.landedOffset }
  }

  /** The snapshot begun last is being appended, in `bytes` bytes. */
  appending(bytes: number): void {
    assert(!this.taking, 'snapshot: a second append while one is under way')
    this.taking = true
    this.lastSnapshotBytes = bytes
  }

  /** The snapshot append ended: durable in `parts` records from `offset`, or failed (null). */
  ended(offset: number | null, parts: number): void {
    this.taking = false
    if (offset !== null) this.landedOffset = Math.max(this.landedOffset, offset + parts - 1)
  }
}
