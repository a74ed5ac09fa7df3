/**
 * The executor actor, on every peer: runs the attempts the leader assigns, through one pool of
 * worker actors per job type (as many workers as the type's concurrency), and reports outcomes
 * and progress back to whichever node leads. What runs where, what is reported and what goes out
 * again is decided by its core (src/jobs/executor-core.ts); this driver spawns the workers, runs
 * the attempts the core starts, times them out, and sends the core's reports to the leader.
 *
 * - An assignment for a job already running here does not start a second copy; the running one
 *   reports under the newest attempt key. Execution is at least once across failures, never twice
 *   concurrently on one peer.
 * - Each attempt gets an AbortSignal that fires on cancellation (an `abort` from the leader) or when
 *   its timeout passes; a handler that ignores it is still reported as timed out. A handler that
 *   returns synchronously has finished before any of that could happen, so it gets no timer, and
 *   the signal's controller is made only when something reads or aborts it.
 * - The leader may take back an attempt no worker has started yet, to run it on an idle peer
 *   (work stealing); the answer says whether it was still waiting here, and one that was never runs here.
 * - Outcome reports are kept until the leader acknowledges them and re-sent to the current leader
 *   otherwise, so a leader change loses no result. Progress reports are best effort and throttled.
 * - The leader to report to is learned, not asked for: from each `assign` (it names its leader) and
 *   from the cluster handle's leader subscription (a new leader may assign nothing before it needs
 *   the old attempts' outcomes). Only the check that an assignment, abort or release comes from the
 *   leader reads the cluster's published state, at delivery: that is the sender's authentication,
 *   which cannot come from the message it authenticates.
 */
import { checkAssignment, checkList, checkText, defineActor, ExecutorCore, failureOutcome, JobTimeoutError, SCHEDULER_PATH, toWireError } from '../src/internal.js'
import type {
  ActorRef,
  Ask,
  Assignment,
  ClusterHandle,
  Environment,
  ExecutorMsg,
  ExecutorRun,
  ExecutorStats,
  JobContext,
  JobDef,
  JobOutcome,
  SchedulerMsg,
  Start,
} from '../src/internal.js'

/** Time before unacknowledged reports are sent again. */
const REPORT_RETRY_MS = 500
const REPORT_TIMEOUT_MS = 5000

/** Buckets of the attempt duration histogram, in seconds: no-op jobs up to long batch work. */
const ATTEMPT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]

/** An attempt on this peer; its controller is made on first use (see signalOf). */
type LocalRun = ExecutorRun

type WorkerMsg = Ask<{ type: 'run'; run: LocalRun; report: (fraction: number, message: string | null) => void }, JobOutcome>

/** A worker: runs one attempt at a time of one job type. */
function jobWorker(def: JobDef, env: Environment) {
  return defineActor<WorkerMsg>({
    // Only the executor on this node hands out runs.
    remote: { run: 'never' },
    supervision: { decide: () => 'resume' },
    setup: () => ({
      async run({ run, report }) {
        const ctx: JobContext = {
          jobId: run.spec.id,
          attempt: run.attempt,
          get signal() {
            return signalOf(run)
          },
          env,
          progress: (fraction, message) => report(fraction, message ?? null),
        }
        let result: unknown
        try {
          result = def.run(run.spec.input, ctx)
        } catch (error) {
          return failed(run, error)
        }
        // A handler that returned synchronously has finished: no timeout can interrupt it any more.
        if (!isPromiseLike(result)) return { ok: true, value: result === undefined ? null : result }
        const signal = signalOf(run)
        const timeout = env.timers.schedule(run.spec.options.timeoutMs, () => abortRun(run, new JobTimeoutError(run.spec.options.timeoutMs)))
        try {
          const value = await Promise.race([result, aborted(signal)])
          return { ok: true, value: value === undefined ? null : value }
        } catch (error) {
          return failed(run, error)
        } finally {
          env.timers.cancel(timeout)
        }
      },
    }),
  })
}

