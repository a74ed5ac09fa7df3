/**
 * One transactional producer of the job log, used for one transaction at a time.
 *
 * Creating a writer initialises the transactional id (InitProducerId), which bumps the producer
 * epoch at the broker: every older producer with the same id, in any process, is fenced from
 * then on, and a transaction it left open is aborted. A writer is never reused after a failure:
 * kafkajs leaves its transaction state machine stuck, and re-initialising is what cleans up.
 *
 * Each step is bounded by the operation timeout. A failure reports the step it happened in,
 * because that decides ambiguity: a transaction that failed before its commit was requested is
 * certainly not in the log; one that failed during the commit may be.
 */
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs'
import { DistributeXError } from '../../errors.js'
import { withDeadline } from './deadline.js'
import { rootMessage } from './kafka-errors.js'
import type { ResolvedKafkaJobLogInit } from './options.js'
import { messageBytes } from './record-codec.js'

/** With a 10 ms first back-off doubling, five retries wait about 300 ms in all. */
const PRODUCER_MIN_RETRIES = 5

/** The step of a transaction that failed. */
export type WriteStep = 'init' | 'send' | 'commit'

/** Thrown by the writer; `cause` is the kafkajs error or the timeout. */
export class WriteFailure extends DistributeXError {
  override readonly name = 'WriteFailure'
  override readonly code = 'ERR_KAFKA_WRITE'
  constructor(
    readonly step: WriteStep,
    cause: unknown,
  ) {
    super(`${step} failed: ${rootMessage(cause)}`, { cause })
  }
}

export class TransactionalWriter {
  /** Connects a new producer and initialises the transactional id, fencing older producers. */
  static async create(kafka: Kafka, init: ResolvedKafkaJobLogInit): Promise<TransactionalWriter> {
    const producer = kafka.producer({
      transactionalId: init.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: init.transactionTimeoutMs,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // CONCURRENT_TRANSACTIONS (the previous commit still completing) clears within milliseconds: retry soon.
      retry: { retries: Math.max(init.retries, PRODUCER_MIN_RETRIES), initialRetryTime: 10, maxRetryTime: 1000 },
    })
    const writer = new TransactionalWriter(producer, init)
    try {
      await writer.step('init', producer.connect())
      // An empty transaction's abort skips EndTxn, so this costs InitProducerId and nothing else.
      const transaction = await writer.step('init', producer.transaction())
      await writer.step('init', transaction.abort())
    } catch (error) {
      await writer.discard()
      throw error
    }
    return writer
  }

  private constructor(
    private readonly producer: Producer,
    private readonly init: ResolvedKafkaJobLogInit,
  ) {}

  /**
   * Writes `messages` in one transaction, in order, in produce requests of at most `sendMaxBytes`,
   * and commits. Resolves with each message's offset once the commit is acknowledged.
   */
  async commit(messages: readonly Message[]): Promise<number[]> {
    const transaction = await this.step('send', this.producer.transaction())
    const offsets: number[] = []
    try {
      for (let start = 0; start < messages.length;) {
        let end = start
        for (let bytes = 0; end < messages.length && (end === start || bytes + messageBytes(messages[end]!) <= this.init.sendMaxBytes); end++) bytes += messageBytes(messages[end]!)
        const [sent] = await this.step('send', transaction.send({ topic: this.init.topic, acks: -1, messages: messages.slice(start, end) }))
        if (sent === undefined || sent.baseOffset === undefined) throw new WriteFailure('send', new Error('the broker returned no offset'))
        const base = Number(sent.baseOffset)
        for (let i = start; i < end; i++) offsets.push(base + i - start)
        start = end
      }
    } catch (error) {
      throw error instanceof WriteFailure ? error : new WriteFailure('send', error)
    }
    await this.step('commit', transaction.commit())
    return offsets
  }

  /** Disconnects; never throws. */
  async discard(): Promise<void> {
    await withDeadline(this.init.env.timers, this.producer.disconnect(), this.init.operationTimeoutMs, undefined, () => new Error('disconnect timed out')).catch(() => {})
  }

  private step<T>(step: WriteStep, work: Promise<T>): Promise<T> {
    return withDeadline(this.init.env.timers, work, this.init.operationTimeoutMs, undefined, () => new Error(`no answer within ${this.init.operationTimeoutMs} ms`)).catch(
      (error: unknown) => {
        throw new WriteFailure(step, error)
      },
    )
  }
}
