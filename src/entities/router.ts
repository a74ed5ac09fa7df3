/**
 * The sender side of entity messaging (sans-I/O: effects are injected). Every message to an entity
 * goes to the owner of its shard, stamped with the owner's epoch; the owner accepts it only while
 * it holds that epoch, and bounces it otherwise.
 *
 * Per-sender order: an owner accepts the messages of one epoch as a contiguous run (it holds early
 * ones until its grant arrives, and once it bounces one, it bounces every later one of that epoch),
 * and the network keeps order between two peers. So when a bounce arrives the router stops sending
 * the shard's messages, sends a marker to the old owner and waits for it (every bounce of earlier
 * messages arrives before the marker's answer), and only then sends, to the new owner, the bounced
 * messages in the order they were sent, followed by the messages queued meanwhile. A message lost
 * with a peer leaves a gap, never a reordering: tells are at most once, asks fail or time out.
 */
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
}

/** What the router asks its driver to do. */
export interface RouterEffects {
  /** Delivers to this node's own activation; false when this node does not hold `epoch` (a bounce). */
  local(shard: number, epoch: number, delivery: Delivery): boolean
  /** Sends to the owner; a refusal comes back through `bounced`. */
  forward(owner: NodeId, shard: number, epoch: number, delivery: Delivery): void
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
  /** The last route that bounced or failed: a locate naming it again is stale and waits like "no owner". */
  stale: { owner: NodeId; epoch: number } | undefined
}

export class EntityRouter {
  private readonly shards = new Map<number, ShardRoute>()
  private nextToken = 1

  constructor(
    readonly self: NodeId,
    private readonly effects: RouterEffects,
    /** Messages one shard may queue while it has no route; more are refused. */
    private readonly queueMax = 10_000,
  ) {}

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
    this.flush(shard, st)
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
    if (owner === undefined || (st.stale !== undefined && st.stale.owner === owner.owner && st.stale.epoch === owner.epoch)) {
      st.retryAtMs = retryAtMs
      return
    }
    st.stale = undefined
    st.route = owner
    this.flush(shard, st)
  }

  /** The connection to `node` closed: markers to it will not come back, routes through it are stale. */
  peerDown(node: NodeId): void {
    for (const [shard, st] of this.shards) {
      if (st.route?.owner === node) st.route = undefined
      if (st.draining?.owner === node) st.draining = undefined
      if (st.route === undefined && st.queued.length + st.bounced.length > 0) this.ensureLocating(shard, st)
      this.flush(shard, st)
    }
  }

  /** Retries due locates and drops settled asks from the queues. */
  tick(nowMs: number): void {
    for (const [shard, st] of this.shards) {
      st.queued = st.queued.filter(live)
      st.bounced = st.bounced.filter(live)
      if (st.retryAtMs !== undefined && nowMs >= st.retryAtMs) {
        st.retryAtMs = undefined
        this.ensureLocating(shard, st)
      }
    }
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
      st.stale = st.route
      st.route = undefined
      if (owner === this.self) {
        // Local deliveries are synchronous: nothing of this epoch is still on its way.
        st.draining = undefined
      } else {
        const token = this.nextToken++
        st.draining = { owner, token }
        this.effects.marker(owner, shard, epoch, token)
      }
    }
    this.ensureLocating(shard, st)
  }

  private flush(shard: number, st: ShardRoute): void {
    while (st.route !== undefined && st.draining === undefined) {
      const next = st.bounced.length > 0 ? st.bounced.shift() : st.queued.shift()
      if (next === undefined) return
      if (next.reply === undefined || live(next)) this.dispatch(shard, st, st.route, next)
    }
    if (st.queued.length + st.bounced.length > 0) this.ensureLocating(shard, st)
  }

  private dispatch(shard: number, st: ShardRoute, route: { owner: NodeId; epoch: number }, delivery: Delivery): void {
    if (route.owner !== this.self) {
      this.effects.forward(route.owner, shard, route.epoch, delivery)
      return
    }
    if (!this.effects.local(shard, route.epoch, delivery)) {
      // First in line again: it was either the next bounced message or (none left) older than the queue.
      st.bounced.unshift(delivery)
      this.invalidate(shard, st, route.owner, route.epoch)
    }
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
