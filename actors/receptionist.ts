/**
 * The receptionist: runs on every node at /system/receptionist and keeps the cluster's service
 * registry (src/receptionist/). Actors of this node register under service keys here; this node's
 * receptionist owns those registrations, watches each registered actor and drops it when it
 * terminates, and announces every change to the receptionists of its connected peers, per key,
 * numbered by one version counter per node (src/receptionist/view.ts says how late and reordered
 * announcements are ignored). A peer that comes up gets everything at once; a peer that goes down
 * takes its registrations with it. Every few seconds each node sends a digest of its keys and
 * versions, so announcements lost on the way are pulled again: to every peer while listings
 * change, else to one peer in turn (digests.ts), so an idle node's digests cost O(1), not O(N).
 *
 * Subscribers (local actors) get a Listing of a key at once and after every change of its refs;
 * find answers the current refs.
 *
 * A thin driver: it watches, sends and tells what sans-I/O modules of src/receptionist/ decide.
 * - registry.ts: this node's registrations, their bounds and versions, and the announcements of
 *   them (updates, digests, everything for a peer that comes up or pulls);
 * - view.ts: what the peers announced; protocol.ts: the checks of what they send;
 * - subscriptions.ts: the local subscribers, and which listings are due to them;
 * - digests.ts: which peers get the digest at a tick.
 */
import { defineActor, DigestSchedule, digestProblem, formatAddress, LocalRegistry, PeerView, RECEPTIONIST_PATH, Subscriptions, updateProblem } from '../src/internal.js'
import type {
  ActorContext,
  ActorRef,
  AnyActorRef,
  DeferredReply,
  DropReason,
  Handlers,
  Listing,
  Message,
  Network,
  NodeId,
  ReceptionistMsg,
  ReceptionistStats,
  ReceptionistUpdate,
} from '../src/internal.js'

/** Time between digest ticks (to every peer while registrations change, else to one: src/receptionist/digests.ts). */
const DIGEST_EVERY_MS = 2000
/** How long after a change digests keep going to every peer: five ticks, so a lost one is repaired. */
const DIGEST_HOT_MS = 10_000
/** Room for a burst of registrations and peer announcements. */
const MAILBOX_CAPACITY = 100_000

export interface ReceptionistActorInit {
  network: Network
  stats: ReceptionistStats
}

export function receptionistActor(init: ReceptionistActorInit) {
  /** This node's registrations; its incarnation and change counter outlive a restart of the actor, so versions only grow. */
  const registry = new LocalRegistry(init.network.self)
  const check = (problem: DropReason | undefined): boolean => {
    if (problem !== undefined) init.stats[problem]++
    return problem === undefined
  }
  return defineActor<ReceptionistMsg>({
    mailbox: { capacity: MAILBOX_CAPACITY },
    // Handlers refuse bad input without throwing; an unexpected error should not cost the node its registrations.
    supervision: { decide: () => 'resume' },
    remote: {
      register: 'never',
      deregister: 'never',
      subscribe: 'never',
      unsubscribe: 'never',
      find: 'never',
      terminated: 'never',
      peer: 'never',
      tick: 'never',
      update: (from, m) => check(updateProblem(from, m)),
      digest: (_from, m) => check(digestProblem(m)),
      pull: 'any',
    },
    setup: (ctx) => new ReceptionistDriver(ctx, init, registry).handlers(),
  })
}

class ReceptionistDriver {
  private readonly view = new PeerView()
  private readonly subscriptions: Subscriptions<ActorRef<Listing<Message>>>
  /** Watched actors (registered or subscribed), by address. */
  private readonly watched = new Set<string>()
  private readonly digests = new DigestSchedule(DIGEST_HOT_MS)

  constructor(
    private readonly ctx: ActorContext<ReceptionistMsg>,
    private readonly init: ReceptionistActorInit,
    private readonly registry: LocalRegistry,
  ) {
    // A restarted receptionist has lost its registrations: peers learn so from its digest.
    registry.restart(ctx.env.clock.wallMs())
    this.subscriptions = new Subscriptions(init.network.self, (key) => this.addresses(key))
    const unsubscribe = init.network.onPeerChange((node, up) => ctx.self.tell({ type: 'peer', node, up }))
    ctx.onStop(() => unsubscribe())
    ctx.timers.every('digest', DIGEST_EVERY_MS, { type: 'tick' })
    for (const node of init.network.peers()) this.sendAll(node)
  }

