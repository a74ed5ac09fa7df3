/**
 * SWIM failure detection among the admitted members, as a pure state machine (no I/O, no clock of
 * its own): the driver feeds it time, the member list and received messages, and sends what
 * `takeOutbox` returns over direct messages.
 *
 * ## Protocol (Das, Gupta, Motivala 2002; Lifeguard, Dadgar et al. 2018)
 * - Each protocol period (`periodMs`) a member pings the next member of a shuffled round-robin list
 *   of the others (every member is probed by each other once per N periods, in random order). An
 *   ack within `pingTimeoutMs` ends the probe. Otherwise it asks `indirectProbes` other members to
 *   ping the target for it (ping-req); any ack relayed back ends the probe.
 * - No ack by the end of the period: the target is suspected with the incarnation last known.
 *   A suspicion becomes `dead` after the suspicion timeout unless refuted. Lifeguard's dynamic
 *   timeout: it starts at `suspicionMaxMult` times the minimum and falls towards the minimum,
 *   `suspicionMult · log10(N+1) · periodMs`, as independent members confirm the suspicion
 *   (log-scaled in the confirmations, `indirectProbes` of them bring it to the minimum).
 * - A member that learns it is suspected or declared dead refutes it: it raises its incarnation
 *   and spreads `alive` with the new one. Only the member itself raises its incarnation, so an
 *   `alive` it sent always overrides older suspicions, and nothing overrides it but a newer
 *   suspicion.
 * - Dissemination: every ping, ping-req and ack carries up to `piggybackMax` membership updates,
 *   those sent fewest times first; each update is sent `retransmitMult · ceil(log2(N+1))` times
 *   and then dropped (infection-style spread: after O(log N) periods every member has it w.h.p.).
 *   Updates carry the member's addresses, so members learn where to reach each other (peer
 *   exchange) without a full list ever being sent.
 *
 * Precedence of updates about member m (SWIM's rules, with `dead` refutable as in memberlist):
 * alive(i) beats suspect(j) and dead(j) when i > j, and alive(j) when i > j; suspect(i) beats
 * alive(j) when i >= j and suspect(j) when i > j; dead(i) beats alive(j) and suspect(j) when i >= j.
 * An update is applied only if it beats the state held, so states of one member are totally
 * ordered and every member converges on the same latest one (asserted: incarnations never fall).
 *
 * ## Convergence bound
 * A crashed member is probed by someone within a period with probability 1-(1-1/(N-1))^(N-1) >=
 * 1-1/e, so first detection takes e/(e-1) ~ 1.6 periods on average; it is then suspected at the end
 * of that period, and the suspicion reaches every member in O(log N) periods (each member sends at
 * least one message per period carrying it). So every member sees it as not alive after about
 * (2.6 + c·log2 N) periods, and dead after the suspicion timeout on top. With the defaults
 * (500 ms periods) the simulator measures this against N (test/bench/RESULTS.md, "scale").
 *
 * ## Cost per member
 * Per period: one ping sent and one ack received, on average one ping received and one ack sent,
 * plus `indirectProbes` ping-reqs (and their pings and acks) only after a failed direct probe. Each
 * message carries at most `piggybackMax` updates, so bytes per member per second are O(1) while
 * nothing changes, and O(changes · log N) while members come and go. Memory is O(N) per member.
 */
import { assert } from '../assert.js'
import type { Random } from '../env/types.js'
import type { NodeId } from '../net/types.js'

/** What a member concludes about another. */
export type SwimState = 'alive' | 'suspect' | 'dead'

/** A membership update, as disseminated. */
export interface SwimUpdate {
  readonly node: NodeId
  readonly state: SwimState
  readonly incarnation: number
  /** Where the member can be dialed (at most a few addresses). */
  readonly addresses: readonly string[]
}

/** The messages members exchange (direct, authenticated by the transport). */
export type SwimMessage =
  | { readonly kind: 'ping'; readonly seq: number; readonly updates: readonly SwimUpdate[] }
  | { readonly kind: 'ack'; readonly seq: number; readonly updates: readonly SwimUpdate[] }
  /** Asks the receiver to ping `target` and relay its ack with `seq`. */
  | { readonly kind: 'ping-req'; readonly seq: number; readonly target: NodeId; readonly updates: readonly SwimUpdate[] }

export interface SwimOptions {
  periodMs: number
  pingTimeoutMs: number
  indirectProbes: number
  /** Minimum suspicion timeout, in periods per log10(N+1). */
  suspicionMult: number
  /** The suspicion timeout before any confirmation, as a multiple of the minimum. */
  suspicionMaxMult: number
  piggybackMax: number
  retransmitMult: number
}

