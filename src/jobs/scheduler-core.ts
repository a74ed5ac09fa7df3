/**
 * The scheduler as a pure state machine, run by the leader (actors/scheduler.ts drives it).
 *
 * The job log is the truth. Every change that must survive the leader (a submission, a final
 * outcome, a cancellation) becomes a record; the core asks for it to be appended and changes the
 * job's visible state only when the record comes back durable, through the same `apply` that a new
 * leader uses to replay the log. Hence:
 * - a submission is acknowledged only once durable, and a job runs only after that;
 * - the first final record of a job in log order is its one recorded outcome; later ones (a
 *   duplicate completion, an ambiguous append retried) change nothing;
 * - attempts are not logged: a new leader re-queues every job without a final record, so execution
 *   is at least once, while the recorded result stays exactly once.
 *
 * Scheduling: ready jobs wait in a priority queue (higher priority first, then submission order,
 * or with `order: 'critical-path'` latest start time, so workflows run along their critical paths);
 * placement picks a peer among those that registered the type, by the attempts this leader has
 * outstanding there; each attempt has a timeout, after which it is aborted and retried with
 * exponential backoff and jitter, or failed; jobs with dependencies wait for them and fail if one
 * fails; a job not started by its deadline fails; cancellation aborts the running attempt.
 * An assignment the peer refuses (it does not take this node for its leader yet) is queued again
 * without spending a retry (`assignRefused`).
 * Backpressure: beyond `maxQueued` unfinished jobs, submissions are refused with
 * ClusterSaturatedError. Work stealing (`planSteals`, `stealAnswered`): an attempt queued on an
 * overcommitted peer moves to an idle one only after its holder confirmed it removed it unstarted;
 * the released attempt is neither a failure nor live any more, so nothing it could send counts.
 *
 * Idempotency: a key belongs to the first job that claimed it, from the moment that job's
 * submission is accepted (still pending) until the job leaves the leader's memory; a later
 * submission with the key, concurrent or not, is a duplicate of that job. A refused submission
 * never claims its key. Replay rebuilds the key index from the submitted records, first one wins.
 *
 * Retention: finished jobs stay readable (inspect, list, late watchers) until more than
 * `retention.maxFinished` have finished after them or they finished more than
 * `retention.maxAgeMs` ago, whichever comes first; then they leave memory with their key, and
 * their id goes to a bounded filter (expired-ids.ts) that tells "expired" from "never existed".
 * So memory holds at most maxQueued unfinished jobs, maxFinished finished ones, the filter and
 * the last max(1024, maxFinished) expired ids (kept exactly, so that a late duplicate of an
 * expired job's submission is not taken for a new job). An attempt's timeout stays queued after
 * the attempt ends (it would otherwise hold the finished job for the whole timeout, a minute by
 * default: hundreds of thousands of jobs under load); stale timeouts are swept out once they may
 * be half the queue, so it holds at most about twice the running attempts. Listing walks `order`, the jobs by submission sequence, from a cursor; holes left by expired
 * jobs are swept out once they are the majority, so the walk and the memory stay proportional to
 * the jobs held.
 *
 * Snapshots: `snapshot()` exports the durable state as records that rebuild it (and the expired
 * ids); `restore` loads one into a fresh core during replay (replay.ts decides which snapshot).
 *
 * The rules above are asserted where they could break (src/assert.ts: cheap, always on, constant
 * messages so the hot path builds no strings): an attempt starts only for a durable, queued job
 * with no open dependency and under a key never used before; an attempt is released once, from the
 * node it started on; a key's owner is held; jobs are held in submission order; counts never go
 * negative; retention holds after every retirement.
 */
import type { Random } from '../env/types.js'
import type { NodeId } from '../net/types.js'
import { backoffDelayMs } from '../util/backoff.js'
import { MinHeap } from '../util/heap.js'
import { assert } from '../assert.js'
import { NodeUnreachableError, toWireError } from '../errors.js'
import type { JobRecord, SnapshotState } from '../../protocols/jobs/codec.js'
import { ClusterSaturatedError, DeadlineExceededError, DependencyFailedError, InvalidJobError, JobCancelledError, JobTimeoutError, UnknownJobTypeError } from './errors.js'
import { ExpiredIds } from './expired-ids.js'
import type { GossipedLoad, Placement } from './placement.js'
import { isFinal, type JobError, type JobInfo, type JobOutcome, type JobSpec, type JobStatus } from './types.js'

/** Extra time the leader allows past an attempt's timeout before giving up on the executor. */
export const TIMEOUT_GRACE_MS = 1000

/** Default limit of unfinished jobs. */
export const MAX_QUEUED = 100_000

/** How long the leader waits for a holder's answer to a steal; after that the thief's slot is offered again (a lost "yes" is covered by the attempt's timeout). */
export const STEAL_ANSWER_MS = 2000
/** The least wait before a job whose assignment was refused is placed again (see assignRefused). */
export const ASSIGN_REFUSED_RETRY_MS = 250

/** Ancestors an admitted job raises the upward rank of, at most, along one path (a long chain would otherwise cost its length per job). */
const RANK_DEPTH_MAX = 64

/** A job's duration for critical-path order when neither a hint nor a `duration` estimate is given (the predictor's default). */
const DEFAULT_DURATION_MS = 500

/** Jobs a dispatch round may set aside (no room for their type) before it stops scanning. */
const SCAN_MAX_BLOCKED = 256

/** How long finished jobs stay in the leader's memory. */
export interface Retention {
  /** Most finished jobs held; the oldest leave first. */
  readonly maxFinished: number
  /** Finished jobs older than this leave. */
  readonly maxAgeMs: number
}

