/**
 * The actor system of one node: spawns and tracks actors, routes messages to local cells or to a
 * remote transport, owns pending asks and dead letters, and shuts everything down in order.
 *
 * Addresses: top-level user actors live at `/user/<name>`, built-in services at `/system/<name>`,
 * and children below their parent's path.
 *
 * Two classes: SystemRuntime holds the state and implements what cells and references need of it
 * (CellRuntime, RefRuntime); ActorSystem is the public facade over it, so those internals stay out
 * of the public type. The node's remoting reaches the runtime through deliverFromNode.
 */
import { abortError } from '../env/abort.js'
import type { AbortOptions, Environment, Logger } from '../env/types.js'
import { ActorNameTakenError, ActorNotFoundError, InvalidArgumentError, NodeUnreachableError, SystemShutdownError } from '../errors.js'
import { type ActorAddress, assertValidName, assertValidNodeId, formatAddress, parseAddress } from './address.js'
import { ActorCell, type CellRuntime } from './cell.js'
import { DEAD_LETTER_REASONS, DeadLetters } from './dead-letters.js'
import { Dispatcher, type DispatcherInit } from './dispatcher.js'
import { ActorRefImpl, type RefRuntime } from './ref.js'
import { AskRegistry, type PendingAsk, type ReplyTarget } from './reply.js'
import type { Counter } from '../env/types.js'
import { RemoteWatches, type WatchControl } from './remote-watch.js'
import type { ActorDef, ActorRef, AnyActorRef, Message, SpawnOptions, SystemActorDef, Terminated, TerminationReason } from './types.js'

/** Carries messages to actors on other nodes; the mesh layer implements it. */
export interface RemoteDelivery {
  /** Sends `message` to `to`; a `reply` target expects the answer of an ask. */
  send(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void
  /**
   * Sends a watch message to `node` (src/actor/remote-watch.ts); false when it could not leave.
   * A transport without it cannot carry watches: remote watchers hear `unreachable` at once.
   */
  control?(node: string, message: WatchControl): boolean
}

/** Options of an actor system. */
export interface ActorSystemInit {
  env: Environment
  /** This node's id; generated from the environment's randomness when absent. */
  nodeId?: string
  dispatcher?: DispatcherInit
}

/** How shutdown treats work in flight. */
export interface ShutdownOptions extends AbortOptions {
  /**
   * `drain` (default) lets queued messages and pending asks finish, up to the timeout, before
   * stopping actors; `reject` rejects pending asks at once with SystemShutdownError.
   */
  mode?: 'drain' | 'reject'
  /** Upper bound for the whole shutdown, after which remaining actors are stopped without their hooks. Default 10,000. */
  timeoutMs?: number
}

/** A point-in-time view of the system's counters. */
export interface ActorSystemStats {
  actors: number
  queuedMessages: number
  busyActors: number
  inflightAsks: number
  processedMessages: number
  deadLetters: number
  restarts: number
  failures: number
  /** Watches that actors on other nodes hold on actors of this node. */
  remoteWatchers: number
}

const SHUTDOWN_TIMEOUT_MS = 10_000

const RUNNING = 0
const DRAINING = 1
const STOPPING = 2
const STOPPED = 3

/** The state of one node's actor system, and what its cells and references use of it. */
class SystemRuntime implements CellRuntime, RefRuntime {
  readonly nodeId: string
  readonly env: Environment
  readonly log: Logger
  readonly deadLetters: DeadLetters
  readonly dispatcher: Dispatcher
  queued = 0
  busyCells = 0
  failureCount = 0
  restartCount = 0
  private readonly asks: AskRegistry
  private readonly refused: Counter
  private readonly cells = new Map<string, ActorCell>()
  private readonly topLevel = new Map<string, ActorCell>()
  private remote: RemoteDelivery | undefined = undefined
  private readonly virtualNodes = new Map<string, RemoteDelivery>()
  private readonly watches = new RemoteWatches<ActorCell>()
  private phase = RUNNING
  private topSeq = 0
  private shutdownPromise: Promise<void> | undefined = undefined
  private quiescenceWaiter: (() => void) | undefined = undefined

