/**
 * The executor's decisions, with no I/O: which assigned attempt runs on which worker, what is
 * reported, and what is sent again. The executor actor (actors/executor.ts) spawns the workers,
 * runs what this core starts, and sends what it reports; it is the only caller.
 *
 * - One attempt per job at a time on this peer: an assignment for a job already here (queued or
 *   running) does not start a second copy; the one here reports under the newest attempt key.
 * - Attempts wait per type for a free worker, in arrival order; a type this peer does not run is
 *   reported failed at once (UnknownJobTypeError), so the leader retries it elsewhere.
 * - An attempt the leader aborted reports nothing (the leader has moved on); any other ending is
 *   reported. Progress is throttled per attempt.
 * - Finished reports are kept until the leader acknowledges them and go out again otherwise, so a
 *   leader change loses no result; progress reports are best effort and dropped on failure. One
 *   batch is in flight at a time.
 * - The leader may take back an attempt that is still queued (work stealing): it is removed only
 *   if no worker has started it, and the answer says which happened; a removal is also reported
 *   like a result (kept until acknowledged), since the answer is lost if the leader stopped waiting.
 * - An attempt of a type that declares `resources.slots` k holds k of its pool's workers while it
 *   runs, and counts as k in the running and queued figures (capacity counts workers).
 * - The stats the node gossips (running, queued, capacity, durations) always match the pools.
 */
import { assert } from '../assert.js'
import { toError, toWireError } from '../errors.js'
import { PermanentJobError, UnknownJobTypeError } from './errors.js'
import type { ExecutorStats } from './executor-stats.js'
import type { Assignment, Report } from './protocol.js'
import type { JobOutcome, JobSpec } from './types.js'

/**
 * The outcome of an attempt that threw, or whose signal was aborted (`abortReason`, undefined when
 * not): the abort's reason wins over what the handler threw, so a handler that rethrows its own
 * AbortError still reports a timeout; a PermanentJobError, by class or by name, is not retried.
 */
export function failureOutcome(error: unknown, abortReason: unknown): JobOutcome {
  const e = abortReason instanceof Error ? abortReason : toError(error)
  return { ok: false, error: toWireError(e, 'ERR_JOB'), permanent: e instanceof PermanentJobError || e.name === 'PermanentJobError' }
}

/** Minimum time between progress reports of one attempt. */
export const PROGRESS_INTERVAL_MS = 100

/** One assigned attempt on this peer. */
export interface ExecutorRun {
  readonly spec: JobSpec
  readonly attempt: number
  attemptKey: string
  /** The attempt's abort controller, made on first use by the actor (most short jobs never look at their signal). */
  controller: AbortController | undefined
  lastProgressMs: number
}

/** A run to start on a worker. */
export interface Start<W> {
  readonly worker: W
  readonly run: ExecutorRun
}

interface Pool<W> {
  readonly idle: W[]
  readonly queue: ExecutorRun[]
  /** Workers one attempt of the type holds (its declared slots): one runs it, the others stay idle for it. */
  readonly slots: number
}

export class ExecutorCore<W> {
  private readonly pools = new Map<string, Pool<W>>()
  private readonly runs = new Map<string, ExecutorRun>()
  /** The workers a running attempt of several slots holds besides the one that runs it. */
  private readonly held = new Map<ExecutorRun, W[]>()
  private outbox: Report[] = []
  private sending = false

  constructor(private readonly stats: ExecutorStats) {}

  /** Registers the workers of one job type, each attempt of which takes `slots` of them. */
  addPool(type: string, workers: W[], slots = 1): void {
    assert(!this.pools.has(type), 'two pools for one job type')
    assert(Number.isInteger(slots) && slots >= 1 && slots <= workers.length, 'a job type takes more slots than it has workers')
    this.pools.set(type, { idle: [...workers], queue: [], slots })
    this.stats.capacity += workers.length
    this.stats.types.push(type)
  }

  /** The executor stopped: it runs nothing any more. */
  close(): void {
    this.stats.capacity = 0
    this.stats.types.length = 0
  }

  /** Takes one assignment; returns the runs to start now. */
  accept(a: Assignment): Array<Start<W>> {
    const here = this.runs.get(a.spec.id)
    if (here !== undefined) {
      here.attemptKey = a.attemptKey
      return []
    }
    const pool = this.pools.get(a.spec.type)
    if (pool === undefined) {
      this.report({
        kind: 'finished',
        id: a.spec.id,
        attemptKey: a.attemptKey,
        outcome: { ok: false, error: toWireError(new UnknownJobTypeError(a.spec.type)), permanent: false },
        durationMs: 0,
      })
      return []
    }
    const run: ExecutorRun = { spec: a.spec, attempt: a.attempt, attemptKey: a.attemptKey, controller: undefined, lastProgressMs: -Infinity }
    this.runs.set(a.spec.id, run)
    pool.queue.push(run)
    this.stats.queued += pool.slots
    return this.pump(pool)
  }

