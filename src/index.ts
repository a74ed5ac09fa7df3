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
  ReplyOf,
  SpawnOptions,
  StopCause,
  SupervisionInit,
  SupervisorDecision,
  Terminated,
  TerminationReason,
} from './actor/types.js'
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
} from './errors.js'
