/**
 * When an owner renews its shard leases with the leader (sans-I/O; actors/entities.ts sends the
 * renewal and applies its answer through OwnerCore).
 *
 * A renewal goes every renewEveryMs, or at the next tick after one failed or reached a node that
 * does not lead (an election under way), or at once when the leader hints that something changed.
 * One still waiting on a leader that has since been replaced is abandoned (its answer ignored) and
 * sent again to the new one at once: leases outlive a leader change only if the new leader hears the
 * claims in time. Only the answer of the renewal in flight settles it, and answers are applied in
 * generation order, so a late answer never overrides a newer one.
 *
 * Invariants: at most one renewal in flight (a new one replaces an abandoned one); generations only
 * grow (one counter, only ever incremented); an answer is applied at most once and never after a
 * newer one. An answer sent to a previous incarnation of the actor (its self-message outlives a
 * restart) is compared like any other.
 */
import type { NodeId } from '../net/types.js'

/** The leader a renewal goes to. */
export interface RenewTarget {
  readonly nodeId: NodeId
  readonly epoch: number
}

export class Renewals {
  private nextMs = 0
  /** The renewal waiting for its answer, and to which leadership it went. */
  private inFlight: { to: NodeId; epoch: number; generation: number } | undefined
  private generation = 0
  /** The generation of the last renewal answer applied: older answers arrive late and are ignored. */
  private applied = 0

  constructor(private readonly everyMs: number) {}

  /** The generation of the renewal to send now to `leader`, or undefined when none is due. */
  due(nowMs: number, leader: RenewTarget): number | undefined {
    const pending = this.inFlight
    if (pending !== undefined && pending.to === leader.nodeId && pending.epoch === leader.epoch) return undefined
    if (pending === undefined && nowMs < this.nextMs) return undefined
    const generation = ++this.generation
    this.inFlight = { to: leader.nodeId, epoch: leader.epoch, generation }
    this.nextMs = nowMs + this.everyMs
    return generation
  }

  /** The renewal of `generation` got its answer or failed: true when it is the one in flight (else it was abandoned). */
  settle(generation: number): boolean {
    if (this.inFlight?.generation !== generation) return false
    this.inFlight = undefined
    return true
  }

  /** Renew at the next tick (a failure, a refusal, a hint, a shard just placed here). */
  soon(): void {
    this.nextMs = 0
  }

  /** True when the answer of `generation` is to be applied: it is newer than every answer applied so far. */
  apply(generation: number): boolean {
    if (generation <= this.applied) return false
    this.applied = generation
    return true
  }
}
