/**
 * The scheduler actor: the leader's manager duty for jobs. Spawned on the node that wins the
 * leadership for an epoch, it fences the job log with that epoch, replays the log into the
 * scheduler core, and then serves submissions, executor reports and queries until leadership is
 * lost (the node stops it) or the log fences it (it stops itself).
 *
 * I/O discipline: records are appended in batches, up to APPENDS_IN_FLIGHT at a time (the log
 * combines concurrent appends into one write or transaction); a record's effects (acknowledging a
 * submission, recording a result, telling watchers) happen only after its append is durable. A
 * failed append is retried as is; an ambiguous one may land twice, which replay tolerates (first
 * record wins). While appends fail or stall, submitters are answered with JobLogUnavailableError at
 * once instead of waiting; their records stay queued, so a retry with the same ids is acknowledged
 * once they are durable. Results go to the cache after they are durable in the
 * log, with setIfAbsent, so the cache never disagrees with the log's first result.
 *
 * Snapshots: after `snapshot.everyRecords` records or `snapshot.everyBytes` bytes appended, and
 * at least as many bytes as the last snapshot took (so snapshots never write more than the log
 * they let go: write amplification stays below 2 however much state the leader holds), the
 * scheduler holds new appends until those under way are done and none is in doubt (a failed append
 * may have landed; its retry must be durable first), so that the core reflects exactly the records
 * in the log; it then appends the core's snapshot (one append, codec.ts) and, once that is durable,
 * lets the log compact below it. Appends resume as soon as the snapshot is durable. A new leader
 * replays from the latest snapshot (src/jobs/replay.ts).
 */
import type { ClusterHandle } from '../src/cluster/handle.js'
import { defineActor } from '../src/actor/define.js'
import type { ActorRef, DeferredReply } from '../src/actor/types.js'
import { toError } from '../src/errors.js'
import { InvalidJobError, NoLeaderError } from '../src/jobs/errors.js'
import { LeastLoadedPlacement, type Placement } from '../src/jobs/placement.js'
import { encodeOutcome, idempotencyCacheKey, RESULT_TTL_MS, resultKey } from '../src/jobs/result-cache.js'
import {
  checkList,
  checkOutcome,
  checkSubmission,
  checkText,
  EXECUTOR_PATH,
  type ExecutorMsg,
  type JobsClientMsg,
  type Report,
  type SchedulerMsg,
  type SubmitReply,
} from '../src/jobs/protocol.js'
import { SchedulerCore, type Candidate, type Effects, type Retention } from '../src/jobs/scheduler-core.js'
import type { JobOutcome, JobStatus } from '../src/jobs/types.js'
import type { NodeId } from '../src/net/types.js'
import { ClusterMismatchError, FencedError, JobLogNotSharedError, JobLogUnavailableError } from '../src/storage/errors.js'
import type { JobLogFactory, ResultCache } from '../src/storage/types.js'
import type { LoadForecast } from '../src/predict/analytics.js'
import { backoffDelayMs } from '../src/util/backoff.js'
import { encodeJobRecord, encodeSnapshotState, snapshotRecords, type JobRecord } from '../protocols/jobs/codec.js'
import { EnvelopeTooLargeError } from '../protocols/errors.js'
import { replayJobLog } from '../src/jobs/replay.js'

/** Records per append. */
const APPEND_BATCH_MAX = 5000
/** How long the leader reuses its reading of the cluster view for placement. */
const PEERS_REFRESH_MS = 20
/** Appends under way at once. */
const APPENDS_IN_FLIGHT = 4
/** An append unanswered this long makes submitters hear that the log is unavailable instead of waiting. */
const APPEND_STALL_MS = 2000

/** Buckets of the append latency histogram, in seconds: fsync on a laptop up to a struggling Kafka. */
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** Most nodes in one forecast reply: its points stay well inside a message. */
const FORECAST_NODES_MAX = 200
/** Timeouts, retries and deadlines are checked at least this often. */
const TICK_MS = 100
const RETRY_BACKOFF = { minMs: 50, maxMs: 5000, factor: 2, jitter: 0.2 }

/** When the scheduler snapshots its state into the log (and lets the log compact). */
export interface SnapshotPolicy {
  /** Records appended since the last snapshot that trigger the next one. */
  everyRecords: number
  /** Bytes appended since the last snapshot that trigger the next one. */
  everyBytes: number
}

