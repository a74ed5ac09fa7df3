/**
 * Which peers get this node's receptionist digest at a tick. The digest is the repair path for
 * announcements lost on the way (and tells peers of a restarted receptionist), so it matters while
 * registrations change; sent to every peer every tick it was, in an idle cluster, most of what a
 * node sent and received: N-1 digests out and in per tick, O(N²) for the cluster.
 *
 * So: for `hotMs` after any sign of change (a registration here, an announcement that changed a
 * listing, a pull, a peer coming or going) every peer gets it every tick, as before; once quiet,
 * one peer per tick, in turn by node id, so each still gets one every N-1 ticks and an idle node
 * sends and takes in one digest a tick whatever N. A lost announcement reaches a peer within a tick
 * while things change, and within N-1 ticks of a quiet cluster (a peer that reconnects gets
 * everything at once, unchanged).
 */
import type { NodeId } from '../net/types.js'

export class DigestSchedule {
  private lastChangeMs = -Infinity
  /** The peer that got the last quiet digest; the next goes to the one after it by id. */
  private lastTurn: NodeId | undefined

  constructor(private readonly hotMs: number) {}

  /** Something changed at `nowMs`: digests go to every peer for hotMs. */
  changed(nowMs: number): void {
    this.lastChangeMs = nowMs
  }

  /** The peers to send the digest to at a tick at `nowMs`. */
  due(peers: readonly NodeId[], nowMs: number): readonly NodeId[] {
    if (nowMs - this.lastChangeMs < this.hotMs || peers.length === 0) return peers
    const sorted = [...peers].sort()
    const last = this.lastTurn
    const next = (last === undefined ? undefined : sorted.find((p) => p > last)) ?? sorted[0]!
    this.lastTurn = next
    return [next]
  }
}
