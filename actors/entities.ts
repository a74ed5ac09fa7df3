/**
 * The entities actor: runs on every node at /system/entities and plays three parts of cluster
 * entities (src/entities/):
 * - router: every message sent on this node to an entity address comes here (through
 *   EntitiesHandle) and goes to its shard's owner via EntityRouter, which keeps per-sender order
 *   across handoffs;
 * - owner: it renews its shard leases with the leader, accepts messages only under a held epoch
 *   (OwnerCore), activates entities as child actors on first message, passivates idle ones, hands
 *   shards off when the leader asks, and stops a shard's activations before its lease ends;
 * - coordinator: while this node leads, it keeps the shard table (CoordinatorCore), answers
 *   locates and renewals, and rebalances gradually.
 *
 * A thin driver: it sends, spawns and applies what sans-I/O modules of src/entities/ decide.
 * - router.ts, owner-core.ts, coordinator-core.ts: routes, leases and the shard table;
 * - wire.ts: the batches and watch messages between nodes, and their remote checks;
 * - outbound.ts: a batch's items, what its reply means, outcomes of one owner applied in send order;
 * - inbound-batches.ts: when a received batch is answered, and which answers follow alone ('late');
 * - activations.ts, renewals.ts: the activations and the shards handed off, when leases are renewed;
 * - watcher-watches.ts, owner-watches.ts: watches of entity refs, on the watcher's and the owner's node.
 *
 * Messages to another peer's entities travel in batches (wire.ts). Values are handed to their
 * askers as soon as they arrive; bounces, failures and marker answers of one owner are handed to
 * the router in the order they were sent (OrderedOutcomes), which the router's ordering argument
 * needs (see router.ts). Callbacks of asks hand their results back to this actor as messages,
 * never touching its state from outside.
 */
import {
  Activations,
  AskTimeoutError,
  BatchItem,
  carriedEntity,
  coordinatorFor,
  DEFAULT_ENTITY_OPTIONS,
  defineActor,
  DELIVER_VERSION,
  ENTITY_NODE,
  EntityRouter,
  EntityUnavailableError,
  fromWireError,
  idleScanEveryMs,
  InboundBatches,
  isInt,
  LeastLoadedPlacement,
  MailboxFullError,
  NodeUnreachableError,
  NotPersistentError,
  OrderedOutcomes,
  outboundBatch,
  OwnerCore,
  OwnerWatches,
  parseEntityAddress,
  PASSIVATE_AFTER_MS,
  relay,
  Renewals,
  routesOf,
  settleDelivery,
  shardOf,
  toError,
  toWireError,
  UnknownEntityTypeError,
  validDeliver,
  validDeliverReply,
  validEnded,
  validGrants,
  validLate,
  validShard,
  validWatchIds,
  WATCH_IDS_MAX,
  WatcherWatches,
} from '../src/internal.js'
import type {
  Activation,
  ActorAddress,
  ActorContext,
  ActorRef,
  AnyEntityDef,
  Ask,
  ClusterHandle,
  CoordinatorCore,
  DeferredReply,
  DeliverItem,
  DeliverReply,
  Delivery,
  EndReason,
  EntityContext,
  EntityDef,
  EntityInfo,
  EntityOptions,
  EntityState,
  EntityStateStore,
  Forward,
  Handlers,
  Inbound,
  ItemResult,
  LocateReply,
  Message,
  MessageOfType,
  Network,
  NodeId,
  PeerLoad,
  Placement,
  RemoteDelivery,
  RenewReply,
  ReplyTarget,
  ShardGrant,
  TerminationReason,
  WatchControl,
  WatchRecord,
  WireError,
} from '../src/internal.js'
import { Packr } from 'msgpackr'

/** Where every node runs its entities actor. */
export const ENTITIES_PATH = '/system/entities'

/** How long a forwarded tell, a marker, a locate or a renewal waits for its answer. */
const CONTROL_TIMEOUT_MS = 5000
/** Delay before asking the leader again for a shard it could not place yet. */
const LOCATE_RETRY_MS = 100
/** Time between ticks. */
const TICK_MS = 50
/** Messages routed on a node and not yet taken by its entities actor; past this, new ones are refused. */
const ROUTES_MAX = 100_000
/**
 * The entities actor's mailbox: room for every routed message plus remote deliveries, so that its
 * messages to itself (bounced, located, drained, renewed...) are never refused. Refusing one lost
 * the delivery it carried (its ask waited for its timeout) or left a shard locating or draining for
 * good, so every later message to the shard waited.
 */
const MAILBOX_CAPACITY = 1_000_000
const PASSIVATE = '$dx.passivate'
/** The timer that flushes the router's outboxes at the end of an I/O turn. */
const FLUSH_TIMER = 'flush'
/** How long an owner waits for a batch's slow asks before it replies without them (they follow as 'late'). */
const LINGER_MS = 20
type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false }