/** Default snapshot policy: every 10,000 records or 64 MiB. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { everyRecords: 10_000, everyBytes: 64 * 1024 * 1024 }

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
  forecast?: (nodes: number) => LoadForecast
}

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
      const { env, self } = ctx
      const makeCore = (): SchedulerCore =>
        new SchedulerCore(init.epoch, init.placement ?? new LeastLoadedPlacement(), env.random, {
          ...(init.maxQueued === undefined ? {} : { maxQueued: init.maxQueued }),
          ...(init.retention === undefined ? {} : { retention: init.retention }),
          wallMs: () => env.clock.wallMs(),
        })
      const policy: SnapshotPolicy = { ...DEFAULT_SNAPSHOT_POLICY, ...init.snapshot }
      const jobLog = await init.jobLog.open({ signal: ctx.signal })
      ctx.onStop(() => jobLog.close())
      await jobLog.fence(init.epoch, { signal: ctx.signal })
      const replay = await replayJobLog(jobLog, makeCore, { signal: ctx.signal })
      const core = replay.core
      ctx.log.info('scheduler replayed the job log', { epoch: init.epoch, from: replay.from, end: replay.end, skipped: replay.skipped, backlog: core.backlog })
      // Records no decoder could read are skipped (src/jobs/replay.ts): counted, so an alert can see them.
      ctx.env.metrics
        .counter('dx_jobs_replay_skipped_records_total', 'Job-log records (and snapshots) this node skipped on replay because they could not be decoded')
        .inc({}, replay.skipped)
      if (replay.skipped > 0) ctx.log.warn('replay skipped job-log records that could not be decoded', { epoch: init.epoch, skipped: replay.skipped })

      /** The submitted records as they arrived, appended as is instead of encoded again. */
      const submittedBytes = new Map<string, Uint8Array>()
      const encode = (record: JobRecord): Uint8Array => (record.kind === 'submitted' ? submittedBytes.get(record.spec.id) : undefined) ?? encodeJobRecord(record)
      /** Submitters waiting for a job's submission to become durable, with the answer each gets then. */
      const submitters = new Map<string, Array<{ reply: DeferredReply<SubmitReply[]>; replies: SubmitReply[]; index: number; answer: SubmitReply; remaining: { n: number } }>>()
      let pending: JobRecord[] = []
      const inFlight = new Map<number, { batch: JobRecord[]; startedAt: number; bytes: number }>()
      let nextBatch = 0
      let appendFailures = 0
      let appendRetryAt = 0
      let lastAppendError: Error | undefined
      let cacheErrors = 0
      ctx.env.metrics.counter('dx_jobs_cache_errors_total', 'Result cache writes that failed (the job log still holds the results)', [], (set) => set(cacheErrors))
      let running = true
      ctx.onStop(() => {
        running = false
      })
      ctx.env.metrics.gauge('dx_jobs_backlog', 'Jobs the leader has not finished (waiting, queued, retrying, running); 0 on followers', [], (set) =>
        set(running ? core.backlog : 0),
      )
      ctx.env.metrics.gauge('dx_jobs_retained', 'Finished jobs the leader still holds (bounded by the retention); 0 on followers', [], (set) =>
        set(running ? core.footprint().retained : 0),
      )
      const accepted = ctx.env.metrics.counter('dx_jobs_accepted_total', 'Submissions made durable and acknowledged by this leader')
      const finishedTotal = ctx.env.metrics.counter('dx_jobs_finished_total', 'Jobs whose final outcome this leader recorded', ['outcome'])
      const appendSeconds = ctx.env.metrics.histogram('dx_job_log_append_seconds', 'Job-log append latency, submit to durable', APPEND_BUCKETS)
      const cacheFailed = (error: unknown): void => {
        // The log holds every result; a failing cache only costs lookups, so say so once per burst.
        if (cacheErrors++ % 1000 === 0) ctx.log.warn('result cache unavailable; results stay in the job log', { error, failures: cacheErrors })
      }
      let dispatchQueued = false
      const executors = new Map<NodeId, ActorRef<ExecutorMsg>>()
      const watchers = new Map<string, ActorRef<JobsClientMsg>>()
      const executorAt = (node: NodeId): ActorRef<ExecutorMsg> => {
        let ref = executors.get(node)
        if (ref === undefined) {
          ref = ctx.ref<ExecutorMsg>({ node, path: EXECUTOR_PATH })
          executors.set(node, ref)
        }
        return ref
      }
      const watcherAt = (address: string): ActorRef<JobsClientMsg> => {
        let ref = watchers.get(address)
        if (ref === undefined) {
          ref = ctx.ref<JobsClientMsg>(address)
          watchers.set(address, ref)
        }
        return ref
      }

      /**
       * Starts appends while fewer than APPENDS_IN_FLIGHT are under way. Batches may land in any
       * order; that is safe because a job's later records are only requested once its earlier ones
       * are durable, so the order that matters (submitted before finished) always holds.
       */
      const appendNext = (): void => {
        if (snapshotting) return
        if (snapshotDue()) {
          // The barrier: nothing new goes out until the snapshot is durable.
          if (inFlight.size === 0 && doubtful.size === 0) takeSnapshot()
          else if (inFlight.size > 0 || env.clock.monotonicMs() < appendRetryAt) return
          if (snapshotting) return
        }
        if (pending.length === 0 || inFlight.size >= APPENDS_IN_FLIGHT || env.clock.monotonicMs() < appendRetryAt) return
        const batch = pending.length <= APPEND_BATCH_MAX ? pending : pending.slice(0, APPEND_BATCH_MAX)
        pending = pending.length <= APPEND_BATCH_MAX ? [] : pending.slice(APPEND_BATCH_MAX)
        const id = nextBatch++
        const startedAt = env.clock.monotonicMs()
        const payloads = batch.map(encode)
        inFlight.set(id, { batch, startedAt, bytes: payloads.reduce((sum, p) => sum + p.length, 0) })
        jobLog.append(init.epoch, payloads, { signal: ctx.signal }).then(
          (first) => {
            appendSeconds.observe((env.clock.monotonicMs() - startedAt) / 1000)
            self.tell({ type: 'appended', batch: id, ok: true, offset: first })
          },
          (error: unknown) => {
            if (error instanceof FencedError) {
              ctx.log.warn('job log fenced this scheduler; stopping', { epoch: init.epoch, error })
              ctx.stop()
              return
            }
            lastAppendError = toError(error)
            ctx.log.warn('job log append failed; retrying', { error: lastAppendError, records: batch.length })
            self.tell({ type: 'appended', batch: id, ok: false, offset: -1 })
          },
        )
        appendNext()
      }

      /** Appended since the last snapshot (a new leader counts the records it replayed after one). */
      const since = { records: replay.sinceSnapshot, bytes: 0 }
      let snapshotting = false
      let snapshotCount = 0
      /** Records whose append failed and may have landed: a snapshot waits until their retry is durable. */
      const doubtful = new Set<JobRecord>()
      let lastSnapshotBytes = 0
      /** Offset of the last record of ours known durable (or replayed): what a snapshot taken now reflects. */
      let lastLanded = replay.lastOffset
      const snapshotDue = (): boolean => (since.records >= policy.everyRecords || since.bytes >= policy.everyBytes) && since.bytes >= lastSnapshotBytes
      const snapshotsTaken = ctx.env.metrics.counter('dx_jobs_snapshots_total', 'Scheduler snapshots appended to the job log', ['result'])

      /** Appends the core's state as a snapshot; the log compacts below it once it is durable. */
      const takeSnapshot = (): void => {
        since.records = 0
        since.bytes = 0
        let payloads: Uint8Array[]
        try {
          payloads = snapshotRecords(`${init.epoch}.${++snapshotCount}`, lastLanded, encodeSnapshotState(core.snapshot())).map(encodeJobRecord)
        } catch (error) {
          if (!(error instanceof EnvelopeTooLargeError)) throw error
          // Too much unfinished work to carry in one append: the log keeps growing until it fits.
          snapshotsTaken.inc({ result: 'too-large' })
          ctx.log.warn('scheduler state too large to snapshot; the job log is not compacted for now', { bytes: error.bytes, max: error.maxBytes })
          return
        }
        snapshotting = true
        lastSnapshotBytes = payloads.reduce((sum, p) => sum + p.length, 0)
        const after = lastLanded
        const parts = payloads.length
        jobLog.append(init.epoch, payloads, { signal: ctx.signal }).then(
          (offset) => self.tell({ type: 'snapshotted', offset, after, parts }),
          (error: unknown) => {
            if (error instanceof FencedError) {
              ctx.log.warn('job log fenced this scheduler; stopping', { epoch: init.epoch, error })
              ctx.stop()
              return
            }
            ctx.log.warn('snapshot append failed; the next one comes after another interval', { error })
            self.tell({ type: 'snapshotted', offset: null, after, parts })
          },
        )
      }

      /** Carries out what the core produced. */
      const perform = (effects: Effects): void => {
        pending.push(...effects.append)
        const assignments = new Map<NodeId, Array<{ spec: (typeof effects.assign)[number]['spec']; attempt: number; attemptKey: string }>>()
        for (const a of effects.assign) pushTo(assignments, a.node, { spec: a.spec, attempt: a.attempt, attemptKey: a.attemptKey })
        for (const [node, list] of assignments) executorAt(node).tell({ type: 'assign', leader: ctx.self.address.node, assignments: list })
        const aborts = new Map<NodeId, Array<{ id: string; attemptKey: string }>>()
        for (const a of effects.abort) pushTo(aborts, a.node, { id: a.id, attemptKey: a.attemptKey })
        for (const [node, items] of aborts) executorAt(node).tell({ type: 'abort', items })
        for (const id of effects.durable) acknowledge(id)
        if (effects.durable.length > 0) accepted.inc(undefined, effects.durable.length)
        const finished = new Map<string, Array<{ id: string; outcome: JobOutcome }>>()
        for (const f of [...effects.finished, ...effects.notify]) {
          for (const w of f.watchers) pushTo(finished, w, { id: f.id, outcome: f.outcome })
        }
        for (const f of effects.finished) {
          finishedTotal.inc({ outcome: f.outcome.ok ? 'completed' : f.outcome.error.name === 'JobCancelledError' ? 'cancelled' : 'failed' })
          init.cache.setIfAbsent(resultKey(f.id), encodeOutcome(f.outcome), { ttlMs: RESULT_TTL_MS }).catch(cacheFailed)
          if (f.idempotencyKey !== null) init.cache.setIfAbsent(idempotencyCacheKey(f.idempotencyKey), new TextEncoder().encode(f.id), { ttlMs: RESULT_TTL_MS }).catch(cacheFailed)
        }
        for (const [w, items] of finished) watcherAt(w).tell({ type: 'finished', items })
        const progress = new Map<string, Array<{ id: string; fraction: number; message: string | null }>>()
        for (const p of effects.progress) for (const w of p.watchers) pushTo(progress, w, { id: p.id, fraction: p.fraction, message: p.message })
        for (const [w, items] of progress) watcherAt(w).tell({ type: 'progress', items })
        appendNext()
      }

      /** Why submitters should not wait for the log now, or undefined while it keeps up. */
      const logTrouble = (): string | undefined => {
        if (appendFailures > 0) return `the job log is failing: ${lastAppendError?.message ?? 'unknown error'}`
        let oldest = Infinity
        for (const f of inFlight.values()) oldest = Math.min(oldest, f.startedAt)
        const stalledMs = env.clock.monotonicMs() - oldest
        return stalledMs > APPEND_STALL_MS ? `the job log has not acknowledged an append for ${Math.round(stalledMs)} ms` : undefined
      }

      /**
       * Answers every submitter still waiting with JobLogUnavailableError. Their records stay queued:
       * they may yet become durable, and a retry with the same ids is acknowledged once they are.
       */
      const releaseSubmitters = (why: string): void => {
        const replies = new Set<DeferredReply<SubmitReply[]>>()
        for (const waiting of submitters.values()) for (const w of waiting) replies.add(w.reply)
        submitters.clear()
        for (const reply of replies) reply.reject(new JobLogUnavailableError(why, true))
      }

      const acknowledge = (id: string): void => {
        const waiting = submitters.get(id)
        if (waiting === undefined) return
        submitters.delete(id)
        for (const w of waiting) {
          w.replies[w.index] = w.answer
          if (--w.remaining.n === 0) w.reply.resolve(w.replies)
        }
      }

      // The cluster view changes at gossip pace; dispatches and submissions come far more often.
      let peersAt = -Infinity
      let peers: { candidates: Candidate[]; types: Set<string> } = { candidates: [], types: new Set() }
      const refreshPeers = (): { candidates: Candidate[]; types: Set<string> } => {
        const now = env.clock.monotonicMs()
        if (now - peersAt < PEERS_REFRESH_MS) return peers
        peersAt = now
        const candidates: Candidate[] = []
        const types = new Set<string>()
        const members = init.cluster.view()?.members ?? []
        for (const m of members) {
          if (m.state === 'down' || m.state === 'leaving') core.peerDown(m.nodeId, now)
          for (const t of m.metrics?.types ?? []) types.add(t)
          if (m.state !== 'up' || m.metrics === null || m.metrics.capacity === 0) continue
          const gossip = { atMs: now - (m.lastSeenMsAgo ?? 0), running: m.metrics.running, queued: m.metrics.queued }
          candidates.push({
            node: m.nodeId,
            capacity: m.metrics.capacity,
            types: new Set(m.metrics.types),
            eventLoopLagMs: m.metrics.eventLoopLagMs,
            leader: m.nodeId === ctx.self.address.node,
            gossip,
          })
        }
        init.placement?.observe?.(members, now, env.clock.wallMs())
        peers = { candidates, types }
        return peers
      }
      const candidates = (): Candidate[] => refreshPeers().candidates
      const knownTypes = (): Set<string> => refreshPeers().types

      const requestDispatch = (): void => {
        if (dispatchQueued) return
        dispatchQueued = true
        self.tell({ type: 'dispatch' })
      }

      ctx.onStop(() => {
        // One error for all: a stopping leader may hold thousands of waiting submissions.
        const stopped = new NoLeaderError('the scheduler stopped before the submission was durable; submit again')
        for (const waiting of submitters.values()) for (const w of waiting) w.reply.reject(stopped)
        submitters.clear()
      })
      ctx.timers.every('tick', TICK_MS, { type: 'tick' })
      perform(core.takeEffects())
      requestDispatch()

      return {
        submit(msg, c) {
          const records = checkList<unknown>(msg.records, 'records')
          const jobs = records.map(checkSubmission)
          jobs.forEach((job, i) => submittedBytes.set(job.id, records[i] as Uint8Array))
          const watcher = msg.watcher === null ? null : checkText(msg.watcher, 'watcher')
          const results = core.submit(jobs, knownTypes())
          const replies: SubmitReply[] = new Array(jobs.length)
          const remaining = { n: 0 }
          const reply = c.defer()
          /** Jobs whose durability this submit waits for. */
          const awaited = new Set<string>()
          const hold = (id: string, index: number, answer: SubmitReply): void => {
            remaining.n++
            awaited.add(id)
            const list = submitters.get(id) ?? []
            list.push({ reply, replies, index, answer, remaining })
            submitters.set(id, list)
          }
          results.forEach((r, i) => {
            const id = jobs[i]!.id
            if (r.status !== 'pending') submittedBytes.delete(id)
            if (r.status === 'refused') replies[i] = { status: 'refused', error: r.error }
            else if (r.status === 'duplicate') {
              if (watcher !== null) core.watch(r.of, watcher)
              // A duplicate of a job not yet durable is answered once that job is, like the job's own submitter.
              if (r.durable) replies[i] = { status: 'duplicate', of: r.of }
              else hold(r.of, i, { status: 'duplicate', of: r.of })
            } else {
              if (watcher !== null) core.watch(id, watcher)
              if (r.status === 'durable') replies[i] = { status: 'accepted' }
              else hold(id, i, { status: 'accepted' })
            }
          })
          perform(core.takeEffects())
          const trouble = remaining.n > 0 ? logTrouble() : undefined
          if (trouble !== undefined) {
            // Say so now rather than holding the submitter; the records stay queued.
            for (const id of awaited) {
              const waiting = submitters.get(id)?.filter((w) => w.reply !== reply)
              if (waiting === undefined || waiting.length === 0) submitters.delete(id)
              else submitters.set(id, waiting)
            }
            reply.reject(new JobLogUnavailableError(trouble, true))
          } else if (remaining.n === 0) {
            reply.resolve(replies)
          }
          return reply
        },
        watch(msg) {
          const watcher = checkText(msg.watcher, 'watcher')
          const known = checkList<unknown>(msg.ids, 'ids').map((id) => core.watch(checkText(id, 'id'), watcher))
          perform(core.takeEffects())
          return known
        },
        cancel(msg) {
          const known = core.cancel(checkText(msg.id, 'id'))
          perform(core.takeEffects())
          return known
        },
        inspect(msg) {
          const id = checkText(msg.id, 'id')
          return core.inspect(id) ?? (core.isExpired(id) ? 'expired' : null)
        },
        list: (msg) =>
          core.list(
            (msg.status ?? undefined) as JobStatus | undefined,
            Math.min(Math.max(1, Number(msg.limit) || 100), 10_000),
            msg.cursor === null || msg.cursor === undefined ? null : checkText(msg.cursor, 'cursor', 32),
          ),
        reports(msg, c) {
          const now = env.clock.monotonicMs()
          const reports = checkList<Report>(msg.reports, 'reports')
          for (const r of reports) {
            const id = checkText(r.id, 'id')
            const key = checkText(r.attemptKey, 'attemptKey')
            if (c.sender !== undefined && core.attemptNode(key) !== c.sender) continue
            if (r.kind === 'finished') core.attemptFinished(id, key, checkOutcome(r.outcome), now)
            else if (r.kind === 'progress' && typeof r.fraction === 'number')
              core.progressed(id, key, Math.min(1, Math.max(0, r.fraction)), typeof r.message === 'string' ? r.message.slice(0, 1024) : null)
          }
          perform(core.takeEffects())
          requestDispatch()
          return reports.length
        },
        forecast: (msg) => init.forecast?.(Math.min(FORECAST_NODES_MAX, Math.max(1, Math.floor(Number(msg.nodes)) || 1))) ?? null,
        tick() {
          const trouble = submitters.size > 0 ? logTrouble() : undefined
          if (trouble !== undefined) releaseSubmitters(trouble)
          appendNext()
          requestDispatch()
        },
        dispatch() {
          dispatchQueued = false
          if (init.cluster.leaderEpoch() !== init.epoch) return
          core.dispatch(env.clock.monotonicMs(), env.clock.wallMs(), candidates())
          perform(core.takeEffects())
        },
        snapshotted(msg) {
          snapshotting = false
          snapshotsTaken.inc({ result: msg.offset === null ? 'failed' : 'durable' })
          if (msg.offset !== null) {
            const offset = msg.offset
            lastLanded = Math.max(lastLanded, offset + msg.parts - 1)
            // Compact only at a snapshot that counts: right after the last record it reflects (replay.ts).
            const checked =
              msg.after < 0
                ? jobLog.startOffset({ signal: ctx.signal }).then((start) => start === offset)
                : jobLog.read(msg.after + 1, 1, { signal: ctx.signal }).then((next) => next[0]?.offset === offset)
            checked
              .then(async (counts) => {
                if (!counts) {
                  ctx.log.warn('snapshot landed after records it does not reflect; not compacting at it', { offset, after: msg.after })
                  return
                }
                await jobLog.compact(offset, { signal: ctx.signal })
                ctx.log.debug('job log compacted below the snapshot', { offset })
              })
              .catch((error: unknown) => ctx.log.warn('job log compaction failed; the log keeps its records', { offset, error }))
          }
          appendNext()
        },
        appended(msg) {
          const flight = inFlight.get(msg.batch)
          inFlight.delete(msg.batch)
          if (flight === undefined) return
          const { batch } = flight
          if (msg.ok) {
            appendFailures = 0
            // An append's records are contiguous in the log.
            lastLanded = Math.max(lastLanded, msg.offset + batch.length - 1)
            since.records += batch.length
            since.bytes += flight.bytes
            for (const record of batch) {
              if (record.kind === 'submitted') submittedBytes.delete(record.spec.id)
              doubtful.delete(record)
              core.apply(record)
            }
            perform(core.takeEffects())
            requestDispatch()
            appendNext()
            return
          }
          appendFailures++
          for (const record of batch) doubtful.add(record)
          pending = [...batch, ...pending]
          appendRetryAt = env.clock.monotonicMs() + backoffDelayMs(RETRY_BACKOFF, appendFailures, env.random)
          releaseSubmitters(logTrouble()!)
        },
      }
    },
  })
}

/** Appends `item` to the list under `key`, creating it: grouping a batch stays linear in its size. */
function pushTo<K, V>(groups: Map<K, V[]>, key: K, item: V): void {
  const list = groups.get(key)
  if (list === undefined) groups.set(key, [item])
  else list.push(item)
}
