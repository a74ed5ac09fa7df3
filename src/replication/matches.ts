/**
 * What the leader tells the election about its followers' logs: who durably holds how much of the
 * epoch it leads (src/cluster/core.ts promotes only members holding every committed entry).
 * Sans-I/O. Only followers past the epoch's no-op entry count (before it, a follower's match says
 * nothing about this epoch's log). A report is produced only when it differs from the last one,
 * and the followers are looked at only when the core's matches changed, as this runs after every
 * input of the replicator.
 */
import type { NodeId } from '../net/types.js'
import type { ReplicationCore } from './core.js'

export class MatchesReport {
  private reported = ''
  /** The core, epoch and matches version last looked at. */
  private seen: { readonly core: ReplicationCore; readonly epoch: number; readonly version: number } | undefined = undefined

  /** The matches to report for `epoch`, led by `core`, or undefined when they are unchanged. */
  next(epoch: number, core: ReplicationCore): Map<NodeId, number> | undefined {
    const seen = this.seen
    if (seen !== undefined && seen.core === core && seen.epoch === epoch && seen.version === core.matchesVersion) return undefined
    this.seen = { core, epoch, version: core.matchesVersion }
    const noop = core.noopIndex ?? Infinity
    const followers = core.followers().filter((f) => f.match > noop)
    const key = `${epoch}:${followers.map((f) => `${f.node}=${f.match}`).join(',')}`
    if (key === this.reported) return undefined
    this.reported = key
    return new Map(followers.map((f) => [f.node, f.match]))
  }
}
