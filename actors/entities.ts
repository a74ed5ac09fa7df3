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
 * Every message crossing the network is an ask, tells included: the owner answers accepted or
 * bounced, synchronously, so bounces and marker answers reach the sender in the order the owner
 * saw the messages, which the router's ordering argument needs. Callbacks of those asks hand their
 * results back to this actor as messages, never touching its state from outside.
 */
import { defineActor } from '../src/actor/define.js'
import type { ReplyTarget } from '../src/actor/reply.js'
import type { RemoteDelivery } from '../src/actor/system.js'
import type { ActorAddress } from '../src/actor/address.js'
import type { ActorContext, ActorRef, Ask, Handlers, Message } from '../src/actor/types.js'
import { parseEntityAddress, shardOf } from '../src/entities/address.js'
import { coordinatorFor, type CoordinatorCore, type LocateReply, type RenewReply, type ShardGrant } from '../src/entities/coordinator-core.js'
import { PASSIVATE_AFTER_MS } from '../src/entities/define.js'
import { EntityUnavailableError, NotPersistentError, UnknownEntityTypeError } from '../src/entities/errors.js'
import { DEFAULT_ENTITY_OPTIONS, type EntityOptions } from '../src/entities/options.js'
import { OwnerCore } from '../src/entities/owner-core.js'
import { EntityRouter, type Delivery } from '../src/entities/router.js'
import type { AnyEntityDef, EntityContext, EntityDef, EntityInfo, EntityState, EntityStateStore } from '../src/entities/types.js'
import { MailboxFullError, NodeUnreachableError, AskTimeoutError, toError } from '../src/errors.js'
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

type DeliverReply = { readonly ok: true; readonly value?: unknown } | { readonly bounce: true }
type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false }

export type EntitiesMsg =
  | { type: 'tick' }
  | { type: 'route'; shard: number; delivery: Delivery }
  | Ask<{ type: 'deliver'; shard: number; epoch: number; entity: string; key: string; body: unknown; tell: boolean }, DeliverReply>
  | Ask<{ type: 'marker'; shard: number; epoch: number }, true>
  | Ask<{ type: 'locate'; shard: number }, Answer<LocateReply>>
  | Ask<{ type: 'renew'; held: ShardGrant[] }, Answer<RenewReply>>
  | { type: 'released'; shard: number; epoch: number }
  | { type: 'hint' }
  | { type: 'bounced'; from: NodeId; shard: number; epoch: number; delivery: Delivery }
  | { type: 'failed'; owner: NodeId; shard: number; epoch: number }
  | { type: 'drained'; shard: number; token: number }
  | { type: 'located'; shard: number; reply: LocateReply | undefined }
  | { type: 'renewed'; reply: RenewReply; sentAtMs: number }
  | { type: 'terminated'; id: string; ref: ActorRef<Message> }
  | { type: 'peer'; node: NodeId; up: boolean }
  | Ask<{ type: 'list' }, EntityInfo[]>

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
  /** Deliveries that arrived while it stopped; offered again once it has. */
  readonly waiting: Inbound[]
}

/** A node's synchronous access to its entities actor: the actor system routes entity addresses here. */
export class EntitiesHandle implements RemoteDelivery {
  private target: ((shard: number, delivery: Delivery) => void) | undefined = undefined
  private listing: () => EntityInfo[] = () => []
  private clock: { monotonicMs(): number } | undefined = undefined
  /** Messages handed to the entities actor that it has not taken yet. */
  private routing = 0

  constructor(
    readonly shards: number,
    /** Past this many routed messages not yet taken, new ones are refused (an ask gets MailboxFullError). */
    private readonly routesMax: number = ROUTES_MAX,
  ) {}

