/**
 * The typed actor API. An actor's protocol is a union of message objects discriminated by `type`;
 * messages that expect an answer are wrapped in `Ask<Message, Reply>`. From that one union the
 * compiler checks every `tell`, every `ask` (and the type of its reply) and every handler's return.
 *
 * @example
 * ```ts
 * type CounterMsg =
 *   | { type: 'add'; n: number }
 *   | Ask<{ type: 'get' }, number>
 *
 * const Counter = defineActor<CounterMsg>({
 *   setup() {
 *     let total = 0
 *     return {
 *       add: (msg) => { total += msg.n },
 *       get: () => total,
 *     }
 *   },
 * })
 * ```
 */
import type { ActorAddress } from './address.js'
import type { Environment, Logger } from '../env/types.js'

/** Brands a message as an ask: the type of reply it expects (a type-level marker, never a value). */
export declare const REPLY: unique symbol

/** The shape every actor message has: a string discriminant. */
export interface Message {
  readonly type: string
}

/** Marks message `M` as one that is answered with an `R` when it is sent with `ask`. */
export type Ask<M extends Message, R> = M & { readonly [REPLY]?: (reply: R) => void }

/** The members of protocol `M` that are asks. */
export type AskMessage<M> = M extends unknown ? (typeof REPLY extends keyof M ? M : never) : never

/** The reply type of an ask message. */
export type ReplyOf<M> = M extends { readonly [REPLY]?: (reply: infer R) => void } ? R : never

/** The member of protocol `M` whose `type` is `T`. */
export type MessageOfType<M, T> = M extends { readonly type: T } ? M : never

/** Rejects properties that the protocol's message does not declare (generic calls skip excess property checks). */
export type Exact<A, Shape> = A & { [K in Exclude<keyof A, keyof Shape>]: never }

/** Options of every ask: a timeout is mandatory, so no caller waits forever. */
export interface AskOptions {
  /** Milliseconds to wait for the reply before rejecting with AskTimeoutError. */
  timeoutMs: number
  /** Rejects the ask with AbortedError when aborted. */
  signal?: AbortSignal
}

/** A serializable handle to an actor, local or remote. */
export interface ActorRef<M extends Message> {
  readonly address: ActorAddress
  /** Sends a message without waiting. Delivery failures go to dead letters, never to the caller. */
  tell(message: M): void
  /** Sends an ask message and resolves with its typed reply. */
  ask<A extends AskMessage<M>>(message: Exact<A, MessageOfType<M, A['type']>>, options: AskOptions): Promise<ReplyOf<MessageOfType<M, A['type']>>>
  /** True when both refs name the same actor. */
  equals(other: AnyActorRef): boolean
  /** The canonical address string. */
  toString(): string
}

/** A reference to an actor of any protocol, for APIs that do not send to it (stop, watch). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActorRef = ActorRef<any>

/** A reply that a handler will give later; resolving or rejecting more than once does nothing. */
export interface DeferredReply<R> {
  resolve(value: R): void
  reject(error: Error): void
}

/**
 * Why an actor terminated, as watchers see it. Two reasons are for entities only (a watch of an
 * entity ref ends with the activation it reached): `passivated` (idle, handed off to another peer,
 * or its peer left; the next message activates the key again) and `failed-over` (its owner died or
 * lost the key's shard; the next message activates the key on a live peer).
 */
export type TerminationReason = 'stopped' | 'failed' | 'not-found' | 'unreachable' | 'passivated' | 'failed-over'

/** The notification a watcher receives when the watched actor terminates. */
export interface Terminated {
  readonly address: ActorAddress
  readonly reason: TerminationReason
  readonly error?: Error
}

/** Why a stop hook runs: the actor is stopping for good, or about to restart after `error`. */
export type StopCause = { readonly kind: 'stop' } | { readonly kind: 'restart'; readonly error: Error }

/** Keyed timers that deliver messages to the actor itself; a key names at most one timer. */
export interface ActorTimers<M extends Message> {
  /** Delivers `message` once after `delayMs`, replacing any timer with the same key. */
  once(key: string, delayMs: number, message: M): void
  /** Delivers `message` every `intervalMs` (fixed delay after each delivery), replacing any timer with the same key. */
  every(key: string, intervalMs: number, message: M): void
  cancel(key: string): void
  has(key: string): boolean
}

