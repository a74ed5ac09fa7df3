/**
 * The receptionist: runs on every node at /system/receptionist and keeps the cluster's service
 * registry (src/receptionist/). Actors of this node register under service keys here; this node's
 * receptionist owns those registrations, watches each registered actor and drops it when it
 * terminates, and announces every change to the receptionists of its connected peers, per key,
 * numbered by one version counter per node (src/receptionist/view.ts says how late and reordered
 * announcements are ignored). A peer that comes up gets everything at once; a peer that goes down
 * takes its registrations with it. Every few seconds each node sends its peers a digest of its
 * keys and versions, so announcements lost on the way are pulled again.
 *
 * Subscribers (local actors) get a Listing of a key at once and after every change of its refs;
 * find answers the current refs.
 */
import {
  ADDRESS_MAX_CHARS,
  defineActor,
  digestProblem,
  formatAddress,
  InvalidArgumentError,
  isServiceKeyName,
  MAX_KEYS_PER_NODE,
  MAX_REFS_PER_KEY,
  MAX_REGISTRATIONS_PER_NODE,
  PeerView,
  RECEPTIONIST_PATH,
  ReceptionistFullError,
  updateProblem,
} from '../src/internal.js'
import type { ActorRef, AnyActorRef, DeferredReply, DropReason, Handlers, Listing, Message, Network, NodeId, ReceptionistMsg, ReceptionistStats } from '../src/internal.js'

/** Time between digests to every peer. */
const DIGEST_EVERY_MS = 2000
/** A peer asking for everything again within this time gets nothing more (the last one is on its way). */
const PULL_GAP_MS = 500
/** Room for a burst of registrations and peer announcements. */
const MAILBOX_CAPACITY = 100_000

export interface ReceptionistActorInit {
  network: Network
  stats: ReceptionistStats
}

