/**
 * The JobLog port on Kafka: one single-partition topic per cluster, written in transactions by an
 * idempotent producer (acks=all) whose transactional id is the cluster's, read with
 * read_committed isolation.
 *
 * Fencing. Kafka fences by producer instance, the port by leader epoch; this class joins the two.
 * `fence(epoch)` initialises a new producer (InitProducerId), which fences every other producer of
 * the cluster's transactional id, then commits a fence marker carrying `epoch`, so the log itself
 * records which epoch claimed it. Every record carries its epoch in a header. Before and after any
 * producer initialisation the log's last epoch is read back; so a deposed leader, whose next
 * transaction fails because its producer was fenced, reads the higher epoch and fails with
 * FencedError; while a leader whose producer was fenced by a lower epoch's re-initialisation (a
 * deposed node recovering from an error) finds no higher epoch, reports the failure as
 * unavailability and takes the transactional id back on its next call. Between an initialisation
 * and the next one by anyone else only the initialiser can commit, and it checks first, so epochs
 * in the log never go down. The client side also remembers the highest epoch it has accepted or
 * seen and refuses lower ones at once.
 *
 * Appends. Calls queue (bounded by bytes) and the queue drains one transaction at a time;
 * consecutive appends share one transaction (group commit) up to `transactionMaxBytes`, each
 * keeping its own records contiguous and in order. An append resolves after its transaction's
 * commit is acknowledged and its records are visible to read_committed readers. Failures: JobLogUnavailableError, with `ambiguous: true` only when the
 * commit itself was in doubt; before the commit request the transaction is certainly not in the
 * log (a new producer's initialisation aborts it). A FencedError raised while committing may hide
 * a commit that won the race; its records then precede the fence marker, where the new leader
 * replays them. Payloads must not change until their append settles.
 *
 * Compaction: records are kept. `compact` drops nothing and `startOffset` stays 0; a new leader
 * finds the latest snapshot by searching back from the end of the log (src/jobs/replay.ts), which
 * reads about as many records as were appended since that snapshot, and replays from there. Why
 * not the alternatives: Kafka's DeleteRecords would move the partition's start under readers that
 * search back from the end (the epoch check), and a side topic holding the snapshot's offset would
 * be a second durable record to keep consistent with the log across fencing and failures, for a
 * saving (the search) that is already bounded by the snapshot interval. The topic's own retention
 * remains the operator's tool for its size; it is safe as long as it keeps the latest snapshot.
 *
 * Reads go through committed-reader.ts; offsets strictly increase but skip transaction markers and
 * fence markers. Every call is bounded: kafkajs requests by their timeouts and few retries, each
 * step by `operationTimeoutMs`. After the broker comes back, the next call reconnects.
 */
import type { Kafka, Message } from 'kafkajs'
import { throwIfAborted } from '../../env/abort.js'
import type { AbortOptions } from '../../env/types.js'
import { AbortedError, InvalidArgumentError } from '../../errors.js'
import { AppendQueue } from '../../storage/append-queue.js'
import { ClusterMismatchError, FencedError, JobLogUnavailableError } from '../../storage/errors.js'
import type { JobLog, LogRecord } from '../../storage/types.js'
import { createKafka } from './client.js'
import { CommittedReader } from './committed-reader.js'
import { withDeadline } from './deadline.js'
import { isProducerFenced, rootMessage } from './kafka-errors.js'
import { resolveKafkaJobLogInit, type KafkaJobLogInit, type ResolvedKafkaJobLogInit } from './options.js'
import { dataMessages, fenceMessage, messageBytes } from './record-codec.js'
import { ensureTopic } from './topic.js'
import { TransactionalWriter, WriteFailure } from './transactional-writer.js'

/** How often a read waits for this instance's last commit to become visible. */
const VISIBILITY_POLL_MS = 1

/** An append or fence waiting for its transaction. */
interface Pending {
  readonly fence: boolean
  readonly epoch: number
  readonly messages: Message[]
  readonly bytes: number
  readonly resolve: (firstOffset: number) => void
  readonly reject: (error: Error) => void
}