  send(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void {
    let entity: { type: string; key: string }
    try {
      entity = parseEntityAddress(to)
    } catch (error) {
      reply?.reject(toError(error))
      return
    }
    const target = this.target
    if (target === undefined || this.clock === undefined) {
      reply?.reject(new EntityUnavailableError('entities are not running on this node'))
      return
    }
    if (this.routing >= this.routesMax) {
      reply?.reject(new MailboxFullError(ENTITIES_PATH, this.routesMax))
      return
    }
    this.routing++
    const timeoutMs = (reply as { timeoutMs?: number } | undefined)?.timeoutMs ?? CONTROL_TIMEOUT_MS
    target(shardOf(entity.type, entity.key, this.shards), { entityType: entity.type, key: entity.key, body: message, reply, deadlineMs: this.clock.monotonicMs() + timeoutMs })
  }

  /** @internal The entities actor took one routed message. */
  routed(): void {
    this.routing--
  }

  /** The activations living on this node. */
  list(): EntityInfo[] {
    return this.listing()
  }

  /** @internal */
  attach(target: (shard: number, delivery: Delivery) => void, listing: () => EntityInfo[], clock: { monotonicMs(): number }): void {
    this.target = target
    this.listing = listing
    this.clock = clock
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
const validDeliver = (_from: string, m: unknown): boolean => {
  const d = m as { shard?: unknown; epoch?: unknown; entity?: unknown; key?: unknown; tell?: unknown }
  return isInt(d.shard) && isInt(d.epoch) && isName(d.entity) && isName(d.key) && typeof d.tell === 'boolean'
}
const validGrants = (v: unknown): boolean => Array.isArray(v) && v.length <= 1_000_000 && v.every((g) => isInt((g as ShardGrant)?.shard) && isInt((g as ShardGrant)?.epoch))

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
      deliver: validDeliver,
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
    },
    setup(ctx) {
      const self = init.network.self
      const clock = ctx.env.clock
      const now = (): number => clock.monotonicMs()
      const owner = new OwnerCore<Inbound>(options)
      const activations = new Map<string, Activation>()
      let nextRenewMs = 0
      let renewing = false
      const regionOf = (node: NodeId): ActorRef<EntitiesMsg> => ctx.ref<EntitiesMsg>({ node, path: ENTITIES_PATH })
      const remaining = (d: Delivery): number => Math.max(1, d.deadlineMs - now())

      const router = new EntityRouter(self, {
        local: (shard, epoch, delivery) => offer(shard, epoch, { delivery, bounce: () => router.bounced(self, shard, epoch, delivery) }) !== 'bounce',
        forward: (to, shard, epoch, delivery) => {
          const tell = delivery.reply === undefined
          regionOf(to)
            .ask(
              { type: 'deliver', shard, epoch, entity: delivery.entityType, key: delivery.key, body: delivery.body, tell },
              { timeoutMs: tell ? CONTROL_TIMEOUT_MS : remaining(delivery) },
            )
            .then(
              (answer) => {
                if ('bounce' in answer) ctx.self.tell({ type: 'bounced', from: to, shard, epoch, delivery })
                else delivery.reply?.resolve(answer.value)
              },
              (error: unknown) => {
                if (error instanceof NodeUnreachableError || error instanceof AskTimeoutError) ctx.self.tell({ type: 'failed', owner: to, shard, epoch })
                delivery.reply?.reject(toError(error))
              },
            )
        },
        marker: (to, shard, epoch, token) => {
          const done = (): void => ctx.self.tell({ type: 'drained', shard, token })
          regionOf(to).ask({ type: 'marker', shard, epoch }, { timeoutMs: CONTROL_TIMEOUT_MS }).then(done, done)
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
      init.handle.attach((shard, delivery) => ctx.self.tell({ type: 'route', shard, delivery }), listing, clock)
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
        else {
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
        const activation: Activation = { id, ref, type: def.type, key, shard, epoch, lastMs: now(), stopping: false, waiting: [] }
        activations.set(id, activation)
        ctx.watch(ref, () => ({ type: 'terminated', id, ref }))
        return activation
      }

      function passivate(activation: Activation, force: boolean): void {
        if (activation.stopping) return
        activation.stopping = true
        if (force) ctx.stop(activation.ref)
        else activation.ref.tell({ type: PASSIVATE })
      }

      function terminated(id: string, ref: ActorRef<Message>): void {
        const activation = activations.get(id)
        if (activation === undefined || !activation.ref.equals(ref)) return
        activations.delete(id)
        for (const inbound of activation.waiting) if (offer(activation.shard, activation.epoch, inbound) === 'bounce') settleBounced(inbound)
        maybeReleased(activation.shard)
      }

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
       * not lead (an election under way) is retried at the next tick, not after renewEveryMs: leases
       * outlive a leader change only if the new leader hears the claims in time. The callbacks touch
       * only these two fields, so a lost self-message cannot leave renewals stuck.
       */
      function renew(): void {
        const leader = init.cluster.leader()
        if (renewing || leader === null || leader === undefined) return
        renewing = true
        const sentAtMs = now()
        nextRenewMs = sentAtMs + options.renewEveryMs
        regionOf(leader.nodeId)
          .ask({ type: 'renew', held: owner.claims(sentAtMs) }, { timeoutMs: options.leaseMs / 2 })
          .then(
            (answer) => {
              renewing = false
              if (answer.ok) ctx.self.tell({ type: 'renewed', reply: answer.value, sentAtMs })
              else nextRenewMs = 0
            },
            () => {
              renewing = false
              nextRenewMs = 0
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
          const expired = owner.expire(t)
          dropShards(expired.dropped)
          for (const batch of expired.bounced) for (const item of batch.items) settleBounced(item)
          for (const a of activations.values()) {
            const idle = defs.get(a.type)?.spec.passivateAfterMs ?? PASSIVATE_AFTER_MS
            if (!a.stopping && t - a.lastMs > idle) passivate(a, false)
          }
          if (t >= nextRenewMs) renew()
          const c = lead()
          if (c !== undefined) for (const node of c.tick(t, candidates())) regionOf(node).tell({ type: 'hint' })
        },
        route: (msg) => {
          init.handle.routed()
          if (!router.send(msg.shard, msg.delivery)) msg.delivery.reply?.reject(new MailboxFullError(`entity ${msg.delivery.entityType}/${msg.delivery.key}`, 10_000))
        },
        deliver: (msg, c) => {
          const reply = c.defer()
          const delivery: Delivery = {
            entityType: msg.entity,
            key: msg.key,
            body: msg.body,
            reply: msg.tell ? undefined : { resolve: (value) => reply.resolve({ ok: true, value }), reject: (error) => reply.reject(error) },
            deadlineMs: now() + CONTROL_TIMEOUT_MS,
          }
          const bounce = (): void => reply.resolve({ bounce: true })
          const inbound: Inbound = msg.tell ? { delivery, bounce, accepted: () => reply.resolve({ ok: true }) } : { delivery, bounce }
          if (offer(msg.shard, msg.epoch, inbound) === 'bounce') bounce()
          return reply
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
          const outcome = owner.renewed(msg.reply, msg.sentAtMs)
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
        terminated: (msg) => terminated(msg.id, msg.ref),
        peer: (msg) => {
          if (!msg.up) router.peerDown(msg.node)
        },
        list: () => listing(),
      }
      const wrapped: Record<string, unknown> = {}
      for (const [type, handler] of Object.entries(handlers) as Array<[string, (m: never, c: never) => unknown]>) {
        wrapped[type] = type === 'tick' || type === 'peer' || type === 'list' ? handler : (m: never, c: never) => (startTicking(), handler(m, c))
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
