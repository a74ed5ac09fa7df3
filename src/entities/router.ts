/**
 * The sender side of entity messaging (sans-I/O: effects are injected). Every message to an entity
 * goes to the owner of its shard, stamped with the owner's epoch; the owner accepts it only while
 * it holds that epoch, and bounces it otherwise.
 *
 * Batches: messages for one remote owner wait in an outbox and go as one batch (`forward`), in
 * send order, when the driver calls `flush` (it does at the end of the I/O turn in which `wake`
 * told it there is something to send), when the batch is full (count or estimated bytes), or before a
 * marker to that owner. The owner offers a batch's messages one by one in order, so a batch is just
 * a run of consecutive messages and everything below holds message by message.
 *
 * Per-sender order: an owner accepts the messages of one epoch as a contiguous run (it holds early
 * ones until its grant arrives, and once it bounces one, it bounces every later one of that epoch,
 * in the same batch or a later one), and the network keeps order between two peers. The driver
 * reports the bounces of a batch in the batch's order, and the outcomes (bounces, failures, marker
 * answers) of everything sent to one owner in the order it was sent, whatever order the replies
 * come in (a batch's reply waits until each of its messages was accepted or bounced, so replies of
 * batches and markers may cross). So when a bounce arrives the router stops sending the shard's
 * messages, flushes the owner's outbox, sends a marker to the old owner and
 * waits for it (every bounce of earlier messages is reported before the marker's answer), and only
 * then sends, to the new owner, the bounced messages in the order they were sent, followed by the
 * messages queued meanwhile. A batch that never left is reported bounced as a whole, in order. A
 * message lost with a peer leaves a gap, never a reordering: tells are at most once, asks fail or
 * time out.
 */
import { BODY_MAX_DEPTH } from '../../protocols/envelope/index.js'
import type { ReplyTarget } from '../actor/reply.js'
import type { NodeId } from '../net/types.js'

/** One message to an entity, with where its answer goes (asks). */
export interface Delivery {
  readonly entityType: string
  readonly key: string
  readonly body: unknown
  readonly reply: ReplyTarget | undefined
  /** Monotonic deadline of an ask. */
  readonly deadlineMs: number
  /**
   * Set for a watch of the key's activation (no body): routed like a message, so it reaches the
   * activation this node's earlier messages reached; `id` is the watcher node's name for it.
   */
  readonly watch?: { readonly node: NodeId; readonly id: number } | undefined
}

/** One message forwarded to a remote owner, under the epoch of the route it took. */
export interface Forward {
  readonly shard: number
  readonly epoch: number
  readonly delivery: Delivery
}

/** Bounds of one batch to an owner: far below the envelope limit (1 MiB), with room for headers. */
export interface BatchLimits {
  readonly maxItems: number
  /** Estimated encoded bytes (see approxBytes); one message larger than this goes alone. */
  readonly maxBytes: number
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxItems: 256, maxBytes: 256 * 1024 }

/** What the router asks its driver to do. */
export interface RouterEffects {
  /** Delivers to this node's own activation; false when this node does not hold `epoch` (a bounce). */
  local(shard: number, epoch: number, delivery: Delivery): boolean
  /** Sends a batch to the owner, in order; refusals come back through `bounced`, in order. */
  forward(owner: NodeId, batch: readonly Forward[]): void
  /** The outbox went from empty to not empty: call `flush` soon (the driver chooses when; the batch grows until then). */
  wake(): void
  /** Sends a marker behind everything sent to `owner`; its answer (or failure) comes back through `drained`. */
  marker(owner: NodeId, shard: number, epoch: number, token: number): void
  /** Asks the leader where `shard` lives; the answer comes back through `located`. */
  locate(shard: number): void
}

interface ShardRoute {
  route: { owner: NodeId; epoch: number } | undefined
  /** Messages bounced by the old owner, in send order. */
  bounced: Delivery[]
  /** Messages sent while the shard had no usable route, in send order. */
  queued: Delivery[]
  draining: { owner: NodeId; token: number } | undefined
  locating: boolean
  /** Monotonic time of the next locate attempt, when the last one found no owner. */
  retryAtMs: number | undefined
  /**
   * The last route that bounced or failed: a locate naming it again at once is stale and waits like
   * "no owner"; named again after that wait, it is followed (a suspended owner may serve it again).
   */
  stale: { owner: NodeId; epoch: number; waited: boolean } | undefined
}