export type EntitiesMsg =
  | { type: 'tick' }
  | { type: 'route' }
  | { type: 'flush' }
  | Ask<{ type: 'deliver'; v: number; items: DeliverItem[]; timeoutMs: number }, DeliverReply>
  | { type: 'late'; v: number; id: number; r: ItemResult }
  | Ask<{ type: 'marker'; shard: number; epoch: number }, true>
  | Ask<{ type: 'locate'; shard: number }, Answer<LocateReply>>
  | Ask<{ type: 'renew'; held: ShardGrant[] }, Answer<RenewReply>>
  | { type: 'released'; shard: number; epoch: number }
  | { type: 'hint' }
  | { type: 'bounced'; from: NodeId; shard: number; epoch: number; delivery: Delivery }
  | { type: 'failed'; owner: NodeId; shard: number; epoch: number }
  | { type: 'drained'; shard: number; token: number }
  | { type: 'located'; shard: number; reply: LocateReply | undefined }
  | { type: 'renewed'; reply: RenewReply; sentAtMs: number; generation: number }
  | { type: 'terminated'; activation: Activation; reason: TerminationReason; error: Error | undefined }
  | { type: 'peer'; node: NodeId; up: boolean }
  | { type: 'watched'; id: number; owner: NodeId | undefined; error: Error | undefined }
  | { type: 'ended'; v: number; ids: number[]; reason: EndReason; error: WireError | null }
  | { type: 'forget'; v: number; ids: number[] }
  | Ask<{ type: 'watching'; v: number; ids: number[] }, number[]>
  | { type: 'lost'; owner: NodeId; ids: number[] }
  | Ask<{ type: 'list' }, EntityInfo[]>

/** What this node's actors hand the entities actor, in order: a message to route, or a watch of an entity ref. */
export type Routed = RoutedDelivery | { readonly control: Exclude<WatchControl, { kind: 'terminated' }> }
/** A message to route: the delivery itself, with its shard (no wrapper object per message). */
type RoutedDelivery = Delivery & { readonly shard: number }

/** Parsed entity addresses a handle remembers (type and key); past this it starts over. */
const PARSED_MAX = 65_536

/**
 * A node's synchronous access to its entities actor: the actor system routes entity addresses here.
 * Messages wait in one queue that the actor drains whole on one 'route' message (sent when the
 * queue stops being empty), so a burst of sends costs the actor one mailbox message, not one each,
 * and watches keep their place among the messages.
 */
export class EntitiesHandle implements RemoteDelivery {
  private wake: (() => void) | undefined = undefined
  private queue: Routed[] = []
  private readonly parsedPaths = new Map<string, { readonly type: string; readonly key: string }>()
  private watchEnd: ((target: string, watcher: string, reason: TerminationReason, error: Error | undefined) => void) | undefined = undefined
  private listing: () => EntityInfo[] = () => []
  private clock: { monotonicMs(): number } | undefined = undefined

  constructor(
    readonly shards: number,
    /** Past this many messages not yet taken by the actor, new ones are refused (an ask gets MailboxFullError). */
    private readonly routesMax: number = ROUTES_MAX,
  ) {}

