/**
 * The leader's append pipeline for job-log records, with no I/O: what to append next, in which
 * batches, and what landed (actors/scheduler.ts carries out its steps and reports back).
 *
 * - Records wait in arrival order and go out in batches of at most `batchMaxRecords`, with at most
 *   `maxInFlight` appends under way (the log combines concurrent appends into one write). Batches
 *   may land in any order: a job's later records are only requested once its earlier ones are
 *   durable, so the order that matters (submitted before finished) always holds.
 * - A failed append goes back to the front of the queue as is, after the backoff (append-health.ts);
 *   it may have landed, so its records are in doubt until their retry is durable.
 * - A snapshot is a barrier (snapshot-schedule.ts): once one is due, no append starts until those
 *   under way are done and no record is in doubt, so the state it captures reflects exactly the
 *   records in the log; none starts either while the snapshot append is under way.
 * - A submitted record is appended as the bytes it arrived in, not encoded again.
 */
import { assert } from '../assert.js'
import type { JobRecord } from '../../protocols/jobs/codec.js'
import type { AppendHealth } from './append-health.js'
import type { SnapshotSchedule } from './snapshot-schedule.js'

/** Records per append. */
export const APPEND_BATCH_MAX_RECORDS = 5000
/** Appends under way at once. */
export const MAX_APPENDS_IN_FLIGHT = 4

/** What the driver does next: append one batch (and report it with `landed` or `failed`), or take a snapshot. */
export type AppendStep =
  { readonly kind: 'append'; readonly batch: number; readonly records: readonly JobRecord[]; readonly payloads: Uint8Array[] } | { readonly kind: 'snapshot' }

interface Flight {
  readonly records: JobRecord[]
  readonly startedMs: number
  readonly bytes: number
}

export class AppendPipeline {
  private pending: JobRecord[] = []
  private readonly inFlight = new Map<number, Flight>()
  private nextBatch = 0
  /** Records whose append failed and may have landed: a snapshot waits until their retry is durable. */
  private readonly doubtful = new Set<JobRecord>()
  /** Submitted records as they arrived, by job id, until they land. */
  private readonly submittedBytes = new Map<string, Uint8Array>()

  constructor(
    private readonly encode: (record: JobRecord) => Uint8Array,
    private readonly health: AppendHealth,
    private readonly snapshots: SnapshotSchedule,
    private readonly batchMaxRecords = APPEND_BATCH_MAX_RECORDS,
    private readonly maxInFlight = MAX_APPENDS_IN_FLIGHT,
  ) {
    assert(batchMaxRecords >= 1 && maxInFlight >= 1, 'append pipeline: invalid limits')
  }

  /** Appends under way. */
  get appending(): number {
    return this.inFlight.size
  }

  /** Records waiting for an append. */
  get waiting(): number {
    return this.pending.length
  }

  /** Keeps the bytes a job's submitted record arrived in, to append them as they are. */
  keepSubmitted(id: string, bytes: Uint8Array): void {
    this.submittedBytes.set(id, bytes)
  }

  /** Forgets a job's submitted bytes (its submission was not accepted as new). */
  dropSubmitted(id: string): void {
    this.submittedBytes.delete(id)
  }

  /** Queues records for appending, after those already waiting. */
  enqueue(records: readonly JobRecord[]): void {
    this.pending.push(...records)
  }

  /**
   * The next step at `nowMs`, or undefined when nothing may start now. Call again after each step;
   * after a snapshot step that could not be appended, call with `snapshot` false so that appends go on.
   */
  next(nowMs: number, snapshot = true): AppendStep | undefined {
    if (this.snapshots.underWay) return undefined
    if (snapshot && this.snapshots.due()) {
      // The barrier: nothing new goes out until the snapshot is durable.
      if (this.inFlight.size === 0 && this.doubtful.size === 0) return { kind: 'snapshot' }
      if (this.inFlight.size > 0 || !this.health.mayAppend(nowMs)) return undefined
    }
    if (this.pending.length === 0 || this.inFlight.size >= this.maxInFlight || !this.health.mayAppend(nowMs)) return undefined
    const max = this.batchMaxRecords
    const records = this.pending.length <= max ? this.pending : this.pending.slice(0, max)
    this.pending = this.pending.length <= max ? [] : this.pending.slice(max)
    const batch = this.nextBatch++
    const payloads = records.map((record) => (record.kind === 'submitted' ? this.submittedBytes.get(record.spec.id) : undefined) ?? this.encode(record))
    this.inFlight.set(batch, { records, startedMs: nowMs, bytes: payloads.reduce((sum, p) => sum + p.length, 0) })
    return { kind: 'append', batch, records, payloads }
  }

  /** When the oldest append under way started (Infinity for none). */
  oldestStartedMs(): number {
    let oldest = Infinity
    for (const f of this.inFlight.values()) oldest = Math.min(oldest, f.startedMs)
    return oldest
  }

  /** Why submitters should not wait for the log at `nowMs`, or undefined while it keeps up. */
  trouble(nowMs: number): string | undefined {
    return this.health.trouble(this.oldestStartedMs(), nowMs)
  }

  /** Batch `batch` is durable from `offset`: returns its records, to apply in order (undefined for a batch not under way). */
  landed(batch: number, offset: number): readonly JobRecord[] | undefined {
    const flight = this.inFlight.get(batch)
    if (flight === undefined) return undefined
    this.inFlight.delete(batch)
    this.health.succeeded()
    // An append's records are contiguous in the log.
    this.snapshots.landed(offset + flight.records.length - 1, flight.records.length, flight.bytes)
    for (const record of flight.records) {
      if (record.kind === 'submitted') this.submittedBytes.delete(record.spec.id)
      this.doubtful.delete(record)
    }
    return flight.records
  }

  /** Batch `batch` failed at `nowMs`: its records go back to the front, in doubt. False for a batch not under way. */
  failed(batch: number, nowMs: number): boolean {
    const flight = this.inFlight.get(batch)
    if (flight === undefined) return false
    this.inFlight.delete(batch)
    this.health.failed(nowMs)
    for (const record of flight.records) this.doubtful.add(record)
    this.pending = [...flight.records, ...this.pending]
    return true
  }
}
