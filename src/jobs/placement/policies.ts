/**
 * The placement policies besides `wlc` (../placement.ts), for comparison in the simulator and for
 * selection per cluster. Every policy respects the leader's overcommit limit (a peer with
 * capacity x overcommit outstanding attempts gets no more), so with the default limit jobs beyond
 * it wait in the leader's queue and go to the first peer that frees a slot (late binding).
 *
 * - round-robin: the next peer with room, in id order.
 * - random: a uniformly random peer with room.
 * - weighted-round-robin: smooth weighted round robin (nginx), weight = capacity x speed.
 * - least-loaded: least gossiped (running + queued) per capacity; no accounting, so it herds on
 *   stale gossip. A baseline.
 * - wlc-gossip: the research note's WLC+acct: gossiped queue plus assignments since that gossip,
 *   + 1, per speed (and capacity). It exists as the baseline the targets T2, T5 and T6 of
 *   scheduling-anchors §4.5 are calibrated on; `wlc` is stronger (its count drops the moment a
 *   finish is reported), so the targets are read against both.
 * - p2c: two random peers with room, the one with the lower expected delay
 *   (outstanding + 1) / (capacity x speed).
 * - eect: earliest expected completion time: the leader's predicted backlog on the peer (a running
 *   attempt counts its expected residual given how long it has run), plus work a previous leader
 *   left there (gossiped jobs beyond this leader's count, at the mean predicted duration, aged since
 *   the gossip), spread over its capacity, plus the job's own mean predicted duration on it (P90
 *   when the job has a deadline). Ties within 5% are broken at random so a stale view does not herd.
 * - eect-pull: late binding. A peer is given a job only into a free slot; the rest wait in the
 *   leader's queue, and each finished attempt's report (the peer's slot freeing) triggers a dispatch,
 *   so the peer in effect pulls its next job. The job goes to the free peer that completes it first,
 *   or waits for a busy peer that would complete it sooner, but only while fewer jobs wait at the
 *   leader than there are such peers: holding every job for the fast peers leaves the slow ones idle
 *   and the queue unstable (the slow-server problem; the threshold is Lin and Kumar's rule in spirit).
 */
import type { Random } from '../../env/types.js'
import type { NodeId } from '../../net/types.js'
import { hasRoom, LOCAL_LAG_MS, OVERCOMMIT, type PeerLoad, type Placement, type PlacementJob, type PlacementModel } from '../placement.js'
import { meanOf, WorkAccounting } from './accounting.js'

const byId = (a: PeerLoad, b: PeerLoad): number => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)

export class RoundRobinPlacement implements Placement {
  private last: NodeId | undefined

  constructor(private readonly overcommit: number = OVERCOMMIT) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    const open = candidates.filter((c) => hasRoom(c, this.overcommit)).sort(byId)
    if (open.length === 0) return undefined
    const next = open.find((c) => this.last === undefined || c.node > this.last) ?? open[0]!
    this.last = next.node
    return next.node
  }
}

export class RandomPlacement implements Placement {
  constructor(
    private readonly random: Random,
    private readonly overcommit: number = OVERCOMMIT,
  ) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    const open = candidates.filter((c) => hasRoom(c, this.overcommit))
    return open.length === 0 ? undefined : open[this.random.int(0, open.length - 1)]!.node
  }
}

/** Smooth weighted round robin: each pick adds every weight to its peer's credit and takes the largest. */
export class WeightedRoundRobinPlacement implements Placement {
  private readonly credit = new Map<NodeId, number>()

  constructor(
    private readonly model: PlacementModel,
    private readonly overcommit: number = OVERCOMMIT,
  ) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    const open = candidates.filter((c) => hasRoom(c, this.overcommit)).sort(byId)
    if (open.length === 0) return undefined
    let total = 0
    let best: PeerLoad | undefined
    let bestCredit = -Infinity
    for (const c of open) {
      const w = c.capacity * this.model.speed(c.node)
      total += w
      const credit = (this.credit.get(c.node) ?? 0) + w
      this.credit.set(c.node, credit)
      if (credit > bestCredit) {
        best = c
        bestCredit = credit
      }
    }
    this.credit.set(best!.node, bestCredit - total)
    return best!.node
  }

  reset(): void {
    this.credit.clear()
  }
}