  send(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void {
    const entity = carriedEntity(to) ?? this.parsed(to)
    if (entity instanceof Error) {
      reply?.reject(entity)
      return
    }
    if (this.wake === undefined || this.clock === undefined) {
      reply?.reject(new EntityUnavailableError('entities are not running on this node'))
      return
    }
    if (this.queue.length >= this.routesMax) {
      reply?.reject(new MailboxFullError(ENTITIES_PATH, this.routesMax))
      return
    }
    // A local ask's own deadline when it has one (no second clock read per message).
    const deadlineMs =
      (reply as { deadlineMs?: number } | undefined)?.deadlineMs ?? this.clock.monotonicMs() + ((reply as { timeoutMs?: number } | undefined)?.timeoutMs ?? CONTROL_TIMEOUT_MS)
    this.push({
      shard: shardOf(entity.type, entity.key, this.shards),
      entityType: entity.type,
      key: entity.key,
      body: message,
      reply,
      deadlineMs,
    })
  }

  /** The type and key of an address that carries none (one parsed from text, say), remembered by path. */
  private parsed(to: ActorAddress): { readonly type: string; readonly key: string } | Error {
    let entity = to.node === ENTITY_NODE ? this.parsedPaths.get(to.path) : undefined
    if (entity !== undefined) return entity
    try {
      entity = parseEntityAddress(to)
    } catch (error) {
      return toError(error)
    }
    if (this.parsedPaths.size >= PARSED_MAX) this.parsedPaths.clear()
    this.parsedPaths.set(to.path, entity)
    return entity
  }

  /** Watches of entity refs by this node's actors go to the entities actor; false while it is not running. */
  control(_node: string, message: WatchControl): boolean {
    if (message.kind === 'terminated' || this.wake === undefined) return false
    this.push({ control: message })
    return true
  }

  private push(entry: Routed): void {
    this.queue.push(entry)
    if (this.queue.length === 1) this.wake!()
  }

  /** @internal Everything handed over since the last call, in order: the entities actor takes it all. */
  take(): Routed[] {
    const taken = this.queue
    this.queue = []
    return taken
  }

  /** @internal Where the watches of entity refs end: the actor system's watch table (the assembly binds it). */
  bindWatchEnd(end: (target: string, watcher: string, reason: TerminationReason, error: Error | undefined) => void): void {
    this.watchEnd = end
  }

  /** @internal The watch of entity `target` by the local actor at `watcher` ended. */
  watchEnded(target: string, watcher: string, reason: TerminationReason, error: Error | undefined): void {
    this.watchEnd?.(target, watcher, reason, error)
  }

  /** The activations living on this node. */
  list(): EntityInfo[] {
    return this.listing()
  }

  /** @internal */
  attach(wake: () => void, listing: () => EntityInfo[], clock: { monotonicMs(): number }): void {
    this.wake = wake
    this.listing = listing
    this.clock = clock
    // A restarted actor takes over what its predecessor had not taken.
    if (this.queue.length > 0) wake()
  }
}

/** Options of the entities actor. */
export interface EntitiesActorInit {
  network: Network
  cluster: ClusterHandle
  handle: EntitiesHandle
  defs: readonly AnyEntityDef[]
  /** Where persistent types keep their state; without one, persistent types fail to activate. */
  store?: EntityStateStore | undefined
  placement?: Placement
  options?: Partial<EntityOptions>
}

/** What every incarnation of the entities actor shares. */
interface Shared {
  readonly options: EntityOptions
  readonly defs: ReadonlyMap<string, AnyEntityDef>
  readonly placement: Placement
  readonly packr: Packr
  /**
   * The shard table while this node leads. Kept out of the incarnation so that it outlives a
   * restart of the actor: a table rebuilt in the same epoch would grant shard epochs again from the start.
   */
  readonly leadership: { coordinator: CoordinatorCore | undefined }
}

export function entitiesActor(init: EntitiesActorInit) {
  const shared: Shared = {
    options: { ...DEFAULT_ENTITY_OPTIONS, ...init.options },
    defs: new Map(init.defs.map((d) => [d.type, d])),
    placement: init.placement ?? new LeastLoadedPlacement(),
    packr: new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false }),
    leadership: { coordinator: undefined },
  }
  return defineActor<EntitiesMsg>({
    mailbox: { capacity: MAILBOX_CAPACITY },
    remote: {
      tick: 'never',
      route: 'never',
      flush: 'never',
      deliver: validDeliver,
      late: validLate,
      marker: (_f, m) => validShard(m, true),
      locate: (_f, m) => validShard(m, false),
      renew: (_f, m) => validGrants((m as { held?: unknown }).held),
      released: (_f, m) => validShard(m, true),
      hint: 'any',
      bounced: 'never',
      failed: 'never',
      drained: 'never',
      located: 'never',
      renewed: 'never',
      terminated: 'never',
      peer: 'never',
      list: 'any',
      watched: 'never',
      ended: validEnded,
      forget: validWatchIds,
      watching: validWatchIds,
      lost: 'never',
    },
    setup: (ctx) => new EntitiesDriver(ctx, init, shared).handlers(),
  })
}

type Ctx = ActorContext<EntitiesMsg>
type Msg<T extends EntitiesMsg['type']> = MessageOfType<EntitiesMsg, T>
/** Messages that do not start the tick: a node that only answers them carries no timer. */
const QUIET: ReadonlySet<string> = new Set(['tick', 'peer', 'list', 'forget', 'watching', 'lost'])

/** One incarnation of the entities actor: carries out what the cores of src/entities/ decide. */
class EntitiesDriver {
  private readonly self: NodeId
  private readonly owner: OwnerCore<Inbound>
  private readonly activations = new Activations()
  private readonly renewals: Renewals
  private readonly regions = new Map<NodeId, ActorRef<EntitiesMsg>>()
  private readonly outcomes: OrderedOutcomes
  /** 'deliver' batches sent and not yet answered (or failed); decides when the outboxes flush. */
  private batchesInFlight = 0
  /** Asks a batch reply marked "later": their answers come in 'late' messages from that owner. */
  private readonly late = new Map<number, { from: NodeId; delivery: Delivery }>()
  /** Ids of asks and watches this node sends (a 'late' or 'ended' message names either). */
  private nextAskId = 1
  private readonly router: EntityRouter
  private readonly batches: InboundBatches
  private readonly watches: WatcherWatches
  private readonly watchedHere = new OwnerWatches<Activation>()
  private ticking = false
  /** Every this often a tick looks for idle activations (idleScanEveryMs), next at `nextIdleScanMs`. */
  private readonly idleScanMs: number
  private nextIdleScanMs = 0

