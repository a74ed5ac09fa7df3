/**
 * Starts a production node from its configuration: the real environment with Prometheus metrics,
 * a persistent identity and the cluster secret from disk, the libp2p network, the configured job
 * log and cache, the assembled runtime, and the HTTP endpoint.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startHttpServer, type HttpServer } from '../adapters/http/server.js'
import { createLibp2pNetwork, generateClusterSecret, generateIdentity } from '../adapters/libp2p/index.js'
import type { Network } from '../net/types.js'
import { pinoLogger } from '../adapters/pino/logger.js'
import { ProcessLoad } from '../adapters/process/load.js'
import { LoopDelayMonitor } from '../adapters/process/loop-delay.js'
import { WebhookSender } from '../adapters/webhook/sender.js'
import { PrometheusMetrics } from '../adapters/prometheus/metrics.js'
import { realEnvironment } from '../env/real.js'
import { acquireFileLock, FileLockedError, type FileLock } from '../files/file-lock.js'
import { NodeParts } from './parts.js'
import { writeFileDurably } from '../files/file-sync.js'
import { ensurePrivateDir } from '../files/private-dir.js'
import type { JobDef } from '../jobs/types.js'
import type { AnyEntityDef } from '../entities/types.js'
import { assembleNode, type AssembledNode } from './assemble.js'
import { ConfigError, readToken, type NodeConfig } from './config.js'
import { nodeRoutes, statusDocument, type StatusDocument } from './http-api.js'
import { dashboardRoutes } from './dashboard-api.js'
import { DashboardHub } from '../dashboard/hub.js'
import { entityRoutes } from './entity-routes.js'
import { dropMemoryCacheUnlessLeading, openStorage } from './storage.js'
import { REPLICATION_NETWORK_PAYLOAD_BYTES } from '../../protocols/replication/codec.js'

/**
 * Refused redials after which the transport forgets a member (a bootstrap peer it redials every 30 s
 * from then on, while other peers are connected: Redialer.delayMs). The cluster's
 * dial plan dials the members a node needs, and the ones it holds dead so that a live one can
 * refute (src/cluster/dials.ts); a refusal says the process is gone. Left at the transport's 10,
 * every survivor of a killed peer redialed it 5 times in the first 6 s, when the host is busiest
 * (50 peers: dials of a killed leader, these and the plan's, took 11% of a core for the 8 s after
 * its death; test/bench/RESULTS.md "dead peers").
 */
const REDIAL_MAX_REFUSED = 2

/** A running production node. */
export interface RunningNode extends AssembledNode {
  readonly nodeId: string
  readonly addresses: string[]
  /** The HTTP endpoint as host:port, if enabled. */
  readonly http: string | undefined
  /** The mesh, through its port (send, handle, peers). */
  readonly network: Network
}

/** The data directory's lock file: one peer per data directory. */
export const DATA_DIR_LOCK_FILE = 'lock'

/**
 * Starts a node; rejects with ConfigError for unusable settings (a missing secret file, a bad path),
 * UnsafeDirectoryError for a data directory other users can write, and FileLockedError when another
 * peer uses the data directory.
 */
export async function startNode(config: NodeConfig, jobs: readonly JobDef[], entities: readonly AnyEntityDef[] = []): Promise<RunningNode> {
  // One delay monitor serves the gossiped load and the Prometheus lag gauges.
  const loopDelay = new LoopDelayMonitor()
  const metrics = new PrometheusMetrics({}, loopDelay.reader())
  const logger = pinoLogger({ level: config.logLevel, format: config.logFormat === 'auto' ? (process.stderr.isTTY === true ? 'pretty' : 'json') : config.logFormat })
  const env = realEnvironment({ logger, metrics })
  await ensurePrivateDir(config.dataDir, env.logger)
  const parts = new NodeParts()
  return parts.starting(async () => {
    const lock = await lockDataDir(config.dataDir)
    parts.add('data-dir lock', () => lock.release())
    parts.add('loop delay monitor', () => loopDelay.stop())
    return startParts(config, jobs, entities, env, metrics, loopDelay, parts)
  })
}

/** Takes the data directory's lock, held until the node stops or its process dies. */
async function lockDataDir(dataDir: string): Promise<FileLock> {
  try {
    return await acquireFileLock(join(dataDir, DATA_DIR_LOCK_FILE))
  } catch (error) {
    if (!(error instanceof FileLockedError)) throw error
    throw new FileLockedError(
      error.path,
      error.pid,
      `the data directory ${dataDir} is in use by another peer${error.pid === undefined ? '' : ` (process ${error.pid})`}; give each peer its own --data-dir`,
    )
  }
}