  constructor(init: ActorSystemInit) {
    this.env = init.env
    this.nodeId = init.nodeId ?? init.env.random.id().slice(0, 16)
    assertValidNodeId(this.nodeId)
    this.log = init.env.logger.child({ node: this.nodeId })
    this.deadLetters = new DeadLetters(this.log)
    this.dispatcher = new Dispatcher(init.env.timers, () => this.checkQuiescent(), init.dispatcher)
    this.asks = new AskRegistry(init.env.clock, init.env.timers, () => this.checkQuiescent())
    this.refused = init.env.metrics.counter('dx_remote_refused_total', "Messages from other nodes refused by the target actor's remote policy", ['actor', 'type'])
    this.registerMetrics()
  }

  ref<M extends Message>(address: ActorAddress | string): ActorRef<M> {
    const parsed = typeof address === 'string' ? parseAddress(address) : address
    return this.makeRef(parsed, parsed.node === this.nodeId ? this.cells.get(parsed.path) : undefined)
  }

  async stop(ref: AnyActorRef): Promise<void> {
    const cell = this.localCell(ref)
    if (cell !== undefined) await cell.requestStop(undefined)
  }

  whenTerminated(ref: AnyActorRef): Promise<Terminated> {
    const cell = this.localCell(ref)
    if (cell === undefined) return Promise.resolve({ address: ref.address, reason: ref.address.node === this.nodeId ? 'not-found' : 'unreachable' })
    return cell.whenTerminated()
  }

  attachRemote(remote: RemoteDelivery): void {
    this.remote = remote
  }

  attachVirtual(node: string, delivery: RemoteDelivery): void {
    assertValidNodeId(node)
    this.virtualNodes.set(node, delivery)
  }

  /** See deliverFromNode. */
  deliverLocal(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined, from: string): void {
    const cell = this.cells.get(to.path)
    if (cell !== undefined && this.phase !== STOPPED) cell.enqueueRemote(message, reply, from)
    else this.undeliverable(to, message, reply)
  }

  stats(): ActorSystemStats {
    return {
      actors: this.cells.size,
      queuedMessages: this.queued,
      busyActors: this.busyCells,
      inflightAsks: this.asks.inflight,
      processedMessages: this.dispatcher.processed,
      deadLetters: this.deadLetters.count,
      restarts: this.restartCount,
      failures: this.failureCount,
      remoteWatchers: this.watches.inboundTotal(),
    }
  }

  shutdown(options: ShutdownOptions): Promise<void> {
    this.shutdownPromise ??= this.runShutdown(options)
    return this.shutdownPromise
  }

  makeRef<M extends Message>(address: ActorAddress, cell: ActorCell | undefined): ActorRefImpl<M> {
    return new ActorRefImpl<M>(address, this, cell)
  }

  localCell(ref: AnyActorRef): ActorCell | undefined {
    if (ref.address.node !== this.nodeId) return undefined
    const cell = this.cells.get(ref.address.path)
    if (cell !== undefined && ref instanceof ActorRefImpl) ref.cell = cell
    return cell
  }

  deliver(ref: ActorRefImpl<Message>, message: unknown, reply: ReplyTarget | undefined): void {
    if (this.phase === STOPPED) {
      this.undeliverable(ref.address, message, reply)
      return
    }
    if (ref.address.node === this.nodeId) {
      const cell = this.cells.get(ref.address.path)
      if (cell === undefined) {
        this.undeliverable(ref.address, message, reply)
        return
      }
      ref.cell = cell
      cell.enqueue(message, reply)
      return
    }
    const transport = this.transportTo(ref.address.node)
    if (transport !== undefined) transport.send(ref.address, message, reply)
    else this.undeliverable(ref.address, message, reply)
  }

  private transportTo(node: string): RemoteDelivery | undefined {
    return this.virtualNodes.get(node) ?? this.remote
  }

  watchRemote(watcher: ActorCell, target: ActorAddress, toMessage: (terminated: Terminated) => Message): boolean {
    const transport = this.transportTo(target.node)
    if (transport?.control === undefined || this.phase === STOPPED) return false
    if (!this.watches.addOutbound(watcher, target.node, target.path, toMessage)) return true
    if (transport.control(target.node, { kind: 'watch', target: target.path, watcher: watcher.address.path })) return true
    this.watches.removeOutbound(watcher, target.node, target.path)
    return false
  }