/**
 * Default retention: 10,000 finished jobs, for at most a day (the result cache's TTL). Every
 * snapshot carries the retained jobs and every failover restores them, so the count is what a
 * restore can take inside the failover bound: `npm run bench -- snapshot` measured 11-17 us per job
 * (10,000: 166 ms; 100,000: 1.1-1.7 s, too much of a 2 s bound). Results outlive it in the cache.
 */
export const DEFAULT_RETENTION: Retention = { maxFinished: 10_000, maxAgeMs: 24 * 3600_000 }

/** The timeout queue is never swept below this size (a sweep costs a pass over it). */
const TIMEOUTS_SWEEP_MIN = 1024

/** Slots a listing page looks at, at most, before it answers with what it found and a cursor. */
const LIST_MAX_SCANNED = 50_000

/** Options of the core. */
export interface SchedulerCoreOptions {
  /** Unfinished jobs beyond which submissions are refused. */
  readonly maxQueued?: number
  readonly retention?: Retention
  /** The wall clock, for the time stamped on final records (retention counts age from it). */
  readonly wallMs?: () => number
  /** Let idle peers take attempts still queued on overcommitted ones (see `planSteals`); off unless the driver answers `steal` effects. */
  readonly steal?: boolean
  /** Capacity slots one job of `type` takes (its declared resources; 1 when absent): its attempts count as that many outstanding on their peer. */
  readonly slots?: (type: string) => number
  /** A node's speed relative to the others (1 when unknown): a steal must let the job finish sooner. */
  readonly speed?: (node: NodeId) => number
  /**
   * How ready jobs of equal priority are ordered. 'fifo' (default): by submission. 'critical-path':
   * by latest start time, as in HEFT's upward rank applied to a stream of workflows: a job's
   * workflow should finish by its root's ready time plus the root's upward rank (its duration plus
   * the longest path of durations through its dependents), and the job should start its own rank
   * before that. Older workflows and jobs on a critical path go first, so a workflow's long chain is
   * not queued behind newer workflows' side branches (the simulator's S7-DAG, T9). A job without
   * dependencies or dependents is keyed by the time it became ready, so independent jobs stay FIFO.
   */
  readonly order?: 'fifo' | 'critical-path'
  /** Predicted duration (ms) of a job of `type` for critical-path order; default: the hint, else 500 ms. */
  readonly duration?: (type: string, hintMs: number | null) => number
}

/** One page of a listing: `next` continues it, null at the end. */
export interface JobPage {
  readonly jobs: JobInfo[]
  readonly next: string | null
}

/** A peer that can run jobs, as the driver sees it this tick. */
export interface Candidate {
  readonly node: NodeId
  readonly capacity: number
  readonly types: ReadonlySet<string>
  readonly eventLoopLagMs: number
  /** True for the node the scheduler runs on. */
  readonly leader?: boolean
  /** Its last gossiped load, for policies that read it. */
  readonly gossip?: GossipedLoad
}

/** The answer to one submission. A duplicate names the job that owns the key; `durable` is false while that job's own submission is not. */
export type SubmitResult =
  | { readonly status: 'durable' }
  | { readonly status: 'pending' }
  | { readonly status: 'duplicate'; readonly of: string; readonly durable: boolean }
  | { readonly status: 'refused'; readonly error: JobError }

/** Work for the driver, produced by the last inputs. */
export interface Effects {
  readonly append: JobRecord[]
  readonly assign: Array<{ node: NodeId; spec: JobSpec; attempt: number; attemptKey: string }>
  readonly abort: Array<{ node: NodeId; id: string; attemptKey: string }>
  /** Jobs whose submission became durable: acknowledge their submitters. */
  readonly durable: string[]
  /** Jobs that just got their recorded outcome: cache it and tell the watchers. */
  readonly finished: Array<{ id: string; outcome: JobOutcome; idempotencyKey: string | null; watchers: string[] }>
  /** Late watchers of jobs that had already finished. */
  readonly notify: Array<{ id: string; outcome: JobOutcome; watchers: string[] }>
  readonly progress: Array<{ id: string; fraction: number; message: string | null; watchers: string[] }>
  /** Ask `node` to give up attempt `attemptKey` if it has not started it; answer with `stealAnswered`. */
  readonly steal: Array<{ node: NodeId; id: string; attemptKey: string }>
}

interface Job {
  readonly spec: JobSpec
  readonly seq: number
  status: JobStatus | 'pending'
  attempts: number
  attemptKey: string | null
  assignedTo: NodeId | null
  timeoutAt: number
  retryAt: number
  waitingOn: number
  readonly dependents: string[]
  progress: { fraction: number; message: string | null } | null
  outcome: JobOutcome | null
  /** A final record has been requested and is not yet durable. */
  finishing: boolean
  /** Allocated on the first watch and dropped at the outcome: a retained finished job holds none (an empty Set is 115 bytes). */
  watchers: Set<string> | null
  /** Wall-clock time of the outcome (retention counts from it). */
  finishedAt: number
  /** The attempt a steal last asked about: each attempt is asked about once. */
  stealTried: string | null
  /** The job's place in submission order. */
  readonly slot: Slot
  /** Its place in critical-path order; null under FIFO order. */
  readonly path: PathOrder | null
}

/** A job's critical-path order (`SchedulerCoreOptions.order`). */
interface PathOrder {
  /** Predicted duration (ms). */
  readonly ownMs: number
  /** Upward rank: own duration plus the longest path through the dependents admitted so far. */
  rank: number
  /** Monotonic time it first became ready; NaN before. */
  readyAt: number
  /** When its workflow should finish if nothing on its critical path waited; NaN until asked. */
  finishBy: number
  /** Latest start time (finishBy - rank), fixed when it first queues: the smallest runs first. */
  key: number
}

/** A place in submission order; `job` is cleared when the job leaves memory. */
interface Slot {
  readonly seq: number
  job: Job | undefined
}

