/**
 * The simulated network. It implements the same Network port as the libp2p transport, one endpoint
 * per node incarnation, over a directed link matrix with faults: latency (a minimum plus an
 * exponential tail), loss, duplication, reordering, clogging (messages held until the clog ends) and
 * blocked links (partitions of any shape, including one-way).
 *
 * Direct messages keep FIFO order per link unless reordering is on, like a stream; a message in
 * flight when its link becomes blocked is lost. Topic broadcasts are forwarded hop by hop through
 * subscribed nodes, as gossipsub does, so a broadcast crosses a partition through a bridge node.
 * New connections come up at once (a dial takes about one round trip); a broken one is noticed only
 * PEER_DETECT_MS later, so a short flap goes unnoticed, as with real TCP.
 *
 * Positions may also be services (the job log, the cache), so a node can be cut off from them.
 */
import type { SeededRandom } from '../../src/env/prng.js'
import type { AbortOptions } from '../../src/env/types.js'
import { NodeUnreachableError } from '../../src/errors.js'
import type { MessageHandler, Network, NodeId, PeerListener } from '../../src/net/types.js'
import { EventKind, type Kernel, type Owner } from '../kernel/loop.js'

/** Per-link behaviour. Rates are probabilities per message. */
export interface LinkFaults {
  latencyMinMs: number
  latencyMeanMs: number
  lossRate: number
  duplicateRate: number
  reorderRate: number
}

/** A healthy local network. */
export const HEALTHY_LINKS: LinkFaults = { latencyMinMs: 0.2, latencyMeanMs: 0.8, lossRate: 0, duplicateRate: 0, reorderRate: 0 }

/** Delay before endpoints learn of a topology change. */
export const PEER_DETECT_MS = 1000

const TOPIC_PREFIX = '#'

/** Counters of what the network did, for reports and tests. */
export interface NetworkStats {
  sent: number
  delivered: number
  dropped: number
  duplicated: number
  /** Payload bytes of topic broadcasts, counted once per receiver they were sent to. */
  topicBytes: number
  /** Connections a node hung up (Network.hangUp). */
  hangUps: number
}