  unwatchRemote(watcher: ActorCell, target: ActorAddress): void {
    if (this.watches.removeOutbound(watcher, target.node, target.path) === undefined) return
    this.transportTo(target.node)?.control?.(target.node, { kind: 'unwatch', target: target.path, watcher: watcher.address.path })
  }

  cellTerminated(cell: ActorCell, terminated: Terminated): void {
    for (const target of this.watches.watchedBy(cell)) this.unwatchRemote(cell, target)
    const reason = terminated.reason === 'failed' ? 'failed' : 'stopped'
    for (const { node, watcherPath } of this.watches.takeInbound(cell.address.path))
      this.transportTo(node)?.control?.(node, { kind: 'terminated', target: cell.address.path, watcher: watcherPath, reason, error: terminated.error })
  }

  /** See watchFromNode. */
  watchControl(from: string, message: WatchControl): void {
    switch (message.kind) {
      case 'watch': {
        const cell = this.cells.get(message.target)
        const transport = this.transportTo(from)
        if (cell === undefined || cell.isStopped || this.phase === STOPPED) {
          transport?.control?.(from, { kind: 'terminated', target: message.target, watcher: message.watcher, reason: 'not-found', error: undefined })
          return
        }
        if (!this.watches.addInbound(from, message.target, message.watcher)) this.log.warn('watch refused: the node holds too many watches here', { from, target: message.target })
        return
      }
      case 'unwatch':
        this.watches.removeInbound(from, message.target, message.watcher)
        return
      case 'terminated':
        this.endWatch(from, message.target, message.watcher, message.reason, message.error)
    }
  }

  /** The watch of `target` on `from` (a node, or a virtual node) by the local actor at `watcherPath` ended. */
  endWatch(from: string, target: string, watcherPath: string, reason: TerminationReason, error: Error | undefined): void {
    const ended = this.watches.endOutbound(from, target, watcherPath)
    const address = { node: from, path: target }
    if (ended !== undefined) ended.watcher.deliverSignal(ended.toMessage, error === undefined ? { address, reason } : { address, reason, error })
  }

  /** Whether a watch crosses to `node` either way. */
  watchesWith(node: string): boolean {
    return this.watches.involves(node)
  }

  /** The connection to `node` closed: watches of its actors end with `unreachable`; its watches here are dropped. */
  nodeDown(node: string): void {
    for (const { watcher, path, toMessage } of this.watches.takeNode(node)) watcher.deliverSignal(toMessage, { address: { node, path }, reason: 'unreachable' })
  }

  createAsk(target: ActorAddress, timeoutMs: number, signal: AbortSignal | undefined): PendingAsk {
    const pending = this.asks.create(target, timeoutMs, signal)
    if (this.phase === STOPPED) pending.reject(new SystemShutdownError())
    return pending
  }

  /** `type` is a declared type or a fixed placeholder, to bound the label values. */
  refusedRemote(actor: string, type: string): void {
    this.refused.inc({ actor, type })
  }

  assertCanSpawn(): void {
    if (this.phase >= STOPPING) throw new SystemShutdownError('cannot spawn: actor system is shutting down')
  }

  register(cell: ActorCell): void {
    this.cells.set(cell.address.path, cell)
  }

  unregister(cell: ActorCell): void {
    if (this.cells.get(cell.address.path) === cell) this.cells.delete(cell.address.path)
    if (cell.parent === undefined && this.topLevel.get(cell.address.path) === cell) this.topLevel.delete(cell.address.path)
  }

  checkQuiescent(): void {
    if (this.quiescenceWaiter !== undefined && this.queued === 0 && this.busyCells === 0 && this.asks.inflight === 0) this.quiescenceWaiter()
  }

  spawnTopLevel<M extends Message>(guardian: 'user' | 'system', def: ActorDef<M>, options: SpawnOptions): ActorRef<M> {
    this.assertCanSpawn()
    if (options.name !== undefined) assertValidName(options.name)
    const name = options.name ?? `$${(this.topSeq++).toString(36)}`
    const path = `/${guardian}/${name}`
    if (this.topLevel.has(path)) throw new ActorNameTakenError(formatAddress({ node: this.nodeId, path }))
    const cell = new ActorCell(this, undefined, name, path, def as unknown as ActorDef<Message>, options)
    this.topLevel.set(path, cell)
    this.register(cell)
    cell.start()
    return cell.self as unknown as ActorRef<M>
  }

