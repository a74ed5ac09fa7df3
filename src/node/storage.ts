/**
 * Opens the storage a node is configured for: its own durable store in the data directory; the job
 * log (a directory shared by the peers of one host, or Kafka, opened afresh by each leader for as
 * long as it leads; or replicated among the voters, each node keeping its copy in
 * <dataDir>/replica); and the result cache (this process's memory, or Redis).
 * The Kafka and Redis adapters are imported only when configured: with their clients they are
 * about 250 modules, a large part of a peer's start-up CPU, which bounds how fast many peers
 * start on one host.
 */
import { join } from 'node:path'
import type { KafkaJobLogInit } from '../adapters/kafka/options.js'
import type { RedisResultCacheInit } from '../adapters/redis/result-cache.js'
import { fileReplicaLogOpener, REPLICA_DIR } from '../adapters/replica-log/file-replica-log.js'
import type { ClusterHandle } from '../cluster/handle.js'
import type { Environment } from '../env/types.js'
import { FileJobLog } from '../adapters/file-log/file-job-log.js'
import { FileDurableStore } from '../adapters/file-log/file-store.js'
import { MemoryResultCache } from '../adapters/memory/memory-cache.js'
import type { DurableStore, JobLogFactory, ReplicaLogOpener, ResultCache } from '../storage/types.js'
import type { JobLogSetting, NodeConfig, RedisSettings } from './config.js'
import { checkFileLogShared, claimFileLogCluster, markFileLogUser } from './file-log-sharing.js'

/** A node's opened storage. */
export interface NodeStorage {
  readonly store: DurableStore
  /** A shared job log, or 'replicated' (then `replicaLog` opens this node's copy). */
  readonly jobLog: JobLogFactory | 'replicated'
  readonly replicaLog: ReplicaLogOpener | undefined
  readonly cache: ResultCache
  close(): Promise<void>
}

/**
 * Opens the storage; `cluster` names the current voters, which must all share a `file:` log before
 * this node opens it to lead, and the cluster it must belong to (file-log-sharing.ts).
 */
export async function openStorage(
  config: NodeConfig,
  env: Environment,
  nodeId: string,
  cluster: { voters(): readonly string[]; clusterId(): string | undefined },
): Promise<NodeStorage> {
  const store = await FileDurableStore.open({ dir: join(config.dataDir, 'state') })
  const logConfig = config.jobLog
  if (logConfig.kind === 'file') await markFileLogUser(logConfig.dir, nodeId)
  const jobLog: JobLogFactory | 'replicated' =
    logConfig.kind === 'file'
      ? {
          open: async () => {
            await checkFileLogShared(logConfig.dir, cluster.voters())
            await claimFileLogCluster(logConfig.dir, cluster.clusterId())
            return FileJobLog.open({ dir: logConfig.dir, logger: env.logger })
          },
        }
      : logConfig.kind === 'kafka'
        ? {
            open: async () => {
              const clusterId = cluster.clusterId()
              const { KafkaJobLog } = await import('../adapters/kafka/job-log.js')
              return new KafkaJobLog({ ...(await kafkaInit(config, logConfig, env)), ...(clusterId === undefined ? {} : { clusterId }) })
            },
          }
        : 'replicated'
  if (logConfig.kind === 'kafka') await checkKafkaTopic(await kafkaInit(config, logConfig, env), env)
  const replicaLog = logConfig.kind === 'replicated' ? fileReplicaLogOpener({ dir: join(config.dataDir, REPLICA_DIR), logger: env.logger }) : undefined
  const cacheConfig = config.cache
  let closeCache = async (): Promise<void> => {}
  let cache: ResultCache
  if (cacheConfig.kind === 'memory') cache = new MemoryResultCache({ clock: env.clock, maxEntries: memoryCacheEntries(config.retention.maxFinished) })
  else {
    const { RedisResultCache } = await import('../adapters/redis/result-cache.js')
    const redis = new RedisResultCache({
      host: cacheConfig.host,
      port: cacheConfig.port,
      prefix: `${cacheConfig.prefix}:`,
      logger: env.logger.child({ node: nodeId }),
      ...redisAuth(config.redis),
    })
    cache = redis
    closeCache = () => redis.close()
  }
  return {
    store,
    jobLog,
    replicaLog,
    cache,
    close: closeCache,
  }
}