interface Outbox {
  readonly items: Forward[]
  bytes: number
}

export class EntityRouter {
  private readonly shards = new Map<number, ShardRoute>()
  private readonly outbox = new Map<NodeId, Outbox>()
  private nextToken = 1

  constructor(
    readonly self: NodeId,
    private readonly effects: RouterEffects,
    /** Messages one shard may queue while it has no route; more are refused. */
    private readonly queueMax = 10_000,
    private readonly limits: BatchLimits = DEFAULT_BATCH_LIMITS,
  ) {}

  /** Sends every waiting batch. */
  flush(): void {
    for (const owner of [...this.outbox.keys()]) this.flushTo(owner)
  }

  /** Routes a message; false when it had to be refused (the shard's queue is full). */
  send(shard: number, delivery: Delivery): boolean {
    const st = this.state(shard)
    if (st.route !== undefined && st.draining === undefined && st.queued.length === 0 && st.bounced.length === 0) {
      this.dispatch(shard, st, st.route, delivery)
      return true
    }
    if (st.queued.length >= this.queueMax) return false
    st.queued.push(delivery)
    this.ensureLocating(shard, st)
    return true
  }

  /** `from` refused a message sent under `epoch`. */
  bounced(from: NodeId, shard: number, epoch: number, delivery: Delivery): void {
    const st = this.state(shard)
    st.bounced.push(delivery)
    this.invalidate(shard, st, from, epoch)
  }

  /** A send to `owner` failed (unreachable): messages in flight there are lost; find the owner again. */
  failed(owner: NodeId, shard: number, epoch: number): void {
    const st = this.state(shard)
    this.invalidate(shard, st, owner, epoch)
  }

  /** The marker `token` came back, or could not travel: nothing more will bounce from that owner. */
  drained(shard: number, token: number): void {
    const st = this.state(shard)
    if (st.draining?.token !== token) return
    st.draining = undefined
    this.sendWaiting(shard, st)
  }

  /**
   * The leader's answer to a locate: the owner, or undefined to try again at `retryAtMs`. An answer
   * naming the route that just bounced or failed is treated as undefined: the leader's table lags
   * the owner (which dropped that epoch for good), and sending there again at once would loop
   * locate -> bounce -> locate as fast as messages go (in the simulator, without time passing).
   */
  located(shard: number, owner: { owner: NodeId; epoch: number } | undefined, retryAtMs: number): void {
    const st = this.state(shard)
    st.locating = false
    if (owner === undefined || (st.stale !== undefined && !st.stale.waited && st.stale.owner === owner.owner && st.stale.epoch === owner.epoch)) {
      if (owner !== undefined) st.stale!.waited = true
      st.retryAtMs = retryAtMs
      return
    }
    st.stale = undefined
    st.route = owner
    this.sendWaiting(shard, st)
  }

  /** The connection to `node` closed: markers to it will not come back, routes through it are stale. */
  peerDown(node: NodeId): void {
    this.flushTo(node)
    for (const [shard, st] of this.shards) {
      if (st.route?.owner === node) st.route = undefined
      if (st.draining?.owner === node) st.draining = undefined
      if (st.route === undefined && st.queued.length + st.bounced.length > 0) this.ensureLocating(shard, st)
      this.sendWaiting(shard, st)
    }
  }

  /** Retries due locates and drops settled asks from the queues. */
  tick(nowMs: number): void {
    for (const [shard, st] of this.shards) {
      // Nearly every shard's queues are empty: no two new arrays per shard per tick for them.
      if (st.queued.length > 0) st.queued = st.queued.filter(live)
      if (st.bounced.length > 0) st.bounced = st.bounced.filter(live)
      if (st.retryAtMs !== undefined && nowMs >= st.retryAtMs) {
        st.retryAtMs = undefined
        this.ensureLocating(shard, st)
      }
    }
    this.flush()
  }

  /** Messages waiting for a route, over all shards. */
  waiting(): number {
    let n = 0
    for (const st of this.shards.values()) n += st.queued.length + st.bounced.length
    return n
  }

  /** The cached owner of a shard (status, tests). */
  routeOf(shard: number): { owner: NodeId; epoch: number } | undefined {
    return this.shards.get(shard)?.route
  }