  private undeliverable(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void {
    const address = formatAddress(to)
    if (this.phase === STOPPED) {
      this.deadLetters.publish(address, message, 'shutdown')
      reply?.reject(new SystemShutdownError())
    } else if (to.node === this.nodeId) {
      this.deadLetters.publish(address, message, 'not-found')
      reply?.reject(new ActorNotFoundError(address))
    } else {
      this.deadLetters.publish(address, message, 'unreachable')
      reply?.reject(new NodeUnreachableError(to.node, 'no remote transport', true))
    }
  }

  private async runShutdown(options: ShutdownOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? SHUTDOWN_TIMEOUT_MS
    if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`shutdown timeoutMs must be >= 0, got ${timeoutMs}`)
    const clock = this.env.clock
    const deadline = clock.monotonicMs() + timeoutMs
    this.phase = DRAINING
    if ((options.mode ?? 'drain') === 'drain') {
      await this.quiescence(timeoutMs, options.signal)
    } else {
      this.asks.rejectAll(() => new SystemShutdownError('ask rejected: actor system is shutting down'))
    }
    this.phase = STOPPING
    const tops = [...this.topLevel.values()]
    const cancel = new AbortController()
    const remainingMs = Math.max(0, deadline - clock.monotonicMs())
    const signal = options.signal === undefined ? cancel.signal : AbortSignal.any([cancel.signal, options.signal])
    await Promise.race([Promise.all(tops.map((cell) => cell.requestStop(undefined))), this.env.timers.sleep(remainingMs, { signal }).catch(() => {})])
    cancel.abort()
    const stuck = [...this.topLevel.values()]
    if (stuck.length > 0) this.log.warn('shutdown timed out; stopping remaining actors without their stop hooks', { actors: stuck.length })
    for (const cell of stuck) cell.forceStop()
    this.phase = STOPPED
    this.asks.rejectAll(() => new SystemShutdownError())
    this.asks.close()
  }

  /** Resolves when nothing is queued, running or awaiting a reply, or when time runs out. */
  private quiescence(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        this.quiescenceWaiter = undefined
        this.env.timers.cancel(timer)
        signal?.removeEventListener('abort', finish)
        resolve()
      }
      const timer = this.env.timers.schedule(timeoutMs, finish)
      if (signal?.aborted === true) {
        this.log.debug('shutdown drain skipped', { reason: abortError(signal).message })
        finish()
        return
      }
      signal?.addEventListener('abort', finish, { once: true })
      this.quiescenceWaiter = finish
      this.checkQuiescent()
    })
  }

  private registerMetrics(): void {
    const m = this.env.metrics
    m.gauge('dx_actors', 'Live actors on this node', [], (set) => set(this.cells.size))
    m.gauge('dx_actor_queued_messages', 'Messages waiting in mailboxes', [], (set) => set(this.queued))
    m.gauge('dx_actor_inflight_asks', 'Asks waiting for a reply', [], (set) => set(this.asks.inflight))
    m.counter('dx_actor_messages_processed_total', 'Messages processed by actors', [], (set) => set(this.dispatcher.processed))
    m.counter('dx_actor_restarts_total', 'Actor restarts by supervision', [], (set) => set(this.restartCount))
    m.counter('dx_actor_failures_total', 'Actor handler failures', [], (set) => set(this.failureCount))
    m.counter('dx_actor_dead_letters_total', 'Messages that could not be delivered', ['reason'], (set) => {
      for (const reason of DEAD_LETTER_REASONS) set(this.deadLetters.countOf(reason), { reason })
    })
  }
}

/** Set by ActorSystem's static block: the runtime behind a facade, for deliverFromNode. */
let runtimeOf: (system: ActorSystem) => SystemRuntime

/** The actor system of one node: spawn actors, reach them by reference, and shut down. */
export class ActorSystem {
  readonly nodeId: string
  readonly env: Environment
  readonly log: Logger
  readonly deadLetters: DeadLetters
  readonly #runtime: SystemRuntime

