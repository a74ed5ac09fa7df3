/**
 * An actor cell: one actor's mailbox, handlers, children, timers, watchers and life cycle.
 *
 * Invariants:
 * - At most one message is processed at a time; an async handler holds the cell (`busy`) until
 *   its promise settles, and messages keep queueing meanwhile, in arrival order.
 * - A cell moves STARTING -> RUNNING -> (RESTARTING -> STARTING -> RUNNING)* -> STOPPING -> STOPPED
 *   and never leaves STOPPED. Messages are processed only while RUNNING.
 * - Children stop before their parent finishes stopping, and before it restarts.
 * - Every message that is not processed ends in dead letters, and every ask gets an answer or an
 *   error: the reply, the handler's error, MailboxFullError, ActorStoppedError, ForbiddenMessageError,
 *   or a timeout.
 * - A message from another node enters the mailbox only if the definition's remote policy for its
 *   type admits the sending node; messages sent on this node are never checked.
 */
import type { Environment, Logger, TimerHandle } from '../env/types.js'
import {
  ActorNameTakenError,
  ActorStoppedError,
  ChildFailedError,
  ForbiddenMessageError,
  InvalidArgumentError,
  MailboxFullError,
  UnhandledMessageError,
  describe,
  toError,
} from '../errors.js'
import { type ActorAddress, assertValidName, formatAddress } from './address.js'
import type { DeadLetters } from './dead-letters.js'
import type { Dispatcher } from './dispatcher.js'
import { Mailbox } from './mailbox.js'
import type { ReplyTarget } from './reply.js'
import type { ActorRefImpl } from './ref.js'
import { type Supervision, restartDelayMs, resolveSupervision } from './supervision.js'
import type {
  ActorContext,
  ActorDef,
  ActorRef,
  ActorTimers,
  AnyActorRef,
  DeferredReply,
  Handlers,
  MailboxInit,
  Message,
  OverflowPolicy,
  RemotePolicy,
  SpawnOptions,
  StopCause,
  Terminated,
} from './types.js'

/** Default mailbox capacity. */
export const MAILBOX_CAPACITY = 10_000

/**
 * What a cell needs of the actor system's runtime: the node's environment, the shared counters
 * and dispatcher, the registry of live cells, and references. The runtime in system.ts implements
 * it behind the public ActorSystem, so cells neither import the system nor widen its public type.
 */
export interface CellRuntime {
  readonly nodeId: string
  readonly env: Environment
  readonly log: Logger
  readonly deadLetters: DeadLetters
  readonly dispatcher: Dispatcher
  /** Messages sitting in mailboxes. */
  queued: number
  /** Cells running an async handler or setup. */
  busyCells: number
  failureCount: number
  restartCount: number
  ref<T extends Message>(address: ActorAddress | string): ActorRef<T>
  makeRef(address: ActorAddress, cell: ActorCell): ActorRefImpl<Message>
  /** The live local cell behind a reference, if any. */
  localCell(ref: AnyActorRef): ActorCell | undefined
  /** Counts a message refused by `actor`'s remote policy. */
  refusedRemote(actor: string, type: string): void
  /** Throws SystemShutdownError once the system is stopping. */
  assertCanSpawn(): void
  register(cell: ActorCell): void
  unregister(cell: ActorCell): void
  /** Called whenever work may have finished, to complete a draining shutdown. */
  checkQuiescent(): void
  /** Starts watching an actor on another node; false when no transport can (the watcher hears `unreachable`). */
  watchRemote(watcher: ActorCell, target: ActorAddress, toMessage: (terminated: Terminated) => Message): boolean
  unwatchRemote(watcher: ActorCell, target: ActorAddress): void
  /** `cell` terminated: its watchers on other nodes hear of it, and its own remote watches end. */
  cellTerminated(cell: ActorCell, terminated: Terminated): void
}

const STARTING = 0
const RUNNING = 1
const RESTARTING = 2
const STOPPING = 3
const STOPPED = 4

type Handler = (message: unknown, ctx: unknown) => unknown
type StopHook = (cause: StopCause) => void | Promise<void>

const NO_REPLY: DeferredReply<never> = { resolve() {}, reject() {} }

/** The remote policies of a definition by message type, built once per definition. */
const policyMaps = new WeakMap<ActorDef<Message>, Map<string, RemotePolicy>>()

