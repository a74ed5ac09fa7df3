/**
 * Builds one DistributeX node from its ports: the actor system, remote messaging, the cluster
 * actor, the executor, the job client, and the scheduler that runs while this node leads.
 *
 * Production (src/node/start.ts) passes libp2p, Kafka or the file log, Redis or the memory cache;
 * the simulator passes its simulated ports. Nothing here knows which.
 */
import { clusterActor } from '../../actors/cluster.js'
import { EntitiesHandle, entitiesActor } from '../../actors/entities.js'
import { entityStoreActor, replicaTransport } from '../../actors/entity-store.js'
import { QuorumEntityStore } from '../entities/quorum-store.js'
import { ENTITY_NODE } from '../entities/address.js'
import { EntityClient } from '../entities/client.js'
import { DEFAULT_ENTITY_OPTIONS, type EntityOptions } from '../entities/options.js'
import type { AnyEntityDef, EntityStateStore } from '../entities/types.js'
import { executorActor } from '../../actors/executor.js'
import { receptionistActor } from '../../actors/receptionist.js'
import { ReceptionistClient } from '../receptionist/client.js'
import { RECEPTIONIST_PATH, type ReceptionistMsg } from '../receptionist/protocol.js'
import { ReceptionistStats } from '../receptionist/stats.js'
import { jobsClientActor } from '../../actors/jobs-client.js'
import { replicatorActor } from '../../actors/replicator.js'
import { schedulerActor, type SnapshotPolicy } from '../../actors/scheduler.js'
import { formatAddress } from '../actor/address.js'
import { createActorSystem, virtualWatchEnded, type ActorSystem } from '../actor/system.js'
import type { ActorRef, Message } from '../actor/types.js'
import { DEFAULT_MEMBERSHIP, type ClusterOptions } from '../cluster/core.js'
import { ClusterHandle } from '../cluster/handle.js'
import type { NodeMetrics, RemoveReply } from '../cluster/types.js'
import type { Environment } from '../env/types.js'
import { InvalidArgumentError, SystemShutdownError } from '../errors.js'
import { JobClient } from '../jobs/client.js'
import { ExecutorStats } from '../jobs/executor-stats.js'
import { EXECUTOR_PATH, JOBS_CLIENT_PATH, SCHEDULER_PATH } from '../jobs/protocol.js'
import type { JobDef } from '../jobs/types.js'
import { ResultWaiters } from '../jobs/waiters.js'
import type { Placement } from '../jobs/placement.js'
import { createPlacement, DEFAULT_PLACEMENT, type PlacementName } from '../jobs/placement/index.js'
import { ObservedPlacement } from '../jobs/placement/observed.js'
import { ClusterAnalytics, type AnalyticsOptions } from '../predict/analytics.js'
import type { Retention } from '../jobs/scheduler-core.js'
import type { SchedulerStats } from '../jobs/scheduler-lease.js'
import { RemoteMessaging } from '../net/remoting.js'
import type { Network, NodeId } from '../net/types.js'
import { ReplicationHandle } from '../replication/handle.js'
import { replicatedJobLog } from '../replication/job-log.js'
import type { ReplicationOptions } from '../replication/types.js'
import type { DurableStore, JobLogFactory, ReplicaLogOpener, ResultCache } from '../storage/types.js'
import { superviseScheduler } from './scheduler-duty.js'

/** The ports a node runs on. */
export interface NodePorts {
  env: Environment
  network: Network
  store: DurableStore
  /**
   * The job log: a shared one (a host's directory, Kafka), or 'replicated': the log replicated over
   * the mesh among the voters, each holding its copy in `replicaLog`.
   */
  jobLog: JobLogFactory | 'replicated'
  /** This node's copy of the replicated job log; required when jobLog is 'replicated'. */
  replicaLog?: ReplicaLogOpener
  cache: ResultCache
  /**
   * Where persistent entity types keep their state (see src/entities/types.ts). Default: replicated
   * to a majority of the voters, each keeping its replica in `store`.
   */
  entityStore?: EntityStateStore
}

