/** Tuning of cluster entities (shards, leases, rebalancing). */

export interface EntityOptions {
  /** Shards keys are hashed into; ownership moves per shard. Same on every peer. */
  shards: number
  /** How long an owner's lease on its shards lasts after the request that renewed it. */
  leaseMs: number
  /** Owners renew this often (well under leaseMs). */
  renewEveryMs: number
  /** Bound on clock-rate error, as in the cluster's election (0.02: 2%). */
  drift: number
  /** Extra time the leader waits beyond an owner's lease before giving its shard to another peer. */
  marginMs: number
  /** The leader rebalances this often. */
  rebalanceEveryMs: number
  /** Handoffs started per rebalance. */
  maxHandoffs: number
  /** Messages that arrive for an epoch the peer has not been granted yet are held this long. */
  earlyHoldMs: number
  /**
   * How long, from its last renewal, an owner keeps its shards once it has seen a newer leader
   * epoch than the one that renewed them (that leader can no longer give them away); every new
   * leader waits this long (plus drift and margin) before it allocates unclaimed shards. It lets
   * leases outlive an election plus a late renewal, at the price of the dead leader's own shards
   * moving that much later.
   */
  leaderChangeGraceMs: number
  /**
   * How long an owner whose lease ran out keeps the shard suspended (activations and state kept,
   * nothing handled) waiting for a renewal that may resume it; 0 drops it at once.
   */
  suspendMs: number
}

export const DEFAULT_ENTITY_OPTIONS: EntityOptions = {
  shards: 64,
  leaseMs: 2000,
  renewEveryMs: 400,
  drift: 0.02,
  marginMs: 200,
  rebalanceEveryMs: 1000,
  maxHandoffs: 2,
  earlyHoldMs: 2000,
  leaderChangeGraceMs: 3000,
  suspendMs: 10_000,
}
