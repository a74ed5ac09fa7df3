/**
 * The few kafkajs 2.2.4 internals the job-log reader needs, behind types of our own.
 *
 * kafkajs offers no manual partition assignment: its consumer always joins a group, which costs a
 * rebalance per reader (seconds on a broker with the default group.initial.rebalance.delay.ms)
 * and cannot serve "give me the records from offset N" directly. Its internal Cluster and Broker
 * can: Fetch at any offset with read_committed isolation, and ListOffsets for the last stable
 * offset. kafkajs is pinned and in maintenance mode, so these shapes hold; the module checks them
 * at load and fails loudly, naming the expected kafkajs version, if they ever change.
 */
import { createRequire } from 'node:module'
import type { ConnectionOptions } from 'node:tls'
import type { ISocketFactory, RetryOptions, SASLOptions } from 'kafkajs'

/** One record as the Fetch decoder yields it, control records and aborted ones included. */
export interface FetchedRecord {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Record<string, Buffer | Buffer[] | undefined>
  readonly isControlRecord: boolean
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean }
}

/** One partition of a Fetch response. */
export interface FetchedPartition {
  readonly partition: number
  readonly errorCode: number
  readonly highWatermark: string
  readonly lastStableOffset: string
  readonly abortedTransactions: ReadonlyArray<{ readonly producerId: string; readonly firstOffset: string }>
  readonly messages: readonly FetchedRecord[]
}

export interface InternalBroker {
  fetch(request: {
    isolationLevel: number
    maxWaitTime: number
    minBytes: number
    maxBytes: number
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>
  listOffsets(request: {
    isolationLevel: number
    topics: Array<{ topic: string; partitions: Array<{ partition: number; timestamp: number }> }>
  }): Promise<{ responses: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }>
}

export interface InternalCluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  addTargetTopic(topic: string): Promise<void>
  refreshMetadata(): Promise<void>
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>
  findBroker(node: { nodeId: string }): Promise<InternalBroker>
}

/** The kafkajs log function shape: one call per line. */
export type KafkaLogFunction = (entry: { namespace: string; level: number; label: string; log: { message: string } & Record<string, unknown> }) => void

export interface InternalClusterOptions {
  brokers: string[]
  clientId: string
  ssl?: ConnectionOptions
  sasl?: SASLOptions
  connectionTimeout: number
  requestTimeout: number
  retry: RetryOptions
  logLevel: number
  logCreator: (level: number) => KafkaLogFunction
}

/** Fetch and ListOffsets isolation level: only records of committed transactions, up to the last stable offset. */
export const READ_COMMITTED = 1

const KAFKAJS_VERSION = '2.2.4'
const require = createRequire(import.meta.url)

function load<T>(path: string, check: (value: T) => boolean): T {
  const value = require(path) as T
  if (!check(value)) throw new Error(`kafkajs internals changed (${path}); the Kafka job log needs kafkajs ${KAFKAJS_VERSION}`)
  return value
}

type ClusterConstructor = new (options: Record<string, unknown>) => InternalCluster
const Cluster = load<ClusterConstructor>(
  'kafkajs/src/cluster/index.js',
  (c) => typeof c === 'function' && typeof c.prototype.findLeaderForPartitions === 'function' && typeof c.prototype.findBroker === 'function',
)
const loggers = load<{ createLogger: (options: { level: number; logCreator: (level: number) => KafkaLogFunction }) => unknown }>(
  'kafkajs/src/loggers/index.js',
  (l) => typeof l.createLogger === 'function',
)
const socketFactory = load<() => ISocketFactory>('kafkajs/src/network/socketFactory.js', (f) => typeof f === 'function')

/** A kafkajs Cluster that reads with read_committed isolation and never creates topics. */
export function createInternalCluster(options: InternalClusterOptions): InternalCluster {
  return new Cluster({
    logger: loggers.createLogger({ level: options.logLevel, logCreator: options.logCreator }),
    socketFactory: socketFactory(),
    brokers: options.brokers,
    clientId: options.clientId,
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: options.connectionTimeout,
    requestTimeout: options.requestTimeout,
    enforceRequestTimeout: true,
    metadataMaxAge: 300_000,
    retry: options.retry,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    isolationLevel: READ_COMMITTED,
  })
}