export class SchedulerCore {
  private readonly jobs = new Map<string, Job>()
  private readonly idempotency = new Map<string, string>()
  private readonly queue: MinHeap<Job>
  private readonly retries = new MinHeap<Job>((a, b) => a.retryAt < b.retryAt)
  private readonly timeouts = new MinHeap<{ job: Job; key: string; at: number }>((a, b) => a.at < b.at)
  /** The timeout queue's size at which stale entries are swept out: twice what the last sweep kept. */
  private timeoutsSweepAt = TIMEOUTS_SWEEP_MIN
  private readonly live = new Map<string, { job: Job; node: NodeId }>()
  private readonly outstanding = new Map<NodeId, number>()
  /** Every job held, by submission sequence; may contain holes (expired jobs). */
  private order: Slot[] = []
  private holes = 0
  /** Finished jobs in the order they finished: the front leaves first; slots before `finishedHead` are cleared, so they hold no job that left. */
  private finishedOrder: Array<Job | undefined> = []
  private finishedHead = 0
  private expired: ExpiredIds
  private readonly maxQueued: number
  private readonly retention: Retention
  private readonly wallMs: () => number
  private seq = 0
  private unfinished = 0
  /** Accepted submissions whose record is not durable yet; they count toward the queue limit. */
  private pendingSubmissions = 0
  private attemptCounter = 0
  private replaying = false
  /** The latest monotonic time an input carried, for telling the placement when an attempt ended. */
  private lastNowMs = 0
  private effects: Effects = emptyEffects()
  private readonly stealing: boolean
  private readonly slotsOf: (type: string) => number
  private readonly speedOf: (node: NodeId) => number
  private readonly durationOf: ((type: string, hintMs: number | null) => number) | null
  /** Steals asked and not answered, by the attempt asked about: the thief it would go to, and when it was asked. */
  private readonly steals = new Map<string, { job: Job; from: NodeId; to: Candidate; atMs: number }>()

  constructor(
    readonly epoch: number,
    private readonly placement: Placement,
    private readonly random: Random,
    options: SchedulerCoreOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? MAX_QUEUED
    this.retention = options.retention ?? DEFAULT_RETENTION
    if (!Number.isSafeInteger(this.retention.maxFinished) || this.retention.maxFinished < 0 || !(this.retention.maxAgeMs >= 0))
      throw new RangeError(`invalid retention ${JSON.stringify(this.retention)}`)
    this.wallMs = options.wallMs ?? (() => 0)
    this.stealing = options.steal === true
    this.slotsOf = options.slots ?? (() => 1)
    this.speedOf = options.speed ?? (() => 1)
    this.durationOf = options.order === 'critical-path' ? (options.duration ?? ((_type, hintMs) => hintMs ?? DEFAULT_DURATION_MS)) : null
    this.queue =
      this.durationOf === null
        ? new MinHeap<Job>((a, b) => a.spec.options.priority > b.spec.options.priority || (a.spec.options.priority === b.spec.options.priority && a.seq < b.seq))
        : new MinHeap<Job>(
            (a, b) =>
              a.spec.options.priority > b.spec.options.priority ||
              (a.spec.options.priority === b.spec.options.priority && (a.path!.key < b.path!.key || (a.path!.key === b.path!.key && a.seq < b.seq))),
          )
    this.expired = new ExpiredIds(Math.max(1024, this.retention.maxFinished))
    placement.reset?.()
  }

  /** Finished jobs held. */
  get retained(): number {
    return this.finishedOrder.length - this.finishedHead
  }

  /** Sizes of every structure that grows with the jobs held: each is bounded by the retention and maxQueued. */
  footprint(): {
    jobs: number
    retained: number
    keys: number
    slots: number
    finishedQueue: number
    expiredBytes: number
    recentlyExpired: number
    timeouts: number
    queue: number
  } {
    return {
      queue: this.queue.size,
      jobs: this.jobs.size,
      retained: this.retained,
      keys: this.idempotency.size,
      slots: this.order.length,
      finishedQueue: this.finishedOrder.length,
      expiredBytes: this.expired.bytes,
      recentlyExpired: this.expired.recentCount,
      timeouts: this.timeouts.size,
    }
  }

  /** Unfinished jobs (waiting, queued, retrying, running). */
  get backlog(): number {
    return this.unfinished
  }

  /** Starts replaying the log: records are applied without effects until `endReplay`. */
  beginReplay(): void {
    this.replaying = true
  }

  /**
   * Ends replay: jobs whose dependencies failed during it are failed now, and the jobs left queued
   * enter the queue. Not before: nearly every replayed job finishes later in the replay (a snapshot
   * of 10,000 retained jobs, then the records after it), and each would have been pushed and left
   * behind as a stale entry for the first dispatch to pop one by one (~100 ms of a failover).
   */
  endReplay(): void {
    this.replaying = false
    for (const job of this.jobs.values()) {
      if (job.status === 'queued') this.queue.push(job)
      if (job.status !== 'waiting') continue
      const failed = job.spec.options.dependsOn.find((d) => {
        const dep = this.jobs.get(d)
        return dep === undefined || dep.status === 'failed' || dep.status === 'cancelled'
      })
      if (failed !== undefined) this.requestFinish(job, failure(new DependencyFailedError(`dependency ${failed} did not complete`), true))
    }
    this.effects = { ...emptyEffects(), append: this.effects.append }
  }

