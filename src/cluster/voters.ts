/**
 * How many voters the leader aims for, and when it may want a new one: one rule, used by the
 * cluster core's configuration changes (steps 3 to 5 of src/cluster/core.ts) and by the replicator's
 * choice of learners (src/replication/learners.ts), which must foresee which members the core may
 * promote. Pure functions of the configuration and the member states.
 */
import type { ClusterConfig, MemberView } from './types.js'

/**
 * The voters the leader aims for: the cluster's `voters` option when set, else 3 below 5 members
 * and 5 from then on, so the count stays odd once grown.
 */
export function voterTarget(config: ClusterConfig, voters?: number): number {
  if (voters !== undefined) return voters
  return config.members.length + config.workers.length >= 5 || config.members.length >= 5 ? 5 : 3
}

/**
 * True while the leader may make a new voter: fewer voters than the target, or a voter down or
 * leaving (the core replaces a voter silent for voterDownMs, and removes a leaving one).
 */
export function mayWantVoter(members: readonly Pick<MemberView, 'voter' | 'state'>[], config: ClusterConfig, voters?: number): boolean {
  return config.members.length < voterTarget(config, voters) || members.some((m) => m.voter && (m.state === 'down' || m.state === 'leaving'))
}
