/**
 * The scheduler actor: the leader's manager duty for jobs. Spawned on the node that wins the
 * leadership for an epoch, it fences the job log with that epoch, replays the log into the
 * scheduler core, and then serves submissions, executor reports and queries until leadership is
 * lost (the node stops it) or the log fences it (it stops itself). While the node's lease of its
 * epoch has lapsed but may come back, it is paused (scheduler-lease.ts): it keeps its state and
 * makes no leader-only effect, and submissions get a retryable JobLogUnavailableError.
 *
 * A thin driver: it persists, sends and applies what sans-I/O modules of src/jobs/ decide.
 * - scheduler-core.ts: jobs, placement, retries, retention; its effects become messages (outbox.ts);
 * - append-pipeline.ts: which records go out in which append, up to MAX_APPENDS_IN_FLIGHT at once (the log
 *   combines concurrent appends), around the snapshot barrier (snapshot-schedule.ts), with the
 *   backoff after failures and the stall detection (append-health.ts);
 * - submitters.ts: which submitter hears what once which job is durable;
 * - peers.ts, watch-budget.ts: the candidates placement sees, the outcomes a watch reply carries;
 * - scheduler-lease.ts: whether the lease holds, and the executor messages held while it lapsed.
 *
 * I/O discipline: a record's effects (acknowledging a submission, recording a result, telling
 * watchers) happen only after its append is durable. A failed append is retried as is; an
 * ambiguous one may land twice, which replay tolerates (first record wins). While appends fail or
 * stall, submitters are answered with JobLogUnavailableError at once instead of waiting; their
 * records stay queued, so a retry with the same ids is acknowledged once they are durable. Results
 * go to the cache after they are durable in the log, with setIfAbsent, so the cache never
 * disagrees with the log's first result. A snapshot (the core's state, codec.ts) is one append;
 * once it is durable, and if it landed right after the last record it reflects, the log compacts
 * below it. A new leader replays from the latest snapshot (src/jobs/replay.ts).
 */
import {
  AppendHealth,
  AppendPipeline,
  checkList,
  checkOutcome,
  checkSubmission,
  checkText,
  ClusterMismatchError,
  decodeOutcome,
  DEFAULT_SNAPSHOT_POLICY,
  defineActor,
  encodeOutcome,
  EXECUTOR_PATH,
  FencedError,
  idempotencyCacheKey,
  InvalidJobError,
  isFinal,
  JobLogNotSharedError,
  JobLogUnavailableError,
  LeastLoadedPlacement,
  NoLeaderError,
  outboxOf,
  PeerCache,
  readPeers,
  replayJobLog,
  Restarts,
  RESULT_TTL_MS,
  resultKey,
  SchedulerCore,
  SchedulerLease,
  SnapshotSchedule,
  STEAL_ANSWER_MS,
  Submitters,
  toError,
  withoutStack,
  WatchBudget,
} from '../src/internal.js'
import type {
  ActorContext,
  ActorRef,
  AppendStep,
  Assignment,
  AttemptItem,
  ClusterHandle,
  Counter,
  DeferredReply,
  Effects,
  ExecutorMsg,
  Handlers,
  Histogram,
  JobLog,
  JobLogFactory,
  JobsClientMsg,
  JobStatus,
  LoadForecast,
  MessageOfType,
  NodeId,
  Peers,
  Placement,
  Report,
  ResultCache,
  Retention,
  SchedulerMsg,
  SchedulerStats,
  SnapshotPolicy,
  SubmitReply,
  WatchReply,
} from '../src/internal.js'
import { encodeJobRecord, encodeSnapshotState, snapshotRecords } from '../protocols/jobs/codec.js'
import { EnvelopeTooLargeError } from '../protocols/errors.js'

export type { SnapshotPolicy }

