/**
 * The executor actor, on every peer: runs the attempts the leader assigns, through one pool of
 * worker actors per job type (as many workers as the type's concurrency), and reports outcomes
 * and progress back to whichever node leads.
 *
 * - An assignment for a job already running here does not start a second copy; the running one
 *   reports under the newest attempt key. Execution is at least once across failures, never twice
 *   concurrently on one peer.
 * - Each attempt gets an AbortSignal that fires on cancellation (an `abort` from the leader) or when
 *   its timeout passes; a handler that ignores it is still reported as timed out. A handler that
 *   returns synchronously has finished before any of that could happen, so it gets no timer, and
 *   the signal's controller is made only when something reads or aborts it.
 * - Outcome reports are kept until the leader acknowledges them and re-sent to the current leader
 *   otherwise, so a leader change loses no result. Progress reports are best effort and throttled.
 */
import type { ClusterHandle } from '../src/cluster/handle.js'
import type { ExecutorStats } from '../src/jobs/executor-stats.js'
import { defineActor } from '../src/actor/define.js'
import type { ActorRef, Ask } from '../src/actor/types.js'
import { toError } from '../src/errors.js'
import { JobTimeoutError, PermanentJobError, UnknownJobTypeError } from '../src/jobs/errors.js'
import { checkList, checkSpec, checkText, SCHEDULER_PATH, type Assignment, type ExecutorMsg, type Report, type SchedulerMsg } from '../src/jobs/protocol.js'
import type { JobContext, JobDef, JobOutcome, JobSpec } from '../src/jobs/types.js'
import type { Environment } from '../src/env/types.js'

/** Minimum time between progress reports of one attempt. */
const PROGRESS_INTERVAL_MS = 100
/** Time before unacknowledged reports are sent again. */
const REPORT_RETRY_MS = 500
const REPORT_TIMEOUT_MS = 5000

/** Buckets of the attempt duration histogram, in seconds: no-op jobs up to long batch work. */
const ATTEMPT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]