export const DEFAULT_SWIM_OPTIONS: SwimOptions = {
  periodMs: 500,
  pingTimeoutMs: 200,
  indirectProbes: 3,
  suspicionMult: 2,
  suspicionMaxMult: 3,
  piggybackMax: 8,
  retransmitMult: 3,
}

/** Addresses an update carries at most. */
export const SWIM_ADDRESSES_MAX = 4

/** Counters for metrics. */
export interface SwimCounters {
  probes: number
  indirectProbes: number
  suspicions: number
  refutations: number
  deaths: number
  messagesSent: number
}

interface Member {
  state: SwimState
  incarnation: number
  addresses: readonly string[]
  /** When the current suspicion started, and who confirmed it. */
  suspectedAtMs: number
  confirmations: Set<NodeId>
}

interface Probe {
  readonly target: NodeId
  readonly seq: number
  readonly startedMs: number
  acked: boolean
  indirectSent: boolean
}

/** A ping this member sent on behalf of another: its ack is relayed with the requester's seq. */
interface Relay {
  readonly requester: NodeId
  readonly requesterSeq: number
  readonly untilMs: number
}

export class Swim {
  readonly options: SwimOptions
  readonly counters: SwimCounters = { probes: 0, indirectProbes: 0, suspicions: 0, refutations: 0, deaths: 0, messagesSent: 0 }
  private incarnation: number
  private addresses: readonly string[]
  private readonly members = new Map<NodeId, Member>()
  /** Updates still to be disseminated, with how often each was sent. */
  private readonly gossip = new Map<NodeId, { update: SwimUpdate; sent: number }>()
  private order: NodeId[] = []
  private next = 0
  private seq = 0
  private probe: Probe | undefined = undefined
  private readonly relays = new Map<number, Relay>()
  private nextPeriodMs: number
  private outbox: Array<{ to: NodeId; message: SwimMessage }> = []
  /** Called when a member's state changes (for metrics and the convergence clock). */
  onChange: ((node: NodeId, state: SwimState, nowMs: number) => void) | undefined = undefined

  constructor(
    readonly self: NodeId,
    incarnation: number,
    addresses: readonly string[],
    private readonly random: Random,
    nowMs: number,
    options: Partial<SwimOptions> = {},
  ) {
    this.options = { ...DEFAULT_SWIM_OPTIONS, ...options }
    this.incarnation = incarnation
    this.addresses = addresses.slice(0, SWIM_ADDRESSES_MAX)
    // Members start probing at a random point of the period, so probes do not come in waves.
    this.nextPeriodMs = nowMs + random.next() * this.options.periodMs
    // Others learn this member's addresses from its own alive update (peer exchange).
    this.queue({ node: self, state: 'alive', incarnation, addresses: this.addresses })
  }

  /**
   * Sets who the members are (from the cluster configuration). New members start alive at
   * incarnation 0, as a joiner does in SWIM; members no longer listed are forgotten.
   */
  setMembers(ids: readonly NodeId[]): void {
    const wanted = new Set(ids)
    wanted.delete(this.self)
    for (const id of this.members.keys()) {
      if (!wanted.has(id)) {
        this.members.delete(id)
        this.gossip.delete(id)
      }
    }
    for (const id of wanted) {
      if (!this.members.has(id)) this.members.set(id, { state: 'alive', incarnation: 0, addresses: [], suspectedAtMs: 0, confirmations: new Set() })
    }
  }

  setAddresses(addresses: readonly string[]): void {
    const next = addresses.slice(0, SWIM_ADDRESSES_MAX)
    if (next.join(' ') === this.addresses.join(' ')) return
    this.addresses = next
    this.queue({ node: this.self, state: 'alive', incarnation: this.incarnation, addresses: next })
  }

  /** The state of `id`, or undefined if it is not a member. */
  stateOf(id: NodeId): SwimState | undefined {
    return this.members.get(id)?.state
  }

  addressesOf(id: NodeId): readonly string[] {
    return this.members.get(id)?.addresses ?? []
  }

  get size(): number {
    return this.members.size + 1
  }

  /** Counts of members per state (this member counted alive). */
  census(): Record<SwimState, number> {
    const counts: Record<SwimState, number> = { alive: 1, suspect: 0, dead: 0 }
    for (const m of this.members.values()) counts[m.state]++
    return counts
  }