/** Buckets of the append latency histogram, in seconds: fsync on a laptop up to a struggling Kafka. */
/** Bound of an assignment's answer; past it the attempt's own timeout decides (see assign). */
const ASSIGN_ANSWER_MS = 5000
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** Most nodes in one forecast reply: its points stay well inside a message. */
const FORECAST_MAX_NODES = 200
/** Most alert transitions in one forecast reply (the analytics keeps 200). */
const FORECAST_MAX_HISTORY = 200
/** The timer that gives a due snapshot its own turn (appendNext). */
const SNAPSHOT_TIMER = 'snapshot'
/** Most jobs in one listing page. */
const LIST_MAX_JOBS = 10_000
/** Timeouts, retries and deadlines are checked at least this often while jobs are unfinished. */
const TICK_MS = 100
/**
 * The tick with no job unfinished, no submission waiting and no append under way: only the
 * retention of finished jobs is left to time. An idle leader ticked ten times a second, each tick a
 * dispatch reading every peer's record (5-10% of a lone founder's idle CPU).
 */
const IDLE_TICK_MS = 1000

/** Options of the scheduler actor. */
export interface SchedulerInit {
  epoch: number
  jobLog: JobLogFactory
  cache: ResultCache
  cluster: ClusterHandle
  placement?: Placement
  maxQueued?: number
  /** How long finished jobs stay in the leader's memory (DEFAULT_RETENTION when absent). */
  retention?: Retention
  /** When to snapshot (DEFAULT_SNAPSHOT_POLICY when absent). */
  snapshot?: Partial<SnapshotPolicy>
  /** The leader's forecasts of at most `nodes` nodes, which any node's dashboard asks for through the scheduler (it lives exactly where the leader is). */
  forecast?: (nodes: number, history: number) => LoadForecast
  /** Let idle peers take attempts still queued on overcommitted ones (default true). */
  steal?: boolean
  /** Capacity slots one job of a type takes (the job types' declared resources; 1 when absent). */
  slots?: (type: string) => number
  /** A node's learnt speed relative to the others, for stealing only where it pays (1 for all when absent). */
  speed?: (node: NodeId) => number
  /** How ready jobs of equal priority are ordered (fifo when absent; SchedulerCoreOptions.order). */
  order?: 'fifo' | 'critical-path'
  /** Predicted duration of a job of a type, for critical-path order. */
  duration?: (type: string, hintMs: number | null) => number
  /** Where the node counts its schedulers' replays and pauses (kept across incarnations). */
  stats: SchedulerStats
}

type Ctx = ActorContext<SchedulerMsg>
type Msg<T extends SchedulerMsg['type']> = MessageOfType<SchedulerMsg, T>