/** The peer with room and the lowest score, ties to the lower id. */
function lowest(candidates: readonly PeerLoad[], overcommit: number, score: (c: PeerLoad) => number): PeerLoad | undefined {
  let best: PeerLoad | undefined
  let bestScore = Infinity
  for (const c of candidates) {
    if (!hasRoom(c, overcommit)) continue
    const s = score(c)
    if (s < bestScore || (s === bestScore && best !== undefined && c.node < best.node)) {
      best = c
      bestScore = s
    }
  }
  return best
}

/** Least gossiped load per capacity, ties to the lower id: what a dispatcher without accounting does. */
export class GossipLeastLoadedPlacement implements Placement {
  constructor(private readonly overcommit: number = OVERCOMMIT) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    return lowest(candidates, this.overcommit, (c) => (c.gossip === undefined ? 0 : (c.gossip.running + c.gossip.queued) / c.capacity))?.node
  }
}

/**
 * The research note's WLC+acct: gossiped queue plus assignments since that gossip, + 1, per speed
 * (scheduling-anchors §4.1 item 2), ties to the lower id. The baseline the targets T2, T5 and T6 are
 * calibrated on. A gossip the leader heard at a new time restarts the count of assignments; a peer
 * that has not gossiped yet is read by the leader's outstanding count instead.
 */
export class GossipAccountedPlacement implements Placement {
  /** Per peer: when the gossip the count starts from was heard, and the assignments since. */
  private readonly since = new Map<NodeId, { atMs: number; count: number }>()

  constructor(
    private readonly model: PlacementModel,
    private readonly overcommit: number = OVERCOMMIT,
  ) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    const pick = lowest(candidates, this.overcommit, (c) => (this.load(c) + 1) / (c.capacity * this.model.speed(c.node)))
    if (pick?.gossip !== undefined) {
      const s = this.since.get(pick.node)
      this.since.set(pick.node, { atMs: pick.gossip.atMs, count: s !== undefined && s.atMs === pick.gossip.atMs ? s.count + 1 : 1 })
    }
    return pick?.node
  }

  reset(): void {
    this.since.clear()
  }

  /** Gossiped running + queued plus this leader's assignments since that gossip. */
  private load(c: PeerLoad): number {
    if (c.gossip === undefined) return c.outstanding
    const s = this.since.get(c.node)
    return c.gossip.running + c.gossip.queued + (s !== undefined && s.atMs === c.gossip.atMs ? s.count : 0)
  }
}

export class PowerOfTwoPlacement implements Placement {
  constructor(
    private readonly model: PlacementModel,
    private readonly random: Random,
    private readonly overcommit: number = OVERCOMMIT,
  ) {}

  choose(_type: string, candidates: readonly PeerLoad[]): NodeId | undefined {
    const open = candidates.filter((c) => hasRoom(c, this.overcommit))
    if (open.length <= 1) return open[0]?.node
    const i = this.random.int(0, open.length - 1)
    let j = this.random.int(0, open.length - 2)
    if (j >= i) j++
    const delay = (c: PeerLoad): number => (c.outstanding + 1) / (c.capacity * this.model.speed(c.node))
    const a = open[i]!
    const b = open[j]!
    return delay(a) <= delay(b) ? a.node : b.node
  }
}

export interface EectOptions {
  readonly overcommit?: number
  /** Late binding: assign only into free slots (see eect-pull above). */
  readonly pull?: boolean
  /** Relative width of a near-tie (default 0.05). */
  readonly tie?: number
  /**
   * The leader's own node looks this many typical jobs per slot emptier while its event loop keeps
   * up (wlc's local preference in time: a job there skips two network hops, which the simulator
   * does not charge). Default 0.
   */
  readonly localPreference?: number
}

