/**
 * A placement that tells the leader's analytics what it does: each assignment (for the offered-load
 * forecast), each job whose deadline looks at risk, and the members' gossip it is shown. The policy
 * it wraps decides; this only watches.
 */
import type { MemberView } from '../../cluster/types.js'
import type { NodeId } from '../../net/types.js'
import type { ClusterAnalytics } from '../../predict/analytics.js'
import type { PeerLoad, Placement, PlacementJob } from '../placement.js'

export class ObservedPlacement implements Placement {
  constructor(
    readonly inner: Placement,
    private readonly analytics: ClusterAnalytics,
  ) {}

  choose(type: string, candidates: readonly PeerLoad[], job?: PlacementJob): NodeId | undefined {
    const node = this.inner.choose(type, candidates, job)
    if (node === undefined || job === undefined) return node
    this.analytics.assigned(node, type, job.durationHintMs)
    if (job.deadline !== null) {
      const peer = candidates.find((c) => c.node === node)!
      const predicted = this.analytics.predict(type, node, job.durationHintMs)
      const waitMs = (peer.outstanding / Math.max(1, peer.capacity)) * predicted.p50Ms
      this.analytics.deadline(job.wallMs, job.id, node, job.wallMs + waitMs + predicted.p90Ms, job.deadline)
    }
    return node
  }

  released(node: NodeId, type: string, nowMs: number): void {
    this.inner.released?.(node, type, nowMs)
  }

  reset(): void {
    this.inner.reset?.()
  }

  observe(members: readonly MemberView[], nowMs: number, wallMs: number): void {
    this.analytics.observe(members, nowMs, wallMs)
  }
}
