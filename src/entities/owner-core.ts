/**
 * The owner side of shard leases (sans-I/O): which shards this peer may serve, under which epoch
 * and until when, and whether a message stamped with an epoch is accepted, held or bounced.
 *
 * Invariants (what the router's ordering argument relies on, see router.ts):
 * - For each (shard, epoch) the accepted messages form one contiguous run of what arrives: a
 *   message of an epoch not granted yet is held (not bounced) until the grant or `earlyHoldMs`;
 *   once an epoch is dropped (released, expired, superseded, or its held messages timed out) it is
 *   dead for good and every later message of it bounces.
 * - A lease that runs out without news suspends the shard rather than dropping it: its activations
 *   stay (with their state) but handle nothing and its messages bounce, for up to suspendMs. A later
 *   renewal answer naming the same epoch resumes it only when nobody can have held the shard in
 *   between: the answer comes from the leadership that renewed it last (its table still holds the
 *   allocation, so it never moved), or from a newer leadership that began before that renewal's
 *   lease could have ended at the old leader (so the old one stopped before it could move it, and
 *   the new one adopted this claim before allocating anything). Otherwise the epoch dies as before.
 * - A lease runs from the time the renewal that granted it was SENT, for leaseMs·(1-2·drift); once a
 *   newer leader epoch than the renewing leader's is seen while it holds, for leaderChangeGraceMs·
 *   (1-2·drift) from that send time instead (see coordinator-core.ts for why that is safe).
 */
import type { ShardGrant, RenewReply } from './coordinator-core.js'
import type { EntityOptions } from './options.js'

interface Owned {
  readonly shard: number
  epoch: number
  validUntilMs: number
  releasing: boolean
  /** The leader epoch of the last renewal that extended the lease, and when that renewal was sent. */
  renewedBy: number | undefined
  renewedAtMs: number
  /** Set while the lease ran out and the shard waits for a renewal to resume it: until when it waits. */
  suspendedUntilMs: number | undefined
}

interface Held<T> {
  readonly epoch: number
  readonly untilMs: number
  readonly items: T[]
}

/** What a renewal changed. */
export interface RenewOutcome<T> {
  /** Shards whose activations must stop at once (lost or superseded). */
  readonly dropped: number[]
  /** Shards to hand off: stop activations gracefully, then report released. */
  readonly release: number[]
  /** Held messages now accepted, per shard, in arrival order. */
  readonly accepted: Array<{ shard: number; epoch: number; items: T[] }>
  /** Held messages of epochs that died, to bounce. */
  readonly bounced: Array<{ shard: number; epoch: number; items: T[] }>
  /** Grants of epochs this peer already gave up: report them released so the leader moves on. */
  readonly refused: ShardGrant[]
  /** Suspended shards that serve again, activations and state intact. */
  readonly resumed: number[]
}

export type Verdict = 'accept' | 'hold' | 'bounce'

const ACCEPT = { verdict: 'accept' } as const
const HOLD = { verdict: 'hold' } as const
const BOUNCE = { verdict: 'bounce' } as const

export class OwnerCore<T> {
  private readonly owned = new Map<number, Owned>()
  /** Per shard, the highest epoch this peer dropped: that epoch and older ones are dead. */
  private readonly dead = new Map<number, number>()
  private readonly held = new Map<number, Held<T>>()

  constructor(private readonly options: EntityOptions) {}

  /**
   * Decides on a message for `shard` stamped `epoch`; a held one is kept here until resolved. A
   * message of a newer epoch than the one held evicts the held ones (that epoch can no longer be
   * granted to this peer): they come back in `evicted`, to bounce.
   */
  offer(shard: number, epoch: number, item: T, nowMs: number): { verdict: Verdict; evicted?: { epoch: number; items: T[] } } {
    const own = this.owned.get(shard)
    if (own !== undefined && own.epoch === epoch && !own.releasing && nowMs < own.validUntilMs) return ACCEPT
    const held = this.held.get(shard)
    if (own !== undefined && own.suspendedUntilMs !== undefined && epoch === own.epoch && (held === undefined || held.epoch === epoch)) {
      // Suspended: held in arrival order until a renewal resumes the epoch (accepted) or it dies (bounced).
      if (held === undefined) this.held.set(shard, { epoch, untilMs: own.suspendedUntilMs, items: [item] })
      else held.items.push(item)
      return HOLD
    }
    if (epoch <= (this.dead.get(shard) ?? -1) || (own !== undefined && epoch <= own.epoch)) return BOUNCE
    if (held !== undefined && epoch < held.epoch) {
      this.kill(shard, epoch)
      return BOUNCE
    }
    if (held !== undefined && epoch === held.epoch) {
      held.items.push(item)
      return HOLD
    }
    this.held.set(shard, { epoch, untilMs: nowMs + this.options.earlyHoldMs, items: [item] })
    if (held === undefined) return HOLD
    this.kill(shard, held.epoch)
    return { verdict: 'hold', evicted: { epoch: held.epoch, items: held.items } }
  }