  handlers(): Handlers<ReceptionistMsg> {
    const { registry, subscriptions, view } = this
    return {
      register: (m, c) => {
        const address = formatAddress(m.ref.address)
        const registered = registry.register(m.key, m.ref.address.node, address)
        if ('held' in registered) return true
        if ('refused' in registered) {
          // Refusals answer the asker without failing the actor: its state is intact.
          const reply: DeferredReply<true> = c.defer()
          reply.reject(registered.refused)
          return reply
        }
        this.watch(m.ref)
        this.announce(registered.update)
        return true
      },
      deregister: (m) => {
        const update = registry.remove(m.key, formatAddress(m.ref.address))
        if (update !== undefined) this.announce(update)
        return true
      },
      subscribe: (m) => {
        const address = formatAddress(m.subscriber.address)
        const current = subscriptions.subscribe(m.key, m.subscriber.address.node, address, m.subscriber)
        if (current === undefined) {
          this.ctx.log.warn('subscription refused: invalid key or subscriber of another node', { key: String(m.key), subscriber: address })
          return
        }
        this.watch(m.subscriber)
        m.subscriber.tell({ type: 'listing', key: { id: m.key }, refs: current.map((a) => this.refOf(a)) })
      },
      unsubscribe: (m) => subscriptions.unsubscribe(m.key, formatAddress(m.subscriber.address)),
      find: (m) => this.addresses(m.key).map((a) => this.refOf(a)),
      terminated: (m) => {
        this.watched.delete(m.address)
        for (const update of registry.removeEverywhere(m.address)) this.announce(update)
        subscriptions.terminated(m.address)
      },
      peer: (m) => {
        this.changed()
        if (m.up) this.sendAll(m.node)
        else {
          registry.peerDown(m.node)
          this.notify(view.drop(m.node))
        }
      },
      tick: () => {
        const due = this.digests.due(this.init.network.peers(), this.ctx.env.clock.monotonicMs())
        if (due.length === 0) return
        const digest = registry.digest()
        for (const node of due) this.peerRef(node).tell(digest)
      },
      update: (m, c) => {
        const from = c.sender
        if (from === undefined) return
        const applied = view.update(from, m.inc, m.version, m.key, m.refs)
        if (applied.ignored !== undefined) this.init.stats[applied.ignored]++
        if (applied.changed.length > 0) this.changed()
        this.notify(applied.changed)
      },
      digest: (m, c) => {
        const from = c.sender
        if (from === undefined) return
        const applied = view.digest(from, m.inc, m.version, m.keys)
        if (applied.ignored !== undefined) this.init.stats[applied.ignored]++
        if (applied.changed.length > 0) this.changed()
        this.notify(applied.changed)
        if (applied.pull === true) {
          this.changed()
          this.peerRef(from).tell({ type: 'pull' })
        }
      },
      pull: (_m, c) => {
        const from = c.sender
        if (from === undefined) return
        this.changed()
        const messages = registry.pulled(from, this.ctx.env.clock.monotonicMs())
        if (messages.length > 0) this.tellAll(from, messages)
      },
    }
  }

  /** The addresses under `key` on this node and its peers, sorted. */
  private addresses(key: string): string[] {
    return [...new Set([...this.registry.addresses(key), ...this.view.refs(key)])].sort()
  }

  private refOf(address: string): ActorRef<Message> {
    return this.ctx.ref<Message>(address)
  }

  private peerRef(node: NodeId): ActorRef<ReceptionistMsg> {
    return this.ctx.ref<ReceptionistMsg>({ node, path: RECEPTIONIST_PATH })
  }

  private watch(ref: AnyActorRef): void {
    const address = formatAddress(ref.address)
    if (this.watched.has(address)) return
    this.watched.add(address)
    this.ctx.watch(ref, () => ({ type: 'terminated', address }))
  }

  /** Sends a change of this node's registrations to every connected peer, and the listings it makes due. */
  private announce(update: ReceptionistUpdate): void {
    this.changed()
    for (const node of this.init.network.peers()) this.peerRef(node).tell(update)
    this.notify([update.key])
  }

  /** Sends everything this node has to `node`: every key, then the digest that removes what it no longer has. */
  private sendAll(node: NodeId): void {
    this.tellAll(node, this.registry.full(node, this.ctx.env.clock.monotonicMs()))
  }

  private tellAll(node: NodeId, messages: readonly ReceptionistMsg[]): void {
    const to = this.peerRef(node)
    for (const message of messages) to.tell(message)
  }

  /** A sign that listings are moving: digests go to every peer for a while (DigestSchedule). */
  private changed(): void {
    this.digests.changed(this.ctx.env.clock.monotonicMs())
  }

  private notify(keys: Iterable<string>): void {
    for (const due of this.subscriptions.due(keys)) {
      const message: Listing<Message> = { type: 'listing', key: { id: due.key }, refs: due.addresses.map((a) => this.refOf(a)) }
      for (const sub of due.subscribers) sub.tell(message)
    }
  }
}