export class KafkaJobLog implements JobLog {
  private readonly init: ResolvedKafkaJobLogInit
  private readonly kafka: Kafka
  private readonly reader: CommittedReader
  private writer: TransactionalWriter | undefined
  private topicReady: Promise<void> | undefined
  private readonly queue: AppendQueue<Pending>
  private draining: Promise<void> | undefined
  /** The highest epoch this instance accepted or found in the log; lower ones are refused at once. */
  private acceptedEpoch = 0
  /** The highest epoch known to be committed in the log. */
  private logEpoch = 0
  /** One past the last offset this instance committed: reads wait until the log shows it. */
  private committedEnd = 0
  private foreignReported = 0
  private closed = false

  constructor(init: KafkaJobLogInit) {
    if (init.brokers.length === 0) throw new InvalidArgumentError('the Kafka job log needs at least one broker')
    if (init.topic.length === 0 || init.cluster.length === 0) throw new InvalidArgumentError('the Kafka job log needs a topic and a cluster name')
    this.init = resolveKafkaJobLogInit(init)
    this.kafka = createKafka(this.init, `distributex-${init.cluster}`)
    this.reader = new CommittedReader(this.init, `distributex-${init.cluster}-reader`)
    this.queue = new AppendQueue(this.init.queueMaxBytes, 'kafka job log queue')
  }

  /** The highest epoch this instance has accepted or seen in the log. */
  get epoch(): number {
    return this.acceptedEpoch
  }

  /** The topic holding the log. */
  get topic(): string {
    return this.init.topic
  }

  async fence(epoch: number, options: AbortOptions = {}): Promise<void> {
    await this.enqueue(true, epoch, [], options)
  }

  /** An empty append writes no record; it claims its epoch like a fence and returns the end offset. */
  async append(epoch: number, payloads: readonly Uint8Array[], options: AbortOptions = {}): Promise<number> {
    if (payloads.length > 0) return this.enqueue(false, epoch, payloads, options)
    await this.fence(epoch, options)
    return this.endOffset(options)
  }

  async read(offset: number, max: number, options: AbortOptions = {}): Promise<LogRecord[]> {
    checkCount('offset', offset, 0)
    checkCount('max', max, 1)
    const entries = await this.bounded('read', options.signal, async (signal) => {
      await this.awaitVisible(signal)
      return this.reader.entries(offset, max, signal, { withFences: false })
    })
    if (this.reader.foreignRecords > this.foreignReported) {
      this.foreignReported = this.reader.foreignRecords
      this.init.env.logger.warn('kafka job log: skipped records that no job log wrote', { topic: this.init.topic, total: this.foreignReported })
    }
    return entries.map((e) => ({ offset: e.offset, epoch: e.epoch, payload: e.payload }))
  }

  /** The last stable offset: past every committed record, markers included. */
  endOffset(options: AbortOptions = {}): Promise<number> {
    return this.bounded('endOffset', options.signal, (signal) => this.awaitVisible(signal))
  }

  /** Records are kept (see the module doc): the log starts at 0. */
  async startOffset(options: AbortOptions = {}): Promise<number> {
    this.checkUsable(options.signal)
    return 0
  }

  /** Records are kept (see the module doc): checks the call and drops nothing. */
  async compact(offset: number, options: AbortOptions = {}): Promise<void> {
    checkCount('offset', offset, 0)
    this.checkUsable(options.signal)
  }

  /** Finishes what is queued, then disconnects. */
  /** Creates or checks the topic now (a node does so at start, to report an unsafe topic at once). */
  async prepare(options: AbortOptions = {}): Promise<void> {
    await this.step(this.ensureTopic(), 'topic check', options.signal)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.draining
    await this.discardWriter()
    await this.reader.reset()
  }

