/**
 * Messages of the SWIM membership protocol (src/cluster/swim/): probes, their acknowledgements,
 * the full-state exchange used on join, and the anti-entropy of alive members. Membership updates and load figures ride on probes and
 * acks (piggybacking), so dissemination costs no messages of its own.
 */

/** What one membership update says about a member. `join` is a first `alive`, announced by the joiner itself. */
export type SwimUpdateKind = 'join' | 'alive' | 'suspect' | 'dead' | 'left'

/** One membership update: `member` is in state `kind` at `incarnation`; `from` is who suspected or declared it dead. */
export interface SwimUpdate {
  readonly kind: SwimUpdateKind
  readonly member: string
  readonly incarnation: number
  /** Set for `suspect` and `dead`: the originator, whose independent confirmations shorten the suspicion (Lifeguard). */
  readonly from?: string
  /**
   * How long ago the change was made where it was made, as far as the sender knows: each node on the
   * way adds the time it held the update (its own clock), so no two clocks are compared; transit is
   * not counted. Always set on the wire; absent on an update a node makes from a full-state exchange.
   */
  readonly ageMs?: number
}

/** The latest load figures of one node: `version` grows with every change, so only newer figures replace older ones. */
export interface SwimLoad {
  readonly member: string
  readonly version: number
  /** Small numbers whose meaning the caller fixes (e.g. capacity, running, queued, event-loop lag). */
  readonly values: readonly number[]
}

/** The state of one member in a full-state exchange. */
export interface SwimMemberState {
  readonly member: string
  readonly incarnation: number
  readonly status: 'alive' | 'suspect' | 'dead' | 'left'
}

/** A direct probe; `target` guards against a reused address reaching another node. */
export interface SwimPing {
  readonly type: 'ping'
  readonly seq: number
  /** The sender's incarnation: any message proves its sender alive, so a member that missed a join learns it anyway. */
  readonly incarnation: number
  readonly target: string
  readonly updates: readonly SwimUpdate[]
  readonly loads: readonly SwimLoad[]
}

/** Asks the receiver to probe `target` on the sender's behalf and forward the ack (or a nack). */
export interface SwimPingReq {
  readonly type: 'ping-req'
  readonly seq: number
  /** The sender's incarnation: any message proves its sender alive, so a member that missed a join learns it anyway. */
  readonly incarnation: number
  readonly target: string
  readonly updates: readonly SwimUpdate[]
  readonly loads: readonly SwimLoad[]
}

/** Answers a ping, or forwards the target's answer to the requester of an indirect probe. */
export interface SwimAck {
  readonly type: 'ack'
  readonly seq: number
  /** The sender's incarnation: any message proves its sender alive, so a member that missed a join learns it anyway. */
  readonly incarnation: number
  readonly updates: readonly SwimUpdate[]
  readonly loads: readonly SwimLoad[]
}

/** Lifeguard: an indirect prober's "I got no answer either", telling the requester its own links work. */
export interface SwimNack {
  readonly type: 'nack'
  readonly seq: number
}

/** Full-state exchange (push-pull): sent by a joiner to its seeds, answered once (`reply`). */
export interface SwimSync {
  readonly type: 'sync'
  readonly reply: boolean
  readonly members: readonly SwimMemberState[]
  readonly loads: readonly SwimLoad[]
}

/**
 * Anti-entropy, asked now and then of one member: a digest of the sender's alive members
 * (`swimDigest`). A receiver whose digest differs answers with its alive members (`live`).
 */
export interface SwimDigest {
  readonly type: 'digest'
  /** The sender's incarnation: any message proves its sender alive. */
  readonly incarnation: number
  readonly digest: number
  readonly count: number
}

/** One member held alive, at an incarnation. */
export interface SwimAliveState {
  readonly member: string
  readonly incarnation: number
}

/** The answer to a digest that differs: the members the sender holds alive. Only refutes, never accuses. */
export interface SwimLive {
  readonly type: 'live'
  /** The sender's incarnation: any message proves its sender alive. */
  readonly incarnation: number
  readonly members: readonly SwimAliveState[]
}

export type SwimMessage = SwimPing | SwimPingReq | SwimAck | SwimNack | SwimSync | SwimDigest | SwimLive