  constructor(
    private readonly ctx: Ctx,
    private readonly init: EntitiesActorInit,
    private readonly shared: Shared,
  ) {
    this.self = init.network.self
    this.owner = new OwnerCore<Inbound>(shared.options)
    this.renewals = new Renewals(shared.options.renewEveryMs)
    this.idleScanMs = idleScanEveryMs(
      [...shared.defs.values()].map((d) => d.spec.passivateAfterMs ?? PASSIVATE_AFTER_MS),
      TICK_MS,
    )
    this.outcomes = new OrderedOutcomes((error: unknown) => ctx.log.error('entities: an outcome failed to apply', { error }))
    this.router = new EntityRouter(this.self, {
      local: (shard, epoch, delivery) => this.offer(shard, epoch, new LocalInbound(this.router, shard, epoch, delivery)) !== 'bounce',
      forward: (to, batch) => this.forward(to, batch),
      // Like Nagle's algorithm, for one turn: with no batch in flight the messages leave once those
      // already queued are routed (a lone ask waits for nothing); with batches in flight, at the
      // end of the I/O turn, so every ask that the replies read in one turn set off leaves in one
      // batch per owner (5x fewer frames per ask under load).
      wake: () => {
        if (this.batchesInFlight === 0) ctx.self.tell({ type: 'flush' })
        else if (!ctx.timers.has(FLUSH_TIMER)) ctx.timers.once(FLUSH_TIMER, 0, { type: 'flush' })
      },
      marker: (to, shard, epoch, token) => {
        const done = (): void => ctx.self.tell({ type: 'drained', shard, token })
        const answer = this.regionOf(to).ask({ type: 'marker', shard, epoch }, { timeoutMs: CONTROL_TIMEOUT_MS })
        this.outcomes.add(
          to,
          answer.then(
            () => done,
            () => done,
          ),
        )
      },
      locate: (shard) => this.locate(shard),
    })
    this.batches = new InboundBatches((to, id, r) => this.regionOf(to).tell({ type: 'late', v: DELIVER_VERSION, id, r }), LINGER_MS, ENTITIES_PATH)
    this.watches = new WatcherWatches(
      this.self,
      { ended: (path, watcher, reason, error) => init.handle.watchEnded(path, watcher, reason, error), forget: (owner, ids) => this.tellForget(owner, ids) },
      CONTROL_TIMEOUT_MS,
    )
    init.handle.attach(
      () => ctx.self.tell({ type: 'route' }),
      () => this.listing(),
      ctx.env.clock,
    )
    const unsubscribe = init.network.onPeerChange((node, up) => ctx.self.tell({ type: 'peer', node, up }))
    ctx.onStop(() => unsubscribe())
    if (shared.defs.size > 0) this.startTicking()
    // A node that stops (shutdown, leaving) takes its activations with it: their remote watchers hear passivated.
    ctx.onStop(() => {
      for (const a of this.activations.values()) if (a.watchers !== undefined && a.watchers.size > 0) this.endWatches(a, a.endReason ?? 'passivated', undefined)
    })
  }

  handlers(): Handlers<EntitiesMsg> {
    const handlers: Handlers<EntitiesMsg> = {
      tick: () => this.tick(),
      route: () => this.route(),
      flush: () => this.router.flush(),
      deliver: (msg, c) => this.deliver(msg, c.sender ?? this.self, c.defer()),
      late: (msg, c) => {
        const entry = this.late.get(msg.id)
        if (entry === undefined || entry.from !== c.sender) return
        this.late.delete(msg.id)
        settleDelivery(entry.delivery, msg.r)
      },
      marker: (msg, c) => {
        const reply = c.defer()
        const done = (): void => reply.resolve(true)
        if (this.offer(msg.shard, msg.epoch, { delivery: undefined, bounce: done, done }) === 'bounce') done()
        return reply
      },
      locate: (msg) => this.answerLocate(msg.shard),
      renew: (msg, c) => {
        const co = this.lead()
        if (co === undefined) return { ok: false }
        return { ok: true, value: co.renew(c.sender ?? this.self, msg.held, this.now()) }
      },
      released: (msg, c) => {
        this.lead()?.released(c.sender ?? this.self, msg.shard, msg.epoch)
      },
      hint: () => this.renewals.soon(),
      bounced: (msg) => this.router.bounced(msg.from, msg.shard, msg.epoch, msg.delivery),
      failed: (msg) => this.router.failed(msg.owner, msg.shard, msg.epoch),
      drained: (msg) => this.router.drained(msg.shard, msg.token),
      located: (msg) => this.router.located(msg.shard, msg.reply !== undefined && 'owner' in msg.reply ? msg.reply : undefined, this.now() + LOCATE_RETRY_MS),
      renewed: (msg) => this.renewed(msg),
      terminated: (msg) => this.terminated(msg.activation, msg.reason, msg.error),
      peer: (msg) => {
        if (msg.up) return
        this.router.peerDown(msg.node)
        this.watchedHere.dropNode(msg.node)
        this.watches.ownerGone(msg.node)
      },
      watched: (msg) => this.watches.answered(msg.id, msg.owner, msg.error, (node) => this.init.network.peers().includes(node)),
      ended: (msg, c) => this.watches.endedBy(c.sender ?? this.self, msg.ids, msg.reason, msg.error === null ? undefined : fromWireError(msg.error)),
      forget: (msg, c) => this.watchedHere.forget(c.sender ?? this.self, msg.ids),
      watching: (msg, c) => {
        const from = c.sender ?? this.self
        return msg.ids.filter((id) => !this.watchedHere.holds(from, id))
      },
      lost: (msg) => this.watches.lost(msg.owner, msg.ids),
      list: () => this.listing(),
    }
    const wrapped: Record<string, unknown> = {}
    for (const [type, handler] of Object.entries(handlers) as Array<[string, (m: never, c: never) => unknown]>)
      wrapped[type] = QUIET.has(type) ? handler : (m: never, c: never) => (this.startTicking(), handler(m, c))
    return wrapped as Handlers<EntitiesMsg>
  }

  private now(): number {
    return this.ctx.env.clock.monotonicMs()
  }

  private regionOf(node: NodeId): ActorRef<EntitiesMsg> {
    let ref = this.regions.get(node)
    if (ref === undefined) this.regions.set(node, (ref = this.ctx.ref<EntitiesMsg>({ node, path: ENTITIES_PATH })))
    return ref
  }