/** The policies of `def` by type; undefined (every type from anyone) for a user actor without a `remote` block. */
function remotePolicies(def: ActorDef<Message>, system: boolean): Map<string, RemotePolicy> | undefined {
  const declared = def.remote
  // The types require system actors to declare policies; an undeclared one (from plain JS) accepts nothing remote.
  if (declared === undefined) return system ? new Map() : undefined
  let map = policyMaps.get(def)
  if (map === undefined) {
    map = new Map()
    for (const [type, policy] of Object.entries(declared as Record<string, RemotePolicy>)) {
      if (policy !== 'any' && policy !== 'never' && typeof policy !== 'function')
        throw new InvalidArgumentError(`remote policy of ${JSON.stringify(type)} must be 'any', 'never' or a function`)
      map.set(type, policy)
    }
    policyMaps.set(def, map)
  }
  return map
}

export class ActorCell implements ActorContext<Message, unknown> {
  readonly address: ActorAddress
  readonly self: ActorRefImpl<Message>
  /**
   * The children, watchers, watched cells and timers are created on first use: most actors (every
   * entity activation) never have any, and four empty collections were a third of a cell's memory.
   */
  children: Map<string, ActorCell> | undefined = undefined
  scheduled = false
  busy = false
  private state = STARTING
  /** True once the actor has terminated for good. */
  get isStopped(): boolean {
    return this.state === STOPPED
  }
  private readonly mailbox: Mailbox
  private readonly overflow: OverflowPolicy
  private readonly supervision: Supervision
  private handlers: Map<string, Handler> | undefined = undefined
  private childSeq = 0
  private readonly failures: Error[] = []
  private currentReply: ReplyTarget | undefined = undefined
  private currentSender: string | undefined = undefined
  private readonly policies: Map<string, RemotePolicy> | undefined
  private deferred = false
  /** True while a handler or setup runs synchronously, so a stop it requests waits for it to return. */
  private inHandler = false
  private stopHooks: StopHook[] = []
  private timerHandles: Map<string, TimerHandle> | undefined = undefined
  private abortController: AbortController | undefined = undefined
  private restartTimes: number[] = []
  private restartCount = 0
  private restartTimer: TimerHandle | undefined = undefined
  private restartCleanup = false
  private stopError: Error | undefined = undefined
  private stopRequested = false
  private stopping: Promise<Terminated> | undefined = undefined
  private terminated: Terminated | undefined = undefined
  private waiters: Array<(t: Terminated) => void> = []
  private watchers: Map<ActorCell, (t: Terminated) => Message> | undefined = undefined
  private watching: Set<ActorCell> | undefined = undefined
  private logger: Logger | undefined = undefined
  private timerApi: ActorTimers<Message> | undefined = undefined
  /** The continuations of an async handler: made once, on the first one (most actors never run any). */
  private onAsyncResolved: ((value: unknown) => void) | undefined = undefined
  private onAsyncRejected: ((error: unknown) => void) | undefined = undefined

