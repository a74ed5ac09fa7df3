/**
 * The jobs-client actor, on every node: receives the leader's pushes (finished outcomes, progress)
 * for the jobs this node submitted or watches, and re-registers its interest with the leader every
 * REWATCH_MS and as soon as the cluster handle reports a new leader (no polling: an idle node polled
 * ten times a second), which covers both a lost push and a leader
 * change. Watchers live only in the leader's memory, so a new leader finishes replayed jobs with
 * nobody to tell until the rewatch reaches it; the rewatch's reply carries the outcomes of finished
 * jobs (also those that already left the leader's memory, from its result cache), and a job that
 * expired with its outcome nowhere fails its waiters with JobExpiredError instead of leaving them
 * waiting for ever.
 */
import { checkList, checkOutcome, checkText, defineActor, formatAddress, JobExpiredError, SCHEDULER_PATH } from '../src/internal.js'
import type { ClusterHandle, JobsClientMsg, ResultWaiters, SchedulerMsg, WatchReply } from '../src/internal.js'

/** How often pending jobs are watched again. */
export const REWATCH_MS = 2000
/** Ids per watch ask. */
const WATCH_MAX_IDS = 10_000

export interface JobsClientInit {
  waiters: ResultWaiters
  cluster: ClusterHandle
}

export function jobsClientActor(init: JobsClientInit) {
  /** Pushes come from the scheduler of the current leader; one refused during a leader change is made up by the next rewatch. */
  const fromLeader = (from: string): boolean => init.cluster.leader()?.nodeId === from
  return defineActor<JobsClientMsg>({
    remote: { finished: fromLeader, progress: fromLeader, rewatch: 'never', leaderCheck: 'never' },
    supervision: { decide: () => 'resume' },
    setup(ctx) {
      ctx.timers.every('rewatch', REWATCH_MS, { type: 'rewatch' })
      ctx.onStop(init.cluster.onLeaderChange(() => ctx.self.tell({ type: 'leaderCheck' })))
      const self = formatAddress(ctx.self.address)
      /** The leader (node and epoch) last watched with. */
      let watchedLeader = ''
      const rewatch = (): void => {
        const leader = init.cluster.leader()
        if (leader === null || leader === undefined) return
        watchedLeader = `${leader.nodeId}@${leader.epoch}`
        const ids = init.waiters.pendingIds()
        if (ids.length === 0) return
        const scheduler = ctx.ref<SchedulerMsg>({ node: leader.nodeId, path: SCHEDULER_PATH })
        for (let i = 0; i < ids.length; i += WATCH_MAX_IDS) {
          const part = ids.slice(i, i + WATCH_MAX_IDS)
          scheduler.ask({ type: 'watch', ids: part, watcher: self }, { timeoutMs: REWATCH_MS }).then(
            (answers) => settle(part, answers),
            (error: unknown) => ctx.log.debug('rewatch failed', { error }),
          )
        }
      }
      /** Takes in a watch reply: outcomes settle their jobs, and expired jobs fail their waiters. */
      const settle = (ids: readonly string[], answers: unknown): void => {
        const list = checkList<WatchReply>(answers, 'answers')
        ids.forEach((id, i) => {
          const answer = list[i]
          if (answer === 'expired') init.waiters.fail(id, new JobExpiredError(id))
          else if (typeof answer === 'object' && answer !== null) init.waiters.settle(id, checkOutcome(answer.outcome))
        })
      }
      return {
        finished(msg) {
          for (const item of checkList<{ id: unknown; outcome: unknown }>(msg.items, 'items')) init.waiters.settle(checkText(item.id, 'id'), checkOutcome(item.outcome))
        },
        progress(msg) {
          for (const item of checkList<{ id: unknown; fraction: unknown; message: unknown }>(msg.items, 'items')) {
            if (typeof item.fraction === 'number') init.waiters.reportProgress(checkText(item.id, 'id'), item.fraction, typeof item.message === 'string' ? item.message : null)
          }
        },
        rewatch,
        leaderCheck() {
          const leader = init.cluster.leader()
          if (init.waiters.pending > 0 && leader !== null && leader !== undefined && `${leader.nodeId}@${leader.epoch}` !== watchedLeader) rewatch()
        },
      }
    },
  })
}