/** What a node does, beyond its ports. */
export interface NodeInit {
  /** True when started without bootstrap peers: it may found a new cluster. */
  founder: boolean
  /** Job types this node runs (every peer should register the same ones). */
  jobs: readonly JobDef[]
  cluster?: Partial<ClusterOptions>
  /** A placement policy by name (default DEFAULT_PLACEMENT), or one built by the caller. */
  placement?: PlacementName | Placement
  /** Tuning of the leader's predictions, forecasts and alerts. */
  analytics?: AnalyticsOptions
  /** Unfinished jobs beyond which the leader refuses submissions. */
  maxQueued?: number
  /** Whether idle peers take attempts still queued on overcommitted ones (default true). */
  steal?: boolean
  /** How the leader orders ready jobs of equal priority (default fifo; SchedulerCoreOptions.order). */
  jobOrder?: 'fifo' | 'critical-path'
  /** How long finished jobs stay in the leader's memory (by count and age). */
  retention?: Retention
  /** When the leader snapshots its state into the job log and lets the log compact. */
  snapshot?: Partial<SnapshotPolicy>
  /** Extra load figures (event-loop lag, CPU, memory) from the host. */
  load?: () => Pick<NodeMetrics, 'eventLoopLagMs' | 'cpu' | 'memoryMb'>
  /** Tuning of the replicated job log. */
  replication?: Partial<ReplicationOptions>
  /** Entity types this node hosts (every peer should register the same ones). */
  entities?: readonly AnyEntityDef[]
  /** Tuning of entity shards and leases. */
  entityOptions?: Partial<EntityOptions>
}

/** A running node. */
export interface AssembledNode {
  readonly system: ActorSystem
  readonly cluster: ClusterHandle
  readonly jobs: JobClient
  /** Typed references to cluster entities, and this node's activations. */
  readonly entities: EntityClient
  /** The service registry: register actors of this node under keys, subscribe to a key's refs across the cluster. */
  readonly receptionist: ReceptionistClient
  readonly stats: ExecutorStats
  /** How often this node's scheduler replayed the log, and paused through lapses of the lease. */
  readonly schedulerStats: SchedulerStats
  /** Predictions, forecasts and alerts; fed while this node leads. */
  readonly analytics: ClusterAnalytics
  /** The replicated job log's status on this node, when the node runs one. */
  readonly replication: ReplicationHandle | undefined
  /** Removes a down member from the cluster by hand (through the leader). */
  removeMember(nodeId: string): Promise<RemoveReply>
  /** Leaves the cluster (if asked) and stops every actor. */
  stop(options?: { leave?: boolean; timeoutMs?: number }): Promise<void>
}

const LEAVE_TIMEOUT_MS = 6000
/** Beyond the cluster actor's own wait for the leader. */
const REMOVE_TIMEOUT_MS = 8000