  static {
    runtimeOf = (system) => system.#runtime
  }

  constructor(init: ActorSystemInit) {
    const runtime = new SystemRuntime(init)
    this.#runtime = runtime
    this.nodeId = runtime.nodeId
    this.env = runtime.env
    this.log = runtime.log
    this.deadLetters = runtime.deadLetters
  }

  /** Spawns a top-level actor at `/user/<name>`. */
  spawn<M extends Message>(def: ActorDef<M>, options: SpawnOptions = {}): ActorRef<M> {
    return this.#runtime.spawnTopLevel('user', def, options)
  }

  /** Spawns a built-in service actor at `/system/<name>`; it must say which messages other nodes may send it. */
  spawnSystem<M extends Message>(def: SystemActorDef<M>, options: SpawnOptions = {}): ActorRef<M> {
    return this.#runtime.spawnTopLevel('system', def, options)
  }

  /** A typed reference to the actor of type `def` at `address`, on this node or another. */
  refFor<M extends Message>(_def: ActorDef<M>, address: ActorAddress | string): ActorRef<M> {
    return this.#runtime.ref<M>(address)
  }

  /** A reference to the actor at `address` whose protocol the caller asserts to be `M`. */
  ref<M extends Message>(address: ActorAddress | string): ActorRef<M> {
    return this.#runtime.ref<M>(address)
  }

  /** Stops an actor and its children; resolves once they have all stopped. */
  stop(ref: AnyActorRef): Promise<void> {
    return this.#runtime.stop(ref)
  }

  /** Resolves when the actor terminates; at once with reason `not-found` if it does not exist here. */
  whenTerminated(ref: AnyActorRef): Promise<Terminated> {
    return this.#runtime.whenTerminated(ref)
  }

  /** Routes messages for other nodes through `remote`. */
  attachRemote(remote: RemoteDelivery): void {
    this.#runtime.attachRemote(remote)
  }

  /**
   * Routes messages for the virtual node id `node` (no real node has it) through `delivery`: how
   * addresses that name something other than a node (cluster entities) reach their router.
   */
  attachVirtual(node: string, delivery: RemoteDelivery): void {
    this.#runtime.attachVirtual(node, delivery)
  }

  /** Current counters. */
  stats(): ActorSystemStats {
    return this.#runtime.stats()
  }

  /** Stops every actor, children before parents, and settles every pending ask. Idempotent. */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    return this.#runtime.shutdown(options)
  }
}

/**
 * Delivers a message that arrived from node `from` (as authenticated by the network) to a local
 * actor of `system`, subject to the actor's remote policy for the message's type. For the node's
 * remoting (src/net/remoting.ts); not part of the public API.
 */
export function deliverFromNode(system: ActorSystem, to: ActorAddress, message: unknown, reply: ReplyTarget | undefined, from: string): void {
  runtimeOf(system).deliverLocal(to, message, reply, from)
}

/**
 * Applies a watch message from node `from` (as authenticated by the network) to `system`. For the
 * node's remoting; not part of the public API.
 */
export function watchFromNode(system: ActorSystem, from: string, message: WatchControl): void {
  runtimeOf(system).watchControl(from, message)
}

/**
 * A watch of an actor behind the virtual node `node` (see attachVirtual) ended: for that node's
 * router (entities), which tracks such watches itself; not part of the public API.
 */
export function virtualWatchEnded(system: ActorSystem, node: string, target: string, watcherPath: string, reason: TerminationReason, error: Error | undefined): void {
  runtimeOf(system).endWatch(node, target, watcherPath, reason, error)
}

/** Whether a watch crosses between this node and `node` (either way): for the node's remoting; not part of the public API. */
export function watchesWithNode(system: ActorSystem, node: string): boolean {
  return runtimeOf(system).watchesWith(node)
}

/** The connection to `node` closed: for the node's remoting; not part of the public API. */
export function nodeDownFor(system: ActorSystem, node: string): void {
  runtimeOf(system).nodeDown(node)
}

/** Creates the actor system of one node. */
export function createActorSystem(init: ActorSystemInit): ActorSystem {
  return new ActorSystem(init)
}
