/**
 * The simulated job log (Kafka's role): one totally ordered log at its own network position,
 * epoch-fenced like a transactional producer. Faults: it can be cut off by partitions, it can lose
 * the acknowledgement of an append that did take effect (the ambiguous case), and it can be down.
 *
 * It records every accepted append with the node and epoch that made it, which is what the
 * fencing checker inspects: at most one node per epoch, and never a lower epoch after a higher one.
 *
 * Compaction drops the records below the offset from `records` (the live log, which readers see),
 * while `history` keeps every record ever appended for the checkers.
 */
import type { AbortOptions } from '../../src/env/types.js'
import { InvalidArgumentError, withoutStack } from '../../src/errors.js'
import { FencedError, JobLogUnavailableError } from '../../src/storage/errors.js'
import type { JobLog, JobLogFactory, LogRecord } from '../../src/storage/types.js'
import type { SeededRandom } from '../../src/env/prng.js'
import type { Owner } from '../kernel/loop.js'
import type { SimNetwork } from '../net/network.js'
import { call, type ServiceOutcome } from './rpc.js'

/** The network position name of the job log. */
export const JOB_LOG_POSITION = 'job-log'

/** One accepted append, for checkers. */
export interface AcceptedAppend {
  readonly node: string
  readonly epoch: number
  readonly firstOffset: number
  readonly count: number
  readonly atUs: number
}

/** Client timeout of one job-log call. */
export const JOB_LOG_TIMEOUT_MS = 2000

export class SimJobLogService {
  /** The live log: offsets start..start+records.length-1. */
  readonly records: LogRecord[] = []
  /** Every record ever appended, compacted or not (for checkers only). */
  readonly history: LogRecord[] = []
  /** The first offset still held. */
  private start = 0
  readonly accepted: AcceptedAppend[] = []
  /** Probability that an append's acknowledgement is lost after it took effect. */
  ambiguousAckRate = 0
  /** While true the service answers nothing. */
  down = false
  private fencedEpoch = 0

  constructor(
    private readonly net: SimNetwork,
    private readonly random: SeededRandom,
  ) {}

  /** The highest epoch seen by fence or append. */
  get epoch(): number {
    return this.fencedEpoch
  }

  /** Sessions for one node incarnation; a simulated session holds nothing, so closing it is free. */
  factory(node: string, owner: Owner): JobLogFactory {
    const client = this.client(node, owner)
    return { open: async () => ({ ...client, close: async () => {} }) }
  }

  /** A JobLog client for one node incarnation. */
  client(node: string, owner: Owner): JobLog {
    const from = this.net.position(node)
    const service = this.net.position(JOB_LOG_POSITION)
    const invoke = <T>(execute: () => ServiceOutcome<T>, options: AbortOptions, loseResponse?: () => boolean): Promise<T> =>
      call({
        net: this.net,
        from,
        owner,
        service,
        timeoutMs: JOB_LOG_TIMEOUT_MS,
        execute: () => (this.down ? { ok: false, error: withoutStack(() => new JobLogUnavailableError('job log is down', false)) } : execute()),
        loseResponse: () => this.down || (loseResponse?.() ?? false),
        timeoutError: () => new JobLogUnavailableError(`job log did not answer within ${JOB_LOG_TIMEOUT_MS} ms`, true),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    return {
      fence: (epoch, options = {}) => invoke(() => this.fence(epoch), options),
      append: (epoch, payloads, options = {}) =>
        invoke(
          () => this.append(node, epoch, payloads),
          options,
          () => this.random.next() < this.ambiguousAckRate,
        ),
      read: (offset, max, options = {}) =>
        invoke(() => ({ ok: true, value: this.records.slice(Math.max(0, offset - this.start), Math.max(0, offset - this.start) + max) }), options),
      endOffset: (options = {}) => invoke(() => ({ ok: true, value: this.endOffset }), options),
      startOffset: (options = {}) => invoke(() => ({ ok: true, value: this.start }), options),
      compact: (offset, options = {}) => invoke(() => this.compact(offset), options),
    }
  }

  /** One past the last offset. */
  get endOffset(): number {
    return this.start + this.records.length
  }

  /** The first offset still held. */
  get startOffset(): number {
    return this.start
  }

  private compact(offset: number): ServiceOutcome<void> {
    if (!Number.isSafeInteger(offset) || offset > this.endOffset)
      return { ok: false, error: new InvalidArgumentError(`cannot compact to ${offset}: the log ends at ${this.endOffset}`) }
    if (offset > this.start) {
      this.records.splice(0, offset - this.start)
      this.start = offset
    }
    return { ok: true, value: undefined }
  }

  private fence(epoch: number): ServiceOutcome<void> {
    if (epoch < this.fencedEpoch) return { ok: false, error: new FencedError(epoch, this.fencedEpoch) }
    this.fencedEpoch = epoch
    return { ok: true, value: undefined }
  }

  private append(node: string, epoch: number, payloads: readonly Uint8Array[]): ServiceOutcome<number> {
    if (epoch < this.fencedEpoch) return { ok: false, error: new FencedError(epoch, this.fencedEpoch) }
    this.fencedEpoch = epoch
    const firstOffset = this.endOffset
    for (const payload of payloads) {
      const record = { offset: this.endOffset, epoch, payload: payload.slice() }
      this.records.push(record)
      this.history.push(record)
    }
    this.accepted.push({ node, epoch, firstOffset, count: payloads.length, atUs: this.net.kernel.now })
    return { ok: true, value: firstOffset }
  }
}