  private listing(): EntityInfo[] {
    return [...this.activations.values()].map((a) => ({ type: a.type, key: a.key, shard: a.shard, epoch: a.epoch }))
  }

  // A node that registers no entity type ticks only once entities are used (it may still route
  // messages, or lead), so nodes that run only jobs carry no extra timer.
  private startTicking(): void {
    if (this.ticking) return
    this.ticking = true
    this.ctx.timers.every('tick', TICK_MS, { type: 'tick' })
  }

  private tick(): void {
    const t = this.now()
    this.router.tick(t)
    this.batches.expire(t)
    for (const [id, entry] of this.late) if (t > entry.delivery.deadlineMs || (entry.delivery.reply as { settled?: boolean } | undefined)?.settled === true) this.late.delete(id)
    this.watches.expire(t)
    this.checkOwners(t)
    const expired = this.owner.expire(t)
    this.dropShards(expired.dropped)
    for (const batch of expired.bounced) for (const item of batch.items) settleBounced(item)
    if (t >= this.nextIdleScanMs) {
      this.nextIdleScanMs = t + this.idleScanMs
      for (const a of this.activations.idle(t, (type) => this.shared.defs.get(type)?.spec.passivateAfterMs ?? PASSIVATE_AFTER_MS)) this.passivate(a, false)
    }
    const known = this.init.cluster.leader()
    if (known !== null && known !== undefined) this.owner.leaderSeen(known.epoch, t)
    this.renew(t)
    const c = this.lead()
    if (c !== undefined) for (const node of c.tick(t, this.candidates())) this.regionOf(node).tell({ type: 'hint' })
  }

  /** Takes everything this node's actors handed over: messages go to the router, watches start or stop. */
  private route(): void {
    for (const entry of this.init.handle.take()) {
      if ('control' in entry) {
        if (entry.control.kind === 'watch') this.startWatch(entry.control.target, entry.control.watcher)
        else this.watches.stop(entry.control.target, entry.control.watcher)
      } else if (!this.router.send(entry.shard, entry)) {
        entry.reply?.reject(new MailboxFullError(`entity ${entry.entityType}/${entry.key}`, 10_000))
      }
    }
  }

  // Sender side: batches to remote owners, and their outcomes applied in send order.

  private forward(to: NodeId, batch: readonly Forward[]): void {
    const out = outboundBatch(batch, this.now(), CONTROL_TIMEOUT_MS, () => this.nextAskId++)
    const answer = this.regionOf(to).ask({ type: 'deliver', v: DELIVER_VERSION, items: out.items, timeoutMs: Math.ceil(out.timeoutMs) }, { timeoutMs: out.timeoutMs })
    this.batchesInFlight++
    // Counted down before any asker hears its answer, so the asks an answer sets off see it landed.
    this.outcomes.add(
      to,
      answer.then(
        (reply) => {
          this.batchesInFlight--
          return this.batchAnswered(to, batch, out.ids, reply)
        },
        (error: unknown) => {
          this.batchesInFlight--
          return this.batchFailed(to, batch, error)
        },
      ),
    )
  }

  /** Values and errors go to their askers now; bounces are applied in order (the returned step). */
  private batchAnswered(to: NodeId, batch: readonly Forward[], ids: readonly number[], reply: unknown): () => void {
    if (!validDeliverReply(reply, batch.length)) {
      const error = new EntityUnavailableError(`a malformed answer to a batch from ${to}`)
      for (const f of batch) f.delivery.reply?.reject(error)
      return this.failAll(to, batch)
    }
    const bounced: Forward[] = []
    batch.forEach((f, i) => {
      const r = reply.r[i]!
      if (r[0] === 2) bounced.push(f)
      else if (r[0] === 3) {
        if (f.delivery.reply !== undefined) this.late.set(ids[i]!, { from: to, delivery: f.delivery })
      } else settleDelivery(f.delivery, r)
    })
    return this.bounceAll(to, bounced)
  }

  private batchFailed(to: NodeId, batch: readonly Forward[], error: unknown): () => void {
    // A batch that never left is as good as bounced: its messages go to the shard's next owner, in
    // order, within their own deadlines, instead of failing while the cluster moves the shard off a dead peer.
    if (error instanceof NodeUnreachableError && error.unsent) return this.bounceAll(to, batch)
    for (const f of batch) f.delivery.reply?.reject(toError(error))
    return error instanceof NodeUnreachableError || error instanceof AskTimeoutError ? this.failAll(to, batch) : () => {}
  }

  private bounceAll(to: NodeId, items: readonly Forward[]): () => void {
    return () => {
      for (const f of items) this.ctx.self.tell({ type: 'bounced', from: to, shard: f.shard, epoch: f.epoch, delivery: f.delivery })
    }
  }

  private failAll(to: NodeId, batch: readonly Forward[]): () => void {
    return () => {
      for (const { shard, epoch } of routesOf(batch)) this.ctx.self.tell({ type: 'failed', owner: to, shard, epoch })
    }
  }