export function schedulerActor(init: SchedulerInit) {
  /** Nodes in this leader's view of the cluster; one whose record has not arrived yet is refused, and its client retries. */
  const member = (from: string): boolean => init.cluster.knows(from)
  return defineActor<SchedulerMsg>({
    // Reports are further checked per attempt in their handler: only the node an attempt was assigned to may report on it.
    remote: {
      submit: member,
      watch: member,
      cancel: member,
      inspect: member,
      list: member,
      reports: member,
      forecast: member,
      tick: 'never',
      dispatch: 'never',
      appended: 'never',
      snapshotted: 'never',
      stealAnswered: 'never',
      assignRefused: 'never',
    },
    // Bad input from a peer costs one message; a fence means another leader took over, and a log
    // not shared with every voter or of another cluster cannot be led on (the node resigns); anything
    // else (the job log unreachable during replay, say) is retried by restarting with backoff.
    supervision: {
      decide: (error) =>
        error instanceof InvalidJobError
          ? 'resume'
          : error instanceof FencedError || error instanceof JobLogNotSharedError || error instanceof ClusterMismatchError
            ? 'stop'
            : 'restart',
      maxRestarts: 1000,
      windowMs: 60_000,
      backoff: { minMs: 100, maxMs: 5000 },
    },
    mailbox: { capacity: 100_000 },
    async setup(ctx) {
      const { env } = ctx
      const makeCore = (): SchedulerCore =>
        new SchedulerCore(init.epoch, init.placement ?? new LeastLoadedPlacement(), env.random, {
          ...(init.maxQueued === undefined ? {} : { maxQueued: init.maxQueued }),
          ...(init.retention === undefined ? {} : { retention: init.retention }),
          wallMs: () => env.clock.wallMs(),
          steal: init.steal ?? true,
          ...(init.slots === undefined ? {} : { slots: init.slots }),
          ...(init.speed === undefined ? {} : { speed: init.speed }),
          ...(init.order === undefined ? {} : { order: init.order }),
          ...(init.duration === undefined ? {} : { duration: init.duration }),
        })
      // The times of fence and replay are logged: together they are the scheduler's share of a failover.
      const began = env.clock.monotonicMs()
      const jobLog = await init.jobLog.open({ signal: ctx.signal })
      ctx.onStop(() => jobLog.close())
      await jobLog.fence(init.epoch, { signal: ctx.signal })
      const fenced = env.clock.monotonicMs()
      const replay = await replayJobLog(jobLog, makeCore, { signal: ctx.signal })
      ctx.log.info('scheduler replayed the job log', {
        epoch: init.epoch,
        from: replay.from,
        end: replay.end,
        skipped: replay.skipped,
        backlog: replay.core.backlog,
        fenceMs: Math.round(fenced - began),
        replayMs: Math.round(env.clock.monotonicMs() - fenced),
      })
      // Records no decoder could read are skipped (src/jobs/replay.ts): counted, so an alert can see them.
      ctx.env.metrics
        .counter('dx_jobs_replay_skipped_records_total', 'Job-log records (and snapshots) this node skipped on replay because they could not be decoded')
        .inc({}, replay.skipped)
      if (replay.skipped > 0) ctx.log.warn('replay skipped job-log records that could not be decoded', { epoch: init.epoch, skipped: replay.skipped })
      init.stats.replays++
      const driver = new SchedulerDriver(ctx, init, jobLog, replay.core, new SnapshotSchedule(init.epoch, { ...DEFAULT_SNAPSHOT_POLICY, ...init.snapshot }, replay))
      driver.start()
      return driver.handlers()
    },
  })
}

/** One incarnation of the scheduler: carries out what the cores decide. */
class SchedulerDriver {
  private readonly health: AppendHealth
  private readonly pipeline: AppendPipeline
  private readonly submitters = new Submitters<DeferredReply<SubmitReply[]>>()
  private readonly peers = new PeerCache()
  private readonly restarts = new Restarts()
  private readonly executors = new Map<NodeId, ActorRef<ExecutorMsg>>()
  private readonly watchers = new Map<string, ActorRef<JobsClientMsg>>()
  /** Executor messages (assign, abort, steal) wait here while the lease has lapsed. */
  private readonly lease: SchedulerLease<() => void>
  private dispatchQueued = false
  /** The period the tick timer runs at (0 before it is set). */
  private tickMs = 0
  private running = true
  /** True while a tick runs: the only turn a snapshot is taken in (see appendNext). */
  private snapshotTurn = false
  private cacheErrors = 0
  private readonly accepted: Counter
  private readonly finishedTotal: Counter
  private readonly appendSeconds: Histogram
  private readonly snapshotsTaken: Counter
  private readonly steals: Counter
  private readonly assignsRefused: Counter

  constructor(
    private readonly ctx: Ctx,
    private readonly init: SchedulerInit,
    private readonly jobLog: JobLog,
    private readonly core: SchedulerCore,
    private readonly snapshots: SnapshotSchedule,
  ) {
    this.health = new AppendHealth(ctx.env.random)
    this.lease = new SchedulerLease(init.epoch, init.stats)
    this.pipeline = new AppendPipeline(encodeJobRecord, this.health, snapshots)
    const metrics = ctx.env.metrics
    metrics.counter('dx_jobs_cache_errors_total', 'Result cache writes that failed (the job log still holds the results)', [], (set) => set(this.cacheErrors))
    ctx.onStop(() => {
      this.running = false
    })
    metrics.gauge('dx_jobs_backlog', 'Jobs the leader has not finished (waiting, queued, retrying, running); 0 on followers', [], (set) => set(this.running ? core.backlog : 0))
    metrics.gauge('dx_jobs_retained', 'Finished jobs the leader still holds (bounded by the retention); 0 on followers', [], (set) =>
      set(this.running ? core.footprint().retained : 0),
    )
    this.accepted = metrics.counter('dx_jobs_accepted_total', 'Submissions made durable and acknowledged by this leader')
    this.finishedTotal = metrics.counter('dx_jobs_finished_total', 'Jobs whose final outcome this leader recorded', ['outcome'])
    this.appendSeconds = metrics.histogram('dx_job_log_append_seconds', 'Job-log append latency, submit to durable', APPEND_BUCKETS)
    this.snapshotsTaken = metrics.counter('dx_jobs_snapshots_total', 'Scheduler snapshots appended to the job log', ['result'])
    this.steals = metrics.counter('dx_jobs_steals_total', 'Attempts the leader asked a peer to give up for an idle one, by answer', ['result'])
    this.assignsRefused = metrics.counter('dx_jobs_assignments_refused_total', 'Attempts a peer refused because it did not take this node for its leader yet; queued again')
  }

