/**
 * The leader's waiting requests of the job-log session (fence, append, compact), answered once the
 * replication core's commit index or log start allows, or failed after a timeout. Sans-I/O: the
 * driver (actors/replicator.ts) gives it the core's state and the time; replies are callbacks.
 *
 * Rules (each reply is answered exactly once, then dropped):
 * - a fence of epoch E resolves once this node leads E, E's no-op entry is committed, and so is
 *   everything the log held when the fence was asked (`end`);
 * - an append resolves with its first record's offset once its last entry is committed;
 * - a compaction resolves once the log starts at or above its offset (it never times out: the
 *   core compacts on its own schedule, and only failure of the log rejects it);
 * - fences and appends not served within `commitTimeoutMs` are rejected as unavailable, appends as
 *   ambiguous (the records may still be committed).
 */
import { JobLogUnavailableError } from '../storage/errors.js'

/** The answer side of a request (an actor's deferred reply). */
export interface Reply<T> {
  resolve(value: T): void
  reject(error: Error): void
}

interface FenceWaiter {
  readonly epoch: number
  readonly reply: Reply<void>
  readonly sinceMs: number
  /**
   * The leader's log end when the fence was asked: the fence waits until that is committed too. A
   * scheduler restarted within its epoch fences again, and its previous incarnation's appends may
   * still be on their way to a majority; were the fence to answer at once, the replay would read
   * below them, and a record committed just after (a job's result) would be missed and recorded
   * again, differently.
   */
  readonly end: number
}

interface AppendWaiter {
  readonly first: number
  readonly end: number
  readonly reply: Reply<number>
  readonly sinceMs: number
}

/** What settling needs to know of the core. */
export interface CommitState {
  /** The epoch the core leads, if any. */
  readonly ledEpoch: number | undefined
  /** Index of the led epoch's no-op entry. */
  readonly noopIndex: number | undefined
  readonly commitEnd: number
  readonly startIndex: number
}

export class ReplicationWaiters {
  private readonly fences: FenceWaiter[] = []
  private readonly appends: AppendWaiter[] = []
  private readonly compactions: Array<{ readonly offset: number; readonly reply: Reply<void> }> = []

  constructor(private readonly commitTimeoutMs: number) {}

  /** Whether any request waits (the driver then ticks fast, to time them out). */
  get pending(): boolean {
    return this.fences.length > 0 || this.appends.length > 0 || this.compactions.length > 0
  }

  fence(epoch: number, end: number, reply: Reply<void>, nowMs: number): void {
    this.fences.push({ epoch, reply, sinceMs: nowMs, end })
  }

  /** An append whose records start at offset `first` and whose entries end before index `end`. */
  append(first: number, end: number, reply: Reply<number>, nowMs: number): void {
    this.appends.push({ first, end, reply, sinceMs: nowMs })
  }

  compaction(offset: number, reply: Reply<void>): void {
    this.compactions.push({ offset, reply })
  }

  /** Answers what the core's state allows, and times out what waited too long. */
  settle(c: CommitState, nowMs: number): void {
    const { fences, appends, compactions } = this
    for (let i = 0; i < fences.length; i++) {
      const w = fences[i]!
      const noop = c.noopIndex
      if (c.ledEpoch === w.epoch && noop !== undefined && c.commitEnd > noop && c.commitEnd >= w.end) w.reply.resolve()
      else if (nowMs - w.sinceMs > this.commitTimeoutMs)
        w.reply.reject(new JobLogUnavailableError(`no majority of voters acknowledged epoch ${w.epoch}'s first entry within ${this.commitTimeoutMs} ms`, false))
      else continue
      fences.splice(i--, 1)
    }
    for (let i = 0; i < appends.length; i++) {
      const w = appends[i]!
      if (c.commitEnd >= w.end) w.reply.resolve(w.first)
      else if (nowMs - w.sinceMs > this.commitTimeoutMs)
        w.reply.reject(new JobLogUnavailableError(`no majority of voters acknowledged the records within ${this.commitTimeoutMs} ms; they may still be committed`, true))
      else continue
      appends.splice(i--, 1)
    }
    for (let i = 0; i < compactions.length; i++) {
      if (c.startIndex < compactions[i]!.offset) continue
      compactions[i]!.reply.resolve()
      compactions.splice(i--, 1)
    }
  }

  /** Rejects every waiting request: fences and compactions with `fenceError`, appends with `appendError`. */
  failAll(fenceError: Error, appendError: Error): void {
    for (const w of this.fences.splice(0)) w.reply.reject(fenceError)
    for (const w of this.appends.splice(0)) w.reply.reject(appendError)
    for (const w of this.compactions.splice(0)) w.reply.reject(fenceError)
  }
}
