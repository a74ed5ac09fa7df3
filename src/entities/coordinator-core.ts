/**
 * The leader's shard table (sans-I/O): which peer owns each shard, under which epoch, and until
 * when. Chosen over a consistent-hash ring because a ring lets two peers with different member
 * views both believe they own a key during a partition; with leader-assigned leases a shard has at
 * most one owner at a time as long as clock rates stay within `drift`, placement can use gossiped
 * load like jobs, and handoffs are explicit and can be bounded per interval.
 *
 * Invariants:
 * - An owner holds a shard from the time it SENT the renewal that granted it, for
 *   leaseMs·(1-2·drift); the leader keeps the shard allocated until leaseMs·(1+drift)+margin after
 *   it RECEIVED that renewal, so the owner's lease always ends first in real time.
 * - A shard is given to another peer only after its allocation ended: the lease expired, or the
 *   owner reported it released (after stopping its activations).
 * - Epochs grow per shard across leaders: leaderEpoch·2^20 + a counter of this leadership.
 * - A new leader knows no table: it adopts the claims owners send in their renewals and allocates
 *   nothing else until max(leaseMs, leaderChangeGraceMs)·(1+drift)+margin after it started, when
 *   every lease granted by a previous leader and not renewed with it has ended.
 * - Leases across a leader change (owner-core.ts): an owner whose shards were last renewed by the
 *   leader of epoch E and that sees a leader of a newer epoch while its lease holds keeps them until
 *   leaderChangeGraceMs·(1-2·drift) after that renewal's send time. Safe because the newer leader
 *   proves E's leadership ended (the cluster elects only after the old lease ended), before E could
 *   give the shards away (not before receipt + hold, after the owner's lease); every later leader
 *   started after E answered that renewal, so waits past the grace before allocating unclaimed shards.
 *   Without it an election (up to ~2 s, more under CPU load) plus one late renewal outlasted the
 *   1.92 s lease and live owners dropped every shard when the leader changed.
 * - Lapsed claims: an owner whose lease ran out suspends the shard (owner-core.ts) and claims it as
 *   `lapsed`; a leader adopts it like any claim, but a live claim of a newer epoch replaces it (the
 *   suspended owner then finds it may not resume and reports it released).
 * - One table per leader epoch (see coordinatorFor): a leader whose cluster lease lapses and comes
 *   back under the same epoch keeps its table. A second table for the same epoch would restart the
 *   counter (reusing epochs, so a persistent key's store refuses the new activation) and would not
 *   adopt its own grants (claims of this leadership are not adopted), dropping every shard.
 */
import { assert } from '../assert.js'
import type { Placement, PeerLoad } from '../jobs/placement.js'
import type { NodeId } from '../net/types.js'
import type { EntityOptions } from './options.js'

const COUNTER_BITS = 2 ** 20

/**
 * The coordinator of a node that leads `leaderEpoch`: `current` if it was built for that epoch, else
 * a new one. A lapse of the cluster lease under load (late gossip echoes) makes the driver see no
 * epoch for a while; the leader that comes back under the same epoch is the same leadership (no
 * other leader can act between two lease intervals of one epoch), so its table still holds.
 */
export function coordinatorFor(current: CoordinatorCore | undefined, leaderEpoch: number, nowMs: number, options: EntityOptions, placement: Placement): CoordinatorCore {
  return current?.leaderEpoch === leaderEpoch ? current : new CoordinatorCore(leaderEpoch, nowMs, options, placement)
}

/** One shard's owner as the leader records it. */
export interface Allocation {
  readonly owner: NodeId
  readonly epoch: number
  /** Adopted from a suspended owner's claim: a live claim of a newer epoch replaces it. */
  lapsed?: boolean
  /** The leader's monotonic time after which the owner's lease has surely ended. */
  expiresMs: number
  /** A handoff is under way: the owner was asked to stop the shard's activations. */
  releasing: boolean
}

/** A shard and the epoch it is held under. */
export interface ShardGrant {
  readonly shard: number
  readonly epoch: number
  /** In a claim: the owner's lease ran out and the shard is suspended (it yields to a live claim). */
  readonly lapsed?: boolean
}

/** The leader's answer to a renewal: every shard the peer owns now, and those it must release. */
export interface RenewReply {
  readonly owned: readonly ShardGrant[]
  readonly release: readonly number[]
  /** The leader epoch that answered: owners extend leases only after seeing a newer one. Absent from older peers. */
  readonly leaderEpoch?: number
  /** How long this coordinator has run (a lower bound of how long its leadership has): suspended owners resume by it. */
  readonly leaderForMs?: number
}

/** Where a shard lives, or `wait` while it has no owner that may be used yet. */
export type LocateReply = { readonly owner: NodeId; readonly epoch: number } | { readonly wait: true }

export class CoordinatorCore {
  private readonly table = new Map<number, Allocation>()
  private counter = 0
  private readonly readyAtMs: number
  private nextRebalanceMs: number

  constructor(
    readonly leaderEpoch: number,
    private readonly startedMs: number,
    private readonly options: EntityOptions,
    private readonly placement: Placement,
  ) {
    assert(Number.isSafeInteger(leaderEpoch) && leaderEpoch > 0 && leaderEpoch < 2 ** 32, 'leader epoch out of range')
    this.readyAtMs = startedMs + Math.max(this.holdMs(), this.options.leaderChangeGraceMs * (1 + this.options.drift) + this.options.marginMs)
    this.nextRebalanceMs = this.readyAtMs
  }