  private invalidate(shard: number, st: ShardRoute, owner: NodeId, epoch: number): void {
    if (st.route !== undefined && st.route.owner === owner && st.route.epoch === epoch) {
      st.stale = { ...st.route, waited: false }
      st.route = undefined
      if (owner === this.self) {
        // Local deliveries are synchronous: nothing of this epoch is still on its way.
        st.draining = undefined
      } else {
        const token = this.nextToken++
        st.draining = { owner, token }
        this.flushTo(owner)
        this.effects.marker(owner, shard, epoch, token)
      }
    }
    this.ensureLocating(shard, st)
  }

  private sendWaiting(shard: number, st: ShardRoute): void {
    while (st.route !== undefined && st.draining === undefined) {
      const next = st.bounced.length > 0 ? st.bounced.shift() : st.queued.shift()
      if (next === undefined) return
      if (next.reply === undefined || live(next)) this.dispatch(shard, st, st.route, next)
    }
    if (st.queued.length + st.bounced.length > 0) this.ensureLocating(shard, st)
  }

  private dispatch(shard: number, st: ShardRoute, route: { owner: NodeId; epoch: number }, delivery: Delivery): void {
    if (route.owner !== this.self) {
      this.enqueue(route.owner, { shard, epoch: route.epoch, delivery })
      return
    }
    if (!this.effects.local(shard, route.epoch, delivery)) {
      // First in line again: it was either the next bounced message or (none left) older than the queue.
      st.bounced.unshift(delivery)
      this.invalidate(shard, st, route.owner, route.epoch)
    }
  }

  private enqueue(owner: NodeId, item: Forward): void {
    const bytes = approxBytes(item.delivery.body, this.limits.maxBytes) + item.delivery.key.length + item.delivery.entityType.length + 16
    let out = this.outbox.get(owner)
    if (out !== undefined && out.bytes + bytes > this.limits.maxBytes) {
      this.flushTo(owner)
      out = undefined
    }
    if (out === undefined) {
      if (this.outbox.size === 0) this.effects.wake()
      out = { items: [], bytes: 0 }
      this.outbox.set(owner, out)
    }
    out.items.push(item)
    out.bytes += bytes
    if (out.items.length >= this.limits.maxItems || out.bytes >= this.limits.maxBytes) this.flushTo(owner)
  }

  private flushTo(owner: NodeId): void {
    const out = this.outbox.get(owner)
    if (out === undefined) return
    this.outbox.delete(owner)
    this.effects.forward(owner, out.items)
  }

  private ensureLocating(shard: number, st: ShardRoute): void {
    if (st.route !== undefined || st.locating || st.retryAtMs !== undefined) return
    st.locating = true
    this.effects.locate(shard)
  }

  private state(shard: number): ShardRoute {
    let st = this.shards.get(shard)
    if (st === undefined) {
      st = { route: undefined, bounced: [], queued: [], draining: undefined, locating: false, retryAtMs: undefined, stale: undefined }
      this.shards.set(shard, st)
    }
    return st
  }
}

function live(delivery: Delivery): boolean {
  return !(delivery.reply as { settled?: boolean } | undefined)?.settled
}

/**
 * A cheap estimate of a message's encoded size (msgpack is close to this for strings and bytes and
 * smaller for numbers), walked no further than `limit`: enough to keep batches under the envelope
 * limit without encoding them twice. Recursive rather than with a stack array (it runs for every
 * message sent to another peer), and no deeper than the codec accepts: a deeper body is refused
 * when its batch is encoded, so what lies below does not matter here.
 */
export function approxBytes(value: unknown, limit: number, depth = 0): number {
  if (typeof value === 'string') return value.length * 3 + 5
  if (value === null || typeof value !== 'object' || depth > BODY_MAX_DEPTH) return 9
  if (value instanceof Uint8Array) return value.byteLength + 5
  let total = 5
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && total <= limit; i++) total += approxBytes(value[i], limit - total, depth + 1)
    return total
  }
  // for-in, not Object.entries: no array per object on the path of every message.
  for (const k in value) {
    if (total > limit) break
    total += k.length + 2 + approxBytes((value as Record<string, unknown>)[k], limit - total, depth + 1)
  }
  return total
}