/** Starts the node's parts in order, each added to `parts` once it runs (see parts.ts for the stop order). */
async function startParts(
  config: NodeConfig,
  jobs: readonly JobDef[],
  entities: readonly AnyEntityDef[],
  env: ReturnType<typeof realEnvironment>,
  metrics: PrometheusMetrics,
  loopDelay: LoopDelayMonitor,
  parts: NodeParts,
): Promise<RunningNode> {
  const identity = await readOrCreate(join(config.dataDir, 'identity'), generateIdentity)
  const secret = await readSecret(config)
  const httpToken = config.httpTokenFile === undefined ? undefined : readToken(config.httpTokenFile)
  // Replication sends whole job records in one message, beyond the default message limit.
  const maxPayloadBytes = config.jobLog.kind === 'replicated' ? { maxPayloadBytes: REPLICATION_NETWORK_PAYLOAD_BYTES } : {}
  const network = await createLibp2pNetwork({
    env,
    listen: config.listen,
    bootstrap: config.bootstrap,
    clusterSecret: secret,
    identity,
    redial: { maxRefused: REDIAL_MAX_REFUSED },
    ...maxPayloadBytes,
  })
  await network.start().catch((error: unknown) => {
    throw listenFailure(error, config.listen.join(', '))
  })
  parts.add('network', () => network.stop())
  // The voters are known once the node runs; a file: log is opened to lead only after that.
  let voters = (): readonly string[] => []
  let clusterId = (): string | undefined => undefined
  const storage = await openStorage(config, env, network.self, { voters: () => voters(), clusterId: () => clusterId() })
  parts.add('storage', () => storage.close())
  const load = new ProcessLoad(env.clock, loopDelay.reader())
  const node = assembleNode(
    { env, network, store: storage.store, jobLog: storage.jobLog, ...(storage.replicaLog === undefined ? {} : { replicaLog: storage.replicaLog }), cache: storage.cache },
    {
      founder: config.bootstrap.length === 0,
      jobs,
      entities,
      cluster: {
        ...(config.gossipIntervalMs === undefined ? {} : { gossipIntervalMs: config.gossipIntervalMs }),
        ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
        ...(config.voters === undefined ? {} : { voters: config.voters }),
        ...(config.voterDownMs === undefined ? {} : { voterDownMs: config.voterDownMs }),
        membership: config.membership,
      },
      load: () => load.sample(),
      retention: config.retention,
      placement: config.placement,
      steal: config.steal,
      jobOrder: config.jobOrder,
    },
  )
  parts.add('runtime', (options) => node.stop(options))
  if (config.alertWebhook !== undefined) {
    const webhook = new WebhookSender({ url: config.alertWebhook, timers: env.timers, random: env.random.fork('webhook'), logger: env.logger })
    parts.add('alert webhook', () => webhook.stop())
    node.analytics.onAlert((t) => webhook.send({ event: t.kind, at: t.at, node: network.self, alert: t.alert }))
  }
  voters = () => node.cluster.view()?.config?.members ?? []
  dropMemoryCacheUnlessLeading(storage.cache, node.cluster)
  clusterId = () => node.cluster.clusterId()
  let http: HttpServer | undefined
  if (config.http !== undefined) {
    const { host, port } = config.http
    const status = (): StatusDocument => {
      const view = node.cluster.view()
      return { ...statusDocument(network.self, network.addresses(), view), ...(view?.leading === true ? { analytics: node.analytics.status() } : {}) }
    }
    const hub = new DashboardHub({ status, jobs: node.jobs, forecasts: node.jobs, clock: env.clock, timers: env.timers })
    hub.start()
    parts.add('dashboard hub', () => hub.stop())
    const server = await startHttpServer(
      host,
      port,
      [
        ...dashboardRoutes(hub),
        ...nodeRoutes({
          status,
          analytics: node.analytics,
          leader: () => node.cluster.view()?.leader?.nodeId ?? null,
          leading: () => node.cluster.view()?.leading ?? false,
          metrics: () => metrics.render(),
          metricsContentType: metrics.registry.contentType,
          jobs: node.jobs,
          timers: env.timers,
          removeMember: (id) => node.removeMember(id),
        }),
        ...entityRoutes({ system: node.system, entities: node.entities, view: () => node.cluster.view() }),
      ],
      { ...(httpToken === undefined ? {} : { token: httpToken }), hostNames: config.httpHostNames },
    ).catch((error: unknown) => {
      throw listenFailure(error, `${host}:${port} (http)`)
    })
    parts.add('http', () => server.close())
    http = server
  }
  env.logger.info('node started', {
    node: network.self,
    addresses: network.addresses(),
    http: http === undefined ? null : `${http.host}:${http.port}`,
    jobLog: config.jobLog.kind,
    cache: config.cache.kind,
  })
  return {
    ...node,
    nodeId: network.self,
    addresses: network.addresses(),
    http: http === undefined ? undefined : `${http.host}:${http.port}`,
    network,
    stop: (options = {}) => parts.stop(options),
  }
}

/** A port already taken is the operator's to fix: say which, without a stack trace. */
function listenFailure(error: unknown, where: string): unknown {
  const text = String((error as Error | undefined)?.message ?? error)
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' || text.includes('EADDRINUSE'))
    return new ConfigError(`cannot listen on ${where}: the address is already in use`, { cause: error })
  if ((error as Error).name === 'UnsupportedListenAddressesError')
    return new ConfigError(
      `cannot listen on ${where}: ${
        text
          .split('\n')
          .find((l) => l.includes('Error:'))
          ?.trim() ?? text
      }`,
      { cause: error },
    )
  return error
}

/** Reads a file, or creates it with `make` (mode 0600) when absent. */
async function readOrCreate(path: string, make: () => Uint8Array | Promise<Uint8Array>): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`)
  }
  const bytes = await make()
  await writeFileDurably(path, bytes, `${path}.tmp`)
  return bytes
}

/** The cluster secret: the configured file; the default one in the data dir is created on first start. */
async function readSecret(config: NodeConfig): Promise<Uint8Array> {
  const isDefault = config.secretFile === join(config.dataDir, 'cluster.key')
  if (isDefault) return readOrCreate(config.secretFile, generateClusterSecret)
  try {
    return new Uint8Array(await readFile(config.secretFile))
  } catch (error) {
    throw new ConfigError(`cannot read the cluster secret ${config.secretFile}: ${(error as Error).message}; create one with: distributex secret --out ${config.secretFile}`)
  }
}
