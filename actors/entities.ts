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
 * Messages to another peer's entities travel in batches (one 'deliver' ask of version 2 carrying
 * up to DEFAULT_BATCH_LIMITS.maxItems messages, tells included), answered by one reply listing each
 * message's outcome in order: accepted (a tell), its value or error (an ask), bounced, or "later".
 * The owner replies once every message of the batch is accepted or bounced and either every ask
 * has answered or LINGER_MS passed (checked at its tick): an ask still running then is marked
 * "later" and its answer follows alone in a 'late' tell, so one slow entity delays the rest of its
 * batch by a tick at most, never by its own run time. Values are handed to their askers as soon as
 * they arrive; bounces,
 * failures and marker answers of one owner are handed to the router in the order they were sent
 * (`inOrder`), which the router's ordering argument needs (see router.ts). Callbacks of those asks
 * hand their results back to this actor as messages, never touching its state from outside.
 */
import { assert } from '../src/assert.js'
import { defineActor } from '../src/actor/define.js'
import type { ReplyTarget } from '../src/actor/reply.js'
import { relay } from '../src/actor/ref.js'
import type { RemoteDelivery } from '../src/actor/system.js'
import type { ActorAddress } from '../src/actor/address.js'
import type { WatchControl } from '../src/actor/remote-watch.js'
import type { ActorContext, ActorRef, Ask, Handlers, Message, TerminationReason } from '../src/actor/types.js'
import { ENTITY_NODE, parseEntityAddress, shardOf } from '../src/entities/address.js'
import { coordinatorFor, type CoordinatorCore, type LocateReply, type RenewReply, type ShardGrant } from '../src/entities/coordinator-core.js'
import { PASSIVATE_AFTER_MS } from '../src/entities/define.js'
import { EntityUnavailableError, NotPersistentError, UnknownEntityTypeError } from '../src/entities/errors.js'
import { DEFAULT_ENTITY_OPTIONS, type EntityOptions } from '../src/entities/options.js'
import { OwnerCore } from '../src/entities/owner-core.js'
import { DEFAULT_BATCH_LIMITS, EntityRouter, type Delivery, type Forward } from '../src/entities/router.js'
import type { AnyEntityDef, EntityContext, EntityDef, EntityInfo, EntityState, EntityStateStore } from '../src/entities/types.js'
import { MailboxFullError, NodeUnreachableError, AskTimeoutError, toError, toWireError, fromWireError, isWireError, type WireError } from '../src/errors.js'
import { LeastLoadedPlacement, type Placement, type PeerLoad } from '../src/jobs/placement.js'
import type { Network, NodeId } from '../src/net/types.js'
import { Packr } from 'msgpackr'
import type { ClusterHandle } from '../src/cluster/handle.js'

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

/**
 * The version of the 'deliver' batch, its reply and the watch messages; a peer refuses any other
 * (remote validation). Version 3 added watch items (kind 2) and the 'ended' and 'forget' messages.
 */
const DELIVER_VERSION = 3
/** Longest a batch may ask the owner to wait for its answers. */
const DELIVER_TIMEOUT_MAX_MS = 3_600_000
/** How long an owner waits for a batch's slow asks before it replies without them (they follow as 'late'). */
const LINGER_MS = 20
/**
 * One message of a batch: shard, epoch, entity type, key, body, its kind (0 an ask, 1 a tell
 * answered on accept, 2 a watch of the key's activation, answered with the owner's id or null when
 * the key has none), and the sender's id of an ask or a watch (a 'late' or 'ended' message names it).
 */
type DeliverItem = [shard: number, epoch: number, entity: string, key: string, body: unknown, kind: 0 | 1 | 2, id: number]
/** Why an activation's watches end, as its owner reports it ('ended'). */
type EndReason = Extract<TerminationReason, 'passivated' | 'failed-over' | 'stopped' | 'failed'>
const END_REASONS: readonly string[] = ['passivated', 'failed-over', 'stopped', 'failed'] satisfies EndReason[]
/** Watches one peer may hold on this node's activations; more are refused (its memory stays bounded). */
const WATCHES_PER_NODE_MAX = 100_000
/** Ids in one 'ended', 'forget' or 'watching' message. */
const WATCH_IDS_MAX = 100_000
/**
 * How often a watcher node asks each owner which of its watches it still holds: an 'ended' lost on
 * the way (a tell is at most once) or an owner restarted under the same id would leave a watch open.
 */
const WATCH_CHECK_MS = 2000
/**
 * Per message, in order: [0] accepted tell, [0, value] an ask's value, [1, error] its error,
 * [2] bounced, [3] accepted, its answer follows in a 'late' message.
 */
type ItemResult = [0] | [0, unknown] | [1, WireError] | [2] | [3]
type DeliverReply = { readonly v: number; readonly r: ItemResult[] }
const BOUNCED: ItemResult = [2]
const ACCEPTED: ItemResult = [0]
const LATER: ItemResult = [3]
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

/** A received batch: its results so far, and what it still waits for. */
interface OpenBatch {
  readonly from: NodeId
  readonly ids: number[]
  readonly results: Array<ItemResult | undefined>
  /** Messages without a result yet. */
  open: number
  /** Messages neither accepted nor bounced yet (held for a grant): the reply waits for them. */
  undecided: number
  readonly decided: boolean[]
  readonly receivedAtMs: number
  readonly deadlineMs: number
  readonly timeoutMs: number
  readonly reply: ReplyTarget
  replied: boolean
}

/** What an owner does with a message offered under an epoch: deliver it, or bounce it back. */
interface Inbound {
  readonly delivery: Delivery | undefined
  readonly bounce: () => void
  /** A marker: answered once everything before it was accepted or bounced. */
  readonly done?: () => void
  /** Called when the message enters its activation (a forwarded tell is answered then). */
  readonly accepted?: () => void
}

