/**
 * DistributeX: an actor-model runtime on a peer-to-peer mesh.
 *
 * @packageDocumentation
 * @example
 * ```ts
 * import { createActorSystem, defineActor, realEnvironment, type Ask } from 'distributex'
 *
 * type Greeter = Ask<{ type: 'greet'; name: string }, string>
 * const greeter = defineActor<Greeter>({
 *   setup: () => ({ greet: (msg) => `hello, ${msg.name}` }),
 * })
 *
 * const system = createActorSystem({ env: realEnvironment() })
 * const ref = system.spawn(greeter, { name: 'greeter' })
 * console.log(await ref.ask({ type: 'greet', name: 'Ada' }, { timeoutMs: 1000 }))
 * await system.shutdown()
 * ```
 */
export { defineActor } from './actor/define.js'
export { createActorSystem, ActorSystem } from './actor/system.js'
export type { ActorSystemInit, ActorSystemStats, ShutdownOptions, RemoteDelivery } from './actor/system.js'
export type { WatchControl } from './actor/remote-watch.js'
export type {
  ActorContext,
  ActorDef,
  ActorRef,
  ActorSpec,
  ActorTimers,
  AnyActorRef,
  Ask,
  AskMessage,
  AskOptions,
  DeferredReply,
  HandlerResult,
  Handlers,
  MailboxInit,
  Message,
  MessageOfType,
  OverflowPolicy,
  RemotePolicies,
  RemotePolicy,
  ReplyOf,
  SpawnOptions,
  StopCause,
  SupervisionInit,
  SupervisorDecision,
  SystemActorDef,
  Terminated,
  TerminationReason,
  Exact,
  REPLY,
} from './actor/types.js'
export type { DispatcherInit } from './actor/dispatcher.js'
export type { ReplyTarget } from './actor/reply.js'
export { formatAddress, parseAddress, type ActorAddress } from './actor/address.js'
export type { DeadLetter, DeadLetterReason, DeadLetters } from './actor/dead-letters.js'
export type { AbortOptions, Clock, Counter, Environment, Gauge, Histogram, LogFields, Logger, MetricLabels, Metrics, Random, TimerHandle, Timers } from './env/types.js'
export { realEnvironment, type RealEnvironmentInit } from './env/real.js'
export { ManualEnvironment, type ManualEnvironmentInit } from './env/manual.js'
export { SeededRandom } from './env/prng.js'
export { JsonLogger, MemoryLogger, type LogLevel, type LogRecord } from './env/logger.js'
export { MemoryMetrics, noopMetrics } from './env/metrics.js'
export {
  AbortedError,
  ActorNameTakenError,
  ActorNotFoundError,
  ActorStoppedError,
  AskTimeoutError,
  ChildFailedError,
  DistributeXError,
  InvalidArgumentError,
  MailboxFullError,
  NodeUnreachableError,
  RemoteError,
  SystemShutdownError,
  UnhandledMessageError,
  ForbiddenMessageError,
} from './errors.js'

// Jobs: define handlers, then submit through a node's `jobs` client.
export { defineJob } from './jobs/define.js'
export type { JobContext, JobDef, JobError, JobInfo, JobOptions, JobOutcome, JobResources, JobStatus } from './jobs/types.js'
export type { BatchItem, JobClient, JobHandle, SubmitOptions } from './jobs/client.js'
export {
  ClusterSaturatedError,
  DeadlineExceededError,
  DependencyFailedError,
  InvalidJobError,
  JobCancelledError,
  JobFailedError,
  JobTimeoutError,
  NoLeaderError,
  PayloadTooLargeError,
  PermanentJobError,
  UnknownJobTypeError,
} from './jobs/errors.js'
export { JobLogUnavailableError } from './storage/errors.js'

// Ports, for writing an adapter: the job log, the result cache, the durable store, the replica log, the network.
export type {
  CacheWriteOptions,
  DurableStore,
  JobLog,
  JobLogFactory,
  JobLogSession,
  LogRecord as JobLogRecord,
  ReplicaEntry,
  ReplicaLog,
  ReplicaLogOpener,
  ReplicaLogState,
  ResultCache,
} from './storage/types.js'
export type { MessageHandler, Network, NodeId, PeerListener } from './net/types.js'
// Cluster entities: virtual actors by type and key, placed and moved by the cluster.
export { defineEntity } from './entities/define.js'
export { entityAddress } from './entities/address.js'
export type { AnyEntityDef, EntityContext, EntityDef, EntityInfo, EntityRef, EntitySpec, EntityState, EntityStateStore, StoredEntityState } from './entities/types.js'
export type { EntityClient } from './entities/client.js'
export type { EntityOptions } from './entities/options.js'
export { EntityUnavailableError, NotPersistentError, StaleEpochError, UnknownEntityTypeError } from './entities/errors.js'
// The receptionist: a service registry of actors by typed key, kept across the cluster.
export { serviceKey, ReceptionistFullError } from './receptionist/types.js'
export type { Listing, ProtocolOf, ServiceKey } from './receptionist/types.js'
export { receptionistOf, type ReceptionistClient } from './receptionist/client.js'
export type { AssembledNode } from './node/assemble.js'

// Running a peer from code: the same settings as `distributex start`, then a running node.
export { resolveConfig, ConfigError, type CacheSetting, type HostPort, type JobLogSetting, type NodeConfig, type RawSettings } from './node/config.js'
export { startNode, type RunningNode } from './node/start.js'
export type { ClusterConfig, ClusterView, LeaderView, MemberRole, MemberState, MemberView, NodeMetrics, RemoveReply, RemovalRefusal, SelfStatus } from './cluster/types.js'
export type { ReplicationHandle, ReplicationStatus } from './replication/handle.js'
export type { LogPosition } from './replication/types.js'
// The handles a running node exposes; the actors that fill them in are wired by the node assembly.
export type { ClusterHandle, LeaderListener, LeadershipListener } from './cluster/handle.js'
export type { ExecutorStats } from './jobs/executor-stats.js'
export type { SchedulerStats } from './jobs/scheduler-lease.js'
export type { KafkaSettings, RedisSettings, TlsFiles } from './node/config.js'
export type { AnalyticsStatus, ClusterAnalytics, ForecastPoint, LoadForecast, NodeLoadForecast, TypeDuration } from './predict/analytics.js'
export type { Alert, AlertName, AlertTransition } from './predict/alerts.js'
export type { DurationEstimate, DurationPredictor, EstimateSource } from './predict/duration.js'