/** The Kafka job log's options from the configuration: brokers, TLS, SASL and the topic's redundancy. */
async function kafkaInit(config: NodeConfig, log: Extract<JobLogSetting, { kind: 'kafka' }>, env: Environment): Promise<KafkaJobLogInit> {
  const { KEEP_FOREVER } = await import('../adapters/kafka/options.js')
  const { tls, sasl, replicationFactor, minInsyncReplicas } = config.kafka
  return {
    brokers: log.brokers,
    cluster: log.topic,
    topic: log.topic,
    env,
    ...(tls === undefined ? {} : { ssl: { ...tls } }),
    ...(sasl === undefined
      ? {}
      : {
          sasl:
            sasl.mechanism === 'plain'
              ? { mechanism: 'plain', username: sasl.username, password: sasl.password }
              : { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password },
        }),
    replicationFactor,
    topicConfig: { ...KEEP_FOREVER, 'min.insync.replicas': String(minInsyncReplicas) },
  }
}

/**
 * Creates or checks the job-log topic at start, so that a topic configured to lose records stops
 * the node at once (KafkaTopicConfigError); Kafka out of reach is only a warning, as the leader
 * checks again whenever it opens the log.
 */
async function checkKafkaTopic(init: KafkaJobLogInit, env: Environment): Promise<void> {
  const [{ KafkaJobLog }, { KafkaTopicConfigError }] = await Promise.all([import('../adapters/kafka/job-log.js'), import('../adapters/kafka/topic.js')])
  const log = new KafkaJobLog(init)
  try {
    await log.prepare()
  } catch (error) {
    if (error instanceof KafkaTopicConfigError) throw error
    env.logger.warn('kafka job log: cannot check the topic at start; the leader checks it again when it opens the log', { topic: init.topic, error: (error as Error).message })
  } finally {
    await log.close()
  }
}

/** Redis credentials and TLS from the configuration. */
function redisAuth(redis: RedisSettings): Pick<RedisResultCacheInit, 'username' | 'password' | 'tls'> {
  return {
    ...(redis.username === undefined ? {} : { username: redis.username }),
    ...(redis.password === undefined ? {} : { password: redis.password }),
    ...(redis.tls === undefined ? {} : { tls: { ...redis.tls } }),
  }
}

/**
 * Entries of the in-process result cache for a retention of `retainJobs` finished jobs: twice as
 * many (a result and an idempotency key per job), at least 1024. Only the leader writes the cache,
 * and within the retention the leader holds every outcome itself: the cache serves results shortly
 * after they expire (a late watcher), which this bound keeps for about as many jobs again. Fixed at
 * 100,000 entries it held ~13 MB of heap (~25 MB resident) on a leader with the default retention
 * of 10,000 (test/bench/RESULTS.md, failover, 2026-11-29).
 */
export function memoryCacheEntries(retainJobs: number): number {
  return Math.max(1024, 2 * retainJobs)
}

/**
 * Only a leader writes the memory cache, for late readers of its own results: a node that stops
 * leading lets them go instead of holding them for their TTL (every former leader did: all three
 * peers ended a history run at 278-285 MB, test/bench/RESULTS.md rss). Other caches are left alone.
 */
export function dropMemoryCacheUnlessLeading(cache: ResultCache, cluster: Pick<ClusterHandle, 'onLeaderChange' | 'leadingEpoch'>): void {
  if (!(cache instanceof MemoryResultCache)) return
  cluster.onLeaderChange(() => {
    if (cluster.leadingEpoch() === undefined && cache.size > 0) cache.clear()
  })
}