  private enqueue(fence: boolean, epoch: number, payloads: readonly Uint8Array[], options: AbortOptions): Promise<number> {
    const { signal } = options
    return new Promise<number>((resolve, reject) => {
      checkCount('epoch', epoch, 0)
      this.checkUsable(signal)
      if (epoch < this.acceptedEpoch) throw new FencedError(epoch, this.acceptedEpoch)
      const messages = fence ? [fenceMessage(epoch, this.init.clusterId)] : dataMessages(epoch, payloads)
      const bytes = messages.reduce((sum, m) => sum + messageBytes(m), 0)
      this.queue.add({ fence, epoch, messages, bytes, resolve, reject }, signal)
      this.acceptedEpoch = epoch
      this.draining ??= this.drain()
    })
  }

  /** Runs one transaction at a time until the queue is empty. Never rejects. */
  private async drain(): Promise<void> {
    // Let the calls made in the same turn as the first one join its transaction.
    await Promise.resolve()
    while (this.queue.length > 0) await this.process(this.takeGroup())
    this.draining = undefined
  }

  /** A fence alone, or consecutive appends up to the transaction size bound (at least one). */
  private takeGroup(): Pending[] {
    return this.queue.take((next, first, bytes) => !first.fence && !next.fence && bytes + next.bytes <= this.init.transactionMaxBytes)
  }

  private async process(group: Pending[]): Promise<void> {
    const controller = new AbortController()
    try {
      await this.step(this.ensureTopic(), 'topic check')
      if (group[0]!.fence || this.writer === undefined) await this.renewWriter(controller.signal, Math.max(...group.map((p) => p.epoch)))
      const live = this.dropFenced(group)
      if (live.length === 0) return
      const offsets = await this.writer!.commit(live.flatMap((p) => p.messages))
      this.committedEnd = Math.max(this.committedEnd, offsets[offsets.length - 1]! + 1)
      await this.awaitCommitted(controller.signal)
      let index = 0
      for (const p of live) {
        this.logEpoch = Math.max(this.logEpoch, p.epoch)
        p.resolve(offsets[index]!)
        index += p.messages.length
      }
    } catch (error) {
      await this.discardWriter()
      await this.fail(group, error, controller.signal)
    } finally {
      controller.abort()
    }
  }

  /**
   * Replaces the producer, fencing every other one. The log's epoch is checked first, so a node
   * that is already fenced does not disturb the current leader's producer, and again after, to
   * catch a higher epoch that committed just before our initialisation.
   */
  private async renewWriter(signal: AbortSignal, epoch: number): Promise<void> {
    await this.discardWriter()
    await this.checkLogCluster(signal)
    await this.checkLogEpoch(signal)
    if (epoch < this.logEpoch) return
    this.writer = await TransactionalWriter.create(this.kafka, this.init)
    await this.checkLogEpoch(signal)
  }

  /**
   * The first record of a log is the fence of the leader that started it, carrying its cluster: a
   * log another cluster started is refused with ClusterMismatchError (a log older than the header,
   * or whose first records the topic's retention deleted, cannot tell and is taken).
   */
  private async checkLogCluster(signal: AbortSignal): Promise<void> {
    const ours = this.init.clusterId
    if (ours === undefined) return
    const first = await this.step(this.reader.firstEntry(signal), 'cluster check')
    if (first?.cluster !== undefined && first.cluster !== ours) throw new ClusterMismatchError(first.cluster, ours, `kafka topic ${this.init.topic}`)
  }

  private async checkLogEpoch(signal: AbortSignal): Promise<void> {
    const found = await this.step(this.reader.lastEpoch(signal), 'epoch check')
    this.logEpoch = Math.max(this.logEpoch, found)
    this.acceptedEpoch = Math.max(this.acceptedEpoch, found)
  }