interface LocalRun {
  readonly spec: JobSpec
  readonly attempt: number
  attemptKey: string
  /** Made on first use (see signalOf). */
  controller: AbortController | undefined
  lastProgressMs: number
}

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
  const e = signal?.aborted === true && signal.reason instanceof Error ? signal.reason : toError(error)
  const code = (e as { code?: unknown }).code
  return {
    ok: false,
    error: { name: e.name, code: typeof code === 'string' ? code : 'ERR_JOB', message: e.message.slice(0, 4096) },
    permanent: e instanceof PermanentJobError || e.name === 'PermanentJobError',
  }
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
    remote: { assign: fromLeader, abort: fromLeader, flush: 'never' },
    mailbox: { capacity: 100_000 },
    // A malformed message from a peer costs that message; restarting would drop the running attempts.
    supervision: { decide: () => 'resume' },
    setup(ctx) {
      const env = ctx.env
      env.metrics.gauge('dx_jobs_running', 'Job attempts running on this node', [], (set) => set(init.stats.running))
      env.metrics.gauge('dx_jobs_capacity', 'Job attempts this node may run at once (its workers)', [], (set) => set(init.stats.capacity))
      env.metrics.gauge('dx_jobs_waiting_local', 'Assigned attempts waiting for a free worker on this node', [], (set) => set(init.stats.queued))
      const attemptSeconds = env.metrics.histogram('dx_job_attempt_seconds', 'Duration of job attempts on this node, by type and outcome', ATTEMPT_BUCKETS, ['type', 'outcome'])
      const pools = new Map<string, { def: JobDef; idle: Array<ActorRef<WorkerMsg>>; queue: LocalRun[] }>()
      for (const def of init.jobs) {
        const idle = Array.from({ length: def.concurrency }, () => ctx.spawn(jobWorker(def, env)))
        pools.set(def.type, { def, idle, queue: [] })
        init.stats.capacity += def.concurrency
        init.stats.types.push(def.type)
      }
      ctx.onStop(() => {
        init.stats.capacity = 0
        init.stats.types.length = 0
      })
      const runs = new Map<string, LocalRun>()
      let outbox: Report[] = []
      let sending = false
      let flushQueued = false

      const requestFlush = (): void => {
        if (flushQueued) return
        flushQueued = true
        ctx.self.tell({ type: 'flush' })
      }

      const report = (r: Report): void => {
        outbox.push(r)
        requestFlush()
      }

      const pump = (pool: { def: JobDef; idle: Array<ActorRef<WorkerMsg>>; queue: LocalRun[] }): void => {
        while (pool.idle.length > 0 && pool.queue.length > 0) {
          const run = pool.queue.shift()!
          const worker = pool.idle.pop()!
          init.stats.queued--
          init.stats.running++
          const startedAt = env.clock.monotonicMs()
          const progress = (fraction: number, message: string | null): void => {
            const now = env.clock.monotonicMs()
            if (now - run.lastProgressMs < PROGRESS_INTERVAL_MS || !Number.isFinite(fraction)) return
            run.lastProgressMs = now
            report({ kind: 'progress', id: run.spec.id, attemptKey: run.attemptKey, fraction, message })
          }
          void worker.ask({ type: 'run', run, report: progress }, { timeoutMs: run.spec.options.timeoutMs + REPORT_TIMEOUT_MS }).then(
            (outcome) => finish(pool, worker, run, outcome, startedAt),
            (error: unknown) => {
              const e = toError(error)
              finish(pool, worker, run, { ok: false, error: { name: e.name, code: 'ERR_JOB', message: e.message }, permanent: false }, startedAt)
            },
          )
        }
      }

      const finish = (
        pool: { def: JobDef; idle: Array<ActorRef<WorkerMsg>>; queue: LocalRun[] },
        worker: ActorRef<WorkerMsg>,
        run: LocalRun,
        outcome: JobOutcome,
        startedAt: number,
      ): void => {
        pool.idle.push(worker)
        init.stats.running--
        const durationMs = env.clock.monotonicMs() - startedAt
        init.stats.recordDuration(run.spec.type, durationMs)
        attemptSeconds.observe(durationMs / 1000, { type: run.spec.type, outcome: outcome.ok ? 'ok' : 'error' })
        if (runs.get(run.spec.id) === run) runs.delete(run.spec.id)
        const signal = run.controller?.signal
        const abortedByLeader = signal?.aborted === true && !(signal.reason instanceof JobTimeoutError)
        if (!abortedByLeader) report({ kind: 'finished', id: run.spec.id, attemptKey: run.attemptKey, outcome, durationMs })
        pump(pool)
      }

      const accept = (a: Assignment): void => {
        const running = runs.get(a.spec.id)
        if (running !== undefined) {
          running.attemptKey = a.attemptKey
          return
        }
        const pool = pools.get(a.spec.type)
        if (pool === undefined) {
          const e = new UnknownJobTypeError(a.spec.type)
          report({
            kind: 'finished',
            id: a.spec.id,
            attemptKey: a.attemptKey,
            outcome: { ok: false, error: { name: e.name, code: e.code, message: e.message }, permanent: false },
            durationMs: 0,
          })
          return
        }
        const run: LocalRun = { spec: a.spec, attempt: a.attempt, attemptKey: a.attemptKey, controller: undefined, lastProgressMs: -Infinity }
        runs.set(a.spec.id, run)
        pool.queue.push(run)
        init.stats.queued++
        pump(pool)
      }

      const send = (): void => {
        flushQueued = false
        if (sending || outbox.length === 0) return
        const leader = init.cluster.leader()
        if (leader === null || leader === undefined) {
          ctx.timers.once('retry', REPORT_RETRY_MS, { type: 'flush' })
          return
        }
        const batch = outbox
        outbox = []
        sending = true
        const scheduler = ctx.ref<SchedulerMsg>({ node: leader.nodeId, path: SCHEDULER_PATH })
        void scheduler.ask({ type: 'reports', reports: batch }, { timeoutMs: REPORT_TIMEOUT_MS }).then(
          () => {
            sending = false
            if (outbox.length > 0) requestFlush()
          },
          (error: unknown) => {
            sending = false
            outbox = [...batch.filter((r) => r.kind === 'finished'), ...outbox]
            ctx.log.debug('reports not delivered; will retry', { error, reports: batch.length })
            ctx.timers.once('retry', REPORT_RETRY_MS, { type: 'flush' })
          },
        )
      }

      return {
        assign(msg) {
          for (const a of checkList<Assignment>(msg.assignments, 'assignments')) {
            try {
              accept({ spec: checkSpec(a.spec), attempt: typeof a.attempt === 'number' ? a.attempt : 1, attemptKey: checkText(a.attemptKey, 'attemptKey', 64) })
            } catch (error) {
              ctx.log.warn('refused a malformed assignment', { error })
            }
          }
        },
        abort(msg) {
          for (const { id, attemptKey } of checkList<{ id: string; attemptKey: string }>(msg.items, 'items')) {
            const run = runs.get(id)
            if (run === undefined || run.attemptKey !== attemptKey) continue
            runs.delete(id)
            const pool = pools.get(run.spec.type)!
            const queuedAt = pool.queue.indexOf(run)
            if (queuedAt !== -1) {
              pool.queue.splice(queuedAt, 1)
              init.stats.queued--
            }
            abortRun(run, new Error('attempt aborted by the leader'))
          }
        },
        flush: send,
      }
    },
  })
}