  /** True while this peer may run activations of `shard` under `epoch`. */
  serving(shard: number, epoch: number, nowMs: number): boolean {
    const own = this.owned.get(shard)
    return own !== undefined && own.epoch === epoch && nowMs < own.validUntilMs
  }

  /** The epoch this peer holds `shard` under, if any. */
  epochOf(shard: number): number | undefined {
    return this.owned.get(shard)?.epoch
  }

  /** The claims to send in a renewal: shards whose lease still holds. */
  claims(nowMs: number): ShardGrant[] {
    const out: ShardGrant[] = []
    for (const [shard, own] of this.owned) {
      if (nowMs < own.validUntilMs) out.push({ shard, epoch: own.epoch })
      else if (own.suspendedUntilMs !== undefined) out.push({ shard, epoch: own.epoch, lapsed: true })
    }
    return out
  }

  /**
   * A leader of `leaderEpoch` is known: leases last renewed by an older leadership, still holding,
   * last until the grace after their renewal (that leadership ended before it could move them).
   */
  leaderSeen(leaderEpoch: number, nowMs: number): void {
    for (const own of this.owned.values()) {
      // Seen within the renewal's own lease: the old leadership ended before then (T_E <= now),
      // so before it could hand the shard to another peer (receipt + hold, after that lease).
      if (own.renewedBy === undefined || leaderEpoch <= own.renewedBy || nowMs >= own.renewedAtMs + this.options.leaseMs * (1 - 2 * this.options.drift)) continue
      own.validUntilMs = Math.max(own.validUntilMs, own.renewedAtMs + this.options.leaderChangeGraceMs * (1 - 2 * this.options.drift))
    }
  }

  /** Applies the leader's answer to a renewal sent at `sentAtMs`. */
  renewed(reply: RenewReply, sentAtMs: number, nowMs: number = sentAtMs): RenewOutcome<T> {
    const lease = this.options.leaseMs * (1 - 2 * this.options.drift)
    const validUntilMs = sentAtMs + lease
    const renewedBy = typeof reply.leaderEpoch === 'number' ? reply.leaderEpoch : undefined
    const dropped: number[] = []
    const accepted: RenewOutcome<T>['accepted'] = []
    const bounced: RenewOutcome<T>['bounced'] = []
    const resumed: number[] = []
    const granted = new Map(reply.owned.map((g) => [g.shard, g.epoch]))
    for (const [shard, own] of [...this.owned]) {
      const epoch = granted.get(shard)
      if (epoch === undefined || epoch !== own.epoch) {
        this.drop(shard, own.epoch)
        dropped.push(shard)
      } else if (own.suspendedUntilMs !== undefined) {
        if (this.resumable(own, reply, renewedBy, nowMs)) {
          own.suspendedUntilMs = undefined
          own.validUntilMs = validUntilMs
          resumed.push(shard)
        } else {
          this.drop(shard, own.epoch)
          dropped.push(shard)
        }
      }
    }
    const refused: ShardGrant[] = []
    for (const [shard, epoch] of granted) {
      if (epoch <= (this.dead.get(shard) ?? -1)) {
        refused.push({ shard, epoch })
        continue
      }
      const own = this.owned.get(shard)
      if (own !== undefined) {
        own.validUntilMs = Math.max(own.validUntilMs, validUntilMs)
        own.renewedBy = renewedBy
        own.renewedAtMs = sentAtMs
      } else this.owned.set(shard, { shard, epoch, validUntilMs, releasing: false, renewedBy, renewedAtMs: sentAtMs, suspendedUntilMs: undefined })
      const held = this.held.get(shard)
      if (held !== undefined) {
        this.held.delete(shard)
        if (held.epoch === epoch) accepted.push({ shard, epoch, items: held.items })
        else {
          this.kill(shard, held.epoch)
          bounced.push({ shard, epoch: held.epoch, items: held.items })
        }
      }
    }
    const release: number[] = []
    for (const shard of reply.release) {
      const own = this.owned.get(shard)
      if (own !== undefined && !own.releasing) {
        own.releasing = true
        release.push(shard)
      }
    }
    this.bounceDeadHeld(bounced)
    return { dropped, release, accepted, bounced, refused, resumed }
  }

