/**
 * Options of the Kafka job log, with the defaults that keep every call bounded: a dead broker
 * costs a connection timeout and a couple of quick retries, never kafkajs's default minutes.
 */
import type { ConnectionOptions } from 'node:tls'
import type { SASLOptions } from 'kafkajs'
import type { Environment } from '../../env/types.js'

/** Options of the Kafka job log. */
export interface KafkaJobLogInit {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[]
  /** The cluster's name; it makes the transactional id, so every node of one cluster must use the same. */
  cluster: string
  /** The single-partition topic holding the log; created (one partition) when absent. */
  topic: string
  env: Pick<Environment, 'logger' | 'timers'>
  /** TLS to the brokers (CA, client certificate); plaintext by default. */
  ssl?: ConnectionOptions
  /** SASL authentication (PLAIN, SCRAM-SHA-256/512); none by default. */
  sasl?: SASLOptions
  /** Replication factor when the topic is created; 1 by default. */
  replicationFactor?: number
  /** Topic configs when the topic is created; by default the log is kept forever (KEEP_FOREVER). */
  topicConfig?: Record<string, string>
  /** The producer's transactional id; `distributex-<cluster>-job-log` by default. */
  transactionalId?: string
  /** TCP connect timeout; 1,000 ms by default. */
  connectionTimeoutMs?: number
  /** Timeout of one Kafka request; 5,000 ms by default. */
  requestTimeoutMs?: number
  /** kafkajs retries of one request; 2 by default. */
  retries?: number
  /** Bound of each step of a call (connect, initialise, send, commit, fetch); 10,000 ms by default. */
  operationTimeoutMs?: number
  /** The broker aborts a transaction open this long; 30,000 ms by default. */
  transactionTimeoutMs?: number
  /** Appends combined into one transaction hold at most this many bytes; 8 MiB by default. */
  transactionMaxBytes?: number
  /** One produce request (one record batch) holds at most this many bytes; 512 KiB by default (brokers refuse batches above 1 MiB). */
  sendMaxBytes?: number
  /** One fetch asks for at most this many bytes; 4 MiB by default. */
  fetchMaxBytes?: number
  /** Queued, not yet sent bytes beyond which appends are refused; 64 MiB by default. */
  queueMaxBytes?: number
  /** The identity of the cluster using the log: fences record it, and a log another cluster fenced first is refused. */
  clusterId?: string
}

/** Topic configs under which Kafka never deletes a job record (topic.ts refuses anything else). */
export const KEEP_FOREVER: Readonly<Record<string, string>> = { 'retention.ms': '-1', 'retention.bytes': '-1', 'unclean.leader.election.enable': 'false' }

export type ResolvedKafkaJobLogInit = Required<Omit<KafkaJobLogInit, 'env' | 'ssl' | 'sasl' | 'clusterId'>> & Pick<KafkaJobLogInit, 'env' | 'ssl' | 'sasl' | 'clusterId'>

export function resolveKafkaJobLogInit(init: KafkaJobLogInit): ResolvedKafkaJobLogInit {
  return {
    brokers: init.brokers,
    cluster: init.cluster,
    topic: init.topic,
    env: init.env,
    ...(init.clusterId === undefined ? {} : { clusterId: init.clusterId }),
    ...(init.ssl === undefined ? {} : { ssl: init.ssl }),
    ...(init.sasl === undefined ? {} : { sasl: init.sasl }),
    replicationFactor: init.replicationFactor ?? 1,
    topicConfig: init.topicConfig ?? KEEP_FOREVER,
    transactionalId: init.transactionalId ?? `distributex-${init.cluster}-job-log`,
    connectionTimeoutMs: init.connectionTimeoutMs ?? 1000,
    requestTimeoutMs: init.requestTimeoutMs ?? 5000,
    retries: init.retries ?? 2,
    operationTimeoutMs: init.operationTimeoutMs ?? 10_000,
    transactionTimeoutMs: init.transactionTimeoutMs ?? 30_000,
    transactionMaxBytes: init.transactionMaxBytes ?? 8 * 1024 * 1024,
    sendMaxBytes: init.sendMaxBytes ?? 512 * 1024,
    fetchMaxBytes: init.fetchMaxBytes ?? 4 * 1024 * 1024,
    queueMaxBytes: init.queueMaxBytes ?? 64 * 1024 * 1024,
  }
}
