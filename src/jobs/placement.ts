/**
 * Placement: which peer runs a job. The leader gets each peer's capacity and event-loop lag from
 * gossip, and counts exactly the attempts it has itself assigned there and not yet seen finish;
 * stale gossip therefore cannot cause the herd effect of "send everything to the apparently idle
 * node". Work a previous leader assigned is not counted: executors queue it within their own
 * concurrency, so a new leader's estimate is low for one round of jobs at most.
 */
import type { NodeId } from '../net/types.js'

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
}

/** Chooses a peer for a job of `type`, or undefined when every candidate is full. */
export interface Placement {
  choose(type: string, candidates: readonly PeerLoad[]): NodeId | undefined
}

/** How far beyond its capacity a peer may be assigned, so its queue never runs dry between messages. */
export const OVERCOMMIT = 2

/** How much emptier (outstanding per capacity) the leader's own node looks than it is. */
const LOCAL_PREFERENCE = 0.5

/** Above this gossiped event-loop lag the leader's node gets no preference: scheduling comes first. */
const LOCAL_LAG_MS = 20

/**
 * Least outstanding work per unit of capacity; ties go to the less lagging peer, then the lower id.
 * The leader's own node counts as LOCAL_PREFERENCE less busy while its event loop keeps up: a job
 * placed there skips two network hops (assignment and report), which dominate a short job's latency.
 */
export class LeastLoadedPlacement implements Placement {
  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    let best: PeerLoad | undefined
    let bestScore = Infinity
    for (const c of candidates) {
      if (c.capacity <= 0 || c.outstanding >= c.capacity * OVERCOMMIT) continue
      const score = c.outstanding / c.capacity - (c.leader && c.eventLoopLagMs <= LOCAL_LAG_MS ? LOCAL_PREFERENCE : 0)
      const better = score < bestScore || (score === bestScore && best !== undefined && (c.eventLoopLagMs < best.eventLoopLagMs || (c.eventLoopLagMs === best.eventLoopLagMs && c.node < best.node)))
      if (better) {
        best = c
        bestScore = score
      }
    }
    return best?.node
  }
}