  constructor(
    readonly system: CellRuntime,
    readonly parent: ActorCell | undefined,
    readonly name: string,
    path: string,
    private readonly def: ActorDef<Message>,
    options: SpawnOptions,
  ) {
    this.address = { node: system.nodeId, path }
    const mailbox: MailboxInit = { ...def.mailbox, ...options.mailbox }
    const capacity = mailbox.capacity ?? MAILBOX_CAPACITY
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`mailbox capacity must be a positive integer, got ${capacity}`)
    this.mailbox = new Mailbox(capacity)
    this.overflow = mailbox.overflow ?? 'reject'
    this.supervision = resolveSupervision(def.supervision, options.supervision)
    this.policies = remotePolicies(def, parent === undefined && path.startsWith('/system/'))
    this.self = system.makeRef(this.address, this)
  }

  // ---- ActorContext -------------------------------------------------------------------------

  get env() {
    return this.system.env
  }

  get log(): Logger {
    this.logger ??= this.system.log.child({ actor: this.address.path })
    return this.logger
  }

  get signal(): AbortSignal {
    this.abortController ??= new AbortController()
    return this.abortController.signal
  }

  get restarts(): number {
    return this.restartCount
  }

  get sender(): string | undefined {
    return this.currentSender
  }

  get timers(): ActorTimers<Message> {
    this.timerApi ??= {
      once: (key, delayMs, message) => this.startTimer(key, delayMs, message, false),
      every: (key, intervalMs, message) => this.startTimer(key, intervalMs, message, true),
      cancel: (key) => this.cancelTimer(key),
      has: (key) => this.timerHandles?.has(key) === true,
    }
    return this.timerApi
  }

  ref<T extends Message>(address: ActorAddress | string): ActorRef<T> {
    return this.system.ref<T>(address)
  }

  spawn<C extends Message>(def: ActorDef<C>, options: SpawnOptions = {}): ActorRef<C> {
    this.system.assertCanSpawn()
    let name = options.name
    if (name === undefined) name = `$${(this.childSeq++).toString(36)}`
    else assertValidName(name)
    const path = `${this.address.path}/${name}`
    if (this.children?.has(name) === true) throw new ActorNameTakenError(formatAddress({ node: this.address.node, path }))
    const child = new ActorCell(this.system, this, name, path, def as unknown as ActorDef<Message>, options)
    ;(this.children ??= new Map()).set(name, child)
    this.system.register(child)
    child.start()
    return child.self as unknown as ActorRef<C>
  }

  stop(child?: AnyActorRef): void {
    // Stopping is asynchronous; callers watch it through Terminated, and requestStop never rejects.
    if (child === undefined) {
      void this.requestStop(undefined)
      return
    }
    const cell = this.system.localCell(child)
    if (cell !== undefined && cell.parent === this) void cell.requestStop(undefined)
    else this.log.warn('stop ignored: not a child of this actor', { target: child.toString() })
  }

  watch(ref: AnyActorRef, toMessage: (terminated: Terminated) => Message): void {
    if (ref.address.node !== this.address.node) {
      if (this.state !== STOPPED && !this.system.watchRemote(this, ref.address, toMessage)) this.deliverSignal(toMessage, { address: ref.address, reason: 'unreachable' })
      return
    }
    const target = this.system.localCell(ref)
    if (target === undefined || target.state === STOPPED) {
      const reason = ref.address.node === this.address.node ? 'not-found' : 'unreachable'
      this.deliverSignal(toMessage, { address: ref.address, reason })
      return
    }
    ;(target.watchers ??= new Map()).set(this, toMessage)
    ;(this.watching ??= new Set()).add(target)
  }

  unwatch(ref: AnyActorRef): void {
    if (ref.address.node !== this.address.node) {
      this.system.unwatchRemote(this, ref.address)
      return
    }
    const target = this.system.localCell(ref)
    if (target === undefined) return
    target.watchers?.delete(this)
    this.watching?.delete(target)
  }

  defer(): DeferredReply<unknown> {
    const target = this.currentReply
    if (target === undefined) return NO_REPLY
    this.deferred = true
    let done = false
    return {
      resolve: (value) => {
        if (done) return
        done = true
        target.resolve(value)
      },
      reject: (error) => {
        if (done) return
        done = true
        target.reject(error)
      },
    }
  }

  onStop(hook: StopHook): void {
    this.stopHooks.push(hook)
  }

  // ---- delivery --------------------------------------------------------------------------------

  /**
   * Queues a message that came from node `from`, if this actor's remote policy for its type admits
   * that node; otherwise drops it (dead letter `forbidden`, counted, and ForbiddenMessageError for an ask).
   */
  enqueueRemote(message: unknown, reply: ReplyTarget | undefined, from: string): void {
    if (this.policies === undefined || this.admits(this.policies, message, from)) {
      this.enqueue(message, reply, from)
      return
    }
    const type = (message as { type?: unknown } | null | undefined)?.type
    const known = typeof type === 'string' && this.policies.has(type)
    const address = formatAddress(this.address)
    this.system.refusedRemote(this.address.path, known ? (type as string) : '(undeclared)')
    this.log.debug('refused a message from another node', { from, type: typeof type === 'string' ? type.slice(0, 128) : typeof type })
    this.system.deadLetters.publish(address, message, 'forbidden')
    reply?.reject(new ForbiddenMessageError(address, typeof type === 'string' ? type : typeof message, from))
  }

  private admits(policies: Map<string, RemotePolicy>, message: unknown, from: string): boolean {
    const type = (message as { type?: unknown } | null | undefined)?.type
    const policy = typeof type === 'string' ? policies.get(type) : undefined
    if (policy === 'any') return true
    if (policy === undefined || policy === 'never') return false
    try {
      return policy(from, message) === true
    } catch (error) {
      this.log.warn('remote policy check threw; message refused', { error, type })
      return false
    }
  }

  /** Queues a message; refuses it (dead letter, and an error for an ask) when stopping or full. */
  enqueue(message: unknown, reply: ReplyTarget | undefined, sender?: string): void {
    if (this.state >= STOPPING) {
      this.refuse(message, reply, 'stopped')
      return
    }
    if (!this.mailbox.push(message, reply, sender)) {
      if (this.overflow === 'reject') {
        this.refuse(message, reply, 'mailbox-full')
        return
      }
      const oldest = this.mailbox.shift()
      const oldestReply = this.mailbox.shiftedReply
      this.system.queued--
      this.refuse(oldest, oldestReply, 'mailbox-full')
      this.mailbox.push(message, reply, sender)
    }
    this.system.queued++
    if (!this.scheduled && !this.busy && this.state === RUNNING) this.system.dispatcher.schedule(this)
  }

  /** True when the cell can process something now. */
  hasWork(): boolean {
    return this.state === RUNNING && !this.busy && (this.mailbox.size > 0 || this.failures.length > 0)
  }

  /** Processes up to `max` messages; called by the dispatcher. */
  run(max: number): number {
    let n = 0
    while (n < max && this.state === RUNNING && !this.busy) {
      if (this.failures.length > 0) {
        n++
        this.fail(this.failures.shift()!, undefined)
        continue
      }
      if (this.mailbox.size === 0) break
      const message = this.mailbox.shift()
      const reply = this.mailbox.shiftedReply
      const sender = this.mailbox.shiftedSender
      this.system.queued--
      n++
      this.invoke(message, reply, sender)
    }
    return n
  }

  private invoke(message: unknown, reply: ReplyTarget | undefined, sender: string | undefined): void {
    const type = (message as { type?: unknown } | null | undefined)?.type
    const handler = typeof type === 'string' ? this.handlers!.get(type) : undefined
    if (handler === undefined) {
      this.system.deadLetters.publish(formatAddress(this.address), message, 'unhandled')
      reply?.reject(new UnhandledMessageError(formatAddress(this.address), typeof type === 'string' ? type : typeof message))
      return
    }
    this.currentReply = reply
    this.currentSender = sender
    this.deferred = false
    let result: unknown
    this.inHandler = true
    try {
      result = handler(message, this)
    } catch (error) {
      this.inHandler = false
      this.currentReply = undefined
      this.currentSender = undefined
      this.fail(toError(error), reply)
      return
    }
    this.inHandler = false
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      this.busy = true
      this.system.busyCells++
      this.onAsyncResolved ??= (value: unknown): void => this.asyncDone(value)
      this.onAsyncRejected ??= (error: unknown): void => this.asyncFailed(error)
      ;(result as Promise<unknown>).then(this.onAsyncResolved, this.onAsyncRejected)
      return
    }
    this.complete(result)
  }

  private complete(result: unknown): void {
    const reply = this.currentReply
    this.currentReply = undefined
    this.currentSender = undefined
    if (reply !== undefined && !this.deferred) reply.resolve(result)
    if (this.stopRequested && this.state === RUNNING) void this.performStop()
  }

  private asyncDone(value: unknown): void {
    this.busy = false
    this.system.busyCells--
    this.complete(value)
    this.afterAsync()
  }

  private asyncFailed(error: unknown): void {
    this.busy = false
    this.system.busyCells--
    const reply = this.currentReply
    this.currentReply = undefined
    this.currentSender = undefined
    this.fail(toError(error), reply)
    this.afterAsync()
  }

  private afterAsync(): void {
    if (this.stopRequested && this.state === RUNNING) void this.performStop()
    else if (this.hasWork()) this.system.dispatcher.schedule(this)
    this.system.checkQuiescent()
  }

  private refuse(message: unknown, reply: ReplyTarget | undefined, reason: 'stopped' | 'mailbox-full'): void {
    const address = formatAddress(this.address)
    this.system.deadLetters.publish(address, message, reason)
    if (reply === undefined) return
    reply.reject(reason === 'stopped' ? new ActorStoppedError(address) : new MailboxFullError(address, this.mailbox.capacity))
  }

  /** @internal Delivers a watch's Terminated as the watcher's own message. */
  deliverSignal(toMessage: (t: Terminated) => Message, terminated: Terminated): void {
    let message: Message
    try {
      message = toMessage(terminated)
    } catch (error) {
      this.log.error('watch mapper threw', { error })
      return
    }
    this.enqueue(message, undefined)
  }

  // ---- timers ----------------------------------------------------------------------------------

  private startTimer(key: string, delayMs: number, message: Message, periodic: boolean): void {
    this.cancelTimer(key)
    if (this.state >= STOPPING) return
    const fire = (): void => {
      if (periodic) this.timerHandles!.set(key, this.system.env.timers.schedule(delayMs, fire))
      else this.timerHandles!.delete(key)
      this.enqueue(message, undefined)
    }
    ;(this.timerHandles ??= new Map()).set(key, this.system.env.timers.schedule(delayMs, fire))
  }

  private cancelTimer(key: string): void {
    const handle = this.timerHandles?.get(key)
    if (handle === undefined) return
    this.system.env.timers.cancel(handle)
    this.timerHandles!.delete(key)
  }

  private cancelAllTimers(): void {
    if (this.timerHandles === undefined) return
    for (const handle of this.timerHandles.values()) this.system.env.timers.cancel(handle)
    this.timerHandles.clear()
  }

  // ---- life cycle ------------------------------------------------------------------------------

  /** Runs `setup` for a new incarnation. */
  start(): void {
    this.state = STARTING
    this.handlers = undefined
    this.stopHooks = []
    let result: Handlers<Message> | Promise<Handlers<Message>>
    this.inHandler = true
    try {
      result = this.def.setup(this)
    } catch (error) {
      this.inHandler = false
      this.fail(toError(error), undefined)
      return
    }
    this.inHandler = false
    if (result !== null && typeof (result as { then?: unknown }).then === 'function') {
      this.busy = true
      this.system.busyCells++
      ;(result as Promise<Handlers<Message>>).then(
        (handlers) => {
          this.busy = false
          this.system.busyCells--
          this.install(handlers)
          this.system.checkQuiescent()
        },
        (error: unknown) => {
          this.busy = false
          this.system.busyCells--
          this.fail(toError(error), undefined)
          this.system.checkQuiescent()
        },
      )
      return
    }
    this.install(result as Handlers<Message>)
  }

  private install(handlers: Handlers<Message>): void {
    const map = new Map<string, Handler>()
    for (const [type, fn] of Object.entries(handlers)) {
      if (typeof fn === 'function') map.set(type, fn as Handler)
    }
    this.handlers = map
    if (this.state !== STARTING) return
    this.state = RUNNING
    if (this.stopRequested) void this.performStop()
    else if (this.hasWork()) this.system.dispatcher.schedule(this)
  }

  /** A child escalated its failure: this actor fails in turn, after the message in progress. */
  escalate(error: Error): void {
    if (this.state >= STOPPING) return
    this.failures.push(error)
    if (this.hasWork() && !this.scheduled) this.system.dispatcher.schedule(this)
  }

  private fail(error: Error, reply: ReplyTarget | undefined): void {
    reply?.reject(error)
    this.system.failureCount++
    let decision = this.decide(error)
    if (decision === 'resume' && this.handlers === undefined) decision = 'restart'
    this.log.warn('actor failed', { error, decision })
    switch (decision) {
      case 'resume':
        return
      case 'restart':
        void this.restart(error)
        return
      case 'stop':
        void this.requestStop(error)
        return
      case 'escalate':
        void this.requestStop(error)
        if (this.parent !== undefined) this.parent.escalate(new ChildFailedError(formatAddress(this.address), error))
        else this.log.error('failure escalated past a top-level actor; the actor stopped', { error })
    }
  }

  private decide(error: Error): 'restart' | 'resume' | 'stop' | 'escalate' {
    try {
      return this.supervision.decide(error)
    } catch (decideError) {
      this.log.error('supervisor decide() threw; stopping the actor', { error: decideError })
      return 'stop'
    }
  }

  private async restart(error: Error): Promise<void> {
    if (this.state >= RESTARTING) return
    const now = this.system.env.clock.monotonicMs()
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.supervision.windowMs)
    if (this.restartTimes.length >= this.supervision.maxRestarts) {
      this.log.error('restart limit reached; stopping the actor', { error, maxRestarts: this.supervision.maxRestarts, windowMs: this.supervision.windowMs })
      await this.requestStop(error)
      return
    }
    this.restartTimes.push(now)
    this.state = RESTARTING
    this.restartCount++
    this.system.restartCount++
    this.restartCleanup = true
    await this.endIncarnation({ kind: 'restart', error })
    this.restartCleanup = false
    if (this.stopRequested) {
      await this.performStop()
      return
    }
    const delay = restartDelayMs(this.supervision, this.restartTimes.length, this.system.env.random)
    this.restartTimer = this.system.env.timers.schedule(delay, () => {
      this.restartTimer = undefined
      this.start()
    })
  }

  /** Stops this actor; resolves once it and all its children have stopped. */
  requestStop(error: Error | undefined): Promise<Terminated> {
    if (this.stopping !== undefined) return this.stopping
    this.stopRequested = true
    if (error !== undefined) this.stopError ??= error
    this.abortController?.abort(error ?? new ActorStoppedError(formatAddress(this.address)))
    this.stopping = new Promise<Terminated>((resolve) => this.waiters.push(resolve))
    if (this.state === RESTARTING && !this.restartCleanup) {
      if (this.restartTimer !== undefined) this.system.env.timers.cancel(this.restartTimer)
      this.restartTimer = undefined
      void this.performStop()
    } else if ((this.state === RUNNING || this.state === STARTING) && !this.busy && !this.inHandler) {
      void this.performStop()
    }
    return this.stopping
  }

  /** Resolves when this actor has terminated. */
  whenTerminated(): Promise<Terminated> {
    if (this.terminated !== undefined) return Promise.resolve(this.terminated)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** True once the actor is stopping or stopped: it accepts nothing more. */
  get closed(): boolean {
    return this.state >= STOPPING
  }

  private async performStop(): Promise<void> {
    if (this.state >= STOPPING) return
    this.state = STOPPING
    await this.endIncarnation({ kind: 'stop' })
    this.finishStop()
  }

  /** Ends the current incarnation: aborts its signal, cancels timers, stops children, runs stop hooks. */
  private async endIncarnation(cause: StopCause): Promise<void> {
    // The stop error (and its stack) only for a signal someone took: an entity passivated by the
    // thousand built one each for nothing.
    this.abortController?.abort(cause.kind === 'restart' ? cause.error : new ActorStoppedError(formatAddress(this.address)))
    this.abortController = undefined
    this.cancelAllTimers()
    const children = this.children === undefined ? [] : [...this.children.values()]
    if (children.length > 0) await Promise.all(children.map((child) => child.requestStop(undefined)))
    const hooks = this.stopHooks
    this.stopHooks = []
    for (let i = hooks.length - 1; i >= 0; i--) {
      try {
        await hooks[i]!(cause)
      } catch (error) {
        this.log.error('stop hook threw', { error })
      }
    }
  }

  /** Marks the cell stopped and settles everything still attached to it. */
  finishStop(): void {
    if (this.state === STOPPED) return
    this.state = STOPPED
    this.cancelAllTimers()
    if (this.restartTimer !== undefined) this.system.env.timers.cancel(this.restartTimer)
    this.system.unregister(this)
    if (this.parent?.children?.get(this.name) === this) this.parent.children.delete(this.name)
    if (this.watching !== undefined) for (const target of this.watching) target.watchers?.delete(this)
    this.watching = undefined
    const address = formatAddress(this.address)
    while (this.mailbox.size > 0) {
      const message = this.mailbox.shift()
      const reply = this.mailbox.shiftedReply
      this.system.queued--
      this.system.deadLetters.publish(address, message, 'stopped')
      reply?.reject(new ActorStoppedError(address))
    }
    if (this.currentReply !== undefined) {
      this.currentReply.reject(new ActorStoppedError(address))
      this.currentReply = undefined
    }
    this.failures.length = 0
    const terminated: Terminated = this.stopError === undefined ? { address: this.address, reason: 'stopped' } : { address: this.address, reason: 'failed', error: this.stopError }
    this.terminated = terminated
    const watchers = this.watchers
    this.watchers = undefined
    if (watchers !== undefined)
      for (const [watcher, toMessage] of watchers) {
        watcher.watching?.delete(this)
        watcher.deliverSignal(toMessage, terminated)
      }
    this.system.cellTerminated(this, terminated)
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve(terminated)
    if (this.stopError !== undefined) this.log.debug('actor stopped after failure', { error: describe(this.stopError) })
    this.system.checkQuiescent()
  }

  /** Stops the cell at once, without hooks; used when a shutdown runs out of time. */
  forceStop(): void {
    if (this.busy) {
      this.busy = false
      this.system.busyCells--
    }
    if (this.children !== undefined) for (const child of this.children.values()) child.forceStop()
    this.finishStop()
  }
}