export function receptionistActor(init: ReceptionistActorInit) {
  const self = init.network.self
  const stats = init.stats
  /** This node's incarnation and change counter; they outlive a restart of the actor, so versions only grow. */
  let inc: number | undefined
  let version = 0
  const check = (problem: DropReason | undefined): boolean => {
    if (problem !== undefined) stats[problem]++
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
    setup(ctx) {
      inc ??= Math.max(0, Math.floor(ctx.env.clock.wallMs()))
      const now = (): number => ctx.env.clock.monotonicMs()
      /** This node's registrations (key -> addresses), and the version of each key's last change. */
      const local = new Map<string, Set<string>>()
      const localVersion = new Map<string, number>()
      let registrations = 0
      const view = new PeerView()
      /** Local subscribers per key. */
      const subscribers = new Map<string, Map<string, ActorRef<Listing<Message>>>>()
      /** What each key's subscribers were last sent (joined addresses). */
      const lastSent = new Map<string, string>()
      /** Watched actors (registered or subscribed), by address. */
      const watched = new Set<string>()
      const lastFull = new Map<NodeId, number>()

      const peerRef = (node: NodeId): ActorRef<ReceptionistMsg> => ctx.ref<ReceptionistMsg>({ node, path: RECEPTIONIST_PATH })
      const refOf = (address: string): ActorRef<Message> => ctx.ref<Message>(address)
      const addresses = (key: string): string[] => [...new Set([...(local.get(key)?.keys() ?? []), ...view.refs(key)])].sort()
      const listing = (key: string): Array<ActorRef<Message>> => addresses(key).map(refOf)

      function watch(ref: AnyActorRef): void {
        const address = formatAddress(ref.address)
        if (watched.has(address)) return
        watched.add(address)
        ctx.watch(ref, () => ({ type: 'terminated', address }))
      }

      function notify(keys: Iterable<string>): void {
        for (const key of new Set(keys)) {
          const subs = subscribers.get(key)
          if (subs === undefined) continue
          const current = addresses(key)
          const joined = current.join(' ')
          if (lastSent.get(key) === joined) continue
          lastSent.set(key, joined)
          const message: Listing<Message> = { type: 'listing', key: { id: key }, refs: current.map(refOf) }
          for (const sub of subs.values()) sub.tell(message)
        }
      }

      function updateOf(key: string): ReceptionistMsg {
        return { type: 'update', inc: inc!, version: localVersion.get(key) ?? version, key, refs: [...(local.get(key)?.keys() ?? [])] }
      }
      function digest(): ReceptionistMsg {
        return { type: 'digest', inc: inc!, version, keys: [...localVersion].filter(([key]) => local.has(key)) }
      }
      /** Sends everything this node has to `node`: every key, then the digest that removes what it no longer has. */
      function sendAll(node: NodeId): void {
        lastFull.set(node, now())
        const to = peerRef(node)
        for (const key of local.keys()) to.tell(updateOf(key))
        to.tell(digest())
      }

      /** Records a change of `key` and announces it to every connected peer. */
      function changed(key: string): void {
        version++
        const refsOfKey = local.get(key)
        if (refsOfKey !== undefined && refsOfKey.size === 0) local.delete(key)
        if (local.has(key)) localVersion.set(key, version)
        else localVersion.delete(key)
        const update: ReceptionistMsg = { type: 'update', inc: inc!, version, key, refs: [...(local.get(key)?.keys() ?? [])] }
        for (const node of init.network.peers()) peerRef(node).tell(update)
        notify([key])
      }

      function remove(key: string, address: string): boolean {
        const set = local.get(key)
        if (set === undefined || !set.delete(address)) return false
        registrations--
        changed(key)
        return true
      }

      const unsubscribe = init.network.onPeerChange((node, up) => ctx.self.tell({ type: 'peer', node, up }))
      ctx.onStop(() => unsubscribe())
      ctx.timers.every('digest', DIGEST_EVERY_MS, { type: 'tick' })
      // A restarted receptionist has lost its registrations: peers learn so from its digest.
      version++
      for (const node of init.network.peers()) sendAll(node)

      const handlers: Handlers<ReceptionistMsg> = {
        register: (m, c) => {
          // Refusals answer the asker without failing the actor: its state is intact.
          const refuse = (error: Error): DeferredReply<true> => {
            const reply = c.defer()
            reply.reject(error)
            return reply
          }
          if (!isServiceKeyName(m.key)) return refuse(new InvalidArgumentError(`invalid service key ${String(m.key)}`))
          if (m.ref.address.node !== self)
            return refuse(new InvalidArgumentError(`only actors of this node (${self}) can be registered here; ${formatAddress(m.ref.address)} lives on ${m.ref.address.node}`))
          const address = formatAddress(m.ref.address)
          if (address.length > ADDRESS_MAX_CHARS) return refuse(new InvalidArgumentError(`actor address longer than ${ADDRESS_MAX_CHARS} characters: ${address.slice(0, 80)}...`))
          const set = local.get(m.key)
          if (set?.has(address) === true) return true
          if (set === undefined && local.size >= MAX_KEYS_PER_NODE) return refuse(new ReceptionistFullError(`this node registers under ${MAX_KEYS_PER_NODE} keys already`))
          if ((set?.size ?? 0) >= MAX_REFS_PER_KEY) return refuse(new ReceptionistFullError(`${MAX_REFS_PER_KEY} actors are registered under ${m.key} on this node already`))
          if (registrations >= MAX_REGISTRATIONS_PER_NODE) return refuse(new ReceptionistFullError(`this node holds ${MAX_REGISTRATIONS_PER_NODE} registrations already`))
          local.set(m.key, (set ?? new Set<string>()).add(address))
          registrations++
          watch(m.ref)
          changed(m.key)
          return true
        },
        deregister: (m) => {
          remove(m.key, formatAddress(m.ref.address))
          return true
        },
        subscribe: (m) => {
          if (!isServiceKeyName(m.key) || m.subscriber.address.node !== self) {
            ctx.log.warn('subscription refused: invalid key or subscriber of another node', { key: String(m.key), subscriber: formatAddress(m.subscriber.address) })
            return
          }
          const address = formatAddress(m.subscriber.address)
          let subs = subscribers.get(m.key)
          if (subs === undefined) subscribers.set(m.key, (subs = new Map()))
          subs.set(address, m.subscriber)
          watch(m.subscriber)
          m.subscriber.tell({ type: 'listing', key: { id: m.key }, refs: listing(m.key) })
          lastSent.set(m.key, addresses(m.key).join(' '))
        },
        unsubscribe: (m) => {
          const subs = subscribers.get(m.key)
          subs?.delete(formatAddress(m.subscriber.address))
          if (subs?.size === 0) {
            subscribers.delete(m.key)
            lastSent.delete(m.key)
          }
        },
        find: (m) => listing(m.key),
        terminated: (m) => {
          watched.delete(m.address)
          for (const key of [...local.keys()]) remove(key, m.address)
          for (const [key, subs] of subscribers) {
            if (!subs.delete(m.address) || subs.size > 0) continue
            subscribers.delete(key)
            lastSent.delete(key)
          }
        },
        peer: (m) => {
          if (m.up) sendAll(m.node)
          else {
            lastFull.delete(m.node)
            notify(view.drop(m.node))
          }
        },
        tick: () => {
          const d = digest()
          for (const node of init.network.peers()) peerRef(node).tell(d)
        },
        update: (m, c) => {
          const from = c.sender
          if (from === undefined) return
          const applied = view.update(from, m.inc, m.version, m.key, m.refs)
          if (applied.ignored !== undefined) stats[applied.ignored]++
          notify(applied.changed)
        },
        digest: (m, c) => {
          const from = c.sender
          if (from === undefined) return
          const applied = view.digest(from, m.inc, m.version, m.keys)
          if (applied.ignored !== undefined) stats[applied.ignored]++
          notify(applied.changed)
          if (applied.pull === true) peerRef(from).tell({ type: 'pull' })
        },
        pull: (_m, c) => {
          const from = c.sender
          if (from === undefined) return
          const last = lastFull.get(from)
          if (last !== undefined && now() - last < PULL_GAP_MS) return
          sendAll(from)
        },
      }
      return handlers
    },
  })
}