  private locate(shard: number): void {
    const leader = this.init.cluster.leader()
    if (leader === null || leader === undefined) {
      this.ctx.self.tell({ type: 'located', shard, reply: undefined })
      return
    }
    this.regionOf(leader.nodeId)
      .ask({ type: 'locate', shard }, { timeoutMs: CONTROL_TIMEOUT_MS })
      .then(
        (answer) => this.ctx.self.tell({ type: 'located', shard, reply: answer.ok ? answer.value : undefined }),
        () => this.ctx.self.tell({ type: 'located', shard, reply: undefined }),
      )
  }

  // Owner side: batches received, verdicts of the owner core, activations.

  private deliver(msg: Msg<'deliver'>, from: NodeId, reply: DeferredReply<DeliverReply>): DeferredReply<DeliverReply> {
    const t = this.now()
    const batch = this.batches.open(
      from,
      msg.items.map((item) => item[6]),
      t,
      msg.timeoutMs,
      reply,
    )
    for (let i = 0; i < msg.items.length; i++) {
      const [shard, epoch, entityType, key, body, kind, id] = msg.items[i]!
      const item = new BatchItem(this.batches, batch, i, entityType, key, body, kind, from, id, t + CONTROL_TIMEOUT_MS)
      if (this.offer(shard, epoch, item, t) === 'bounce') item.bounce()
    }
    return reply
  }

  /**
   * Offers a message to the owner core, delivering it if accepted; the caller handles a bounce. A
   * batch passes the time it arrived (one clock read per batch, not two per message): the lease
   * is checked again against a fresh clock when the activation handles the message (entityActor).
   */
  private offer(shard: number, epoch: number, inbound: Inbound, nowMs = this.now()): 'accept' | 'hold' | 'bounce' {
    const { verdict, evicted } = this.owner.offer(shard, epoch, inbound, nowMs)
    if (evicted !== undefined) for (const item of evicted.items) settleBounced(item)
    if (verdict === 'accept') this.accept(shard, epoch, inbound, nowMs)
    return verdict
  }

  private accept(shard: number, epoch: number, inbound: Inbound, nowMs = this.now()): void {
    if (inbound.done !== undefined) {
      inbound.done()
      return
    }
    const delivery = inbound.delivery!
    inbound.accepted?.()
    let activation = this.activations.get(delivery.entityType, delivery.key)
    if (delivery.watch !== undefined) {
      this.addWatch(activation !== undefined && (activation.stopping || activation.epoch === epoch) ? activation : undefined, delivery)
      return
    }
    if (activation !== undefined && activation.stopping) {
      activation.waiting.push(inbound)
      return
    }
    if (activation === undefined || activation.epoch !== epoch) {
      const def = this.shared.defs.get(delivery.entityType)
      if (def === undefined) {
        delivery.reply?.reject(new UnknownEntityTypeError(delivery.entityType))
        return
      }
      activation = this.activate(def, delivery.key, shard, epoch)
    }
    activation.lastMs = nowMs
    this.hand(activation, delivery)
  }

  /** Hands `delivery` to its activation: a tell, or an ask relayed (or asked on its behalf). */
  private hand(activation: Activation, delivery: Delivery): void {
    if (delivery.reply === undefined) activation.ref.tell(delivery.body as Message)
    else if (!relay(activation.ref, delivery.body, delivery.reply)) {
      const reply = delivery.reply
      ;(activation.ref as ActorRef<Ask<Message, unknown>>).ask(delivery.body as Ask<Message, unknown>, { timeoutMs: Math.max(1, delivery.deadlineMs - this.now()) }).then(
        (value) => reply.resolve(value),
        (error: unknown) => reply.reject(toError(error)),
      )
    }
  }

  private activate(def: EntityDef, key: string, shard: number, epoch: number): Activation {
    const ref = this.ctx.spawn(
      entityActor(def, key, epoch, this.init.store, this.shared.packr, () => this.owner.serving(shard, epoch, this.now())),
      {
        ...(def.spec.mailbox === undefined ? {} : { mailbox: def.spec.mailbox }),
        ...(def.spec.supervision === undefined ? {} : { supervision: def.spec.supervision }),
      },
    )
    const activation: Activation = { ref, type: def.type, key, shard, epoch, lastMs: this.now(), stopping: false, endReason: undefined, waiting: [], watchers: undefined }
    this.activations.add(activation)
    this.ctx.watch(ref, (t) => ({ type: 'terminated', activation, reason: t.reason, error: t.error }))
    return activation
  }

  /** Stops an activation: gently (idle, handed off: its watchers hear passivated), or at once (lease lost: failed-over). */
  private passivate(activation: Activation, force: boolean): void {
    if (!this.activations.stop(activation, force ? 'failed-over' : 'passivated')) return
    if (force) this.ctx.stop(activation.ref)
    else activation.ref.tell({ type: PASSIVATE })
  }

  private terminated(activation: Activation, reason: TerminationReason, error: Error | undefined): void {
    // Its watchers hear of it even if a newer activation of the key took its place meanwhile.
    this.endWatches(activation, activation.endReason ?? (reason === 'failed' ? 'failed' : 'stopped'), reason === 'failed' ? error : undefined)
    if (!this.activations.remove(activation)) return
    for (const inbound of activation.waiting) if (this.offer(activation.shard, activation.epoch, inbound) === 'bounce') settleBounced(inbound)
    this.maybeReleased(activation.shard)
  }

