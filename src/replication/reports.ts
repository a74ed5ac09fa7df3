/**
 * What the replicator (actors/replicator.ts) tells the election after every input: this node's log
 * position, its commit index and, while leading, its followers' durable matches. Sans-I/O: the
 * driver hands the results to the cluster handle, in this order, before it starts the next local
 * mutation.
 *
 * Invariants:
 * - the position is reported whenever the core produced one (the core says when it changed), so
 *   the election's up-to-date rule covers a write under way;
 * - the commit index is reported on every node (the election core then knows from the start that
 *   the log is replicated), once per change;
 * - matches are reported only for the epoch the core leads, and only when they differ from the
 *   last report (matches.ts).
 */
import type { NodeId } from '../net/types.js'
import type { ReplicationCore } from './core.js'
import { MatchesReport } from './matches.js'
import type { LogPosition } from './types.js'

/** One round of reports; each field is absent when there is nothing new to tell. */
export interface ClusterReport {
  readonly position?: LogPosition
  readonly commitIndex?: number
  readonly matches?: { readonly epoch: number; readonly byNode: Map<NodeId, number> }
}

export class ClusterReports {
  /** The commit index last reported (the cluster handle keeps the highest). */
  private reportedCommit = -1
  private readonly matches = new MatchesReport()

  /** What to report now, given the position the core's Ready carries, the core, and the epoch it leads. */
  next(position: LogPosition | undefined, core: ReplicationCore, ledEpoch: number | undefined): ClusterReport {
    const commitEnd = core.commitEnd
    const commitIndex = commitEnd !== this.reportedCommit ? (this.reportedCommit = commitEnd) : undefined
    const byNode = ledEpoch === undefined ? undefined : this.matches.next(ledEpoch, core)
    return {
      ...(position === undefined ? {} : { position }),
      ...(commitIndex === undefined ? {} : { commitIndex }),
      ...(byNode === undefined || ledEpoch === undefined ? {} : { matches: { epoch: ledEpoch, byNode } }),
    }
  }
}
