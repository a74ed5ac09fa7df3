/**
 * Which members that do not vote get the replicated log from the leader (its learners). Only voters
 * count for commit; a learner gets the log so that the cluster core can make a voter of it: it
 * promotes a worker, or admits a joiner as a voter, only once the member's acknowledged log holds
 * every committed entry (src/cluster/core.ts, "Log catch-up", rule 1). A learner costs a full copy:
 * a frame from the leader per batch, decoding, a write and an fsync on it, a reply.
 *
 * - A member that runs jobs (or whose metrics are not known yet) is always a learner: the leader
 *   may promote it at any time.
 * - A member that runs no jobs (a process that joined only to submit jobs and read results, as the
 *   jobs bench's submitter) is a learner only while the leader may want a new voter: fewer voters
 *   than the target, or a voter down or leaving (the core replaces a voter down for voterDownMs).
 *   Otherwise it holds no acknowledged log and is never promoted; when a voter is wanted again it
 *   catches up as a late joiner does (from the leader's buffer, its log read back, or a reset).
 *
 * Safety does not depend on this choice: commit counts voters only, and the catch-up rules hold
 * for whoever is promoted, learner or not. It only decides which members can be promoted, and when.
 */
import type { NodeId } from '../net/types.js'
import type { ClusterConfig, MemberView } from '../cluster/types.js'
import { mayWantVoter } from '../cluster/voters.js'

/** True when `m` runs jobs, or when it is not known yet whether it does. */
function runsJobs(m: MemberView): boolean {
  return m.metrics === null || m.metrics.types.length > 0 || m.metrics.capacity > 0
}

/**
 * The learners among `members`: live (joining or up) non-voters that run jobs, and, while the
 * leader may want a new voter, every live non-voter. `votersTarget` is the cluster's `voters`
 * option when set (the cluster's default rule otherwise, src/cluster/voters.ts).
 */
export function chooseLearners(members: readonly MemberView[], config: ClusterConfig | null | undefined, votersTarget?: number): NodeId[] {
  const live = members.filter((m) => !m.voter && (m.state === 'joining' || m.state === 'up'))
  if (config === null || config === undefined) return live.map((m) => m.nodeId)
  const wanted = mayWantVoter(members, config, votersTarget)
  return live.filter((m) => wanted || runsJobs(m)).map((m) => m.nodeId)
}