  private maybeReleased(shard: number): void {
    if (!this.activations.releasable(shard)) return
    const epoch = this.owner.released(shard)
    const leader = this.init.cluster.leader()
    if (epoch !== undefined && leader !== null && leader !== undefined) this.regionOf(leader.nodeId).tell({ type: 'released', shard, epoch })
  }

  private dropShards(shards: readonly number[]): void {
    for (const a of this.activations.ofShards(new Set(shards))) this.passivate(a, true)
    this.activations.cancelRelease(shards)
  }

  /**
   * Renews this node's leases with the leader when Renewals says so. The callbacks touch only the
   * renewal's bookkeeping, so a lost self-message cannot leave renewals stuck.
   */
  private renew(t: number): void {
    const leader = this.init.cluster.leader()
    if (leader === null || leader === undefined) return
    const generation = this.renewals.due(t, leader)
    if (generation === undefined) return
    this.regionOf(leader.nodeId)
      .ask({ type: 'renew', held: this.owner.claims(t) }, { timeoutMs: this.shared.options.leaseMs / 2 })
      .then(
        (answer) => {
          if (!this.renewals.settle(generation)) return
          if (answer.ok) this.ctx.self.tell({ type: 'renewed', reply: answer.value, sentAtMs: t, generation })
          else this.renewals.soon()
        },
        () => {
          if (this.renewals.settle(generation)) this.renewals.soon()
        },
      )
  }

  private renewed(msg: Msg<'renewed'>): void {
    if (!this.renewals.apply(msg.generation)) return
    const outcome = this.owner.renewed(msg.reply, msg.sentAtMs, this.now())
    this.dropShards(outcome.dropped)
    for (const batch of outcome.bounced) for (const item of batch.items) settleBounced(item)
    for (const batch of outcome.accepted) for (const item of batch.items) this.accept(batch.shard, batch.epoch, item)
    const leader = this.init.cluster.leader()
    for (const g of outcome.refused) if (leader !== null && leader !== undefined) this.regionOf(leader.nodeId).tell({ type: 'released', shard: g.shard, epoch: g.epoch })
    for (const shard of outcome.release) {
      this.activations.release(shard)
      for (const a of this.activations.ofShards(new Set([shard]))) this.passivate(a, false)
      this.maybeReleased(shard)
    }
  }

  // Leader side: the coordinator while this node leads.

  private candidates(): PeerLoad[] {
    const view = this.init.cluster.view()
    if (view === undefined) return []
    return view.members
      .filter((m) => m.state === 'up')
      .map((m) => ({ node: m.nodeId, capacity: this.shared.options.shards, outstanding: 0, eventLoopLagMs: m.metrics?.eventLoopLagMs ?? 0, leader: m.nodeId === this.self }))
  }

  /** The coordinator while this node holds the leader lease; kept across a lapse of the same epoch (coordinatorFor). */
  private lead(): CoordinatorCore | undefined {
    const epoch = this.init.cluster.leaderEpoch()
    if (epoch === undefined) return undefined
    const { options, placement, leadership } = this.shared
    leadership.coordinator = coordinatorFor(leadership.coordinator, epoch, this.now(), options, placement)
    return leadership.coordinator
  }

  private answerLocate(shard: number): Answer<LocateReply> {
    const c = this.lead()
    if (c === undefined) return { ok: false }
    const before = c.allocation(shard)
    const value = c.locate(shard, this.now(), this.candidates())
    if (before === undefined && 'owner' in value && value.owner !== this.self) this.regionOf(value.owner).tell({ type: 'hint' })
    if (before === undefined && 'owner' in value && value.owner === this.self) this.renewals.soon()
    return { ok: true, value }
  }

  // Watches of entity refs: the watcher side (WatcherWatches) and the owner side (OwnerWatches).

  private startWatch(path: string, watcher: string): void {
    if (this.watches.has(path, watcher)) return
    let entity: { type: string; key: string }
    try {
      entity = parseEntityAddress({ node: ENTITY_NODE, path })
    } catch {
      this.init.handle.watchEnded(path, watcher, 'not-found', undefined)
      return
    }
    // From the asks' counter: a watch item carries its id where an ask carries its own ('late' answers name either).
    const id = this.nextAskId++
    const self = this.ctx.self
    const reply: WatchRecord['reply'] = {
      settled: false,
      resolve(value: unknown) {
        if (reply.settled) return
        reply.settled = true
        self.tell({ type: 'watched', id, owner: typeof value === 'string' && value.length > 0 ? value : undefined, error: undefined })
      },
      reject(error: Error) {
        if (reply.settled) return
        reply.settled = true
        self.tell({ type: 'watched', id, owner: undefined, error })
      },
    }
    const deadlineMs = this.now() + CONTROL_TIMEOUT_MS
    this.watches.start(id, path, watcher, deadlineMs, reply)
    const delivery: Delivery = { entityType: entity.type, key: entity.key, body: null, reply, deadlineMs, watch: { node: this.self, id } }
    if (!this.router.send(shardOf(entity.type, entity.key, this.init.handle.shards), delivery)) reply.reject(new MailboxFullError(`entity ${entity.type}/${entity.key}`, 10_000))
  }

  private tellForget(owner: NodeId, ids: number[]): void {
    if (owner === this.self) this.watchedHere.forget(this.self, ids)
    else this.regionOf(owner).tell({ type: 'forget', v: DELIVER_VERSION, ids })
  }