export class EectPlacement implements Placement {
  private readonly accounting = new WorkAccounting()
  private readonly overcommit: number
  private readonly pull: boolean
  private readonly tie: number
  private readonly localPreference: number

  constructor(
    private readonly model: PlacementModel,
    private readonly random: Random,
    options: EectOptions = {},
  ) {
    this.overcommit = options.overcommit ?? OVERCOMMIT
    this.pull = options.pull ?? false
    this.tie = options.tie ?? 0.05
    this.localPreference = options.localPreference ?? 0
  }

  choose(type: string, candidates: readonly PeerLoad[], job?: PlacementJob): NodeId | undefined {
    const nowMs = job?.nowMs ?? 0
    const hint = job?.durationHintMs ?? null
    const useP90 = job?.deadline !== undefined && job.deadline !== null
    const scored: Array<{ c: PeerLoad; wait: number; own: number; score: number; p50: number; sigma: number }> = []
    let best = Infinity
    for (const c of candidates) {
      if (this.pull ? c.capacity <= 0 : !hasRoom(c, this.overcommit)) continue
      const predicted = this.model.predict(type, c.node, hint)
      const sigma = sigmaOf(predicted)
      const own = useP90 ? predicted.p90Ms : meanOf(predicted.p50Ms, sigma)
      const wait = this.waitMs(c, predicted.p50Ms, nowMs)
      const local = c.leader && c.eventLoopLagMs <= LOCAL_LAG_MS ? this.localPreference * predicted.p50Ms : 0
      const score = wait + own - local
      scored.push({ c, wait, own, score, p50: predicted.p50Ms, sigma })
      if (score < best) best = score
    }
    if (scored.length === 0) return undefined
    let near = scored.filter((s) => s.score <= best * (1 + this.tie))
    if (this.pull) {
      const free = (s: { c: PeerLoad }): boolean => s.c.outstanding < Math.min(s.c.capacity, s.c.capacity * this.overcommit)
      let bestFree = Infinity
      for (const s of scored) if (free(s) && s.score < bestFree) bestFree = s.score
      if (bestFree === Infinity) return undefined
      const sooner = scored.filter((s) => !free(s) && s.score * (1 + this.tie) < bestFree).length
      if (sooner >= (job?.queued ?? 1)) return undefined
      near = scored.filter((s) => free(s) && s.score <= bestFree * (1 + this.tie))
    }
    const pick = near.length === 1 ? near[0]! : near[this.random.int(0, near.length - 1)]!
    this.accounting.assigned(pick.c.node, pick.c.capacity, type, pick.p50, nowMs, pick.sigma)
    return pick.c.node
  }

  released(node: NodeId, type: string, nowMs: number): void {
    this.accounting.released(node, type, nowMs)
  }

  reset(): void {
    this.accounting.clear()
  }

  /** Expected wait before a new job starts on `c`: its predicted backlog spread over its capacity. */
  private waitMs(c: PeerLoad, typicalMs: number, nowMs: number): number {
    let backlog = this.accounting.backlogMs(c.node, nowMs)
    // Jobs the node reported beyond this leader's own (a previous leader's), aged since the gossip.
    if (c.gossip !== undefined) {
      const foreign = c.gossip.running + c.gossip.queued - c.outstanding
      if (foreign > 0) backlog += Math.max(0, foreign * typicalMs - (nowMs - c.gossip.atMs) * c.capacity)
    }
    return backlog / c.capacity
  }
}

/** The log-normal sigma implied by a prediction's P50 and P90. */
function sigmaOf(p: { readonly p50Ms: number; readonly p90Ms: number }): number {
  return p.p90Ms > p.p50Ms && p.p50Ms > 0 ? Math.log(p.p90Ms / p.p50Ms) / 1.2816 : 0
}
