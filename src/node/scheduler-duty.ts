/**
 * The leader's scheduler duty on one node: which scheduler runs, and when it starts and stops.
 *
 * The scheduler of an epoch starts when this node holds that epoch's lease and runs until this node
 * can no longer lead the epoch (it stepped down, resigned, or leads a newer one). Through a lapse of
 * the lease it stays, paused (src/jobs/scheduler-lease.ts), so that a lease that comes back in the
 * same epoch costs no fence and no replay of the log: under load each replay was the CPU that made
 * the next lapse (issue 9). Changes are applied one at a time, so an old scheduler has always
 * stopped before the next one starts. A scheduler that stops by itself (fenced by a newer leader,
 * or failing past its restarts) would leave this node leading without doing a leader's work, so
 * the node gives up the lead and says why.
 */
import type { ActorSystem } from '../actor/system.js'
import type { ActorRef, Message } from '../actor/types.js'
import type { ClusterHandle } from '../cluster/handle.js'
import type { Metrics } from '../env/types.js'
import { SchedulerStats } from '../jobs/scheduler-lease.js'

export interface SchedulerDutyInit {
  system: ActorSystem
  cluster: ClusterHandle
  metrics: Metrics
  /** Spawns the scheduler of `epoch`, counting into `stats`. */
  spawn: (epoch: number, stats: SchedulerStats) => ActorRef<Message>
}

export interface SchedulerDuty {
  /** Replays and pauses of this node's schedulers, across their incarnations. */
  readonly stats: SchedulerStats
  /** From now on a scheduler that stops is the node shutting down, not a reason to resign. */
  shutDown(): void
}

/** Starts following the cluster's leadership with the scheduler it calls for. */
export function superviseScheduler(init: SchedulerDutyInit): SchedulerDuty {
  const { system, cluster } = init
  const stats = new SchedulerStats()
  init.metrics.counter(
    'dx_jobs_scheduler_replays_total',
    "Times this node's scheduler fenced and replayed the job log: once per epoch it led, plus restarts after failures",
    [],
    (set) => set(stats.replays),
  )
  init.metrics.counter(
    'dx_jobs_scheduler_lease_lapses_total',
    "Lapses of this node's lease that its scheduler waited through instead of stopping: paused, and resumed when the lease came back in the same epoch",
    ['event'],
    (set) => {
      set(stats.pauses, { event: 'paused' })
      set(stats.resumes, { event: 'resumed' })
    },
  )
  let scheduler: { ref: ActorRef<Message>; epoch: number; stopping: boolean } | undefined
  let transitions = Promise.resolve()
  let shuttingDown = false
  const reconcile = async (): Promise<void> => {
    if (scheduler !== undefined && scheduler.epoch !== cluster.leadingEpoch()) {
      scheduler.stopping = true
      await system.stop(scheduler.ref)
      scheduler = undefined
    }
    const epoch = cluster.leaderEpoch()
    if (scheduler !== undefined || epoch === undefined) return
    const running = { ref: init.spawn(epoch, stats), epoch, stopping: false }
    scheduler = running
    void system.whenTerminated(running.ref).then((terminated) => {
      if (running.stopping || shuttingDown) return
      if (scheduler === running) scheduler = undefined
      const why = terminated.error === undefined ? terminated.reason : `${terminated.reason}: ${terminated.error.message}`
      system.log.warn('the scheduler stopped while this node leads; resigning the lead', { epoch, reason: why })
      cluster.resign(`scheduler of epoch ${epoch} stopped (${why})`)
    })
  }
  const scheduleReconcile = (): void => {
    transitions = transitions.then(reconcile).catch((error: unknown) => system.log.error('scheduler transition failed', { error }))
  }
  cluster.onLeadershipChange(scheduleReconcile)
  // A lapse that ends in a step-down changes no lease (none is held before or after), but it does
  // change the leader this node knows: itself until then.
  cluster.onLeaderChange(scheduleReconcile)
  return {
    stats,
    shutDown: () => {
      shuttingDown = true
    },
  }
}
