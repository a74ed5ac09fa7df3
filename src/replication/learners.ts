/**
 * Which members that do not vote get the replicated log from the leader (its learners). Only voters
 * count for commit; a learner gets the log so that the cluster core can make a voter of it: it
 * promotes a worker, or admits a joiner as a voter, only once the member's acknowledged log holds
 * every committed entry (src/cluster/core.ts, "Log catch-up", rule 1). A learner costs a full copy:
 * a frame from the leader per batch, decoding, a write and an fsync on it, a reply, and an idle
 * heartbeat each way every second. Learners are therefore few: the leader's cost per job and per
 * idle second grows with voters plus learners, not with the cluster.
 *
 * - At most STANDBY_LEARNERS members that run jobs (or whose metrics are not known yet) learn while
 *   the configuration is complete: the standbys a dead voter's replacement is taken from, already
 *   caught up. Two, so one can fail with the voter it was to replace.
 * - While the leader may want a new voter (fewer voters than the target, or a voter down or
 *   leaving; the core replaces a voter down for voterDownMs), one more learner per voter wanted,
 *   and members that run no jobs (a process that joined only to submit jobs and read results, as the
 *   jobs bench's submitter) are candidates too, after those that run jobs.
 * - Candidates that say `up` come first (the core promotes only those), then by node id, so the
 *   same members stay learners while nothing changes. Any other member holds no acknowledged log
 *   and is never promoted; when one is chosen later it catches up as a late joiner does (from the
 *   leader's buffer, its log read back, or a reset).
 *
 * Safety does not depend on this choice: commit counts voters only, and the catch-up rules hold
 * for whoever is promoted, learner or not. It only decides which members can be promoted, and when.
 */
import type { NodeId } from '../net/types.js'
import type { ClusterConfig, MemberView } from '../cluster/types.js'
import { mayWantVoter, voterTarget } from '../cluster/voters.js'

/** Learners kept while no voter is wanted: caught-up replacements for a voter that dies. */
export const STANDBY_LEARNERS = 2

/** True when `m` runs jobs, or when it is not known yet whether it does. */
function runsJobs(m: MemberView): boolean {
  return m.metrics === null || m.metrics.types.length > 0 || m.metrics.capacity > 0
}

/**
 * The learners among `members`: live (joining or up) non-voters, those that run jobs first and,
 * while the leader may want a new voter, the others after them; at most STANDBY_LEARNERS plus one
 * per voter wanted. Without a configuration (a cluster forming) every live non-voter learns.
 * `votersTarget` is the cluster's `voters` option when set (the cluster's default rule otherwise,
 * src/cluster/voters.ts).
 */
export function chooseLearners(members: readonly MemberView[], config: ClusterConfig | null | undefined, votersTarget?: number): NodeId[] {
  const live = members.filter((m) => !m.voter && (m.state === 'joining' || m.state === 'up'))
  if (config === null || config === undefined) return live.map((m) => m.nodeId)
  const wanted = mayWantVoter(members, config, votersTarget)
  const missing = Math.max(0, voterTarget(config, votersTarget) - config.members.length)
  const gone = members.filter((m) => m.voter && (m.state === 'down' || m.state === 'leaving')).length
  const rank = (m: MemberView): number => (runsJobs(m) ? 0 : 2) + (m.state === 'up' ? 0 : 1)
  return live
    .filter((m) => wanted || runsJobs(m))
    .sort((a, b) => rank(a) - rank(b) || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
    .slice(0, STANDBY_LEARNERS + (wanted ? missing + gone : 0))
    .map((m) => m.nodeId)
}