export function assembleNode(ports: NodePorts, init: NodeInit): AssembledNode {
  const { env, network } = ports
  const system = createActorSystem({ env, nodeId: network.self })
  // A message to a node not connected asks the cluster actor to dial it (spawned below, before any actor can send).
  let want: (node: NodeId) => void = () => {}
  const remoting = new RemoteMessaging(system, network, { connect: (node) => want(node), ambientPaths: [RECEPTIONIST_PATH] })
  remoting.start()
  const cluster = new ClusterHandle()
  const stats = new ExecutorStats()
  const analytics = new ClusterAnalytics(init.analytics)
  /** The leader counts a job's declared slots against its peer (every peer registers the same job types). */
  const slotsByType = new Map(init.jobs.map((def) => [def.type, def.resources?.slots ?? 1]))
  const chosen = init.placement ?? DEFAULT_PLACEMENT
  const placement = new ObservedPlacement(typeof chosen === 'string' ? createPlacement(chosen, { random: env.random.fork('placement'), model: analytics }) : chosen, analytics)
  env.metrics.gauge('dx_alerts', 'Alerts firing on this node (it evaluates them while it leads), by name and severity', ['name', 'severity'], (set) => {
    const counts = new Map<string, number>()
    for (const a of analytics.alerts()) counts.set(`${a.name}\u0000${a.severity}`, (counts.get(`${a.name}\u0000${a.severity}`) ?? 0) + 1)
    for (const name of ['node-saturation', 'queue-instability', 'cluster-demand', 'deadline-risk'])
      for (const severity of ['warning', 'critical']) set(counts.get(`${name}\u0000${severity}`) ?? 0, { name, severity })
  })
  env.metrics.gauge('dx_forecast_mase', 'Online MASE of the load forecasts against the naive forecast, by horizon (below 1: better than naive)', ['horizon'], (set) => {
    const m = analytics.mase()
    if (m['10s'] !== null) set(m['10s'], { horizon: '10s' })
    if (m['60s'] !== null) set(m['60s'], { horizon: '60s' })
  })
  const metrics = (): NodeMetrics => ({
    capacity: stats.capacity,
    running: stats.running,
    queued: stats.queued,
    eventLoopLagMs: 0,
    cpu: 0,
    memoryMb: 0,
    ...init.load?.(),
    types: [...stats.types],
    durations: stats.summary(),
  })
  const clusterRef = system.spawnSystem(
    clusterActor({
      network,
      store: ports.store,
      founder: init.founder,
      handle: cluster,
      metrics,
      options: { membership: DEFAULT_MEMBERSHIP, ...init.cluster },
      linksInUse: () => {
        const active = remoting.takeActive()
        return (node) => active.has(node) || remoting.watches(node)
      },
    }),
    { name: 'cluster' },
  )
  want = (node) => clusterRef.tell({ type: 'want', node })
  let jobLog: JobLogFactory
  let replication: ReplicationHandle | undefined
  if (ports.jobLog === 'replicated') {
    if (ports.replicaLog === undefined) throw new InvalidArgumentError('a replicated job log needs a replicaLog opener in the node ports')
    replication = new ReplicationHandle()
    const replicator = system.spawnSystem(
      replicatorActor({
        network,
        opener: ports.replicaLog,
        cluster,
        handle: replication,
        ...(init.replication === undefined ? {} : { options: init.replication }),
        // With --voters above the default target, members that run no jobs must still get the log to be promotable.
        ...(init.cluster?.voters === undefined ? {} : { voters: init.cluster.voters }),
      }),
      { name: 'replicator' },
    )
    jobLog = replicatedJobLog(replicator)
  } else {
    jobLog = ports.jobLog
  }
  const entitiesHandle = new EntitiesHandle(init.entityOptions?.shards ?? DEFAULT_ENTITY_OPTIONS.shards)
  system.attachVirtual(ENTITY_NODE, entitiesHandle)
  entitiesHandle.bindWatchEnd((target, watcher, reason, error) => virtualWatchEnded(system, ENTITY_NODE, target, watcher, reason, error))
  system.spawnSystem(entityStoreActor(ports.store), { name: 'entity-store' })
  const entityStore = ports.entityStore ?? new QuorumEntityStore(() => cluster.view()?.config?.members ?? [], replicaTransport(system))
  system.spawnSystem(
    entitiesActor({
      network,
      cluster,
      handle: entitiesHandle,
      defs: init.entities ?? [],
      store: entityStore,
      placement: typeof chosen === 'string' ? createPlacement(entityPlacement(chosen), { random: env.random.fork('entity-placement'), model: analytics }) : chosen,
      ...(init.entityOptions === undefined ? {} : { options: init.entityOptions }),
    }),
    { name: 'entities' },
  )
  const entities = new EntityClient(system, () => entitiesHandle.list(), new Set((init.entities ?? []).map((d) => d.type)))
  const receptionistStats = new ReceptionistStats()
  env.metrics.counter('dx_receptionist_dropped_total', 'Receptionist announcements from peers dropped, by reason (malformed, forged, stale, bounds)', ['reason'], (set) => {
    for (const reason of ['malformed', 'forged', 'stale', 'bounds'] as const) set(receptionistStats[reason], { reason })
  })
  const receptionistRef: ActorRef<ReceptionistMsg> = system.spawnSystem(receptionistActor({ network, stats: receptionistStats }), { name: 'receptionist' })
  const receptionist = new ReceptionistClient(receptionistRef, {
    spawn: (def) => system.spawn(def),
    stop: (ref) => void system.stop(ref).catch((error: unknown) => system.log.warn('stopping a receptionist listener failed', { error })),
  })
  system.spawnSystem(executorActor({ jobs: init.jobs, cluster, stats }), { name: nameOf(EXECUTOR_PATH) })
  const waiters = new ResultWaiters()
  const clientRef = system.spawnSystem(jobsClientActor({ waiters, cluster }), { name: nameOf(JOBS_CLIENT_PATH) })
  const jobs = new JobClient({ system, env, cluster, waiters, watcher: formatAddress(clientRef.address), cache: ports.cache, jobs: init.jobs })

  const schedulers = superviseScheduler({
    system,
    cluster,
    metrics: env.metrics,
    spawn: (epoch, stats) =>
      system.spawnSystem(
        schedulerActor({
          epoch,
          jobLog,
          cache: ports.cache,
          cluster,
          placement,
          forecast: (nodes, history) => analytics.forecast(nodes, history),
          ...(init.maxQueued === undefined ? {} : { maxQueued: init.maxQueued }),
          ...(init.steal === undefined ? {} : { steal: init.steal }),
          slots: (type) => slotsByType.get(type) ?? 1,
          speed: (node) => analytics.speed(node),
          ...(init.jobOrder === 'critical-path'
            ? { order: 'critical-path' as const, duration: (type: string, hintMs: number | null) => analytics.predict(type, null, hintMs).p50Ms }
            : {}),
          ...(init.retention === undefined ? {} : { retention: init.retention }),
          ...(init.snapshot === undefined ? {} : { snapshot: init.snapshot }),
          stats,
        }),
        { name: nameOf(SCHEDULER_PATH) },
      ) as unknown as ActorRef<Message>,
  })

  return {
    system,
    cluster,
    jobs,
    entities,
    receptionist,
    stats,
    schedulerStats: schedulers.stats,
    analytics,
    replication,
    removeMember: (nodeId) => clusterRef.ask({ type: 'remove', node: nodeId }, { timeoutMs: REMOVE_TIMEOUT_MS }),
    async stop(options = {}) {
      if (options.leave === true) {
        await clusterRef.ask({ type: 'leave' }, { timeoutMs: LEAVE_TIMEOUT_MS }).catch((error: unknown) => system.log.warn('leave did not complete', { error }))
      }
      schedulers.shutDown()
      jobs.close(new SystemShutdownError('the node stopped before the leader acknowledged the job; it may still run: look it up by id or resubmit with the same idempotency key'))
      await system.shutdown({ timeoutMs: options.timeoutMs ?? 5000 })
      waiters.close(new SystemShutdownError('the node stopped before the job finished; ask another node for its result'))
      remoting.stop()
    },
  }
}

function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/**
 * The policy that places entity shards under the cluster's `placement`. eect and eect-pull score
 * predicted job durations, which shards do not have; under them shards moved soon after their
 * first activation, ending activations a moment old (test/entities/watch-peers.test.ts: a watch of
 * one answered not-found in 5 runs of 5; with wlc 4 of 4 passed). Shards are balanced by how many
 * a peer holds per capacity (wlc).
 */
function entityPlacement(name: PlacementName): PlacementName {
  return name === 'eect' || name === 'eect-pull' ? 'wlc' : name
}