  /** Starts serving: the replayed core's first effects, the tick, a dispatch. */
  start(): void {
    this.ctx.onStop(() => {
      // One error for all: a stopping leader may hold thousands of waiting submissions.
      const stopped = new NoLeaderError('the scheduler stopped before the submission was durable; submit again')
      for (const reply of this.submitters.release()) reply.reject(stopped)
    })
    // A lease that lapses or comes back is acted on at once rather than at the next tick.
    this.ctx.onStop(this.init.cluster.onLeadershipChange(() => this.ctx.self.tell({ type: 'tick' })))
    this.perform(this.core.takeEffects())
    this.requestDispatch()
  }

  handlers(): Handlers<SchedulerMsg> {
    const core = this.core
    return {
      submit: (msg, c) => this.submit(msg, c),
      watch: (msg, c) => this.watch(msg, c),
      cancel: (msg) => {
        const known = core.cancel(checkText(msg.id, 'id'))
        this.perform(core.takeEffects())
        return known
      },
      inspect: (msg) => {
        const id = checkText(msg.id, 'id')
        return core.inspect(id) ?? (core.isExpired(id) ? 'expired' : null)
      },
      list: (msg) =>
        core.list(
          (msg.status ?? undefined) as JobStatus | undefined,
          Math.min(Math.max(1, Number(msg.limit) || 100), LIST_MAX_JOBS),
          msg.cursor === null || msg.cursor === undefined ? null : checkText(msg.cursor, 'cursor', 32),
        ),
      reports: (msg, c) => this.reports(msg, c.sender),
      forecast: (msg) =>
        this.init.forecast?.(
          Math.min(FORECAST_MAX_NODES, Math.max(1, Math.floor(Number(msg.nodes)) || 1)),
          Math.min(FORECAST_MAX_HISTORY, Math.max(0, Math.floor(Number(msg.history)) || 0)),
        ) ?? null,
      tick: () => {
        const trouble = this.submitters.jobs > 0 ? this.pipeline.trouble(this.now()) : undefined
        if (trouble !== undefined) this.releaseSubmitters(trouble)
        if (this.leads()) {
          this.snapshotTurn = true
          try {
            this.appendNext()
          } finally {
            this.snapshotTurn = false
          }
          this.requestDispatch()
        }
        this.repace()
      },
      dispatch: () => {
        this.dispatchQueued = false
        if (!this.leads()) return
        core.dispatch(this.now(), this.ctx.env.clock.wallMs(), this.peersNow().candidates)
        this.perform(core.takeEffects())
      },
      stealAnswered: (msg) => {
        const now = this.now()
        msg.keys.forEach((key, i) => {
          this.steals.inc({ result: msg.released[i] === true ? 'released' : 'refused' })
          core.stealAnswered(key, msg.released[i] === true, now)
        })
        this.perform(core.takeEffects())
        this.requestDispatch()
      },
      assignRefused: (msg) => {
        const now = this.now()
        this.assignsRefused.inc(undefined, msg.keys.length)
        for (const key of msg.keys) core.assignRefused(key, now)
        this.perform(core.takeEffects())
      },
      snapshotted: (msg) => this.snapshotted(msg),
      appended: (msg) => this.appended(msg),
    }
  }

