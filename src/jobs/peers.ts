/**
 * The peers the leader places jobs on, read from its view of the cluster, with no I/O
 * (actors/scheduler.ts reads the view and hands the result to the scheduler core).
 *
 * - A candidate is a member that is up, gossips metrics and has capacity; a member going down or
 *   leaving is named so that its attempts are given up; every type any member gossips is known,
 *   so that a submission of it is accepted even while no peer of it can take work.
 * - A member seen at a higher incarnation than before restarted (incarnations count boots, and
 *   attempts are not logged): it holds none of the attempts sent to it before, so they are given
 *   up too. Else a peer killed and back before the failure detector called it down would hold
 *   them until their timeouts (a minute by default). An attempt that reached the new process
 *   before the leader heard of it runs twice: execution is at least once.
 * - The view changes at gossip pace while dispatches and submissions come far more often, so a
 *   reading is reused for `refreshMs`.
 */
import type { MemberView } from '../cluster/types.js'
import type { NodeId } from '../net/types.js'
import type { Candidate } from './scheduler-core.js'

/** How long the leader reuses its reading of the cluster view for placement. */
export const PEERS_REFRESH_MS = 20

/** One reading of the cluster view. */
export interface Peers {
  readonly candidates: Candidate[]
  readonly types: Set<string>
  /** Members down or leaving, in the view's order. */
  readonly gone: NodeId[]
}

/** The candidates, known types and departed members of `members` at `nowMs`, seen by `self`. */
export function readPeers(members: readonly MemberView[], nowMs: number, self: NodeId): Peers {
  const candidates: Candidate[] = []
  const types = new Set<string>()
  const gone: NodeId[] = []
  for (const m of members) {
    if (m.state === 'down' || m.state === 'leaving') gone.push(m.nodeId)
    for (const t of m.metrics?.types ?? []) types.add(t)
    if (m.state !== 'up' || m.metrics === null || m.metrics.capacity === 0) continue
    candidates.push({
      node: m.nodeId,
      capacity: m.metrics.capacity,
      types: new Set(m.metrics.types),
      eventLoopLagMs: m.metrics.eventLoopLagMs,
      leader: m.nodeId === self,
      gossip: { atMs: nowMs - (m.lastSeenMsAgo ?? 0), running: m.metrics.running, queued: m.metrics.queued },
    })
  }
  return { candidates, types, gone }
}

/** Reuses the last reading for `refreshMs`; `read` runs only when it is older. */
export class PeerCache {
  private readAtMs = -Infinity
  private last: Peers = { candidates: [], types: new Set(), gone: [] }

  constructor(private readonly refreshMs = PEERS_REFRESH_MS) {}

  get(nowMs: number, read: () => Peers): Peers {
    if (nowMs - this.readAtMs < this.refreshMs) return this.last
    this.readAtMs = nowMs
    this.last = read()
    return this.last
  }
}

/** Each member's incarnation as last read, to tell which members restarted since. */
export class Restarts {
  private seen = new Map<NodeId, number>()

  /** Members of `members` at a higher incarnation than at the last reading; 0 (no record heard yet) is no reading. */
  read(members: readonly MemberView[]): NodeId[] {
    const restarted: NodeId[] = []
    const seen = new Map<NodeId, number>()
    for (const m of members) {
      const before = this.seen.get(m.nodeId) ?? 0
      if (before > 0 && m.incarnation > before) restarted.push(m.nodeId)
      seen.set(m.nodeId, Math.max(before, m.incarnation))
    }
    this.seen = seen
    return restarted
  }
}