  /** Applies one durable record: used for replay and for records this leader appended. */
  apply(record: JobRecord): void {
    switch (record.kind) {
      case 'submitted': {
        // A late duplicate of a job that already finished and expired: not a new job.
        if (this.expired.recentlyExpired(record.spec.id)) return
        const existing = this.jobs.get(record.spec.id)
        if (existing !== undefined && existing.status !== 'pending') return
        if (existing !== undefined) {
          this.pendingSubmissions--
          assert(this.pendingSubmissions >= 0, 'more submissions became durable than were pending')
        }
        const job = existing ?? this.create(record.spec)
        job.status = 'waiting'
        if (!this.replaying) this.effects.durable.push(job.spec.id)
        this.admit(job)
        return
      }
      case 'finished':
        this.finish(record.id, record.outcome, record.at)
        return
      case 'cancelled':
        this.finish(record.id, failure(new JobCancelledError(record.id), true), record.at, 'cancelled')
        return
      case 'snapshot':
      // Snapshot parts are assembled by the replay (replay.ts) and loaded with `restore`.
    }
  }

  /**
   * The durable state, for a snapshot: every job whose submission is durable (pending ones are
   * not, and their records follow the snapshot in the log), its outcome if it has one, the key
   * index (implied: the first job with a key owns it) and the expired-id filter. Restoring it
   * into an empty core gives the jobs, outcomes and keys that replaying the log up to here gives.
   */
  snapshot(): SnapshotState {
    const records: JobRecord[] = []
    for (const slot of this.order) {
      const job = slot.job
      if (job !== undefined && job.status !== 'pending') records.push({ kind: 'submitted', spec: job.spec })
    }
    for (let i = this.finishedHead; i < this.finishedOrder.length; i++) {
      const job = this.finishedOrder[i]!
      const id = job.spec.id
      records.push(
        job.status === 'cancelled' ? { kind: 'cancelled', id, at: job.finishedAt } : { kind: 'finished', id, attempt: job.attempts, outcome: job.outcome!, at: job.finishedAt },
      )
    }
    return { records, expired: this.expired.export(), recentlyExpired: this.expired.recent() }
  }

  /** Loads a snapshot into this core, which must be empty and replaying. */
  restore(state: SnapshotState): void {
    if (!this.replaying || this.jobs.size > 0 || this.seq > 0) throw new InvalidJobError('a snapshot is restored only into an empty core during replay')
    this.expired = new ExpiredIds(this.expired.perGeneration, state.expired, state.recentlyExpired)
    for (const record of state.records) this.apply(record)
  }

  /** Validates and accepts submissions; each is durable only once its record is applied. */
  submit(specs: readonly JobSpec[], knownTypes: ReadonlySet<string>): SubmitResult[] {
    return specs.map((spec) => {
      // The key is checked first: it is reserved from submission on, so a concurrent second
      // submission with the same key (whatever its id) joins the first job instead of making another.
      const key = spec.options.idempotencyKey
      const owner = key === null ? undefined : this.idempotency.get(key)
      if (owner !== undefined) {
        const ownerJob = this.jobs.get(owner)
        assert(ownerJob !== undefined, 'an idempotency key outlived the job that owns it')
        return { status: 'duplicate', of: owner, durable: ownerJob.status !== 'pending' }
      }
      const existing = this.jobs.get(spec.id)
      if (existing !== undefined) return existing.status === 'pending' ? { status: 'pending' } : { status: 'durable' }
      // A resent submission of a job that finished and expired since: it is durable, and done.
      if (this.expired.recentlyExpired(spec.id)) return { status: 'durable' }
      if (!knownTypes.has(spec.type)) return refused(new UnknownJobTypeError(spec.type))
      const unknownDep = spec.options.dependsOn.find((d) => !this.jobs.has(d))
      if (unknownDep !== undefined) return refused(new InvalidJobError(`job ${spec.id} depends on unknown job ${unknownDep}`))
      if (this.unfinished + this.pendingSubmissions >= this.maxQueued) return refused(new ClusterSaturatedError(this.unfinished + this.pendingSubmissions))
      this.create(spec)
      this.pendingSubmissions++
      this.effects.append.push({ kind: 'submitted', spec })
      return { status: 'pending' }
    })
  }

  /** Assigns ready jobs to peers with room; expires timeouts, retries and deadlines first. */
  dispatch(nowMs: number, wallMs: number, candidates: readonly Candidate[]): void {
    this.lastNowMs = nowMs
    this.expire(nowMs, wallMs)
    const blocked: Job[] = []
    const fullTypes = new Set<string>()
    while (this.queue.size > 0 && blocked.length < SCAN_MAX_BLOCKED) {
      const job = this.queue.pop()!
      if (job.status !== 'queued') continue
      if (job.spec.options.deadline !== null && wallMs > job.spec.options.deadline) {
        this.requestFinish(job, failure(new DeadlineExceededError(`job ${job.spec.id} did not start before its deadline`), true))
        continue
      }
      const type = job.spec.type
      const placed = { id: job.spec.id, nowMs, wallMs, durationHintMs: job.spec.options.durationHintMs ?? null, deadline: job.spec.options.deadline, queued: this.queue.size + 1 }
      const node = fullTypes.has(type)
        ? undefined
        : this.placement.choose(
            type,
            candidates
              .filter((c) => c.types.has(type))
              .map((c) => ({
                node: c.node,
                capacity: c.capacity,
                outstanding: this.outstanding.get(c.node) ?? 0,
                eventLoopLagMs: c.eventLoopLagMs,
                leader: c.leader === true,
                ...(c.gossip === undefined ? {} : { gossip: c.gossip }),
              })),
            placed,
          )
      if (node === undefined) {
        fullTypes.add(type)
        blocked.push(job)
        continue
      }
      this.start(job, node, nowMs)
    }
    for (const job of blocked) this.queue.push(job)
    if (this.stealing) this.planSteals(nowMs, candidates)
  }