  /** True once leases of earlier leaders have surely ended, so unclaimed shards may be allocated. */
  ready(nowMs: number): boolean {
    return nowMs >= this.readyAtMs
  }

  /** A renewal from `node` listing the shards it holds; extends, adopts or drops them. */
  renew(node: NodeId, held: readonly ShardGrant[], nowMs: number): RenewReply {
    for (const { shard, epoch, lapsed } of held) {
      if (!this.validShard(shard)) continue
      const current = this.table.get(shard)
      const replaces = current === undefined || (current.lapsed === true && epoch > current.epoch)
      if (replaces && !this.ready(nowMs) && epoch < this.leaderEpoch * COUNTER_BITS) {
        // A claim from an earlier leadership, before this leader allocates anything: adopt it. A
        // claim arriving later was sent under a lease that has ended by now (see module doc). A
        // suspended owner resumes only if it can tell nobody held the shard since (owner-core.ts).
        this.table.set(shard, { owner: node, epoch, expiresMs: 0, releasing: false, ...(lapsed === true ? { lapsed: true } : {}) })
      } else if (current !== undefined && current.owner === node && current.epoch === epoch && lapsed !== true) current.lapsed = false
    }
    const owned: ShardGrant[] = []
    const release: number[] = []
    for (const [shard, alloc] of this.table) {
      if (alloc.owner !== node) continue
      alloc.expiresMs = nowMs + this.holdMs()
      owned.push({ shard, epoch: alloc.epoch })
      if (alloc.releasing) release.push(shard)
    }
    return { owned, release, leaderEpoch: this.leaderEpoch, leaderForMs: Math.max(0, nowMs - this.startedMs) }
  }

  /** The owner of `shard`, allocating it to the least loaded candidate when it has none. */
  locate(shard: number, nowMs: number, candidates: readonly PeerLoad[]): LocateReply {
    if (!this.validShard(shard)) return { wait: true }
    this.expire(nowMs)
    const current = this.table.get(shard)
    if (current !== undefined) return current.releasing ? { wait: true } : { owner: current.owner, epoch: current.epoch }
    if (!this.ready(nowMs)) return { wait: true }
    const owner = this.placement.choose('entities', this.loads(candidates))
    if (owner === undefined) return { wait: true }
    this.counter++
    assert(this.counter < COUNTER_BITS, 'shard epoch counter exhausted for this leadership')
    const epoch = this.leaderEpoch * COUNTER_BITS + this.counter
    // The owner has not renewed yet: until it does, the allocation lasts one lease from now.
    this.table.set(shard, { owner, epoch, expiresMs: nowMs + this.holdMs(), releasing: false })
    return { owner, epoch }
  }

  /** The owner stopped the shard's activations: the shard may go elsewhere. */
  released(node: NodeId, shard: number, epoch: number): void {
    const current = this.table.get(shard)
    if (current !== undefined && current.owner === node && current.epoch === epoch) this.table.delete(shard)
  }

  /**
   * Drops expired allocations and, every rebalanceEveryMs, starts up to maxHandoffs handoffs from
   * the peer with the most shards to the one with the fewest while they differ by more than one.
   * Returns the owners to notify of new releases.
   */
  tick(nowMs: number, candidates: readonly PeerLoad[]): NodeId[] {
    this.expire(nowMs)
    if (nowMs < this.nextRebalanceMs || candidates.length < 2) return []
    this.nextRebalanceMs = nowMs + this.options.rebalanceEveryMs
    const counts = new Map<NodeId, number>(candidates.map((c) => [c.node, 0]))
    let releasing = 0
    for (const alloc of this.table.values()) {
      if (alloc.releasing) releasing++
      else if (counts.has(alloc.owner)) counts.set(alloc.owner, counts.get(alloc.owner)! + 1)
    }
    const notify = new Set<NodeId>()
    for (let started = 0; releasing + started < this.options.maxHandoffs; started++) {
      const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      const [most, mostCount] = sorted[0]!
      const [, leastCount] = sorted[sorted.length - 1]!
      if (mostCount - leastCount <= 1) break
      const shard = [...this.table].find(([, a]) => a.owner === most && !a.releasing)?.[0]
      if (shard === undefined) break
      this.table.get(shard)!.releasing = true
      counts.set(most, mostCount - 1)
      notify.add(most)
    }
    return [...notify]
  }

  /** Shards per owner, for status. */
  owners(): Map<NodeId, number> {
    const out = new Map<NodeId, number>()
    for (const a of this.table.values()) out.set(a.owner, (out.get(a.owner) ?? 0) + 1)
    return out
  }

  /** The allocation of a shard (tests, status). */
  allocation(shard: number): Readonly<Allocation> | undefined {
    return this.table.get(shard)
  }

  private expire(nowMs: number): void {
    for (const [shard, alloc] of this.table) if (nowMs > alloc.expiresMs) this.table.delete(shard)
  }

  private holdMs(): number {
    return this.options.leaseMs * (1 + this.options.drift) + this.options.marginMs
  }

  private validShard(shard: number): boolean {
    return Number.isSafeInteger(shard) && shard >= 0 && shard < this.options.shards
  }

  /** Candidates with, as outstanding work, the shards they own. */
  private loads(candidates: readonly PeerLoad[]): PeerLoad[] {
    const owned = this.owners()
    return candidates.map((c) => ({ ...c, capacity: this.options.shards, outstanding: owned.get(c.node) ?? 0, leader: false }))
  }
}
