/**
 * Builds one DistributeX node from its ports: the actor system, remote messaging, the cluster
 * actor, the executor, the job client, and the scheduler that runs while this node leads.
 *
 * Production (src/node/start.ts) passes libp2p, Kafka or the file log, Redis or the memory cache;
 * the simulator passes its simulated ports. Nothing here knows which.
 */
import { ClusterHandle, clusterActor } from '../../actors/cluster.js'
import { ExecutorStats, executorActor } from '../../actors/executor.js'
import { jobsClientActor } from '../../actors/jobs-client.js'
import { schedulerActor, type SnapshotPolicy } from '../../actors/scheduler.js'
import { formatAddress } from '../actor/address.js'
import { createActorSystem, type ActorSystem } from '../actor/system.js'
import type { ActorRef, Message } from '../actor/types.js'
import type { ClusterOptions } from '../cluster/core.js'
import type { NodeMetrics } from '../cluster/types.js'
import type { Environment } from '../env/types.js'
import { SystemShutdownError } from '../errors.js'
import { JobClient } from '../jobs/client.js'
import { EXECUTOR_PATH, JOBS_CLIENT_PATH, SCHEDULER_PATH } from '../jobs/protocol.js'
import type { JobDef } from '../jobs/types.js'
import { ResultWaiters } from '../jobs/waiters.js'
import type { Placement } from '../jobs/placement.js'
import type { Retention } from '../jobs/scheduler-core.js'
import { RemoteMessaging } from '../net/remoting.js'
import type { Network } from '../net/types.js'
import type { DurableStore, JobLogFactory, ResultCache } from '../storage/types.js'

/** The ports a node runs on. */
export interface NodePorts {
  env: Environment
  network: Network
  store: DurableStore
  jobLog: JobLogFactory
  cache: ResultCache
}

/** What a node does, beyond its ports. */
export interface NodeInit {
  /** True when started without bootstrap peers: it may found a new cluster. */
  founder: boolean
  /** Job types this node runs (every peer should register the same ones). */
  jobs: readonly JobDef[]
  cluster?: Partial<ClusterOptions>
  placement?: Placement
  /** Unfinished jobs beyond which the leader refuses submissions. */
  maxQueued?: number
  /** How long finished jobs stay in the leader's memory (by count and age). */
  retention?: Retention
  /** When the leader snapshots its state into the job log and lets the log compact. */
  snapshot?: Partial<SnapshotPolicy>
  /** Extra load figures (event-loop lag, CPU, memory) from the host. */
  load?: () => Pick<NodeMetrics, 'eventLoopLagMs' | 'cpu' | 'memoryMb'>
}

/** A running node. */
export interface AssembledNode {
  readonly system: ActorSystem
  readonly cluster: ClusterHandle
  readonly jobs: JobClient
  readonly stats: ExecutorStats
  /** Leaves the cluster (if asked) and stops every actor. */
  stop(options?: { leave?: boolean; timeoutMs?: number }): Promise<void>
}

const LEAVE_TIMEOUT_MS = 6000

export function assembleNode(ports: NodePorts, init: NodeInit): AssembledNode {
  const { env, network } = ports
  const system = createActorSystem({ env, nodeId: network.self })
  const remoting = new RemoteMessaging(system, network)
  remoting.start()
  const cluster = new ClusterHandle()
  const stats = new ExecutorStats()
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
  const clusterRef = system.spawnSystem(clusterActor({ network, store: ports.store, founder: init.founder, handle: cluster, metrics, ...(init.cluster === undefined ? {} : { options: init.cluster }) }), { name: 'cluster' })
  system.spawnSystem(executorActor({ jobs: init.jobs, cluster, stats }), { name: nameOf(EXECUTOR_PATH) })
  const waiters = new ResultWaiters()
  const clientRef = system.spawnSystem(jobsClientActor({ waiters, cluster }), { name: nameOf(JOBS_CLIENT_PATH) })
  const jobs = new JobClient({ system, env, cluster, waiters, watcher: formatAddress(clientRef.address), cache: ports.cache, jobs: init.jobs })

  // The scheduler runs exactly while this node holds the lease of one epoch; changes are applied one
  // at a time, so an old scheduler has always stopped before the next one starts.
  let scheduler: { ref: ActorRef<Message>; epoch: number } | undefined
  let transitions = Promise.resolve()
  const reconcile = async (): Promise<void> => {
    const epoch = cluster.leaderEpoch()
    if (scheduler !== undefined && scheduler.epoch !== epoch) {
      await system.stop(scheduler.ref)
      scheduler = undefined
    }
    if (scheduler === undefined && epoch !== undefined) {
      const def = schedulerActor({ epoch, jobLog: ports.jobLog, cache: ports.cache, cluster, ...(init.placement === undefined ? {} : { placement: init.placement }), ...(init.maxQueued === undefined ? {} : { maxQueued: init.maxQueued }), ...(init.retention === undefined ? {} : { retention: init.retention }), ...(init.snapshot === undefined ? {} : { snapshot: init.snapshot }) })
      scheduler = { ref: system.spawnSystem(def, { name: nameOf(SCHEDULER_PATH) }) as unknown as ActorRef<Message>, epoch }
    }
  }
  cluster.onLeadershipChange(() => {
    transitions = transitions.then(reconcile).catch((error: unknown) => system.log.error('scheduler transition failed', { error }))
  })

  return {
    system,
    cluster,
    jobs,
    stats,
    async stop(options = {}) {
      if (options.leave === true) {
        await clusterRef.ask({ type: 'leave' }, { timeoutMs: LEAVE_TIMEOUT_MS }).catch((error: unknown) => system.log.warn('leave did not complete', { error }))
      }
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