  /**
   * Work stealing: when nothing waits at the leader, a peer with fewer attempts from this leader
   * than its capacity (idle slots) may take attempts queued on a peer holding more than its
   * capacity (so at least that many wait there for a worker). The leader only asks the holder to
   * give up one of its newest attempts (the likeliest still queued, attempts start in arrival
   * order) that has shown no progress, and only where the job would finish sooner on the thief
   * (with node speeds: the thief's run against the wait and the run on the holder); the move happens in `stealAnswered`, once the holder has
   * confirmed it removed the attempt before starting it. Each attempt is asked about once.
   */
  private planSteals(nowMs: number, candidates: readonly Candidate[]): void {
    const inbound = new Map<NodeId, number>()
    const outbound = new Map<NodeId, number>()
    for (const [key, s] of this.steals) {
      if (nowMs - s.atMs >= STEAL_ANSWER_MS) {
        this.steals.delete(key)
        continue
      }
      const slots = this.slotsOf(s.job.spec.type)
      inbound.set(s.to.node, (inbound.get(s.to.node) ?? 0) + slots)
      outbound.set(s.from, (outbound.get(s.from) ?? 0) + slots)
    }
    if (this.queue.size > 0) return
    const free = (c: Candidate): number => c.capacity - (this.outstanding.get(c.node) ?? 0) - (inbound.get(c.node) ?? 0)
    const thieves = candidates.filter((c) => free(c) > 0)
    if (thieves.length === 0) return
    const surplus = new Map<NodeId, number>()
    const capacity = new Map<NodeId, number>()
    for (const c of candidates) {
      const s = (this.outstanding.get(c.node) ?? 0) - (outbound.get(c.node) ?? 0) - c.capacity
      if (s > 0) surplus.set(c.node, s)
      capacity.set(c.node, c.capacity)
    }
    if (surplus.size === 0) return
    /** The victims' attempts that may be taken, oldest first (`live` is in assignment order). */
    const held = new Map<NodeId, Array<{ key: string; job: Job }>>()
    for (const [key, owner] of this.live) {
      const job = owner.job
      if (!surplus.has(owner.node) || job.attemptKey !== key || job.status !== 'running' || job.finishing || job.progress !== null || job.stealTried === key) continue
      const list = held.get(owner.node)
      if (list === undefined) held.set(owner.node, [{ key, job }])
      else list.push({ key, job })
    }
    for (const thief of thieves) {
      for (let room = free(thief); room > 0;) {
        let victim: NodeId | undefined
        let at = -1
        for (const [node, list] of held) {
          const s = surplus.get(node) ?? 0
          if (s <= (victim === undefined ? 0 : surplus.get(victim)!)) continue
          // The newest waits about s/capacity runs there before its own: the thief must beat that plus the run.
          if (this.speedOf(thief.node) * (1 + s / capacity.get(node)!) <= this.speedOf(node)) continue
          const i = list.findLastIndex((h) => thief.types.has(h.job.spec.type) && this.slotsOf(h.job.spec.type) <= room)
          if (i === -1) continue
          victim = node
          at = i
        }
        if (victim === undefined) break
        const { key, job } = held.get(victim)!.splice(at, 1)[0]!
        const slots = this.slotsOf(job.spec.type)
        room -= slots
        surplus.set(victim, surplus.get(victim)! - slots)
        job.stealTried = key
        this.steals.set(key, { job, from: victim, to: thief, atMs: nowMs })
        this.effects.steal.push({ node: victim, id: job.spec.id, attemptKey: key })
      }
    }
  }

  /**
   * The holder answered a steal: `released` true means it removed attempt `attemptKey` before
   * starting it, so the attempt can never run or report. The leader releases it (not a failure: no
   * retry is spent, the next attempt has the same number) and assigns a new attempt to the thief,
   * or queues the job if the thief is gone, the question timed out, or the policy will not place it
   * there (the next dispatch places it). If the attempt already ended here (finished, timed out,
   * its peer down), there is nothing to move.
   */
  stealAnswered(attemptKey: string, released: boolean, nowMs: number): void {
    this.lastNowMs = nowMs
    const asked = this.steals.get(attemptKey)
    this.steals.delete(attemptKey)
    if (!released) return
    const owner = this.live.get(attemptKey)
    if (owner === undefined) return
    const job = owner.job
    if (job.attemptKey !== attemptKey || job.status !== 'running' || job.finishing) return
    this.release(attemptKey, owner.node)
    job.attempts--
    job.attemptKey = null
    job.assignedTo = null
    job.status = 'queued'
    // The thief goes through the placement policy, alone, so that a policy keeping its own account of what it placed counts it there.
    const thief = asked?.to
    const node =
      thief === undefined
        ? undefined
        : this.placement.choose(
            job.spec.type,
            [
              {
                node: thief.node,
                capacity: thief.capacity,
                outstanding: this.outstanding.get(thief.node) ?? 0,
                eventLoopLagMs: thief.eventLoopLagMs,
                leader: thief.leader === true,
                ...(thief.gossip === undefined ? {} : { gossip: thief.gossip }),
              },
            ],
            {
              id: job.spec.id,
              nowMs,
              wallMs: this.wallMs(),
              durationHintMs: job.spec.options.durationHintMs ?? null,
              deadline: job.spec.options.deadline,
              queued: this.queue.size + 1,
            },
          )
    if (node !== undefined) this.start(job, node, nowMs)
    else this.queue.push(job)
  }