  /**
   * Waits until the transaction just committed is visible. The broker acknowledges a commit before
   * it has written the transaction markers; until it has, read_committed readers cannot see the
   * records, and the transactional id refuses the next transaction (CONCURRENT_TRANSACTIONS, which
   * kafkajs would retry only after a back-off). Waiting here makes an acknowledged append readable
   * by everyone, a fence visible to the instances it fences, and the next transaction start at once.
   * A failure to confirm leaves the commit in doubt.
   */
  private async awaitCommitted(signal: AbortSignal): Promise<void> {
    try {
      await this.step(this.awaitVisible(signal), 'commit visibility')
    } catch (error) {
      throw new WriteFailure('commit', error)
    }
  }

  /**
   * The last stable offset, once it is past everything this instance committed (read-your-writes).
   */
  private async awaitVisible(signal: AbortSignal): Promise<number> {
    for (;;) {
      const end = await this.reader.endOffset(signal)
      if (end >= this.committedEnd) return end
      await this.init.env.timers.sleep(VISIBILITY_POLL_MS, { signal })
    }
  }

  /** Rejects the members of `group` whose epoch is below the log's, returning the rest. */
  private dropFenced(group: readonly Pending[]): Pending[] {
    const live: Pending[] = []
    for (const p of group) {
      if (p.epoch < this.logEpoch) p.reject(new FencedError(p.epoch, this.logEpoch))
      else live.push(p)
    }
    return live
  }

  private async fail(group: readonly Pending[], error: unknown, signal: AbortSignal): Promise<void> {
    if (error instanceof ClusterMismatchError) {
      for (const p of group) p.reject(error)
      return
    }
    const ambiguous = error instanceof WriteFailure && error.step === 'commit'
    let unsettled: readonly Pending[] = group
    if (isProducerFenced(error)) {
      // Another producer took our transactional id: fenced for real only if the log holds a higher epoch.
      const checked = await this.checkLogEpoch(signal).then(
        () => true,
        () => false,
      )
      if (checked) unsettled = this.dropFenced(group)
      if (unsettled.length > 0)
        this.init.env.logger.warn('kafka job log: producer fenced by another instance without a higher epoch; will re-initialise', { topic: this.init.topic, epoch: this.logEpoch })
    }
    const failure = new JobLogUnavailableError(`kafka job log ${describeStep(error)} failed: ${rootMessage(error)}`, ambiguous, { cause: error })
    for (const p of unsettled) p.reject(failure)
  }

  /** Runs a bounded call of the read side; any failure becomes JobLogUnavailableError (never ambiguous). */
  private async bounded<T>(what: string, signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.checkUsable(signal)
    const controller = new AbortController()
    try {
      await this.step(this.ensureTopic(), 'topic check', signal)
      return await this.step(work(controller.signal), what, signal)
    } catch (error) {
      if (error instanceof AbortedError) throw error
      // The abandoned work may hold a connection in an unknown state; start the next call afresh.
      await this.reader.reset()
      throw new JobLogUnavailableError(`kafka job log ${what} failed: ${rootMessage(error)}`, false, { cause: error })
    } finally {
      controller.abort()
    }
  }

  /** Bounds one step by the operation timeout (and the caller's signal, if any). */
  private step<T>(work: Promise<T>, what: string, signal?: AbortSignal): Promise<T> {
    return withDeadline(this.init.env.timers, work, this.init.operationTimeoutMs, signal, () => new Error(`${what}: no answer within ${this.init.operationTimeoutMs} ms`))
  }

  private ensureTopic(): Promise<void> {
    this.topicReady ??= ensureTopic(this.kafka, this.init).catch((error: unknown) => {
      this.topicReady = undefined
      throw error
    })
    return this.topicReady
  }

  private async discardWriter(): Promise<void> {
    const writer = this.writer
    this.writer = undefined
    await writer?.discard()
  }

  private checkUsable(signal: AbortSignal | undefined): void {
    throwIfAborted(signal)
    if (this.closed) throw new JobLogUnavailableError('kafka job log is closed', false)
  }
}

function describeStep(error: unknown): string {
  return error instanceof WriteFailure ? `transaction ${error.step}` : 'transaction'
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}, got ${value}`)
}
