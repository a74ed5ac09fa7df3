/**
 * The owner side of shard leases (sans-I/O): which shards this peer may serve, under which epoch
 * and until when, and whether a message stamped with an epoch is accepted, held or bounced.
 *
 * Invariants (what the router's ordering argument relies on, see router.ts):
 * - For each (shard, epoch) the accepted messages form one contiguous run of what arrives: a
 *   message of an epoch not granted yet is held (not bounced) until the grant or `earlyHoldMs`;
 *   once an epoch is dropped (released, expired, superseded, or its held messages timed out) it is
 *   dead for good and every later message of it bounces.
 * - A lease runs from the time the renewal that granted it was SENT, for leaseMs·(1-2·drift).
 */
import type { ShardGrant, RenewReply } from './coordinator-core.js'
import type { EntityOptions } from './options.js'

interface Owned {
  epoch: number
  validUntilMs: number
  releasing: boolean
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
    if (epoch <= (this.dead.get(shard) ?? -1) || (own !== undefined && epoch <= own.epoch)) return BOUNCE
    const held = this.held.get(shard)
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
    for (const [shard, own] of this.owned) if (nowMs < own.validUntilMs) out.push({ shard, epoch: own.epoch })
    return out
  }

  /** Applies the leader's answer to a renewal sent at `sentAtMs`. */
  renewed(reply: RenewReply, sentAtMs: number): RenewOutcome<T> {
    const validUntilMs = sentAtMs + this.options.leaseMs * (1 - 2 * this.options.drift)
    const dropped: number[] = []
    const accepted: RenewOutcome<T>['accepted'] = []
    const bounced: RenewOutcome<T>['bounced'] = []
    const granted = new Map(reply.owned.map((g) => [g.shard, g.epoch]))
    for (const [shard, own] of [...this.owned]) {
      const epoch = granted.get(shard)
      if (epoch === undefined || epoch !== own.epoch) {
        this.drop(shard, own.epoch)
        dropped.push(shard)
      }
    }
    const refused: ShardGrant[] = []
    for (const [shard, epoch] of granted) {
      if (epoch <= (this.dead.get(shard) ?? -1)) {
        refused.push({ shard, epoch })
        continue
      }
      const own = this.owned.get(shard)
      if (own !== undefined) own.validUntilMs = Math.max(own.validUntilMs, validUntilMs)
      else this.owned.set(shard, { epoch, validUntilMs, releasing: false })
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
    return { dropped, release, accepted, bounced, refused }
  }

  /** Ends leases that ran out and held messages that waited too long. */
  expire(nowMs: number): { dropped: number[]; bounced: Array<{ shard: number; epoch: number; items: T[] }> } {
    const dropped: number[] = []
    for (const [shard, own] of [...this.owned]) {
      if (nowMs >= own.validUntilMs) {
        this.drop(shard, own.epoch)
        dropped.push(shard)
      }
    }
    const bounced: Array<{ shard: number; epoch: number; items: T[] }> = []
    for (const [shard, held] of [...this.held]) {
      if (nowMs >= held.untilMs) {
        this.held.delete(shard)
        this.kill(shard, held.epoch)
        bounced.push({ shard, epoch: held.epoch, items: held.items })
      }
    }
    return { dropped, bounced }
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