  private now(): number {
    return this.ctx.env.clock.monotonicMs()
  }

  private submit(msg: Msg<'submit'>, c: { defer(): DeferredReply<SubmitReply[]> }): DeferredReply<SubmitReply[]> {
    if (!this.leads()) {
      // Refused before anything is queued: the client retries (with backoff, within its submit
      // timeout), reaching this scheduler again once the lease is back or the next leader otherwise.
      const refused = c.defer()
      refused.reject(withoutStack(() => new JobLogUnavailableError(`the leader's lease on epoch ${this.init.epoch} lapsed; submit again`, false)))
      return refused
    }
    const records = checkList<unknown>(msg.records, 'records')
    const jobs = records.map(checkSubmission)
    jobs.forEach((job, i) => this.pipeline.keepSubmitted(job.id, records[i] as Uint8Array))
    const watcher = msg.watcher === null ? null : checkText(msg.watcher, 'watcher')
    const results = this.core.submit(jobs, this.peersNow().types)
    const reply = c.defer()
    results.forEach((r, i) => {
      const id = jobs[i]!.id
      if (r.status !== 'pending') this.pipeline.dropSubmitted(id)
      if (watcher !== null && r.status !== 'refused') this.core.watch(r.status === 'duplicate' ? r.of : id, watcher)
    })
    const replies = this.submitters.submit(
      reply,
      jobs.map((job) => job.id),
      results,
    )
    this.perform(this.core.takeEffects())
    if (replies !== undefined) {
      reply.resolve(replies)
    } else if (this.submitters.waits(reply)) {
      // Say so now rather than holding the submitter; the records stay queued.
      const trouble = this.pipeline.trouble(this.now())
      if (trouble !== undefined) {
        this.submitters.withdraw(reply)
        reply.reject(withoutStack(() => new JobLogUnavailableError(trouble, true)))
      }
    }
    return reply
  }

  /**
   * Outcomes travel in the reply as well as by push: a reply cannot be refused or lost apart from
   * its ask, which the watcher repeats. A job that finished and expired while nobody watched it (its
   * push lost, or a new leader finishing replayed jobs before the watcher found it) is answered from
   * this leader's result cache, else as expired, so no submitter waits for ever.
   */
  private watch(msg: Msg<'watch'>, c: { defer(): DeferredReply<WatchReply[]> }): WatchReply[] | DeferredReply<WatchReply[]> {
    const watcher = checkText(msg.watcher, 'watcher')
    const ids = checkList<unknown>(msg.ids, 'ids').map((id) => checkText(id, 'id'))
    const budget = new WatchBudget()
    const answers: WatchReply[] = ids.map((id) => {
      if (!this.core.watch(id, watcher)) return this.core.isExpired(id) ? 'expired' : false
      const job = this.core.inspect(id)
      return job?.outcome === null || job === undefined || !isFinal(job.status) ? true : budget.answer(job.outcome)
    })
    this.perform(this.core.takeEffects())
    if (!answers.includes('expired')) return answers
    const reply = c.defer()
    const lookups = ids.map(async (id, i) => {
      if (answers[i] !== 'expired') return
      const bytes = await this.init.cache.get(resultKey(id)).catch(() => undefined)
      const outcome = bytes === undefined ? undefined : decodeOutcome(bytes)
      if (outcome !== undefined) answers[i] = budget.open ? budget.answer(outcome) : true
    })
    void Promise.all(lookups).then(() => reply.resolve(answers))
    return reply
  }