  /**
   * The node refused the assignment of attempt `attemptKey`: its executor's remote policy did not
   * take this node for its leader (it had not yet heard of this leadership, as a peer that was
   * paused or partitioned through the election has not). The attempt never entered it, so it can
   * never run or report; without this it would hold the job until its timeout (a minute by
   * default). Released without spending a retry, and queued again after at least
   * ASSIGN_REFUSED_RETRY_MS, so that a node that keeps lagging gets no assignment in a loop. A stale
   * key (the attempt already ended: timed out, peer down, finished) changes nothing.
   */
  assignRefused(attemptKey: string, nowMs: number): void {
    this.lastNowMs = nowMs
    const owner = this.live.get(attemptKey)
    if (owner === undefined) return
    this.release(attemptKey, owner.node)
    const job = owner.job
    if (job.attemptKey !== attemptKey || job.status !== 'running' || job.finishing) return
    job.attempts--
    this.retryLater(job, nowMs, ASSIGN_REFUSED_RETRY_MS)
  }

  /** Steals asked and not yet answered. */
  get stealsInFlight(): number {
    return this.steals.size
  }

  /** The node running attempt `attemptKey`, while the attempt is live (assigned and not yet released). */
  attemptNode(attemptKey: string): NodeId | undefined {
    return this.live.get(attemptKey)?.node
  }

  /** An executor reports how an attempt ended. */
  attemptFinished(id: string, attemptKey: string, outcome: JobOutcome, nowMs: number): void {
    this.lastNowMs = nowMs
    const owner = this.live.get(attemptKey)
    if (owner !== undefined) this.release(attemptKey, owner.node)
    const job = this.jobs.get(id)
    if (job === undefined || isFinal(job.status as JobStatus) || job.finishing || job.status === 'pending') return
    if (outcome.ok) {
      this.requestFinish(job, outcome)
      return
    }
    // A failure counts only for the attempt that is current; a stale attempt's failure changes nothing.
    if (job.attemptKey !== attemptKey) return
    if (outcome.permanent) this.requestFinish(job, outcome)
    else this.attemptFailed(job, outcome, nowMs)
  }

  /** A peer left or went down: its attempts from this leader are failed and retried. */
  peerDown(node: NodeId, nowMs: number): void {
    this.lastNowMs = nowMs
    for (const [key, s] of this.steals) if (s.to.node === node) this.steals.delete(key)
    for (const [key, owner] of [...this.live]) {
      if (owner.node !== node) continue
      this.release(key, node)
      if (owner.job.attemptKey === key && owner.job.status === 'running') {
        this.attemptFailed(owner.job, failure(new NodeUnreachableError(node, 'it left or went down'), false), nowMs)
      }
    }
  }

  /** An executor reports progress of an attempt. */
  progressed(id: string, attemptKey: string, fraction: number, message: string | null): void {
    const job = this.jobs.get(id)
    if (job === undefined || job.attemptKey !== attemptKey || isFinal(job.status as JobStatus)) return
    job.progress = { fraction, message }
    if (job.watchers !== null && job.watchers.size > 0) this.effects.progress.push({ id, fraction, message, watchers: [...job.watchers] })
  }

  /** Asks to cancel a job; it is cancelled once the record is durable. Returns false for an unknown job. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id)
    if (job === undefined) return false
    if (!isFinal(job.status as JobStatus) && !job.finishing && job.status !== 'pending') {
      job.finishing = true
      this.effects.append.push({ kind: 'cancelled', id, at: this.wallMs() })
    }
    return true
  }

  /** Registers a watcher; a finished job notifies at once. Returns false for an unknown job. */
  watch(id: string, watcher: string): boolean {
    const job = this.jobs.get(id)
    if (job === undefined) return false
    if (job.outcome !== null && isFinal(job.status as JobStatus)) this.effects.notify.push({ id, outcome: job.outcome, watchers: [watcher] })
    else (job.watchers ??= new Set()).add(watcher)
    return true
  }

  /** A job as it stands, or undefined. */
  inspect(id: string): JobInfo | undefined {
    const job = this.jobs.get(id)
    return job === undefined ? undefined : info(job)
  }

  /** True if `id` left memory after its retention (rarely, a false positive for an id never seen). */
  isExpired(id: string): boolean {
    return !this.jobs.has(id) && this.expired.has(id)
  }

  /**
   * Jobs newest first, optionally of one status, from `cursor` (a page's `next`) on. A page looks
   * at no more than LIST_MAX_SCANNED jobs, so a rare status costs several pages rather than one long
   * turn of the scheduler; the cursor is a submission sequence number of this leader.
   */
  list(status: JobStatus | undefined, limit: number, cursor: string | null = null): JobPage {
    let end = this.order.length
    if (cursor !== null) {
      if (!/^\d{1,15}$/.test(cursor)) throw new InvalidJobError(`bad listing cursor ${JSON.stringify(cursor.slice(0, 32))}`)
      end = this.firstSlotAtOrAfter(Number(cursor))
    }
    const jobs: JobInfo[] = []
    let i = end - 1
    for (let scanned = 0; i >= 0 && jobs.length < limit && scanned < LIST_MAX_SCANNED; i--, scanned++) {
      const job = this.order[i]!.job
      if (job !== undefined && job.status !== 'pending' && (status === undefined || job.status === status)) jobs.push(info(job))
    }
    return { jobs, next: i >= 0 ? String(this.order[i + 1]!.seq) : null }
  }

  /** Takes the effects produced since the last call. */
  takeEffects(): Effects {
    const e = this.effects
    this.effects = emptyEffects()
    return e
  }

  // ---- transitions -----------------------------------------------------------------------------