  /** Updates waiting to be disseminated. */
  get pendingUpdates(): number {
    return this.gossip.size
  }

  // ---- time ----------------------------------------------------------------------------------------

  tick(nowMs: number): void {
    const probe = this.probe
    if (probe !== undefined && !probe.acked && !probe.indirectSent && nowMs - probe.startedMs >= this.options.pingTimeoutMs) this.askIndirect(probe)
    if (nowMs >= this.nextPeriodMs) {
      this.endPeriod(nowMs)
      this.nextPeriodMs = nowMs + this.options.periodMs
      this.startProbe(nowMs)
    }
    this.expireSuspicions(nowMs)
    for (const [seq, relay] of this.relays) if (nowMs > relay.untilMs) this.relays.delete(seq)
  }

  /** Messages to send now; empties the outbox. */
  takeOutbox(): Array<{ to: NodeId; message: SwimMessage }> {
    const out = this.outbox
    this.outbox = []
    return out
  }

  // ---- input ---------------------------------------------------------------------------------------

  /** Takes in a message from `from` (authenticated by the transport). Messages from non-members are ignored. */
  receive(from: NodeId, message: SwimMessage, nowMs: number): void {
    const sender = this.members.get(from)
    if (from === this.self || sender === undefined) return
    for (const update of message.updates) this.apply(update, from, nowMs)
    // A member we hold as suspect or dead is talking to us: tell it again (the update may have
    // finished spreading), so it refutes; without this a member wrongly declared dead after its
    // update died out would stay dead for us.
    if (sender.state !== 'alive' && !this.gossip.has(from)) this.queue({ node: from, state: sender.state, incarnation: sender.incarnation, addresses: sender.addresses })
    switch (message.kind) {
      case 'ping':
        this.send(from, { kind: 'ack', seq: message.seq, updates: this.piggyback() })
        return
      case 'ping-req': {
        if (!this.members.has(message.target) || message.target === this.self) return
        const seq = ++this.seq
        this.relays.set(seq, { requester: from, requesterSeq: message.seq, untilMs: nowMs + this.options.periodMs })
        this.send(message.target, { kind: 'ping', seq, updates: this.piggyback() })
        return
      }
      case 'ack': {
        const relay = this.relays.get(message.seq)
        if (relay !== undefined) {
          this.relays.delete(message.seq)
          this.send(relay.requester, { kind: 'ack', seq: relay.requesterSeq, updates: this.piggyback() })
          return
        }
        const probe = this.probe
        if (probe !== undefined && probe.seq === message.seq) probe.acked = true
        return
      }
    }
  }

  // ---- internals -----------------------------------------------------------------------------------

  private startProbe(nowMs: number): void {
    const target = this.nextTarget()
    if (target === undefined) return
    this.counters.probes++
    const seq = ++this.seq
    this.probe = { target, seq, startedMs: nowMs, acked: false, indirectSent: false }
    this.send(target, { kind: 'ping', seq, updates: this.piggyback() })
  }

  private askIndirect(probe: Probe): void {
    probe.indirectSent = true
    const helpers = this.pick(this.options.indirectProbes, (id, m) => id !== probe.target && m.state === 'alive')
    for (const helper of helpers) {
      this.counters.indirectProbes++
      this.send(helper, { kind: 'ping-req', seq: probe.seq, target: probe.target, updates: this.piggyback() })
    }
  }

  /** Ends the current probe: no ack by now means the target is suspected. */
  private endPeriod(nowMs: number): void {
    const probe = this.probe
    this.probe = undefined
    if (probe === undefined || probe.acked) return
    const m = this.members.get(probe.target)
    if (m === undefined || m.state !== 'alive') return
    this.apply({ node: probe.target, state: 'suspect', incarnation: m.incarnation, addresses: m.addresses }, this.self, nowMs)
  }

  private expireSuspicions(nowMs: number): void {
    for (const [id, m] of this.members) {
      if (m.state === 'suspect' && nowMs - m.suspectedAtMs >= this.suspicionTimeoutMs(m.confirmations.size)) {
        this.apply({ node: id, state: 'dead', incarnation: m.incarnation, addresses: m.addresses }, this.self, nowMs)
      }
    }
  }

  /** Lifeguard's timeout: from max down to min as independent confirmations arrive. */
  suspicionTimeoutMs(confirmations: number): number {
    const o = this.options
    const min = o.suspicionMult * Math.max(1, Math.log10(this.size + 1)) * o.periodMs
    const max = o.suspicionMaxMult * min
    const k = Math.max(1, o.indirectProbes)
    const fraction = Math.min(1, Math.log(confirmations + 1) / Math.log(k + 1))
    return Math.max(min, max - (max - min) * fraction)
  }