  /** Executor reports; only the node an attempt was assigned to may report on it. */
  private reports(msg: Msg<'reports'>, sender: string | undefined): number {
    const now = this.now()
    const reports = checkList<Report>(msg.reports, 'reports')
    for (const r of reports) {
      const id = checkText(r.id, 'id')
      const key = checkText(r.attemptKey, 'attemptKey')
      if (sender !== undefined && this.core.attemptNode(key) !== sender) continue
      if (r.kind === 'finished') this.core.attemptFinished(id, key, checkOutcome(r.outcome), now)
      // The holder gave the attempt up; its answer to the steal request may not have reached us (a second one changes nothing).
      else if (r.kind === 'released') this.core.stealAnswered(key, true, now)
      else if (r.kind === 'progress' && typeof r.fraction === 'number')
        this.core.progressed(id, key, Math.min(1, Math.max(0, r.fraction)), typeof r.message === 'string' ? r.message.slice(0, 1024) : null)
    }
    this.perform(this.core.takeEffects())
    this.requestDispatch()
    return reports.length
  }

  private appended(msg: Msg<'appended'>): void {
    if (!msg.ok) {
      if (this.pipeline.failed(msg.batch, this.now())) this.releaseSubmitters(this.pipeline.trouble(this.now())!)
      return
    }
    const records = this.pipeline.landed(msg.batch, msg.offset)
    if (records === undefined) return
    for (const record of records) this.core.apply(record)
    this.perform(this.core.takeEffects())
    this.requestDispatch()
    this.appendNext()
  }

  private snapshotted(msg: Msg<'snapshotted'>): void {
    this.snapshots.ended(msg.offset, msg.parts)
    this.snapshotsTaken.inc({ result: msg.offset === null ? 'failed' : 'durable' })
    // Compacting is the leader's to do; a paused one leaves it to its next snapshot.
    if (msg.offset !== null && this.leads()) this.compactAt(msg.offset, msg.after)
    this.appendNext()
  }

  /** Lets the log compact below the snapshot at `offset`, only if it counts: right after the last record it reflects (replay.ts). */
  private compactAt(offset: number, after: number): void {
    const signal = this.ctx.signal
    const counts =
      after < 0 ? this.jobLog.startOffset({ signal }).then((start) => start === offset) : this.jobLog.read(after + 1, 1, { signal }).then((next) => next[0]?.offset === offset)
    counts
      .then(async (ok) => {
        if (!ok) {
          this.ctx.log.warn('snapshot landed after records it does not reflect; not compacting at it', { offset, after })
          return
        }
        await this.jobLog.compact(offset, { signal })
        this.ctx.log.debug('job log compacted below the snapshot', { offset })
      })
      .catch((error: unknown) => this.ctx.log.warn('job log compaction failed; the log keeps its records', { offset, error }))
  }

  /** Carries out what the core produced. */
  private perform(effects: Effects): void {
    this.pipeline.enqueue(effects.append)
    const out = outboxOf(effects)
    const leader = this.ctx.self.address.node
    const send = this.leads() ? (message: () => void) => message() : (message: () => void) => this.lease.hold(message)
    for (const [node, assignments] of out.assign) send(() => this.assign(node, leader, assignments))
    for (const [node, items] of out.abort) send(() => this.executorAt(node).tell({ type: 'abort', items }))
    for (const [node, items] of out.steal) send(() => this.askSteal(node, items))
    for (const id of effects.durable) for (const { handle, replies } of this.submitters.durable(id)) handle.resolve(replies)
    if (effects.durable.length > 0) this.accepted.inc(undefined, effects.durable.length)
    for (const f of effects.finished) this.recordFinished(f)
    for (const [w, items] of out.finished) this.watcherAt(w).tell({ type: 'finished', items })
    for (const [w, items] of out.progress) this.watcherAt(w).tell({ type: 'progress', items })
    this.appendNext()
    this.repace()
  }

  /** Ticks every TICK_MS while anything is time-driven, else every IDLE_TICK_MS; the timer is set only when that changes. */
  private repace(): void {
    const pipeline = this.pipeline
    const busy = this.core.backlog > 0 || this.submitters.jobs > 0 || pipeline.waiting > 0 || pipeline.appending > 0 || this.core.stealsInFlight > 0
    const tickMs = busy ? TICK_MS : IDLE_TICK_MS
    if (tickMs === this.tickMs) return
    this.tickMs = tickMs
    this.ctx.timers.every('tick', tickMs, { type: 'tick' })
  }

