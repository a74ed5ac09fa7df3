/**
 * The jobs-client actor, on every node: receives the leader's pushes (finished outcomes, progress)
 * for the jobs this node submitted or watches, and periodically re-registers its interest with the
 * current leader, which covers both a lost push and a leader change.
 */
import type { ClusterHandle } from '../src/cluster/handle.js'
import { defineActor } from '../src/actor/define.js'
import { formatAddress } from '../src/actor/address.js'
import { checkList, checkOutcome, checkText, SCHEDULER_PATH, type JobsClientMsg, type SchedulerMsg } from '../src/jobs/protocol.js'
import type { ResultWaiters } from '../src/jobs/waiters.js'

/** How often pending jobs are watched again. */
export const REWATCH_MS = 2000

export interface JobsClientInit {
  waiters: ResultWaiters
  cluster: ClusterHandle
}

export function jobsClientActor(init: JobsClientInit) {
  /** Pushes come from the scheduler of the current leader; one refused during a leader change is made up by the next rewatch. */
  const fromLeader = (from: string): boolean => init.cluster.leader()?.nodeId === from
  return defineActor<JobsClientMsg>({
    remote: { finished: fromLeader, progress: fromLeader, rewatch: 'never' },
    supervision: { decide: () => 'resume' },
    setup(ctx) {
      ctx.timers.every('rewatch', REWATCH_MS, { type: 'rewatch' })
      const self = formatAddress(ctx.self.address)
      return {
        finished(msg) {
          for (const item of checkList<{ id: unknown; outcome: unknown }>(msg.items, 'items')) init.waiters.settle(checkText(item.id, 'id'), checkOutcome(item.outcome))
        },
        progress(msg) {
          for (const item of checkList<{ id: unknown; fraction: unknown; message: unknown }>(msg.items, 'items')) {
            if (typeof item.fraction === 'number') init.waiters.reportProgress(checkText(item.id, 'id'), item.fraction, typeof item.message === 'string' ? item.message : null)
          }
        },
        rewatch() {
          const ids = init.waiters.pendingIds()
          const leader = init.cluster.leader()
          if (ids.length === 0 || leader === null || leader === undefined) return
          const scheduler = ctx.ref<SchedulerMsg>({ node: leader.nodeId, path: SCHEDULER_PATH })
          for (let i = 0; i < ids.length; i += 10_000) {
            scheduler
              .ask({ type: 'watch', ids: ids.slice(i, i + 10_000), watcher: self }, { timeoutMs: REWATCH_MS })
              .catch((error: unknown) => ctx.log.debug('rewatch failed', { error }))
          }
        },
      }
    },
  })
}