  /** The leader aborts an attempt: returns its run (to abort its signal) if it is still here under that key. */
  abort(id: string, attemptKey: string): ExecutorRun | undefined {
    const run = this.runs.get(id)
    if (run === undefined || run.attemptKey !== attemptKey) return undefined
    this.runs.delete(id)
    const pool = this.pools.get(run.spec.type)!
    const queuedAt = pool.queue.indexOf(run)
    if (queuedAt !== -1) {
      pool.queue.splice(queuedAt, 1)
      this.stats.queued -= pool.slots
    }
    return run
  }

  /**
   * The leader would move an attempt to an idle peer: removes it if it is still queued here under
   * that key, and says so. False when it has started (or ended, or was replaced by a newer
   * attempt): it stays. Called within one actor turn, so no worker can take it meanwhile.
   */
  release(id: string, attemptKey: string): boolean {
    const run = this.runs.get(id)
    if (run === undefined || run.attemptKey !== attemptKey) return false
    const pool = this.pools.get(run.spec.type)!
    const queuedAt = pool.queue.indexOf(run)
    if (queuedAt === -1) return false
    pool.queue.splice(queuedAt, 1)
    this.runs.delete(id)
    this.stats.queued -= pool.slots
    this.stats.released++
    this.report({ kind: 'released', id, attemptKey })
    return true
  }

  /** An attempt ended on `worker`; `abortedByLeader` says whether the leader's abort ended it. Returns the runs to start now. */
  finished(run: ExecutorRun, worker: W, outcome: JobOutcome, durationMs: number, abortedByLeader: boolean): Array<Start<W>> {
    const pool = this.pools.get(run.spec.type)!
    pool.idle.push(worker)
    const held = this.held.get(run)
    if (held !== undefined) {
      pool.idle.push(...held)
      this.held.delete(run)
    }
    this.stats.running -= pool.slots
    assert(this.stats.running >= 0, 'more attempts finished than started')
    this.stats.recordDuration(run.spec.type, durationMs)
    if (this.runs.get(run.spec.id) === run) this.runs.delete(run.spec.id)
    if (!abortedByLeader) this.report({ kind: 'finished', id: run.spec.id, attemptKey: run.attemptKey, outcome, durationMs })
    return this.pump(pool)
  }

  /** A running attempt's progress; reported unless the last report of the attempt is too recent (or the fraction is not a number). */
  progress(run: ExecutorRun, fraction: number, message: string | null, nowMs: number): void {
    if (nowMs - run.lastProgressMs < PROGRESS_INTERVAL_MS || !Number.isFinite(fraction)) return
    run.lastProgressMs = nowMs
    this.report({ kind: 'progress', id: run.spec.id, attemptKey: run.attemptKey, fraction, message })
  }

  /** Reports waiting to go out, besides the batch in flight. */
  get waitingReports(): number {
    return this.outbox.length
  }

  /** True when a batch may go out now: reports wait and none is in flight. */
  get readyToSend(): boolean {
    return !this.sending && this.outbox.length > 0
  }

  /** The next batch to send; only when `readyToSend`. */
  takeBatch(): Report[] {
    assert(this.readyToSend, 'a second batch while one is in flight, or an empty one')
    const batch = this.outbox
    this.outbox = []
    this.sending = true
    return batch
  }

  /** The leader acknowledged the batch in flight. */
  delivered(): void {
    this.sending = false
  }

  /** The batch in flight was not acknowledged: its finished and released reports go out again, first. */
  undelivered(batch: readonly Report[]): void {
    this.sending = false
    this.outbox = [...batch.filter((r) => r.kind !== 'progress'), ...this.outbox]
  }

  private report(r: Report): void {
    this.outbox.push(r)
  }

  private pump(pool: Pool<W>): Array<Start<W>> {
    const starts: Array<Start<W>> = []
    while (pool.idle.length >= pool.slots && pool.queue.length > 0) {
      const run = pool.queue.shift()!
      starts.push({ run, worker: pool.idle.pop()! })
      if (pool.slots > 1) this.held.set(run, pool.idle.splice(pool.idle.length - (pool.slots - 1)))
      this.stats.queued -= pool.slots
      this.stats.running += pool.slots
    }
    return starts
  }
}
