/**
 * The simulated job log (Kafka's role): one totally ordered log at its own network position,
 * epoch-fenced like a transactional producer. Faults: it can be cut off by partitions, it can lose
 * the acknowledgement of an append that did take effect (the ambiguous case), and it can be down.
 *
 * It records every accepted append with the node and epoch that made it, which is what the
 * fencing checker inspects: at most one node per epoch, and never a lower epoch after a higher one.
 */
import type { AbortOptions } from '../../src/env/types.js'
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
  readonly records: LogRecord[] = []
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
        execute: () => (this.down ? { ok: false, error: new JobLogUnavailableError('job log is down', false) } : execute()),
        loseResponse: () => this.down || (loseResponse?.() ?? false),
        timeoutError: () => new JobLogUnavailableError(`job log did not answer within ${JOB_LOG_TIMEOUT_MS} ms`, true),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    return {
      fence: (epoch, options = {}) => invoke(() => this.fence(epoch), options),
      append: (epoch, payloads, options = {}) => invoke(() => this.append(node, epoch, payloads), options, () => this.random.next() < this.ambiguousAckRate),
      read: (offset, max, options = {}) => invoke(() => ({ ok: true, value: this.records.slice(offset, offset + max) }), options),
      endOffset: (options = {}) => invoke(() => ({ ok: true, value: this.records.length }), options),
    }
  }

  private fence(epoch: number): ServiceOutcome<void> {
    if (epoch < this.fencedEpoch) return { ok: false, error: new FencedError(epoch, this.fencedEpoch) }
    this.fencedEpoch = epoch
    return { ok: true, value: undefined }
  }

  private append(node: string, epoch: number, payloads: readonly Uint8Array[]): ServiceOutcome<number> {
    if (epoch < this.fencedEpoch) return { ok: false, error: new FencedError(epoch, this.fencedEpoch) }
    this.fencedEpoch = epoch
    const firstOffset = this.records.length
    for (const payload of payloads) this.records.push({ offset: this.records.length, epoch, payload: payload.slice() })
    this.accepted.push({ node, epoch, firstOffset, count: payloads.length, atUs: this.net.kernel.now })
    return { ok: true, value: firstOffset }
  }
}