export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, topicBytes: 0, hangUps: 0 }
  faults: LinkFaults = { ...HEALTHY_LINKS }
  private readonly ids: string[] = []
  private readonly index = new Map<string, number>()
  private readonly owners: Array<Owner | undefined> = []
  private readonly endpoints: Array<SimEndpoint | undefined> = []
  private blocked = new Uint8Array(0)
  private clogUntil = new Float64Array(0)
  private lastArrival = new Float64Array(0)
  private reach: Array<Array<{ node: number; hops: number; via: number }>> | undefined = undefined
  private detectEvent: import('../kernel/loop.js').SimEvent | undefined = undefined
  /** Pairs of positions whose connection a node hung up, until one dials the other. */
  private readonly hungUp = new Set<number>()

  constructor(
    readonly kernel: Kernel,
    private readonly random: SeededRandom,
  ) {}

  /** Adds a position (a node, or a service without an owner); all positions must be added before traffic starts. */
  addPosition(id: string, owner?: Owner): void {
    this.index.set(id, this.ids.length)
    this.ids.push(id)
    this.owners.push(owner)
    this.endpoints.push(undefined)
    const n = this.ids.length
    this.blocked = new Uint8Array(n * n)
    this.clogUntil = new Float64Array(n * n)
    this.lastArrival = new Float64Array(n * n)
  }

  /** Node ids in position order. */
  get positions(): readonly string[] {
    return this.ids
  }

  /** Creates the endpoint of a node's current incarnation. */
  attach(id: NodeId): SimEndpoint {
    const i = this.position(id)
    const endpoint = new SimEndpoint(this, id, i)
    this.endpoints[i] = endpoint
    this.topologyChanged()
    return endpoint
  }

  /** Forgets a crashed node's endpoint: its handlers and subscriptions die with it. */
  detach(id: NodeId): void {
    this.endpoints[this.position(id)] = undefined
    this.topologyChanged()
  }

  /** Blocks or unblocks traffic from `from` to `to`. */
  setBlocked(from: string, to: string, blocked: boolean): void {
    this.blocked[this.position(from) * this.ids.length + this.position(to)] = blocked ? 1 : 0
    this.topologyChanged()
  }

  /** True when traffic from `from` to `to` is blocked. */
  isBlocked(from: string, to: string): boolean {
    return this.blocked[this.position(from) * this.ids.length + this.position(to)] === 1
  }

  /** Blocks each directed link in `links` (a partition). */
  block(links: ReadonlyArray<readonly [string, string]>): void {
    const n = this.ids.length
    for (const [from, to] of links) this.blocked[this.position(from) * n + this.position(to)] = 1
    this.topologyChanged()
  }

  /** Unblocks every link and ends every clog. */
  heal(): void {
    this.blocked.fill(0)
    this.clogUntil.fill(0)
    this.topologyChanged()
  }

  /** Holds traffic between `a` and `b` (both ways) until virtual time `untilUs`. */
  clog(a: string, b: string, untilUs: number): void {
    const n = this.ids.length
    const i = this.position(a)
    const j = this.position(b)
    this.clogUntil[i * n + j] = Math.max(this.clogUntil[i * n + j]!, untilUs)
    this.clogUntil[j * n + i] = Math.max(this.clogUntil[j * n + i]!, untilUs)
  }

  /** Sends one message from `from` to `to`; `deliver` runs at the receiver for every copy that arrives. */
  transmit(from: number, to: number, extraUs: number, deliver: () => void): void {
    this.stats.sent++
    const n = this.ids.length
    const link = from * n + to
    if (this.blocked[link] === 1 || this.random.next() < this.faults.lossRate) {
      this.stats.dropped++
      return
    }
    const copies = this.random.next() < this.faults.duplicateRate ? 2 : 1
    if (copies === 2) this.stats.duplicated++
    for (let c = 0; c < copies; c++) {
      let at = this.kernel.now + extraUs + this.latencyUs()
      at = Math.max(at, this.clogUntil[link]!)
      if (this.random.next() >= this.faults.reorderRate) {
        at = Math.max(at, this.lastArrival[link]!)
        this.lastArrival[link] = at
      } else {
        at += this.latencyUs() * 4
      }
      const owner = this.owners[to]
      this.kernel.schedule(
        at,
        EventKind.Delivery,
        () => {
          if (this.blocked[link] === 1) {
            this.stats.dropped++
            return
          }
          this.stats.delivered++
          deliver()
        },
        owner,
      )
    }
  }

  /** The endpoint of a node's live incarnation, if any. */
  endpointAt(i: number): SimEndpoint | undefined {
    return this.endpoints[i]
  }

  /** Positions reachable from `from` by topic forwarding, with hop counts and the last hop's sender (cached per topology). */
  reachable(from: number): ReadonlyArray<{ node: number; hops: number; via: number }> {
    this.reach ??= this.ids.map(() => [])
    const cached = this.reach[from]!
    if (cached.length > 0 || this.endpoints[from] === undefined) return cached
    const n = this.ids.length
    const hops = new Array<number>(n).fill(-1)
    hops[from] = 0
    const queue = [from]
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q]!
      for (let j = 0; j < n; j++) {
        if (hops[j] !== -1 || this.endpoints[j] === undefined || this.blocked[i * n + j] === 1) continue
        hops[j] = hops[i]! + 1
        queue.push(j)
        cached.push({ node: j, hops: hops[j]!, via: i })
      }
    }
    return cached
  }

  /** One draw of link latency. */
  latencyUs(): number {
    const u = this.random.next()
    return Math.round(1000 * (this.faults.latencyMinMs - this.faults.latencyMeanMs * Math.log(1 - u)))
  }

  position(id: string): number {
    const i = this.index.get(id)
    if (i === undefined) throw new NodeUnreachableError(id, 'not part of the simulated network')
    return i
  }

  idAt(i: number): string {
    return this.ids[i]!
  }

  private connectedPeers(i: number): Set<string> {
    const n = this.ids.length
    const peers = new Set<string>()
    if (this.endpoints[i] === undefined) return peers
    for (let j = 0; j < n; j++) {
      if (j === i || this.endpoints[j] === undefined || this.hungUp.has(pairKey(i, j))) continue
      if (this.blocked[i * n + j] === 0 && this.blocked[j * n + i] === 0) peers.add(this.ids[j]!)
    }
    return peers
  }

  /**
   * Closes the connection between positions `i` and `j` (Network.hangUp): both ends hear it at once,
   * as a closed TCP connection is, and it stays closed until either dials the other.
   */
  hangUp(i: number, j: number): void {
    if (i === j || this.hungUp.has(pairKey(i, j))) return
    this.hungUp.add(pairKey(i, j))
    this.stats.hangUps++
    this.endpoints[i]?.retainPeers(this.connectedPeers(i))
    this.endpoints[j]?.retainPeers(this.connectedPeers(j))
  }

  /** A dial from `i` to `j` reopens a connection one of them hung up, if the link allows it. */
  redial(i: number, j: number): void {
    if (!this.hungUp.delete(pairKey(i, j))) return
    this.endpoints[i]?.addPeers(this.connectedPeers(i))
    this.endpoints[j]?.addPeers(this.connectedPeers(j))
  }

  private topologyChanged(): void {
    this.reach = undefined
    for (let i = 0; i < this.ids.length; i++) this.endpoints[i]?.addPeers(this.connectedPeers(i))
    if (this.detectEvent !== undefined) this.kernel.cancel(this.detectEvent)
    this.detectEvent = this.kernel.schedule(this.kernel.now + PEER_DETECT_MS * 1000, EventKind.Delivery, () => {
      this.detectEvent = undefined
      for (let i = 0; i < this.ids.length; i++) this.endpoints[i]?.retainPeers(this.connectedPeers(i))
    })
  }
}

