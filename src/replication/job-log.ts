/**
 * The JobLog port over the replicated log: each leader's scheduler opens a session that asks the
 * node's replicator actor (actors/replicator.ts), which holds the node's copy of the log and
 * replicates it to the voters.
 *
 * Semantics, as the JobLog port states them:
 * - fence(epoch) succeeds once this node leads `epoch`, the epoch's no-op entry is committed, and so is
 *   every entry this leader held when asked (a scheduler restarted within its epoch fences again),
 *   which commits every earlier entry: the new leader then reads the whole committed history. A
 *   lower epoch, or losing the lead, rejects with FencedError.
 * - append resolves with the first offset once a majority of voters holds the records durably; if
 *   the lead is lost or no majority answers in time, it rejects with JobLogUnavailableError
 *   (ambiguous: the records may still be committed by a later leader).
 * - One append becomes one replicated entry (or a few, when its records outgrow the byte budget of
 *   an entry), not one per record (issue 9). Its records get consecutive offsets from
 *   `index * OFFSET_STRIDE`, where `index` is its first entry's (protocols/replication/offsets.ts),
 *   so offsets have gaps between appends (and the no-op entries' empty records are never returned
 *   by read); readers advance by the last record's offset + 1, and a read maps an offset to the
 *   entry where its append starts by division.
 * - endOffset is the offset of an append at the commit index (above every committed record);
 *   startOffset that of the log's first entry.
 * - compact(offset) resolves once this node's copy starts at the append holding `offset` (exactly
 *   `offset` for a snapshot, which is always the whole of one append); followers compact with the
 *   leader's next append, each only below its own commit index.
 */
import type { ActorRef } from '../actor/types.js'
import type { AbortOptions } from '../env/types.js'
import type { JobLogFactory, JobLogSession, LogRecord } from '../storage/types.js'
import type { ReplicatedLogRequest } from './protocol.js'

/** Timeouts of the session's asks: longer than the replicator's own bounds, so its answer wins. */
export interface ReplicatedJobLogOptions {
  /** Bound of fence and append (the replicator gives up a little earlier). */
  appendTimeoutMs: number
  /** Bound of read, endOffset and the others. */
  requestTimeoutMs: number
}

export const DEFAULT_REPLICATED_JOB_LOG_OPTIONS: ReplicatedJobLogOptions = { appendTimeoutMs: 15_000, requestTimeoutMs: 10_000 }

export class ReplicatedJobLogSession implements JobLogSession {
  constructor(
    private readonly replicator: ActorRef<ReplicatedLogRequest>,
    private readonly options: ReplicatedJobLogOptions = DEFAULT_REPLICATED_JOB_LOG_OPTIONS,
  ) {}

  /** The epoch fenced, which compact carries. */
  private epoch: number | undefined = undefined

  async fence(epoch: number, options?: AbortOptions): Promise<void> {
    await this.replicator.ask({ type: 'fence', epoch }, this.ask(this.options.appendTimeoutMs, options))
    this.epoch = epoch
  }

  append(epoch: number, payloads: readonly Uint8Array[], options?: AbortOptions): Promise<number> {
    return this.replicator.ask({ type: 'append', epoch, payloads }, this.ask(this.options.appendTimeoutMs, options))
  }

  read(offset: number, max: number, options?: AbortOptions): Promise<LogRecord[]> {
    return this.replicator.ask({ type: 'read', from: offset, max }, this.ask(this.options.requestTimeoutMs, options))
  }

  async endOffset(options?: AbortOptions): Promise<number> {
    return (await this.replicator.ask({ type: 'bounds' }, this.ask(this.options.requestTimeoutMs, options))).end
  }

  /** The first offset still readable (records below were compacted away). */
  async startOffset(options?: AbortOptions): Promise<number> {
    return (await this.replicator.ask({ type: 'bounds' }, this.ask(this.options.requestTimeoutMs, options))).start
  }

  /**
   * Lets the log drop records below `offset`, where the caller appended a snapshot record (its
   * append resolved, so it is committed). Before a successful fence there is nothing to compact.
   */
  compact(offset: number, options?: AbortOptions): Promise<void> {
    if (this.epoch === undefined) return Promise.resolve()
    return this.replicator.ask({ type: 'compact', epoch: this.epoch, offset }, this.ask(this.options.requestTimeoutMs, options))
  }

  /** Nothing to release: the replicator outlives leaderships. */
  async close(): Promise<void> {}

  private ask(timeoutMs: number, options: AbortOptions | undefined): { timeoutMs: number; signal?: AbortSignal } {
    return options?.signal === undefined ? { timeoutMs } : { timeoutMs, signal: options.signal }
  }
}

/** The factory of sessions of the replicated log, given the node's replicator. */
export function replicatedJobLog(replicator: ActorRef<ReplicatedLogRequest>, options?: Partial<ReplicatedJobLogOptions>): JobLogFactory {
  const resolved = { ...DEFAULT_REPLICATED_JOB_LOG_OPTIONS, ...options }
  return { open: async () => new ReplicatedJobLogSession(replicator, resolved) }
}