  /** Counts a recorded outcome and caches it (with its idempotency key's owner): it is durable in the log. */
  private recordFinished(f: Effects['finished'][number]): void {
    this.finishedTotal.inc({ outcome: f.outcome.ok ? 'completed' : f.outcome.error.name === 'JobCancelledError' ? 'cancelled' : 'failed' })
    this.init.cache.setIfAbsent(resultKey(f.id), encodeOutcome(f.outcome), { ttlMs: RESULT_TTL_MS }).catch(this.cacheFailed)
    if (f.idempotencyKey !== null)
      this.init.cache.setIfAbsent(idempotencyCacheKey(f.idempotencyKey), new TextEncoder().encode(f.id), { ttlMs: RESULT_TTL_MS }).catch(this.cacheFailed)
  }

  private readonly cacheFailed = (error: unknown): void => {
    // The log holds every result; a failing cache only costs lookups, so say so once per burst.
    if (this.cacheErrors++ % 1000 === 0) this.ctx.log.warn('result cache unavailable; results stay in the job log', { error, failures: this.cacheErrors })
  }

  /**
   * Hands `assignments` to `node`'s executor. A refusal (its remote policy does not take this node
   * for its leader yet) goes back to the core, which queues the jobs again; any other failure is
   * ambiguous (the assignments may have arrived), so the attempts' timeouts or the peer's going
   * down settle them, as before.
   */
  private assign(node: NodeId, leader: NodeId, assignments: Assignment[]): void {
    void this.executorAt(node)
      .ask({ type: 'assign', leader, assignments }, { timeoutMs: ASSIGN_ANSWER_MS })
      .then(undefined, (error: unknown) => {
        if ((error as { code?: unknown } | null)?.code === 'ERR_FORBIDDEN_MESSAGE') this.ctx.self.tell({ type: 'assignRefused', keys: assignments.map((a) => a.attemptKey) })
      })
  }

  /** Asks `node` to give up attempts it has not started; the answers (all "no" if it does not answer) go to the core in order. */
  private askSteal(node: NodeId, items: AttemptItem[]): void {
    const keys = items.map((i) => i.attemptKey)
    void this.executorAt(node)
      .ask({ type: 'release', items }, { timeoutMs: STEAL_ANSWER_MS })
      .then(
        (answer) => this.ctx.self.tell({ type: 'stealAnswered', keys, released: keys.map((_, i) => answer[i] === true) }),
        () => this.ctx.self.tell({ type: 'stealAnswered', keys, released: keys.map(() => false) }),
      )
  }

  /** Starts what the pipeline allows now: appends, or a snapshot (a snapshot too large to take lets appends go on). */
  private appendNext(): void {
    if (!this.leads()) return
    let snapshot = true
    for (;;) {
      const step = this.pipeline.next(this.now(), snapshot)
      if (step === undefined) return
      if (step.kind === 'snapshot') {
        // Not in the turn that made records durable: encoding the state holds the event loop
        // (~100-200 ms at 10,000 retained jobs), and the acknowledgements that turn resolved would
        // leave only after it; a new leader's first ones are part of the failover time. A timer of
        // 0 gives the snapshot a turn of its own once they are out.
        if (!this.snapshotTurn) {
          if (!this.ctx.timers.has(SNAPSHOT_TIMER)) this.ctx.timers.once(SNAPSHOT_TIMER, 0, { type: 'tick' })
          return
        }
        if (this.takeSnapshot()) return
        snapshot = false
      } else {
        this.append(step)
        snapshot = true
      }
    }
  }

  private append(step: Extract<AppendStep, { kind: 'append' }>): void {
    const startedAt = this.now()
    this.jobLog.append(this.init.epoch, step.payloads, { signal: this.ctx.signal }).then(
      (first) => {
        this.appendSeconds.observe((this.now() - startedAt) / 1000)
        this.ctx.self.tell({ type: 'appended', batch: step.batch, ok: true, offset: first })
      },
      (error: unknown) => {
        if (this.fenced(error)) return
        const e = toError(error)
        this.health.noteError(e)
        this.ctx.log.warn('job log append failed; retrying', { error: e, records: step.records.length })
        this.ctx.self.tell({ type: 'appended', batch: step.batch, ok: false, offset: -1 })
      },
    )
  }