  /**
   * May a suspended shard that `reply` grants again under its epoch resume? Yes from the same
   * leadership (its allocation outlived this peer's lease, so it never moved). From a newer one only
   * if that leadership began before the last renewal's lease ran out here: it began after the old
   * leadership ended, which is then before the old leader could move the shard (receipt + hold,
   * later than that lease), and it adopted this claim before allocating anything. Its start is at
   * most leaderForMs·(1-drift)-ish before its answer, so, with drift on both clocks, it is enough
   * that now - renewedAt < (leaseMs + leaderForMs)·(1-2·drift).
   */
  private resumable(own: Owned, reply: RenewReply, renewedBy: number | undefined, nowMs: number): boolean {
    if (renewedBy === undefined || own.renewedBy === undefined || own.epoch <= (this.dead.get(own.shard) ?? -1)) return false
    if (renewedBy === own.renewedBy) return true
    const leaderForMs = typeof reply.leaderForMs === 'number' && reply.leaderForMs >= 0 ? reply.leaderForMs : 0
    return renewedBy > own.renewedBy && nowMs - own.renewedAtMs < (this.options.leaseMs + leaderForMs) * (1 - 2 * this.options.drift)
  }

  /** Ends leases that ran out and held messages that waited too long. */
  expire(nowMs: number): { dropped: number[]; bounced: Array<{ shard: number; epoch: number; items: T[] }> } {
    const dropped: number[] = []
    for (const [shard, own] of [...this.owned]) {
      if (nowMs < own.validUntilMs) continue
      if (own.suspendedUntilMs === undefined && !own.releasing && own.renewedBy !== undefined && this.options.suspendMs > 0) {
        own.suspendedUntilMs = nowMs + this.options.suspendMs
        continue
      }
      if (own.suspendedUntilMs !== undefined && nowMs < own.suspendedUntilMs) continue
      this.drop(shard, own.epoch)
      dropped.push(shard)
    }
    const bounced: Array<{ shard: number; epoch: number; items: T[] }> = []
    this.bounceDeadHeld(bounced)
    for (const [shard, held] of [...this.held]) {
      if (nowMs >= held.untilMs) {
        this.held.delete(shard)
        this.kill(shard, held.epoch)
        bounced.push({ shard, epoch: held.epoch, items: held.items })
      }
    }
    return { dropped, bounced }
  }

  /** Held messages of an epoch that died (a suspended shard dropped) go back to their senders now. */
  private bounceDeadHeld(bounced: Array<{ shard: number; epoch: number; items: T[] }>): void {
    for (const [shard, held] of [...this.held]) {
      if (held.epoch > (this.dead.get(shard) ?? -1)) continue
      this.held.delete(shard)
      bounced.push({ shard, epoch: held.epoch, items: held.items })
    }
  }

  /** The shard's activations are all stopped after a handoff: it is no longer this peer's. */
  released(shard: number): number | undefined {
    const own = this.owned.get(shard)
    if (own === undefined) return undefined
    this.drop(shard, own.epoch)
    return own.epoch
  }

  /** Shards held now. */
  shards(): number[] {
    return [...this.owned.keys()]
  }

  private drop(shard: number, epoch: number): void {
    this.owned.delete(shard)
    this.kill(shard, epoch)
  }

  private kill(shard: number, epoch: number): void {
    this.dead.set(shard, Math.max(this.dead.get(shard) ?? -1, epoch))
  }
}