/** What a handler may use while it runs. One context per actor incarnation. */
export interface ActorContext<M extends Message, R = never> {
  readonly self: ActorRef<M>
  readonly env: Environment
  readonly log: Logger
  /** Aborted when this incarnation stops or restarts, so long async work can stop early. */
  readonly signal: AbortSignal
  /** How many times this actor has restarted. */
  readonly restarts: number
  /**
   * The node that sent the message being handled, when it came over the network (the network port
   * authenticates it); undefined for messages sent on this node. Valid until the handler settles.
   */
  readonly sender: string | undefined
  readonly timers: ActorTimers<M>
  /** A reference to the actor at `address` (on any node), whose protocol the caller asserts to be `T`. */
  ref<T extends Message>(address: ActorAddress | string): ActorRef<T>
  /** Spawns a child; children stop before their parent and are stopped when it restarts. */
  spawn<C extends Message>(def: ActorDef<C>, options?: SpawnOptions): ActorRef<C>
  /** Stops this actor after the current message, or stops one of its children. */
  stop(child?: AnyActorRef): void
  /** Delivers `toMessage(terminated)` to this actor when `ref` terminates (at once if it is already gone). */
  watch(ref: AnyActorRef, toMessage: (terminated: Terminated) => M): void
  unwatch(ref: AnyActorRef): void
  /** Answers the current ask later instead of by the handler's return value. */
  defer(): DeferredReply<R>
  /** Runs `hook` when this incarnation ends (stop or restart); hooks run in reverse order of registration. */
  onStop(hook: (cause: StopCause) => void | Promise<void>): void
}

/** What a handler returns: the reply (or a promise of it) for asks, nothing for tells. */
export type HandlerResult<X> = typeof REPLY extends keyof X ? ReplyOf<X> | DeferredReply<ReplyOf<X>> | Promise<ReplyOf<X> | DeferredReply<ReplyOf<X>>> : void | Promise<void>

/** One handler per message type of protocol `M`. */
export type Handlers<M extends Message> = {
  [K in M['type']]: (message: MessageOfType<M, K>, ctx: ActorContext<M, ReplyOf<MessageOfType<M, K>>>) => HandlerResult<MessageOfType<M, K>>
}

/** The decision a supervisor takes when an actor fails. */
export type SupervisorDecision = 'restart' | 'resume' | 'stop' | 'escalate'

/** How an actor is supervised. */
export interface SupervisionInit {
  /** Chooses the reaction to an error; restart by default. */
  decide?: (error: Error) => SupervisorDecision
  /** More than this many restarts within `windowMs` stops the actor instead. Default 10. */
  maxRestarts?: number
  /** Default 60,000. */
  windowMs?: number
  /** Delay before the n-th restart in the window: min(maxMs, minMs * factor^(n-1)) with +-jitter. */
  backoff?: { minMs?: number; maxMs?: number; factor?: number; jitter?: number }
}

/** What happens when a message arrives at a full mailbox. */
export type OverflowPolicy = 'reject' | 'drop-oldest'

/** Mailbox bounds. */
export interface MailboxInit {
  /** Maximum queued messages. Default 10,000. */
  capacity?: number
  /** `reject` (default) refuses the new message; `drop-oldest` evicts the oldest queued one. Either way the refused message goes to dead letters and an ask gets MailboxFullError. */
  overflow?: OverflowPolicy
}

/** Per-spawn options; they override the definition's defaults. */
export interface SpawnOptions {
  /** Unique among siblings; generated (`$1`, `$2`, ...) when absent. */
  name?: string
  mailbox?: MailboxInit
  supervision?: SupervisionInit
}

/**
 * Who may send one message type over the network: `any` node, `never` (only senders on this node),
 * or a check of the sending node's id (authenticated by the network port). The check runs when the
 * message arrives, before the mailbox, so it must be cheap and synchronous; `message` is what the
 * peer sent, unchecked. A check that throws refuses the message.
 */
export type RemotePolicy = 'any' | 'never' | ((from: string, message: unknown) => boolean)

/**
 * One remote policy per message type of protocol `M`. A declared block must name every type, so
 * adding a type to the protocol without deciding who may send it is a compile error. Types not in
 * the block (a peer can send anything) are refused.
 */
export type RemotePolicies<M extends Message> = { readonly [K in M['type']]: RemotePolicy }

/** The specification of an actor type. */
export interface ActorSpec<M extends Message> {
  /** Builds a fresh incarnation: runs at start and after every restart, and returns the handlers. */
  setup(ctx: ActorContext<M>): Handlers<M> | Promise<Handlers<M>>
  mailbox?: MailboxInit
  supervision?: SupervisionInit
  /**
   * Which message types other nodes may send, and from whom. Absent: every type from any node (an
   * ordinary user actor). Messages sent on this node are never checked. System actors must declare it.
   */
  remote?: RemotePolicies<M>
}

/** An actor type, ready to spawn. The protocol type travels with it. */
export interface ActorDef<M extends Message> extends ActorSpec<M> {
  readonly __protocol?: (message: M) => void
}

/** An actor type that declares a remote policy for every message type, as `spawnSystem` requires. */
export interface SystemActorDef<M extends Message> extends ActorDef<M> {
  readonly remote: RemotePolicies<M>
}