  /** Applies `update` heard from `via` if it beats what is held; queues it for dissemination if so. */
  private apply(update: SwimUpdate, via: NodeId, nowMs: number): void {
    if (update.node === this.self) {
      if (update.state === 'alive') return
      if (update.incarnation >= this.incarnation) {
        // Refutation: only this member raises its incarnation.
        this.incarnation = update.incarnation + 1
        this.counters.refutations++
        this.queue({ node: this.self, state: 'alive', incarnation: this.incarnation, addresses: this.addresses })
      } else if (!this.gossip.has(this.self)) {
        // Someone still holds an older suspicion (our refutation may have been lost): say it again.
        this.queue({ node: this.self, state: 'alive', incarnation: this.incarnation, addresses: this.addresses })
      }
      return
    }
    const m = this.members.get(update.node)
    if (m === undefined) return
    if (update.addresses.length > 0 && update.incarnation >= m.incarnation) m.addresses = update.addresses.slice(0, SWIM_ADDRESSES_MAX)
    if (update.state === 'suspect' && m.state === 'suspect' && update.incarnation === m.incarnation) {
      // An independent confirmation shortens the suspicion (Lifeguard).
      if (via !== this.self) m.confirmations.add(via)
      return
    }
    if (!beats(update, m)) return
    assert(update.incarnation >= m.incarnation, `incarnation of ${update.node} would fall from ${m.incarnation} to ${update.incarnation}`)
    const before = m.state
    m.state = update.state
    m.incarnation = update.incarnation
    if (update.state === 'suspect') {
      m.suspectedAtMs = nowMs
      m.confirmations = new Set(via === this.self ? [] : [via])
      if (before !== 'suspect') this.counters.suspicions++
    }
    if (update.state === 'dead' && before !== 'dead') this.counters.deaths++
    this.queue({ node: update.node, state: update.state, incarnation: update.incarnation, addresses: m.addresses })
    if (before !== update.state) this.onChange?.(update.node, update.state, nowMs)
  }

  private queue(update: SwimUpdate): void {
    this.gossip.set(update.node, { update, sent: 0 })
  }

  /** Up to piggybackMax updates, least sent first; each is dropped after its retransmit budget. */
  private piggyback(): SwimUpdate[] {
    if (this.gossip.size === 0) return []
    const budget = this.options.retransmitMult * Math.ceil(Math.log2(this.size + 1))
    const entries = [...this.gossip.values()].sort((a, b) => a.sent - b.sent).slice(0, this.options.piggybackMax)
    for (const e of entries) {
      e.sent++
      if (e.sent >= budget) this.gossip.delete(e.update.node)
    }
    return entries.map((e) => e.update)
  }

  /** The next probe target: round-robin over a list reshuffled after each pass (SWIM's bounded detection time). */
  private nextTarget(): NodeId | undefined {
    if (this.members.size === 0) return undefined
    for (let tries = 0; tries <= this.members.size; tries++) {
      if (this.next >= this.order.length) {
        this.order = shuffle([...this.members.keys()], this.random)
        this.next = 0
        if (this.order.length === 0) return undefined
      }
      const id = this.order[this.next++]!
      const m = this.members.get(id)
      if (m !== undefined && m.state !== 'dead') return id
    }
    // Every other member is dead: probe one anyway, so a member that comes back is found again.
    return this.order[this.random.int(0, this.order.length - 1)]
  }

  /** Up to `n` distinct random members satisfying `ok`. */
  private pick(n: number, ok: (id: NodeId, m: Member) => boolean): NodeId[] {
    const candidates = [...this.members].filter(([id, m]) => ok(id, m)).map(([id]) => id)
    return shuffle(candidates, this.random).slice(0, n)
  }

  private send(to: NodeId, message: SwimMessage): void {
    this.counters.messagesSent++
    this.outbox.push({ to, message })
  }
}

function beats(u: SwimUpdate, m: Member): boolean {
  switch (u.state) {
    case 'alive':
      return u.incarnation > m.incarnation
    case 'suspect':
      return m.state === 'alive' ? u.incarnation >= m.incarnation : u.incarnation > m.incarnation
    case 'dead':
      return m.state === 'dead' ? u.incarnation > m.incarnation : u.incarnation >= m.incarnation
  }
}

function shuffle<T>(xs: T[], random: Random): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = random.int(0, i)
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}