/** The outcome of an attempt that threw or was aborted (the abort's reason wins). */
function failed(run: LocalRun, error: unknown): JobOutcome {
  const signal = run.controller?.signal
  return failureOutcome(error, signal?.aborted === true ? signal.reason : undefined)
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The attempt's signal; its controller is made on first use, since most short jobs never look at it. */
function signalOf(run: LocalRun): AbortSignal {
  run.controller ??= new AbortController()
  return run.controller.signal
}

function abortRun(run: LocalRun, reason: Error): void {
  run.controller ??= new AbortController()
  run.controller.abort(reason)
}

/** A promise that rejects when `signal` aborts, so a handler that ignores its signal cannot hold a worker forever. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** Options of the executor. */
export interface ExecutorInit {
  jobs: readonly JobDef[]
  cluster: ClusterHandle
  stats: ExecutorStats
}

export function executorActor(init: ExecutorInit) {
  /** Assignments and aborts come from the scheduler of the node this node follows as leader. */
  const fromLeader = (from: string): boolean => init.cluster.leader()?.nodeId === from
  return defineActor<ExecutorMsg>({
    remote: { assign: fromLeader, abort: fromLeader, release: fromLeader, flush: 'never' },
    mailbox: { capacity: 100_000 },
    // A malformed message from a peer costs that message; restarting would drop the running attempts.
    supervision: { decide: () => 'resume' },
    setup(ctx) {
      const env = ctx.env
      env.metrics.gauge('dx_jobs_running', 'Job slots busy running attempts on this node (an attempt of a type declaring k slots counts k)', [], (set) => set(init.stats.running))
      env.metrics.gauge('dx_jobs_capacity', 'Job attempts this node may run at once (its workers)', [], (set) => set(init.stats.capacity))
      env.metrics.gauge('dx_jobs_waiting_local', 'Job slots of assigned attempts waiting for free workers on this node', [], (set) => set(init.stats.queued))
      const attemptSeconds = env.metrics.histogram('dx_job_attempt_seconds', 'Duration of job attempts on this node, by type and outcome', ATTEMPT_BUCKETS, ['type', 'outcome'])
      const core = new ExecutorCore<ActorRef<WorkerMsg>>(init.stats)
      for (const def of init.jobs)
        core.addPool(
          def.type,
          Array.from({ length: def.concurrency }, () => ctx.spawn(jobWorker(def, env))),
          def.resources?.slots ?? 1,
        )
      ctx.onStop(() => core.close())
      let flushQueued = false
      /** Where reports go: the last leader an assignment named or the cluster announced. */
      let leader: string | undefined = undefined
      ctx.onStop(init.cluster.onLeaderChange((known) => (leader = known?.nodeId)))

      const requestFlush = (): void => {
        if (flushQueued || core.waitingReports === 0) return
        flushQueued = true
        ctx.self.tell({ type: 'flush' })
      }

      const start = (starts: ReadonlyArray<Start<ActorRef<WorkerMsg>>>): void => {
        for (const { worker, run } of starts) {
          const startedAt = env.clock.monotonicMs()
          const progress = (fraction: number, message: string | null): void => {
            core.progress(run, fraction, message, env.clock.monotonicMs())
            requestFlush()
          }
          void worker.ask({ type: 'run', run, report: progress }, { timeoutMs: run.spec.options.timeoutMs + REPORT_TIMEOUT_MS }).then(
            (outcome) => finish(worker, run, outcome, startedAt),
            (error: unknown) => finish(worker, run, { ok: false, error: toWireError(error, 'ERR_JOB'), permanent: false }, startedAt),
          )
        }
        requestFlush()
      }

      const finish = (worker: ActorRef<WorkerMsg>, run: LocalRun, outcome: JobOutcome, startedAt: number): void => {
        const durationMs = env.clock.monotonicMs() - startedAt
        attemptSeconds.observe(durationMs / 1000, { type: run.spec.type, outcome: outcome.ok ? 'ok' : 'error' })
        const signal = run.controller?.signal
        start(core.finished(run, worker, outcome, durationMs, signal?.aborted === true && !(signal.reason instanceof JobTimeoutError)))
      }

      const send = (): void => {
        flushQueued = false
        if (!core.readyToSend) return
        if (leader === undefined) {
          ctx.timers.once('retry', REPORT_RETRY_MS, { type: 'flush' })
          return
        }
        const batch = core.takeBatch()
        const scheduler = ctx.ref<SchedulerMsg>({ node: leader, path: SCHEDULER_PATH })
        void scheduler.ask({ type: 'reports', reports: batch }, { timeoutMs: REPORT_TIMEOUT_MS }).then(
          () => {
            core.delivered()
            requestFlush()
          },
          (error: unknown) => {
            core.undelivered(batch)
            ctx.log.debug('reports not delivered; will retry', { error, reports: batch.length })
            ctx.timers.once('retry', REPORT_RETRY_MS, { type: 'flush' })
          },
        )
      }

      return {
        assign(msg) {
          leader = checkText(msg.leader, 'leader')
          for (const a of checkList<unknown>(msg.assignments, 'assignments')) {
            let checked: Assignment
            try {
              checked = checkAssignment(a)
            } catch (error) {
              ctx.log.warn('refused a malformed assignment', { error })
              continue
            }
            start(core.accept(checked))
          }
          return null
        },
        abort(msg) {
          for (const { id, attemptKey } of checkList<{ id: string; attemptKey: string }>(msg.items, 'items')) {
            const run = core.abort(id, attemptKey)
            if (run !== undefined) abortRun(run, new Error('attempt aborted by the leader'))
          }
        },
        release(msg) {
          // Every item is checked before any is given up: a malformed request gives up nothing.
          const items = checkList<{ id: unknown; attemptKey: unknown }>(msg.items, 'items').map((item) => ({
            id: checkText(item.id, 'id'),
            attemptKey: checkText(item.attemptKey, 'attemptKey', 64),
          }))
          // One actor turn: no worker can start an attempt between the check and its removal.
          const released = items.map(({ id, attemptKey }) => core.release(id, attemptKey))
          requestFlush()
          return released
        },
        flush: send,
      }
    },
  })
}