  private create(spec: JobSpec): Job {
    const job: Job = {
      spec,
      seq: this.seq++,
      status: 'pending',
      attempts: 0,
      attemptKey: null,
      assignedTo: null,
      timeoutAt: Infinity,
      retryAt: 0,
      waitingOn: 0,
      dependents: [],
      progress: null,
      outcome: null,
      finishing: false,
      watchers: null,
      finishedAt: 0,
      stealTried: null,
      slot: { seq: this.seq - 1, job: undefined },
      path: null,
    }
    if (this.durationOf !== null) {
      const ownMs = this.durationOf(spec.type, spec.options.durationHintMs ?? null)
      ;(job as { path: PathOrder | null }).path = { ownMs, rank: ownMs, readyAt: NaN, finishBy: NaN, key: NaN }
    }
    job.slot.job = job
    assert(this.order.length === 0 || this.order[this.order.length - 1]!.seq < job.seq, 'jobs are held out of submission order')
    this.order.push(job.slot)
    this.jobs.set(spec.id, job)
    // Reserved at submission (pending) and at replay alike; the first job in log order keeps a key.
    const key = spec.options.idempotencyKey
    if (key !== null && !this.idempotency.has(key)) this.idempotency.set(key, spec.id)
    return job
  }

  /** A durable job enters the schedule: it waits for dependencies, or queues. */
  private admit(job: Job): void {
    this.unfinished++
    for (const depId of job.spec.options.dependsOn) {
      const dep = this.jobs.get(depId)
      if (dep === undefined || dep.status === 'failed' || dep.status === 'cancelled') {
        // During replay the dependency's record may simply come later; endReplay settles it.
        if (this.replaying) continue
        this.requestFinish(job, failure(new DependencyFailedError(`dependency ${depId} did not complete`), true))
        return
      }
      if (dep.status !== 'completed') {
        job.waitingOn++
        dep.dependents.push(job.spec.id)
      }
    }
    if (job.path !== null) this.raiseRanks(job)
    if (job.waitingOn === 0) this.enqueue(job)
  }