  /**
   * Ends the watches of owners the cluster's failure detector declared down (a peer may vanish
   * without closing its connection) and, when due, asks each other owner which of this node's
   * watches it no longer holds: those end with failed-over (their 'ended' was lost).
   */
  private checkOwners(t: number): void {
    if (!this.watches.anyOwner) return
    const view = this.init.cluster.view()
    if (view !== undefined) for (const m of view.members) if (m.state === 'down' && this.watches.holdsOwner(m.nodeId)) this.watches.ownerGone(m.nodeId)
    for (const [owner, ids] of this.watches.due(t) ?? [])
      this.regionOf(owner)
        .ask({ type: 'watching', v: DELIVER_VERSION, ids }, { timeoutMs: CONTROL_TIMEOUT_MS })
        .then(
          (gone) => {
            if (Array.isArray(gone) && gone.length > 0) this.ctx.self.tell({ type: 'lost', owner, ids: gone.filter(isInt) })
          },
          () => {},
        )
  }

  /** Owner side: a watch reached `activation` (undefined: the key has none here). */
  private addWatch(activation: Activation | undefined, delivery: Delivery): void {
    const { node, id } = delivery.watch!
    if (activation === undefined) delivery.reply?.resolve(null)
    else if (this.watchedHere.add(activation, node, id)) delivery.reply?.resolve(this.self)
    else delivery.reply?.reject(new EntityUnavailableError(`${node} holds too many entity watches here`))
  }

  /** `activation` ended: tells every node watching it why. */
  private endWatches(activation: Activation, reason: EndReason, error: Error | undefined): void {
    for (const [node, ids] of this.watchedHere.end(activation)) {
      if (node === this.self) this.watches.endedBy(this.self, ids, reason, error)
      else
        for (let i = 0; i < ids.length; i += WATCH_IDS_MAX)
          this.regionOf(node).tell({
            type: 'ended',
            v: DELIVER_VERSION,
            ids: ids.slice(i, i + WATCH_IDS_MAX),
            reason,
            error: error === undefined ? null : toWireError(error, 'ERR_REMOTE'),
          })
    }
  }
}

/** A message of this node to its own activation: bounced back to this node's router (a class: no closure per message). */
class LocalInbound implements Inbound {
  constructor(
    private readonly router: EntityRouter,
    private readonly shard: number,
    private readonly epoch: number,
    readonly delivery: Delivery,
  ) {}
  bounce(): void {
    this.router.bounced(this.router.self, this.shard, this.epoch, this.delivery)
  }
}

function settleBounced(item: Inbound): void {
  if (item.done !== undefined) item.done()
  else item.bounce()
}

type Handler = (message: Message, ctx: ActorContext<Message, unknown>) => unknown

/** The state store of one activation (`ctx.state`): loads and saves under its epoch, with a version per save. */
function entityState(def: EntityDef, key: string, epoch: number, store: EntityStateStore | undefined, packr: Packr, actx: ActorContext<Message>): EntityState<unknown> {
  let version = 0
  const name = `${def.type}/${key}`
  return {
    async load() {
      if (def.spec.persistent !== true) throw new NotPersistentError(def.type)
      if (store === undefined) throw new EntityUnavailableError(`no entity state store on this node for ${name}`)
      const stored = await store.load(def.type, key, epoch, { signal: actx.signal })
      if (stored === undefined) return undefined
      version = stored.version
      return packr.unpack(stored.value) as unknown
    },
    async save(value) {
      if (def.spec.persistent !== true) throw new NotPersistentError(def.type)
      if (store === undefined) throw new EntityUnavailableError(`no entity state store on this node for ${name}`)
      version++
      await store.save(def.type, key, { epoch, version, value: packr.pack(value) }, { signal: actx.signal })
    },
  }
}

/** The child actor of one activation: the user's handlers, its entity context, and passivation. */
function entityActor(def: EntityDef, key: string, epoch: number, store: EntityStateStore | undefined, packr: Packr, serving: () => boolean) {
  return defineActor<Message>({
    async setup(actx) {
      const name = `${def.type}/${key}`
      // `state` is made on first use: most activations never touch it, and every activation paid for its two functions.
      let state: EntityState<unknown> | undefined
      const extra: Record<string | symbol, unknown> = { entityType: def.type, key, epoch }
      const ectx = new Proxy(actx, {
        get(target, property) {
          if (property === 'state') return (state ??= entityState(def, key, epoch, store, packr, actx))
          if (property in extra) return extra[property]
          const value: unknown = Reflect.get(target, property, target)
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
        },
      }) as unknown as EntityContext<Message>
      const handlers = (await def.spec.setup(ectx)) as Record<string, Handler>
      // Once the shard's lease has ended no message is handled here: the next activation may be running.
      const guarded: Record<string, Handler> = {}
      for (const [type, handler] of Object.entries(handlers)) {
        guarded[type] = (message, c) => {
          if (serving()) return handler(message, c)
          c.defer().reject(new EntityUnavailableError(`${name} moved while this message waited; send it again`))
          return undefined
        }
      }
      guarded[PASSIVATE] = () => actx.stop()
      return guarded as unknown as Handlers<Message>
    },
  })
}