  /** Appends the core's state as a snapshot; false when it is too large to (the log keeps growing until it fits). */
  private takeSnapshot(): boolean {
    const { id, after } = this.snapshots.begin()
    let payloads: Uint8Array[]
    try {
      payloads = snapshotRecords(id, after, encodeSnapshotState(this.core.snapshot()), this.init.snapshot?.partBytes).map(encodeJobRecord)
    } catch (error) {
      if (!(error instanceof EnvelopeTooLargeError)) throw error
      this.snapshotsTaken.inc({ result: 'too-large' })
      this.ctx.log.warn('scheduler state too large to snapshot; the job log is not compacted for now', { bytes: error.bytes, max: error.maxBytes })
      return false
    }
    this.snapshots.appending(payloads.reduce((sum, p) => sum + p.length, 0))
    const parts = payloads.length
    this.jobLog.append(this.init.epoch, payloads, { signal: this.ctx.signal }).then(
      (offset) => this.ctx.self.tell({ type: 'snapshotted', offset, after, parts }),
      (error: unknown) => {
        if (this.fenced(error)) return
        this.ctx.log.warn('snapshot append failed; the next one comes after another interval', { error })
        this.ctx.self.tell({ type: 'snapshotted', offset: null, after, parts })
      },
    )
    return true
  }

  /** True (and stopping) when the log was fenced: another leader took over. */
  private fenced(error: unknown): boolean {
    if (!(error instanceof FencedError)) return false
    this.ctx.log.warn('job log fenced this scheduler; stopping', { epoch: this.init.epoch, error })
    this.ctx.stop()
    return true
  }

  /**
   * True while this node holds the lease of the scheduler's epoch (scheduler-lease.ts). On a lapse
   * it pauses; when the lease comes back it sends what was held and carries on where it stopped.
   */
  private leads(): boolean {
    const change = this.lease.observe(this.init.cluster.leaderEpoch())
    if (change === 'paused') {
      this.ctx.log.info('the lease lapsed; the scheduler pauses until it comes back', { epoch: this.init.epoch })
    } else if (change === 'resumed') {
      const held = this.lease.release()
      this.health.retryNow()
      this.ctx.log.info('the lease is back; the scheduler resumes', { epoch: this.init.epoch, held: held.length })
      for (const message of held) message()
      this.requestDispatch()
    }
    return this.lease.open
  }

  /** Answers every submitter still waiting with JobLogUnavailableError; their records stay queued (see submitters.ts). */
  private releaseSubmitters(why: string): void {
    for (const reply of this.submitters.release()) reply.reject(withoutStack(() => new JobLogUnavailableError(why, true)))
  }

  /** The peers placement sees, read again at most every PEERS_REFRESH_MS; the attempts of members gone or restarted are given up. */
  private peersNow(): Peers {
    return this.peers.get(this.now(), () => {
      const now = this.now()
      const members = this.init.cluster.view()?.members ?? []
      const peers = readPeers(members, now, this.ctx.self.address.node)
      for (const node of [...peers.gone, ...this.restarts.read(members)]) this.core.peerDown(node, now)
      this.init.placement?.observe?.(members, now, this.ctx.env.clock.wallMs())
      return peers
    })
  }

  private requestDispatch(): void {
    if (this.dispatchQueued) return
    this.dispatchQueued = true
    this.ctx.self.tell({ type: 'dispatch' })
  }

  private executorAt(node: NodeId): ActorRef<ExecutorMsg> {
    let ref = this.executors.get(node)
    if (ref === undefined) {
      ref = this.ctx.ref<ExecutorMsg>({ node, path: EXECUTOR_PATH })
      this.executors.set(node, ref)
    }
    return ref
  }

  private watcherAt(address: string): ActorRef<JobsClientMsg> {
    let ref = this.watchers.get(address)
    if (ref === undefined) {
      ref = this.ctx.ref<JobsClientMsg>(address)
      this.watchers.set(address, ref)
    }
    return ref
  }
}
