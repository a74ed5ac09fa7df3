/**
 * Opens the storage a node is configured for: its own durable store in the data directory; the job
 * log (a directory shared by the peers of one host, or Kafka, opened afresh by each leader for as
 * long as it leads; or replicated among the voters, each node keeping its copy in
 * <dataDir>/replica); and the result cache (this process's memory, or Redis).
 */
import { join } from 'node:path'
import { KafkaJobLog } from '../adapters/kafka/job-log.js'
import { fileReplicaLogOpener, REPLICA_DIR } from '../adapters/replica-log/file-replica-log.js'
import { RedisResultCache } from '../adapters/redis/result-cache.js'
import type { Environment } from '../env/types.js'
import { FileJobLog } from '../storage/file-job-log.js'
import { FileDurableStore } from '../storage/file-store.js'
import { MemoryResultCache } from '../storage/memory-cache.js'
import type { DurableStore, JobLogFactory, ReplicaLogOpener, ResultCache } from '../storage/types.js'
import type { NodeConfig } from './config.js'
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
export async function openStorage(config: NodeConfig, env: Environment, nodeId: string, cluster: { voters(): readonly string[]; clusterId(): string | undefined }): Promise<NodeStorage> {
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
              return new KafkaJobLog({ brokers: logConfig.brokers, cluster: logConfig.topic, topic: logConfig.topic, env, ...(clusterId === undefined ? {} : { clusterId }) })
            },
          }
        : 'replicated'
  const replicaLog = logConfig.kind === 'replicated' ? fileReplicaLogOpener({ dir: join(config.dataDir, REPLICA_DIR), logger: env.logger }) : undefined
  const cacheConfig = config.cache
  const cache =
    cacheConfig.kind === 'memory'
      ? new MemoryResultCache({ clock: env.clock })
      : new RedisResultCache({ host: cacheConfig.host, port: cacheConfig.port, prefix: `${cacheConfig.prefix}:`, logger: env.logger.child({ node: nodeId }) })
  return {
    store,
    jobLog,
    replicaLog,
    cache,
    async close() {
      if (cache instanceof RedisResultCache) await cache.close()
    },
  }
}