interface Activation {
  readonly id: string
  readonly ref: ActorRef<Message>
  readonly type: string
  readonly key: string
  readonly shard: number
  readonly epoch: number
  lastMs: number
  stopping: boolean
  /** Why it is stopping, when this node stopped it (idle, handed off: passivated; lease lost: failed-over). */
  endReason: EndReason | undefined
  /** Deliveries that arrived while it stopped; offered again once it has. */
  readonly waiting: Inbound[]
  /** Watches of this activation: per watcher node, the watch ids that node chose. */
  readonly watchers: Map<NodeId, Set<number>>
}

/** A watch of an entity held by an actor of this node (the watcher side). */
interface WatchRecord {
  readonly id: number
  readonly path: string
  readonly watcher: string
  /** The node whose activation the watch reached; undefined until it answered. */
  owner: NodeId | undefined
  /** Unwatched before the owner answered: forgotten once it does. */
  cancelled: boolean
  readonly deadlineMs: number
  readonly reply: ReplyTarget & { settled: boolean }
}

/** What this node's actors hand the entities actor, in order: a message to route, or a watch of an entity ref. */
export type Routed = { readonly shard: number; readonly delivery: Delivery } | { readonly control: Exclude<WatchControl, { kind: 'terminated' }> }

/** Parsed entity addresses a handle remembers (type, key, shard); past this it starts over. */
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
  private readonly parsed = new Map<string, { readonly type: string; readonly key: string; readonly shard: number }>()
  private watchEnd: ((target: string, watcher: string, reason: TerminationReason, error: Error | undefined) => void) | undefined = undefined
  private listing: () => EntityInfo[] = () => []
  private clock: { monotonicMs(): number } | undefined = undefined

  constructor(
    readonly shards: number,
    /** Past this many messages not yet taken by the actor, new ones are refused (an ask gets MailboxFullError). */
    private readonly routesMax: number = ROUTES_MAX,
  ) {}

  send(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void {
    let entity = to.node === ENTITY_NODE ? this.parsed.get(to.path) : undefined
    if (entity === undefined) {
      try {
        const { type, key } = parseEntityAddress(to)
        entity = { type, key, shard: shardOf(type, key, this.shards) }
      } catch (error) {
        reply?.reject(toError(error))
        return
      }
      if (this.parsed.size >= PARSED_MAX) this.parsed.clear()
      this.parsed.set(to.path, entity)
    }
    if (this.wake === undefined || this.clock === undefined) {
      reply?.reject(new EntityUnavailableError('entities are not running on this node'))
      return
    }
    if (this.queue.length >= this.routesMax) {
      reply?.reject(new MailboxFullError(ENTITIES_PATH, this.routesMax))
      return
    }
    const timeoutMs = (reply as { timeoutMs?: number } | undefined)?.timeoutMs ?? CONTROL_TIMEOUT_MS
    this.push({ shard: entity.shard, delivery: { entityType: entity.type, key: entity.key, body: message, reply, deadlineMs: this.clock.monotonicMs() + timeoutMs } })
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

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128
/** @internal The remote check of a 'deliver' batch: version, shape and size bounds. */
export const validDeliver = (_from: string, m: unknown): boolean => {
  const d = m as { v?: unknown; items?: unknown; timeoutMs?: unknown }
  return (
    d.v === DELIVER_VERSION &&
    isInt(d.timeoutMs) &&
    d.timeoutMs <= DELIVER_TIMEOUT_MAX_MS &&
    Array.isArray(d.items) &&
    d.items.length > 0 &&
    d.items.length <= DEFAULT_BATCH_LIMITS.maxItems &&
    // Array.from: every() skips holes.
    Array.from(d.items as unknown[]).every(
      (i: unknown) => Array.isArray(i) && i.length === 7 && isInt(i[0]) && isInt(i[1]) && isName(i[2]) && isName(i[3]) && (i[5] === 0 || i[5] === 1 || i[5] === 2) && isInt(i[6]),
    )
  )
}
const validResult = (x: unknown): x is ItemResult => Array.isArray(x) && (x[0] === 0 || x[0] === 2 || x[0] === 3 || (x[0] === 1 && isWireError(x[1])))
/** @internal The remote check of a 'late' answer. */
export const validLate = (_from: string, m: unknown): boolean => {
  const l = m as { v?: unknown; id?: unknown; r?: unknown }
  return l.v === DELIVER_VERSION && isInt(l.id) && validResult(l.r) && l.r[0] !== 3 && l.r[0] !== 2
}
/** @internal A reply from a peer is checked like any input: one result per message, of a known kind. */
export const validDeliverReply = (a: unknown, n: number): a is DeliverReply => {
  const reply = a as { v?: unknown; r?: unknown } | null | undefined
  const r = reply?.r
  return reply?.v === DELIVER_VERSION && Array.isArray(r) && r.length === n && Array.from(r as unknown[]).every(validResult)
}
const validIds = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.length <= WATCH_IDS_MAX && Array.from(v as unknown[]).every(isInt)
/** @internal The remote check of an 'ended' message: the owner's report that watched activations ended. */
export const validEnded = (_from: string, m: unknown): boolean => {
  const e = m as { v?: unknown; ids?: unknown; reason?: unknown; error?: unknown }
  return e.v === DELIVER_VERSION && validIds(e.ids) && typeof e.reason === 'string' && END_REASONS.includes(e.reason) && (e.error === null || isWireError(e.error))
}
/** @internal The remote check of a 'forget' or 'watching' message: a watcher node drops or checks some of its watches. */
export const validWatchIds = (_from: string, m: unknown): boolean => {
  const f = m as { v?: unknown; ids?: unknown }
  return f.v === DELIVER_VERSION && validIds(f.ids)
}
const validGrants = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.length <= 1_000_000 &&
  v.every((g) => isInt((g as ShardGrant)?.shard) && isInt((g as ShardGrant)?.epoch) && ((g as ShardGrant).lapsed === undefined || typeof (g as ShardGrant).lapsed === 'boolean'))

export function entitiesActor(init: EntitiesActorInit) {
  const options: EntityOptions = { ...DEFAULT_ENTITY_OPTIONS, ...init.options }
  const defs = new Map(init.defs.map((d) => [d.type, d]))
  const placement = init.placement ?? new LeastLoadedPlacement()
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
  /**
   * The shard table while this node leads. Kept out of setup so that it outlives a restart of the
   * actor: a table rebuilt in the same epoch would grant shard epochs again from the start.
   */
  let coordinator: CoordinatorCore | undefined
  return defineActor<EntitiesMsg>({
    mailbox: { capacity: MAILBOX_CAPACITY },
    remote: {
      tick: 'never',
      route: 'never',
      flush: 'never',
      deliver: validDeliver,
      late: validLate,
      marker: (_f, m) => isInt((m as { shard?: unknown }).shard) && isInt((m as { epoch?: unknown }).epoch),
      locate: (_f, m) => isInt((m as { shard?: unknown }).shard),
      renew: (_f, m) => validGrants((m as { held?: unknown }).held),
      released: (_f, m) => isInt((m as { shard?: unknown }).shard) && isInt((m as { epoch?: unknown }).epoch),
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
    setup(ctx) {
      const self = init.network.self
      const clock = ctx.env.clock
      const now = (): number => clock.monotonicMs()
      const owner = new OwnerCore<Inbound>(options)
      const activations = new Map<string, Activation>()
      let nextRenewMs = 0
      /** The renewal waiting for its answer, and to which leadership it went. */
      let renewing: { to: NodeId; epoch: number; generation: number } | undefined
      let renewGeneration = 0
      /** The generation of the last renewal answer applied: older answers arrive late and are ignored. */
      let appliedGeneration = 0
      const regions = new Map<NodeId, ActorRef<EntitiesMsg>>()
      const regionOf = (node: NodeId): ActorRef<EntitiesMsg> => {
        let ref = regions.get(node)
        if (ref === undefined) regions.set(node, (ref = ctx.ref<EntitiesMsg>({ node, path: ENTITIES_PATH })))
        return ref
      }
      const remaining = (d: Delivery): number => Math.max(1, d.deadlineMs - now())

      /** Per owner, the end of the chain that hands outcomes to the router in send order. */
      const chains = new Map<NodeId, Promise<void>>()
      /** Applies `outcome`'s result once every earlier outcome towards `owner` was applied. */
      function inOrder(owner: NodeId, outcome: Promise<() => void>): void {
        // Never rejects: a failed link would skip every later outcome of this owner.
        const next = (chains.get(owner) ?? Promise.resolve())
          .then(() => outcome)
          .then((apply) => apply())
          .catch((error: unknown) => ctx.log.error('entities: an outcome failed to apply', { error }))
        chains.set(owner, next)
        void next.then(() => {
          if (chains.get(owner) === next) chains.delete(owner)
        })
      }
      /** Asks a batch reply marked "later": their answers come in 'late' messages from that owner. */
      const late = new Map<number, { from: NodeId; delivery: Delivery }>()
      let nextAskId = 1
      const bounceAll = (to: NodeId, items: readonly Forward[]) => (): void => {
        for (const f of items) ctx.self.tell({ type: 'bounced', from: to, shard: f.shard, epoch: f.epoch, delivery: f.delivery })
      }

      function forward(to: NodeId, batch: readonly Forward[]): void {
        let timeoutMs = 1
        for (const f of batch) timeoutMs = Math.max(timeoutMs, f.delivery.reply === undefined ? CONTROL_TIMEOUT_MS : remaining(f.delivery))
        // A watch keeps its own id (drawn from the same counter): the owner names it in 'ended'.
        const ids = batch.map((f) => f.delivery.watch?.id ?? (f.delivery.reply === undefined ? 0 : nextAskId++))
        const items = batch.map((f, i): DeliverItem => [
          f.shard,
          f.epoch,
          f.delivery.entityType,
          f.delivery.key,
          f.delivery.watch === undefined ? f.delivery.body : null,
          f.delivery.watch !== undefined ? 2 : f.delivery.reply === undefined ? 1 : 0,
          ids[i]!,
        ])
        const answer = regionOf(to).ask({ type: 'deliver', v: DELIVER_VERSION, items, timeoutMs: Math.ceil(timeoutMs) }, { timeoutMs })
        inOrder(
          to,
          answer.then(
            (reply) => {
              if (!validDeliverReply(reply, batch.length)) {
                const error = new EntityUnavailableError(`a malformed answer to a batch from ${to}`)
                for (const f of batch) f.delivery.reply?.reject(error)
                return failAll(to, batch)
              }
              const bounced: Forward[] = []
              batch.forEach((f, i) => {
                const r = reply.r[i]!
                if (r[0] === 2) bounced.push(f)
                else if (r[0] === 3) {
                  if (f.delivery.reply !== undefined) late.set(ids[i]!, { from: to, delivery: f.delivery })
                } else settle(f.delivery, r)
              })
              return bounceAll(to, bounced)
            },
            (error: unknown) => {
              // A batch that never left is as good as bounced: its messages go to the shard's next
              // owner, in order, within their own deadlines, instead of failing while the cluster
              // moves the shard off a dead peer.
              if (error instanceof NodeUnreachableError && error.unsent) return bounceAll(to, batch)
              for (const f of batch) f.delivery.reply?.reject(toError(error))
              return error instanceof NodeUnreachableError || error instanceof AskTimeoutError ? failAll(to, batch) : () => {}
            },
          ),
        )
      }
      function settle(delivery: Delivery, r: ItemResult): void {
        if (r[0] === 0) delivery.reply?.resolve(r[1])
        else if (r[0] === 1) delivery.reply?.reject(fromWireError(r[1]))
      }
      const failAll = (to: NodeId, batch: readonly Forward[]) => (): void => {
        const seen = new Set<string>()
        for (const f of batch) {
          const id = `${f.shard}/${f.epoch}`
          if (seen.has(id)) continue
          seen.add(id)
          ctx.self.tell({ type: 'failed', owner: to, shard: f.shard, epoch: f.epoch })
        }
      }

      const router = new EntityRouter(self, {
        local: (shard, epoch, delivery) => offer(shard, epoch, { delivery, bounce: () => router.bounced(self, shard, epoch, delivery) }) !== 'bounce',
        forward,
        wake: () => ctx.self.tell({ type: 'flush' }),
        marker: (to, shard, epoch, token) => {
          const done = (): void => ctx.self.tell({ type: 'drained', shard, token })
          const answer = regionOf(to).ask({ type: 'marker', shard, epoch }, { timeoutMs: CONTROL_TIMEOUT_MS })
          inOrder(
            to,
            answer.then(
              () => done,
              () => done,
            ),
          )
        },
        locate: (shard) => {
          const leader = init.cluster.leader()
          if (leader === null || leader === undefined) {
            ctx.self.tell({ type: 'located', shard, reply: undefined })
            return
          }
          regionOf(leader.nodeId)
            .ask({ type: 'locate', shard }, { timeoutMs: CONTROL_TIMEOUT_MS })
            .then(
              (answer) => ctx.self.tell({ type: 'located', shard, reply: answer.ok ? answer.value : undefined }),
              () => ctx.self.tell({ type: 'located', shard, reply: undefined }),
            )
        },
      })

      const listing = (): EntityInfo[] => [...activations.values()].map((a) => ({ type: a.type, key: a.key, shard: a.shard, epoch: a.epoch }))
      init.handle.attach(() => ctx.self.tell({ type: 'route' }), listing, clock)
      const unsubscribe = init.network.onPeerChange((node, up) => ctx.self.tell({ type: 'peer', node, up }))
      ctx.onStop(() => unsubscribe())
      // A node that registers no entity type ticks only once entities are used (it may still route
      // messages, or lead), so nodes that run only jobs carry no extra timer.
      let ticking = false
      const startTicking = (): void => {
        if (ticking) return
        ticking = true
        ctx.timers.every('tick', TICK_MS, { type: 'tick' })
      }
      if (defs.size > 0) startTicking()

      /**
       * One message of a received batch: its reply target (an ask's) and its inbound verdicts, as
       * methods rather than a closure each (three closures per message were a visible share of the
       * owner's allocations).
       */
      class BatchItem implements ReplyTarget, Inbound {
        delivery: Delivery | undefined = undefined
        constructor(
          readonly batch: OpenBatch,
          readonly i: number,
          readonly tell: boolean,
        ) {}
        resolve(value: unknown): void {
          settleItem(this.batch, this.i, [0, value])
        }
        reject(error: Error): void {
          settleItem(this.batch, this.i, [1, toWireError(error, 'ERR_REMOTE')])
        }
        bounce(): void {
          settleItem(this.batch, this.i, BOUNCED)
        }
        accepted(): void {
          if (this.tell) settleItem(this.batch, this.i, ACCEPTED)
          else decide(this.batch, this.i)
        }
      }

      /** Batches received that wait for a verdict or an answer of some of their messages. */
      const openBatches = new Set<OpenBatch>()
      /** Message `i` of `batch` was accepted or bounced: the reply no longer waits for its verdict. */
      function decide(batch: OpenBatch, i: number): void {
        if (batch.decided[i] === true) return
        batch.decided[i] = true
        batch.undecided--
      }
      function settleItem(batch: OpenBatch, i: number, result: ItemResult): void {
        if (batch.results[i] !== undefined) return
        decide(batch, i)
        if (batch.replied) {
          // Its batch was answered without it ("later"); a bounce now means it waited in a stopping activation.
          const r: ItemResult =
            result[0] === 2 ? [1, toWireError(new EntityUnavailableError(`an entity moved while a message waited for it; send it again`), 'ERR_REMOTE')] : result
          batch.results[i] = r
          if (--batch.open === 0) openBatches.delete(batch)
          regionOf(batch.from).tell({ type: 'late', v: DELIVER_VERSION, id: batch.ids[i]!, r })
          return
        }
        batch.results[i] = result
        if (--batch.open === 0) replyBatch(batch)
      }
      function replyBatch(batch: OpenBatch): void {
        batch.replied = true
        if (batch.open === 0) openBatches.delete(batch)
        // Array.from, not map: map skips the holes of the asks still running.
        batch.reply.resolve({ v: DELIVER_VERSION, r: Array.from(batch.results, (r) => r ?? LATER) })
      }
      /**
       * Replies to batches whose every message is decided but some asks still run (after LINGER_MS),
       * and answers what a batch still waits for once its timeout passed.
       */
      function expireBatches(t: number): void {
        for (const batch of openBatches) {
          if (t >= batch.deadlineMs) {
            const timedOut: ItemResult = [1, toWireError(new AskTimeoutError(ENTITIES_PATH, batch.timeoutMs), 'ERR_REMOTE')]
            for (let i = 0; i < batch.results.length; i++) settleItem(batch, i, timedOut)
          } else if (!batch.replied && batch.undecided === 0 && t - batch.receivedAtMs >= LINGER_MS) replyBatch(batch)
        }
      }

      /** Offers a message to the owner core, delivering it if accepted; the caller handles a bounce. */
      function offer(shard: number, epoch: number, inbound: Inbound): 'accept' | 'hold' | 'bounce' {
        const { verdict, evicted } = owner.offer(shard, epoch, inbound, now())
        if (evicted !== undefined) for (const item of evicted.items) settleBounced(item)
        if (verdict === 'accept') accept(shard, epoch, inbound)
        return verdict
      }

      function settleBounced(item: Inbound): void {
        if (item.done !== undefined) item.done()
        else item.bounce()
      }

      function accept(shard: number, epoch: number, inbound: Inbound): void {
        if (inbound.done !== undefined) {
          inbound.done()
          return
        }
        const delivery = inbound.delivery!
        inbound.accepted?.()
        const id = `${delivery.entityType}/${delivery.key}`
        let activation = activations.get(id)
        if (delivery.watch !== undefined) {
          addWatch(activation !== undefined && (activation.stopping || activation.epoch === epoch) ? activation : undefined, delivery)
          return
        }
        if (activation !== undefined && activation.stopping) {
          activation.waiting.push(inbound)
          return
        }
        if (activation === undefined || activation.epoch !== epoch) {
          const def = defs.get(delivery.entityType)
          if (def === undefined) {
            delivery.reply?.reject(new UnknownEntityTypeError(delivery.entityType))
            return
          }
          activation = activate(def, delivery.key, shard, epoch)
        }
        activation.lastMs = now()
        if (delivery.reply === undefined) activation.ref.tell(delivery.body as Message)
        else if (!relay(activation.ref, delivery.body, delivery.reply)) {
          const reply = delivery.reply
          ;(activation.ref as ActorRef<Ask<Message, unknown>>).ask(delivery.body as Ask<Message, unknown>, { timeoutMs: remaining(delivery) }).then(
            (value) => reply.resolve(value),
            (error: unknown) => reply.reject(toError(error)),
          )
        }
      }

      function activate(def: EntityDef, key: string, shard: number, epoch: number): Activation {
        const id = `${def.type}/${key}`
        const ref = ctx.spawn(
          entityActor(def, key, epoch, init.store, packr, () => owner.serving(shard, epoch, now())),
          {
            ...(def.spec.mailbox === undefined ? {} : { mailbox: def.spec.mailbox }),
            ...(def.spec.supervision === undefined ? {} : { supervision: def.spec.supervision }),
          },
        )
        const activation: Activation = { id, ref, type: def.type, key, shard, epoch, lastMs: now(), stopping: false, endReason: undefined, waiting: [], watchers: new Map() }
        activations.set(id, activation)
        ctx.watch(ref, (t) => ({ type: 'terminated', activation, reason: t.reason, error: t.error }))
        return activation
      }

      /** Stops an activation: gently (idle, handed off: its watchers hear passivated), or at once (lease lost: failed-over). */
      function passivate(activation: Activation, force: boolean): void {
        if (activation.stopping) return
        activation.stopping = true
        activation.endReason = force ? 'failed-over' : 'passivated'
        if (force) ctx.stop(activation.ref)
        else activation.ref.tell({ type: PASSIVATE })
      }

      function terminated(activation: Activation, reason: TerminationReason, error: Error | undefined): void {
        // Its watchers hear of it even if a newer activation of the key took its place meanwhile.
        endWatches(activation, activation.endReason ?? (reason === 'failed' ? 'failed' : 'stopped'), reason === 'failed' ? error : undefined)
        if (activations.get(activation.id) !== activation) return
        activations.delete(activation.id)
        for (const inbound of activation.waiting) if (offer(activation.shard, activation.epoch, inbound) === 'bounce') settleBounced(inbound)
        maybeReleased(activation.shard)
      }

      // Watches of entity refs. Watcher side: a watch travels to the key's owner as an item of its
      // shard's route (so it reaches the activation that this node's earlier messages reached) and
      // the owner answers with its id, or null when the key has no activation (not-found). The owner
      // reports the activation's end to every watching node ('ended'); the watcher side ends the
      // watches of an owner whose connection closed with failed-over (the owner died or is cut off:
      // the next message reaches the key on a live peer).
      /** Watcher side: this node's watches by id, and the id of each (target, watcher) pair. */
      const watching = new Map<number, WatchRecord>()
      const watchIds = new Map<string, number>()
      /** Watcher side: how many answered watches each owner holds (so a tick checks only those owners). */
      const ownerWatches = new Map<NodeId, number>()
      /** Owner side: the activation of each watch (`node/id`), and how many watches each node holds here. */
      const watchedBy = new Map<string, Activation>()
      const watchCounts = new Map<NodeId, number>()

      function startWatch(path: string, watcher: string): void {
        const pair = `${path} ${watcher}`
        if (watchIds.has(pair)) return
        let entity: { type: string; key: string }
        try {
          entity = parseEntityAddress({ node: ENTITY_NODE, path })
        } catch {
          init.handle.watchEnded(path, watcher, 'not-found', undefined)
          return
        }
        // From the asks' counter: a watch item carries its id where an ask carries its own ('late' answers name either).
        const id = nextAskId++
        const reply: ReplyTarget & { settled: boolean } = {
          settled: false,
          resolve(value: unknown) {
            if (reply.settled) return
            reply.settled = true
            ctx.self.tell({ type: 'watched', id, owner: typeof value === 'string' && value.length > 0 ? value : undefined, error: undefined })
          },
          reject(error: Error) {
            if (reply.settled) return
            reply.settled = true
            ctx.self.tell({ type: 'watched', id, owner: undefined, error })
          },
        }
        const deadlineMs = now() + CONTROL_TIMEOUT_MS
        watching.set(id, { id, path, watcher, owner: undefined, cancelled: false, deadlineMs, reply })
        watchIds.set(pair, id)
        const delivery: Delivery = { entityType: entity.type, key: entity.key, body: null, reply, deadlineMs, watch: { node: self, id } }
        if (!router.send(shardOf(entity.type, entity.key, init.handle.shards), delivery)) reply.reject(new MailboxFullError(`entity ${entity.type}/${entity.key}`, 10_000))
      }

      function stopWatch(path: string, watcher: string): void {
        const pair = `${path} ${watcher}`
        const id = watchIds.get(pair)
        if (id === undefined) return
        watchIds.delete(pair)
        const record = watching.get(id)!
        record.cancelled = true
        if (record.owner === undefined) return
        endWatch(record, 'stopped', undefined)
        tellForget(record.owner!, [id])
      }

      function tellForget(owner: NodeId, ids: number[]): void {
        if (owner === self) forgetWatches(self, ids)
        else regionOf(owner).tell({ type: 'forget', v: DELIVER_VERSION, ids })
      }

      /** The owner answered a watch: with its id, null (no activation), or an error. */
      function watched(id: number, owner: NodeId | undefined, error: Error | undefined): void {
        const record = watching.get(id)
        if (record === undefined) return
        if (record.cancelled) {
          watching.delete(id)
          if (owner !== undefined) tellForget(owner, [id])
          return
        }
        if (error !== undefined) endWatch(record, error instanceof NodeUnreachableError && !error.unsent ? 'failed-over' : 'unreachable', undefined)
        else if (owner === undefined) endWatch(record, 'not-found', undefined)
        // Its connection may have closed before this answer was handled: no 'ended' would follow.
        else if (owner !== self && !init.network.peers().includes(owner)) endWatch(record, 'failed-over', undefined)
        else {
          record.owner = owner
          ownerWatches.set(owner, (ownerWatches.get(owner) ?? 0) + 1)
        }
      }

      /** Ends with failed-over every watch whose owner is gone: its connection closed, or the cluster declared it down. */
      function ownerGone(node: NodeId): void {
        if (!ownerWatches.has(node)) return
        for (const record of [...watching.values()]) if (record.owner === node) endWatch(record, 'failed-over', undefined)
      }

      let nextWatchCheckMs = 0
      /**
       * Ends the watches of owners the cluster's failure detector declared down (a peer may vanish
       * without closing its connection) and, every WATCH_CHECK_MS, asks each other owner which of
       * this node's watches it no longer holds: those end with failed-over (their 'ended' was lost).
       */
      function checkOwners(t: number): void {
        if (ownerWatches.size === 0) return
        const view = init.cluster.view()
        if (view !== undefined) for (const m of view.members) if (m.state === 'down' && ownerWatches.has(m.nodeId)) ownerGone(m.nodeId)
        if (t < nextWatchCheckMs) return
        nextWatchCheckMs = t + WATCH_CHECK_MS
        const byOwner = new Map<NodeId, number[]>()
        for (const record of watching.values()) {
          if (record.owner === undefined || record.owner === self || record.cancelled) continue
          let ids = byOwner.get(record.owner)
          if (ids === undefined) byOwner.set(record.owner, (ids = []))
          if (ids.length < WATCH_IDS_MAX) ids.push(record.id)
        }
        for (const [owner, ids] of byOwner)
          regionOf(owner)
            .ask({ type: 'watching', v: DELIVER_VERSION, ids }, { timeoutMs: CONTROL_TIMEOUT_MS })
            .then(
              (gone) => {
                if (Array.isArray(gone) && gone.length > 0) ctx.self.tell({ type: 'lost', owner, ids: gone.filter(isInt) })
              },
              () => {},
            )
      }

      function endWatch(record: WatchRecord, reason: TerminationReason, error: Error | undefined): void {
        watching.delete(record.id)
        if (record.owner !== undefined) {
          const left = ownerWatches.get(record.owner)! - 1
          assert(left >= 0, 'entity watches per owner went negative')
          if (left === 0) ownerWatches.delete(record.owner)
          else ownerWatches.set(record.owner, left)
        }
        const pair = `${record.path} ${record.watcher}`
        if (watchIds.get(pair) === record.id) watchIds.delete(pair)
        if (!record.cancelled) init.handle.watchEnded(record.path, record.watcher, reason, error)
      }

      /** Owner side: a watch reached `activation` (undefined: the key has none here). */
      function addWatch(activation: Activation | undefined, delivery: Delivery): void {
        const { node, id } = delivery.watch!
        if (activation === undefined) {
          delivery.reply?.resolve(null)
          return
        }
        const count = watchCounts.get(node) ?? 0
        const key = `${node}/${id}`
        if (!watchedBy.has(key)) {
          if (count >= WATCHES_PER_NODE_MAX) {
            delivery.reply?.reject(new EntityUnavailableError(`${node} holds too many entity watches here`))
            return
          }
          let ids = activation.watchers.get(node)
          if (ids === undefined) activation.watchers.set(node, (ids = new Set()))
          ids.add(id)
          watchedBy.set(key, activation)
          watchCounts.set(node, count + 1)
        }
        delivery.reply?.resolve(self)
      }

      function removeWatch(node: NodeId, id: number): void {
        const key = `${node}/${id}`
        const activation = watchedBy.get(key)
        if (activation === undefined) return
        watchedBy.delete(key)
        const ids = activation.watchers.get(node)!
        ids.delete(id)
        if (ids.size === 0) activation.watchers.delete(node)
        const count = watchCounts.get(node)! - 1
        assert(count >= 0, 'entity watch count went negative')
        if (count === 0) watchCounts.delete(node)
        else watchCounts.set(node, count)
      }

      function forgetWatches(node: NodeId, ids: readonly number[]): void {
        for (const id of ids) removeWatch(node, id)
      }

      /** The watcher node `node` is gone: its watches here end without a word (it ends them itself). */
      function dropWatchesOf(node: NodeId): void {
        if (!watchCounts.has(node)) return
        for (const a of activations.values()) for (const id of [...(a.watchers.get(node) ?? [])]) removeWatch(node, id)
      }

      /** `activation` ended: tells every node watching it why. */
      function endWatches(activation: Activation, reason: EndReason, error: Error | undefined): void {
        for (const [node, set] of [...activation.watchers]) {
          const ids = [...set]
          for (const id of ids) removeWatch(node, id)
          if (node === self) {
            for (const id of ids) {
              const record = watching.get(id)
              if (record !== undefined && (record.owner === undefined || record.owner === self)) endWatch(record, reason, error)
            }
          } else {
            for (let i = 0; i < ids.length; i += WATCH_IDS_MAX)
              regionOf(node).tell({
                type: 'ended',
                v: DELIVER_VERSION,
                ids: ids.slice(i, i + WATCH_IDS_MAX),
                reason,
                error: error === undefined ? null : toWireError(error, 'ERR_REMOTE'),
              })
          }
        }
      }
      // A node that stops (shutdown, leaving) takes its activations with it: their remote watchers hear passivated.
      ctx.onStop(() => {
        for (const a of activations.values()) if (a.watchers.size > 0) endWatches(a, a.endReason ?? 'passivated', undefined)
      })

      /** Shards being handed off: reported released once their last activation stopped. */
      const releasing = new Set<number>()
      function maybeReleased(shard: number): void {
        if (!releasing.has(shard)) return
        for (const a of activations.values()) if (a.shard === shard) return
        releasing.delete(shard)
        const epoch = owner.released(shard)
        const leader = init.cluster.leader()
        if (epoch !== undefined && leader !== null && leader !== undefined) regionOf(leader.nodeId).tell({ type: 'released', shard, epoch })
      }

      function dropShards(shards: readonly number[]): void {
        const set = new Set(shards)
        for (const a of activations.values()) if (set.has(a.shard)) passivate(a, true)
        for (const shard of shards) releasing.delete(shard)
      }

      /**
       * Renews this node's leases with the leader. A renewal that failed or reached a node that does
       * not lead (an election under way) is retried at the next tick, not after renewEveryMs; one
       * still waiting on a leader that has since been replaced is abandoned (its answer ignored) and
       * sent again to the new one at once: leases outlive a leader change only if the new leader
       * hears the claims in time. The callbacks touch only these fields, so a lost self-message
       * cannot leave renewals stuck.
       */
      function renew(t: number): void {
        const leader = init.cluster.leader()
        if (leader === null || leader === undefined) return
        if (renewing !== undefined && renewing.to === leader.nodeId && renewing.epoch === leader.epoch) return
        if (renewing === undefined && t < nextRenewMs) return
        const generation = ++renewGeneration
        renewing = { to: leader.nodeId, epoch: leader.epoch, generation }
        const sentAtMs = t
        nextRenewMs = sentAtMs + options.renewEveryMs
        const settle = (): boolean => {
          if (renewing?.generation !== generation) return false
          renewing = undefined
          return true
        }
        regionOf(leader.nodeId)
          .ask({ type: 'renew', held: owner.claims(sentAtMs) }, { timeoutMs: options.leaseMs / 2 })
          .then(
            (answer) => {
              if (!settle()) return
              if (answer.ok) ctx.self.tell({ type: 'renewed', reply: answer.value, sentAtMs, generation })
              else nextRenewMs = 0
            },
            () => {
              if (settle()) nextRenewMs = 0
            },
          )
      }

      function candidates(): PeerLoad[] {
        const view = init.cluster.view()
        if (view === undefined) return []
        return view.members
          .filter((m) => m.state === 'up')
          .map((m) => ({ node: m.nodeId, capacity: options.shards, outstanding: 0, eventLoopLagMs: m.metrics?.eventLoopLagMs ?? 0, leader: m.nodeId === self }))
      }

      /** The coordinator while this node holds the leader lease; kept across a lapse of the same epoch (coordinatorFor). */
      function lead(): CoordinatorCore | undefined {
        const epoch = init.cluster.leaderEpoch()
        if (epoch === undefined) return undefined
        coordinator = coordinatorFor(coordinator, epoch, now(), options, placement)
        return coordinator
      }

      const handlers: Handlers<EntitiesMsg> = {
        tick: () => {
          const t = now()
          router.tick(t)
          expireBatches(t)
          for (const [id, entry] of late) if (t > entry.delivery.deadlineMs || (entry.delivery.reply as { settled?: boolean } | undefined)?.settled === true) late.delete(id)
          for (const record of watching.values())
            if (record.owner === undefined && !record.reply.settled && t > record.deadlineMs) record.reply.reject(new AskTimeoutError(record.path, CONTROL_TIMEOUT_MS))
          checkOwners(t)
          const expired = owner.expire(t)
          dropShards(expired.dropped)
          for (const batch of expired.bounced) for (const item of batch.items) settleBounced(item)
          for (const a of activations.values()) {
            const idle = defs.get(a.type)?.spec.passivateAfterMs ?? PASSIVATE_AFTER_MS
            if (!a.stopping && t - a.lastMs > idle) passivate(a, false)
          }
          const known = init.cluster.leader()
          if (known !== null && known !== undefined) owner.leaderSeen(known.epoch, t)
          renew(t)
          const c = lead()
          if (c !== undefined) for (const node of c.tick(t, candidates())) regionOf(node).tell({ type: 'hint' })
        },
        route: () => {
          for (const entry of init.handle.take()) {
            if ('control' in entry) {
              if (entry.control.kind === 'watch') startWatch(entry.control.target, entry.control.watcher)
              else stopWatch(entry.control.target, entry.control.watcher)
            } else if (!router.send(entry.shard, entry.delivery)) {
              entry.delivery.reply?.reject(new MailboxFullError(`entity ${entry.delivery.entityType}/${entry.delivery.key}`, 10_000))
            }
          }
        },
        flush: () => router.flush(),
        deliver: (msg, c) => {
          const reply = c.defer()
          const t = now()
          const n = msg.items.length
          const batch: OpenBatch = {
            from: c.sender ?? self,
            ids: msg.items.map((item) => item[6]),
            results: new Array<ItemResult | undefined>(n),
            open: n,
            undecided: n,
            decided: new Array<boolean>(n).fill(false),
            receivedAtMs: t,
            deadlineMs: t + msg.timeoutMs,
            timeoutMs: msg.timeoutMs,
            reply,
            replied: false,
          }
          openBatches.add(batch)
          for (let i = 0; i < n; i++) {
            const [shard, epoch, entityType, key, body, tell, id] = msg.items[i]!
            const item = new BatchItem(batch, i, tell === 1)
            item.delivery = {
              entityType,
              key,
              body,
              reply: tell === 1 ? undefined : item,
              deadlineMs: t + CONTROL_TIMEOUT_MS,
              watch: tell === 2 ? { node: batch.from, id } : undefined,
            }
            if (offer(shard, epoch, item) === 'bounce') item.bounce()
          }
          return reply
        },
        late: (msg, c) => {
          const entry = late.get(msg.id)
          if (entry === undefined || entry.from !== c.sender) return
          late.delete(msg.id)
          settle(entry.delivery, msg.r)
        },
        marker: (msg, c) => {
          const reply = c.defer()
          const done = (): void => reply.resolve(true)
          if (offer(msg.shard, msg.epoch, { delivery: undefined, bounce: done, done }) === 'bounce') done()
          return reply
        },
        locate: (msg) => {
          const c = lead()
          if (c === undefined) return { ok: false }
          const before = c.allocation(msg.shard)
          const value = c.locate(msg.shard, now(), candidates())
          if (before === undefined && 'owner' in value && value.owner !== self) regionOf(value.owner).tell({ type: 'hint' })
          if (before === undefined && 'owner' in value && value.owner === self) nextRenewMs = 0
          return { ok: true, value }
        },
        renew: (msg, c) => {
          const co = lead()
          if (co === undefined) return { ok: false }
          return { ok: true, value: co.renew(c.sender ?? self, msg.held, now()) }
        },
        released: (msg, c) => {
          lead()?.released(c.sender ?? self, msg.shard, msg.epoch)
        },
        hint: () => {
          nextRenewMs = 0
        },
        bounced: (msg) => router.bounced(msg.from, msg.shard, msg.epoch, msg.delivery),
        failed: (msg) => router.failed(msg.owner, msg.shard, msg.epoch),
        drained: (msg) => router.drained(msg.shard, msg.token),
        located: (msg) => router.located(msg.shard, msg.reply !== undefined && 'owner' in msg.reply ? msg.reply : undefined, now() + LOCATE_RETRY_MS),
        renewed: (msg) => {
          if (msg.generation <= appliedGeneration) return
          appliedGeneration = msg.generation
          const outcome = owner.renewed(msg.reply, msg.sentAtMs, now())
          dropShards(outcome.dropped)
          for (const batch of outcome.bounced) for (const item of batch.items) settleBounced(item)
          for (const batch of outcome.accepted) for (const item of batch.items) accept(batch.shard, batch.epoch, item)
          const leader = init.cluster.leader()
          for (const g of outcome.refused) if (leader !== null && leader !== undefined) regionOf(leader.nodeId).tell({ type: 'released', shard: g.shard, epoch: g.epoch })
          for (const shard of outcome.release) {
            releasing.add(shard)
            for (const a of activations.values()) if (a.shard === shard) passivate(a, false)
            maybeReleased(shard)
          }
        },
        terminated: (msg) => terminated(msg.activation, msg.reason, msg.error),
        peer: (msg) => {
          if (msg.up) return
          router.peerDown(msg.node)
          dropWatchesOf(msg.node)
          ownerGone(msg.node)
        },
        watched: (msg) => watched(msg.id, msg.owner, msg.error),
        ended: (msg, c) => {
          const error = msg.error === null ? undefined : fromWireError(msg.error)
          for (const id of msg.ids) {
            const record = watching.get(id)
            // Only the node the watch reached may end it (one that has not answered yet may be any).
            if (record === undefined || (record.owner !== undefined && record.owner !== (c.sender ?? self))) continue
            endWatch(record, msg.reason, error)
          }
        },
        forget: (msg, c) => forgetWatches(c.sender ?? self, msg.ids),
        watching: (msg, c) => {
          const from = c.sender ?? self
          return msg.ids.filter((id) => !watchedBy.has(`${from}/${id}`))
        },
        lost: (msg) => {
          for (const id of msg.ids) {
            const record = watching.get(id)
            if (record?.owner === msg.owner) endWatch(record, 'failed-over', undefined)
          }
        },
        list: () => listing(),
      }
      const wrapped: Record<string, unknown> = {}
      for (const [type, handler] of Object.entries(handlers) as Array<[string, (m: never, c: never) => unknown]>) {
        wrapped[type] =
          type === 'tick' || type === 'peer' || type === 'list' || type === 'forget' || type === 'watching' || type === 'lost'
            ? handler
            : (m: never, c: never) => (startTicking(), handler(m, c))
      }
      return wrapped as Handlers<EntitiesMsg>
    },
  })
}

type Handler = (message: Message, ctx: ActorContext<Message, unknown>) => unknown

/** The child actor of one activation: the user's handlers, its entity context, and passivation. */
function entityActor(def: EntityDef, key: string, epoch: number, store: EntityStateStore | undefined, packr: Packr, serving: () => boolean) {
  return defineActor<Message>({
    async setup(actx) {
      let version = 0
      const name = `${def.type}/${key}`
      const state: EntityState<unknown> = {
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
      const extra: Record<string | symbol, unknown> = { entityType: def.type, key, epoch, state }
      const ectx = new Proxy(actx, {
        get(target, property) {
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
