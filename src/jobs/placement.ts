/**
 * Placement: which peer runs a job. The leader gets each peer's capacity and event-loop lag from
 * gossip, and counts exactly the attempts it has itself assigned there and not yet seen finish;
 * stale gossip therefore cannot cause the herd effect of "send everything to the apparently idle
 * node". Work a previous leader assigned is not counted: executors queue it within their own
 * concurrency, so a new leader's estimate is low for one round of jobs at most.
 *
 * This module holds the interface and today's policy (`wlc`); the other policies and the registry
 * that builds one by name live in ./placement/.
 */
import type { MemberView } from '../cluster/types.js'
import type { NodeId } from '../net/types.js'

/** What a node last gossiped about its load, and when the leader heard it (monotonic ms). */
export interface GossipedLoad {
  readonly atMs: number
  readonly running: number
  readonly queued: number
}

/** What the leader knows about one candidate peer. */
export interface PeerLoad {
  readonly node: NodeId
  /** Jobs it may run at once (gossiped). */
  readonly capacity: number
  /** Attempts this leader assigned there that have not finished. */
  readonly outstanding: number
  readonly eventLoopLagMs: number
  /** The node the scheduler itself runs on. */
  readonly leader: boolean
  /** Its last gossiped load, when the driver knows it. */
  readonly gossip?: GossipedLoad
}

/** The job being placed, and the time. */
export interface PlacementJob {
  readonly id: string
  /** Monotonic time of the decision. */
  readonly nowMs: number
  /** Wall-clock time of the decision (deadlines are wall-clock). */
  readonly wallMs: number
  /** The submitter's estimate of the job's duration, if any. */
  readonly durationHintMs: number | null
  /** Wall-clock time by which the job must start, if any. */
  readonly deadline: number | null
  /** Jobs waiting in the leader's queue, this one included (late binding weighs holding against it). */
  readonly queued?: number
}

/** Duration predictions and node speeds, as a policy uses them (src/predict/duration.ts provides them). */
export interface PlacementModel {
  /** Predicted duration (ms) of a job of `type` on `node`. */
  predict(type: string, node: NodeId | null, hintMs: number | null): { readonly p50Ms: number; readonly p90Ms: number }
  /** The node's speed relative to the others (1 when unknown). */
  speed(node: NodeId): number
}

/** Chooses a peer for a job of `type`, or undefined when every candidate is full. */
export interface Placement {
  choose(type: string, candidates: readonly PeerLoad[], job?: PlacementJob): NodeId | undefined
  /** An attempt this policy placed on `node` ended (finished, failed, timed out or lost with its node). */
  released?(node: NodeId, type: string, nowMs: number): void
  /** A new scheduler (a new epoch) starts: assignments counted so far are not its own. */
  reset?(): void
  /** The leader's view of the members, whenever the scheduler reads it (at most every few ms). */
  observe?(members: readonly MemberView[], nowMs: number, wallMs: number): void
}

/** How far beyond its capacity a peer may be assigned, so its queue never runs dry between messages. */
export const OVERCOMMIT = 2

/** How much emptier (outstanding per capacity) the leader's own node looks than it is. */
export const LOCAL_PREFERENCE = 0.5

/** Above this gossiped event-loop lag the leader's node gets no preference: scheduling comes first. */
export const LOCAL_LAG_MS = 20

/** True while the leader may assign one more attempt to the peer. */
export function hasRoom(c: PeerLoad, overcommit: number = OVERCOMMIT): boolean {
  return c.capacity > 0 && c.outstanding < c.capacity * overcommit
}

/**
 * `wlc`: least outstanding work per unit of capacity and speed (speed-weighted least connections
 * with the leader's accounting); ties go to the less lagging peer, then the lower id. Without a
 * model every speed is 1, which is the policy DistributeX always had. The leader's own node counts as
 * LOCAL_PREFERENCE less busy while its event loop keeps up: a job placed there skips two network
 * hops (assignment and report), which dominate a short job's latency.
 */
export class LeastLoadedPlacement implements Placement {
  constructor(
    private readonly model?: PlacementModel,
    private readonly overcommit: number = OVERCOMMIT,
    private readonly localPreference: number = LOCAL_PREFERENCE,
  ) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    let best: PeerLoad | undefined
    let bestScore = Infinity
    for (const c of candidates) {
      if (!hasRoom(c, this.overcommit)) continue
      const speed = this.model?.speed(c.node) ?? 1
      const score = c.outstanding / (c.capacity * speed) - (c.leader && c.eventLoopLagMs <= LOCAL_LAG_MS ? this.localPreference : 0)
      const better =
        score < bestScore ||
        (score === bestScore && best !== undefined && (c.eventLoopLagMs < best.eventLoopLagMs || (c.eventLoopLagMs === best.eventLoopLagMs && c.node < best.node)))
      if (better) {
        best = c
        bestScore = score
      }
    }
    return best?.node
  }
}