/** One key per unordered pair of positions. */
function pairKey(i: number, j: number): number {
  return i < j ? i * 1_000_003 + j : j * 1_000_003 + i
}

/** One node incarnation's view of the simulated network. */
export class SimEndpoint implements Network {
  private readonly handlers = new Map<string, MessageHandler>()
  private readonly topics = new Map<string, MessageHandler>()
  private readonly listeners = new Set<PeerListener>()
  private connected = new Set<string>()

  constructor(
    private readonly net: SimNetwork,
    readonly self: NodeId,
    private readonly at: number,
  ) {}

  handle(protocol: string, handler: MessageHandler): void {
    this.handlers.set(protocol, handler)
  }

  unhandle(protocol: string): void {
    this.handlers.delete(protocol)
  }

  send(to: NodeId, protocol: string, payload: Uint8Array): boolean {
    if (!this.connected.has(to)) return false
    const target = this.net.position(to)
    const copy = payload.slice()
    this.net.transmit(this.at, target, 0, () => this.net.endpointAt(target)?.receive(this.self, protocol, copy))
    return true
  }

  publish(topic: string, payload: Uint8Array): void {
    const copy = payload.slice()
    const key = TOPIC_PREFIX + topic
    for (const { node, hops, via } of this.net.reachable(this.at)) {
      const endpoint = this.net.endpointAt(node)
      if (endpoint === undefined || !endpoint.topics.has(topic)) continue
      let extraUs = 0
      for (let h = 1; h < hops; h++) extraUs += this.net.latencyUs()
      this.net.stats.topicBytes += copy.length
      this.net.transmit(via, node, extraUs, () => this.net.endpointAt(node)?.receive(this.self, key, copy))
    }
  }

  subscribe(topic: string, handler: MessageHandler): void {
    this.topics.set(topic, handler)
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic)
  }

  peers(): NodeId[] {
    return [...this.connected]
  }

  onPeerChange(listener: PeerListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async dial(address: string, _options?: AbortOptions): Promise<NodeId> {
    const id = address.startsWith('sim://') ? address.slice(6) : address
    this.net.redial(this.at, this.net.position(id))
    return id
  }

  async hangUp(peer: NodeId): Promise<void> {
    this.net.hangUp(this.at, this.net.position(peer))
  }

  addresses(): string[] {
    return [`sim://${this.self}`]
  }

  /** Delivers one arrived message to its handler; the trace records what arrived where. */
  receive(from: NodeId, protocol: string, payload: Uint8Array): void {
    const trace = this.net.kernel.trace
    trace.text(protocol)
    trace.bytes(payload)
    const handler = protocol.startsWith(TOPIC_PREFIX) ? this.topics.get(protocol.slice(1)) : this.handlers.get(protocol)
    handler?.(from, payload)
  }

  /** Opens connections to every peer in `reachable` not yet connected. */
  addPeers(reachable: Set<string>): void {
    for (const peer of reachable) {
      if (this.connected.has(peer)) continue
      this.connected.add(peer)
      this.emit(peer, true)
    }
  }

  /** Closes connections to every peer not in `reachable`. */
  retainPeers(reachable: Set<string>): void {
    for (const peer of [...this.connected]) {
      if (reachable.has(peer)) continue
      this.connected.delete(peer)
      this.emit(peer, false)
    }
  }

  private emit(peer: string, up: boolean): void {
    for (const listener of [...this.listeners]) listener(peer, up)
  }
}