  /** Critical-path order: a newly admitted job lengthens the paths through its ancestors (up to RANK_DEPTH_MAX levels). */
  private raiseRanks(job: Job): void {
    const stack: Array<{ job: Job; depth: number }> = [{ job, depth: 0 }]
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (next.depth >= RANK_DEPTH_MAX) continue
      for (const depId of next.job.spec.options.dependsOn) {
        const dep = this.jobs.get(depId)
        if (dep?.path == null) continue
        const rank = dep.path.ownMs + next.job.path!.rank
        if (rank <= dep.path.rank) continue
        dep.path.rank = rank
        stack.push({ job: dep, depth: next.depth + 1 })
      }
    }
  }

  /** Critical-path order: when the job's workflow should finish, asked first when a dependent queues (its rank has grown by then). */
  private finishBy(path: PathOrder): number {
    if (Number.isNaN(path.finishBy)) path.finishBy = path.readyAt + path.rank
    return path.finishBy
  }

  private enqueue(job: Job): void {
    assert((job.status === 'waiting' || job.status === 'retrying') && job.waitingOn === 0, 'queued a job that is not durable, or still waits on a dependency')
    job.status = 'queued'
    const path = job.path
    if (path !== null && Number.isNaN(path.readyAt)) {
      path.readyAt = this.lastNowMs
      // A dependent inherits its workflow's finish time (the latest of its dependencies'); a root's is settled later, see finishBy.
      let finishBy = -Infinity
      for (const depId of job.spec.options.dependsOn) {
        const dep = this.jobs.get(depId)
        if (dep?.path != null && !Number.isNaN(dep.path.readyAt)) finishBy = Math.max(finishBy, this.finishBy(dep.path))
      }
      if (finishBy !== -Infinity) path.finishBy = finishBy
      path.key = finishBy === -Infinity ? path.readyAt : finishBy - path.rank
    }
    // A replay queues its jobs all at once when it ends (endReplay).
    if (!this.replaying) this.queue.push(job)
  }

  private start(job: Job, node: NodeId, nowMs: number): void {
    assert(job.status === 'queued' && job.waitingOn === 0, 'started a job that is not durable and queued')
    job.attempts++
    const attemptKey = `${this.epoch}.${++this.attemptCounter}`
    assert(!this.live.has(attemptKey), 'an attempt key was used twice')
    job.attemptKey = attemptKey
    job.assignedTo = node
    job.status = 'running'
    job.progress = null
    job.timeoutAt = nowMs + job.spec.options.timeoutMs + TIMEOUT_GRACE_MS
    this.timeouts.push({ job, key: attemptKey, at: job.timeoutAt })
    if (this.timeouts.size >= this.timeoutsSweepAt) {
      this.timeouts.retain(timeoutLive)
      this.timeoutsSweepAt = Math.max(TIMEOUTS_SWEEP_MIN, 2 * this.timeouts.size)
    }
    this.live.set(attemptKey, { job, node })
    this.outstanding.set(node, (this.outstanding.get(node) ?? 0) + this.slotsOf(job.spec.type))
    this.effects.assign.push({ node, spec: job.spec, attempt: job.attempts, attemptKey })
  }

  private release(attemptKey: string, node: NodeId): void {
    const owner = this.live.get(attemptKey)
    // Paired with start: every release is of an attempt started on that node and not yet released.
    assert(owner?.node === node && (this.outstanding.get(node) ?? 0) > 0, 'released an attempt that is not live on that node')
    this.placement.released?.(node, owner.job.spec.type, this.lastNowMs)
    this.live.delete(attemptKey)
    const n = this.outstanding.get(node)! - this.slotsOf(owner.job.spec.type)
    if (n <= 0) this.outstanding.delete(node)
    else this.outstanding.set(node, n)
  }

  private retryLater(job: Job, nowMs: number, minDelayMs = 0): void {
    job.status = 'retrying'
    job.attemptKey = null
    job.assignedTo = null
    job.retryAt = nowMs + Math.max(minDelayMs, backoffDelayMs(job.spec.options.backoff, job.attempts, this.random))
    this.retries.push(job)
  }

  private requestFinish(job: Job, outcome: JobOutcome): void {
    if (job.finishing) return
    job.finishing = true
    this.effects.append.push({ kind: 'finished', id: job.spec.id, attempt: job.attempts, outcome, at: this.wallMs() })
  }

  /** Applies a durable final record: the first one for a job is its outcome. */
  private finish(id: string, outcome: JobOutcome, at: number | undefined, status: JobStatus = outcome.ok ? 'completed' : 'failed'): void {
    const job = this.jobs.get(id)
    if (job === undefined || job.status === 'pending' || isFinal(job.status as JobStatus)) return
    if (job.attemptKey !== null) {
      const owner = this.live.get(job.attemptKey)
      if (owner !== undefined) {
        this.release(job.attemptKey, owner.node)
        if (status === 'cancelled') this.effects.abort.push({ node: owner.node, id, attemptKey: job.attemptKey })
      }
    }
    job.status = status
    job.outcome = outcome
    job.finishing = false
    job.attemptKey = null
    // Records from before `at` existed: the submission time is the best lower bound of the age.
    job.finishedAt = at ?? job.spec.submittedAt
    this.finishedOrder.push(job)
    this.unfinished--
    assert(this.unfinished >= 0, 'more jobs finished than were admitted')
    if (!this.replaying) this.effects.finished.push({ id, outcome, idempotencyKey: job.spec.options.idempotencyKey, watchers: job.watchers === null ? [] : [...job.watchers] })
    job.watchers = null
    for (const depId of job.dependents) {
      const dependent = this.jobs.get(depId)
      if (dependent === undefined || isFinal(dependent.status as JobStatus)) continue
      if (status === 'completed') {
        if (--dependent.waitingOn === 0 && dependent.status === 'waiting') this.enqueue(dependent)
      } else if (!this.replaying) {
        this.requestFinish(dependent, failure(new DependencyFailedError(`dependency ${id} ${status}`), true))
      }
    }
    this.retire(-Infinity)
  }

  /** Lets finished jobs beyond the retention leave memory: the oldest past the count, then those finished before `wallMs - maxAgeMs`. */
  private retire(wallMs: number): void {
    const oldest = wallMs - this.retention.maxAgeMs
    while (this.finishedHead < this.finishedOrder.length) {
      const job = this.finishedOrder[this.finishedHead]!
      if (this.retained <= this.retention.maxFinished && job.finishedAt >= oldest) break
      this.finishedOrder[this.finishedHead++] = undefined
      this.forget(job)
    }
    assert(this.retained <= this.retention.maxFinished, 'more finished jobs held than the retention allows')
    // Drop the consumed front once it is the larger part, so the queue stays proportional to what it holds.
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finishedOrder.length) {
      this.finishedOrder = this.finishedOrder.slice(this.finishedHead)
      this.finishedHead = 0
    }
  }

  private forget(job: Job): void {
    const id = job.spec.id
    this.jobs.delete(id)
    const key = job.spec.options.idempotencyKey
    if (key !== null && this.idempotency.get(key) === id) this.idempotency.delete(key)
    this.expired.add(id)
    job.slot.job = undefined
    if (++this.holes > 1024 && this.holes * 2 > this.order.length) {
      this.order = this.order.filter((s) => s.job !== undefined)
      this.holes = 0
    }
  }

  /** Index of the first slot whose seq is at least `seq` (order is sorted by seq). */
  private firstSlotAtOrAfter(seq: number): number {
    let lo = 0
    let hi = this.order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.order[mid]!.seq < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Times out attempts, re-queues due retries, fails waiting jobs past their deadline. */
  private expire(nowMs: number, wallMs: number): void {
    this.retire(wallMs)
    for (let t = this.timeouts.peek(); t !== undefined && t.at <= nowMs; t = this.timeouts.peek()) {
      this.timeouts.pop()
      if (!timeoutLive(t)) continue
      const job = t.job
      const owner = this.live.get(t.key)
      if (owner !== undefined) {
        this.release(t.key, owner.node)
        this.effects.abort.push({ node: owner.node, id: job.spec.id, attemptKey: t.key })
      }
      this.attemptFailed(job, failure(new JobTimeoutError(job.spec.options.timeoutMs), false), nowMs)
    }
    for (let job = this.retries.peek(); job !== undefined && job.retryAt <= nowMs; job = this.retries.peek()) {
      this.retries.pop()
      if (job.status !== 'retrying') continue
      if (job.spec.options.deadline !== null && wallMs > job.spec.options.deadline)
        this.requestFinish(job, failure(new DeadlineExceededError(`job ${job.spec.id} could not be retried before its deadline`), true))
      else this.enqueue(job)
    }
  }

  private attemptFailed(job: Job, outcome: JobOutcome, nowMs: number): void {
    if (job.attempts > job.spec.options.retries) this.requestFinish(job, outcome)
    else this.retryLater(job, nowMs)
  }
}

/** A queued timeout still matters while its attempt is the job's current one and running; once stale it stays stale (attempt keys are never reused). */
function timeoutLive(t: { job: Job; key: string }): boolean {
  return t.job.attemptKey === t.key && t.job.status === 'running'
}

function emptyEffects(): Effects {
  return { append: [], assign: [], abort: [], durable: [], finished: [], notify: [], progress: [], steal: [] }
}

function refused(error: Error & { code: string }): SubmitResult {
  return { status: 'refused', error: toWireError(error) }
}

function failure(error: Error & { code: string }, permanent: boolean): JobOutcome {
  return { ok: false, error: toWireError(error), permanent }
}

function info(job: Job): JobInfo {
  return {
    id: job.spec.id,
    type: job.spec.type,
    status: job.status === 'pending' ? 'queued' : job.status,
    attempts: job.attempts,
    assignedTo: job.assignedTo,
    progress: job.progress,
    outcome: job.outcome,
    submittedAt: job.spec.submittedAt,
    finishedAt: job.outcome === null ? null : job.finishedAt,
  }
}
