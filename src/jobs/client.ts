/**
 * The job API for job authors and operators, available on every node.
 *
 * `submit` resolves once the leader has made the submission durable in the job log: from then on
 * the job will run (at least once) and have exactly one recorded outcome, whatever happens to the
 * leader. Submissions made in the same tick travel to the leader together. While there is no leader
 * (an election, the job log unreachable), submission retries until `submitTimeoutMs` and then
 * rejects with NoLeaderError, or with an ambiguous JobLogUnavailableError if the leader said its log
 * was failing (the job may still become durable); a refused job (unknown type, bad input, cluster saturated) rejects at
 * once with a typed error; a submission still unacknowledged when the node stops rejects with
 * SystemShutdownError. Re-submitting after such an ambiguous failure is safe when the job carries an
 * idempotency key, or when the same handle id is resubmitted.
 *
 * @example
 * ```ts
 * const handle = await node.jobs.submit(resize, { url }, { priority: 5, retries: 2 })
 * handle.onProgress((f) => console.log(`${Math.round(f * 100)}%`))
 * const { width } = await handle.result()
 * ```
 */
import type { ActorSystem } from '../actor/system.js'
import type { ActorRef } from '../actor/types.js'
import type { ClusterHandle } from '../cluster/handle.js'
import { abortable, abortError } from '../env/abort.js'
import type { AbortOptions, Environment } from '../env/types.js'
import { fromWireError } from '../errors.js'
import { backoffDelayMs } from '../util/backoff.js'
import { encodeJobRecord } from '../../protocols/jobs/codec.js'
import { checkBody } from '../../protocols/envelope/body.js'
import { EnvelopeTooLargeError, ProtocolError } from '../../protocols/errors.js'
import { InvalidJobError, JobCancelledError, JobExpiredError, JobFailedError, NoLeaderError, PayloadTooLargeError } from './errors.js'
import { idempotentJobId, resolveJobOptions } from './options.js'
import { BATCH_MAX_JOBS, SCHEDULER_PATH, type SchedulerMsg, type SubmitReply } from './protocol.js'
import type { JobDef, JobInfo, JobOptions, JobOutcome, JobSpec, JobStatus } from './types.js'
import type { ResultWaiters } from './waiters.js'
import { decodeOutcome, resultKey } from './result-cache.js'
import { JobLogUnavailableError } from '../storage/errors.js'
import type { ResultCache } from '../storage/types.js'
import type { LoadForecast } from '../predict/analytics.js'

/** Default time a submission keeps trying to reach a leader. */
export const SUBMIT_TIMEOUT_MS = 30_000
/** Default largest job input. */
export const INPUT_MAX_BYTES = 256 * 1024

const ASK_TIMEOUT_MS = 10_000
/** Bytes of job specs per submit message: half the envelope limit, leaving room for framing. */
const MESSAGE_MAX_BYTES = 512 * 1024
const RETRY = { minMs: 25, maxMs: 250, factor: 2, jitter: 0.2 }
/** Errors after which a submission is tried again: the leader moved or is not there yet. */
// ForbiddenMessageError: the leader has not yet heard this node's first gossip record.
const TRANSIENT = new Set([
  'NoLeaderError',
  'ActorNotFoundError',
  'ActorStoppedError',
  'NodeUnreachableError',
  'AskTimeoutError',
  'MailboxFullError',
  'JobLogUnavailableError',
  'ForbiddenMessageError',
])

/** A submitted job. */
export interface JobHandle<O = unknown> {
  readonly id: string
  /** Resolves with the job's value; rejects with JobFailedError or JobCancelledError. */
  result(options?: AbortOptions): Promise<O>
  status(options?: AbortOptions): Promise<JobInfo | null>
  cancel(options?: AbortOptions): Promise<boolean>
  /** Calls `listener` with progress reports; returns an unsubscribe function. */
  onProgress(listener: (fraction: number, message: string | null) => void): () => void
}

/** One item of a batch submission. */
export interface BatchItem {
  job: JobDef | string
  input: unknown
  options?: JobOptions
}

/** Options of the client. */
export interface JobClientInit {
  system: ActorSystem
  env: Environment
  cluster: ClusterHandle
  waiters: ResultWaiters
  /** Address of this node's jobs-client actor, where the leader pushes outcomes. */
  watcher: string
  /** The result cache, read before waiting for the leader. */
  cache: ResultCache
  /** Job types registered here, used to validate inputs before they travel. */
  jobs: readonly JobDef[]
  submitTimeoutMs?: number
  inputMaxBytes?: number
}

interface Queued {
  readonly spec: JobSpec
  readonly resolve: (handle: JobHandle) => void
  readonly reject: (error: Error) => void
  readonly deadlineMs: number
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
  /** The encoded job record, which is what travels to the leader. */
  readonly record: Uint8Array
}

/** How a submission waits: it keeps retrying while no leader takes it, up to `submitTimeoutMs`. */
export interface SubmitOptions extends AbortOptions {
  submitTimeoutMs?: number
}

export class JobClient {
  private readonly defs: Map<string, JobDef>
  private readonly submitTimeoutMs: number
  private readonly inputMaxBytes: number
  private queue: Queued[] = []
  private flushQueued = false
  /** Set when the node stops: what unfinished and later submissions reject with. */
  private closedWith: Error | undefined
  /** Wake-ups of the retry waits in progress, which close() ends at once. */
  private readonly sleepers = new Set<() => void>()

  constructor(private readonly init: JobClientInit) {
    this.defs = new Map(init.jobs.map((d) => [d.type, d]))
    this.submitTimeoutMs = init.submitTimeoutMs ?? SUBMIT_TIMEOUT_MS
    this.inputMaxBytes = init.inputMaxBytes ?? INPUT_MAX_BYTES
  }

  /** Submits one job; resolves with its handle once the submission is durable. */
  submit<I, O>(job: JobDef<I, O> | string, input: I, options: JobOptions & SubmitOptions = {}): Promise<JobHandle<O>> {
    const { signal, submitTimeoutMs, ...jobOptions } = options
    return this.enqueue(job, input, jobOptions, { signal, submitTimeoutMs }) as Promise<JobHandle<O>>
  }

  /** Submits many jobs at once; each resolves or rejects on its own. */
  submitBatch(items: readonly BatchItem[], options: SubmitOptions = {}): Array<Promise<JobHandle>> {
    return items.map((item) => this.enqueue(item.job, item.input, item.options ?? {}, options))
  }

  /**
   * Rejects every submission not yet acknowledged, and any later one, with `error`, and ends retry
   * waits, so a stopping node holds no timers for them. A submission already sent to the leader may
   * still have been accepted, so `error` should say the outcome is unknown.
   */
  close(error: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error
    const queued = this.queue
    this.queue = []
    for (const q of queued) q.reject(error)
    for (const wake of [...this.sleepers]) wake()
  }

  /** A handle to an existing job. */
  handle<O = unknown>(id: string): JobHandle<O> {
    return {
      id,
      result: (options) => this.result<O>(id, options),
      status: (options) => this.inspect(id, options),
      cancel: (options) => this.cancel(id, options),
      onProgress: (listener) => this.init.waiters.onProgress(id, listener),
    }
  }

  /** The job as the leader sees it, or null if unknown; rejects with JobExpiredError for a job past the leader's retention. */
  async inspect(id: string, options: AbortOptions = {}): Promise<JobInfo | null> {
    const info = await this.askLeader((s) => s.ask({ type: 'inspect', id }, { timeoutMs: ASK_TIMEOUT_MS, ...signalOf(options) }), options)
    if (info === 'expired') throw new JobExpiredError(id)
    return info
  }

  /** Jobs newest first, one page at a time: pass a page's `next` as `cursor` for the following one (null at the end). */
  list(filter: { status?: JobStatus; limit?: number; cursor?: string } = {}, options: AbortOptions = {}): Promise<{ jobs: JobInfo[]; next: string | null }> {
    return this.askLeader(
      (s) => s.ask({ type: 'list', status: filter.status ?? null, limit: filter.limit ?? 100, cursor: filter.cursor ?? null }, { timeoutMs: ASK_TIMEOUT_MS, ...signalOf(options) }),
      options,
    )
  }

  /** The leader's load forecasts of at most `nodes` nodes (highest peaks first), bottleneck alerts, learnt durations by type and its latest `history` alert transitions (null if it runs no analytics). */
  forecast(nodes = 32, options: AbortOptions & { history?: number } = {}): Promise<LoadForecast | null> {
    return this.askLeader((s) => s.ask({ type: 'forecast', nodes, history: options.history ?? 0 }, { timeoutMs: ASK_TIMEOUT_MS, ...signalOf(options) }), options)
  }

  /** Cancels a job; resolves false if the leader does not know it. */
  cancel(id: string, options: AbortOptions = {}): Promise<boolean> {
    return this.askLeader((s) => s.ask({ type: 'cancel', id }, { timeoutMs: ASK_TIMEOUT_MS, ...signalOf(options) }), options)
  }

  private result<O>(id: string, options: AbortOptions = {}): Promise<O> {
    if (this.init.waiters.known(id) === undefined) void this.fromCache(id)
    return abortable<O>(options.signal, (resolve, reject) => this.init.waiters.wait(id, (outcome) => settleOutcome(id, outcome, resolve as (v: unknown) => void, reject), reject))
  }

  /** Looks the outcome up in the result cache, which answers without the leader; a miss changes nothing. */
  private async fromCache(id: string): Promise<void> {
    try {
      const bytes = await this.init.cache.get(resultKey(id))
      const outcome = bytes === undefined ? undefined : decodeOutcome(bytes)
      if (outcome !== undefined) this.init.waiters.settle(id, outcome)
    } catch (error) {
      this.init.env.logger.debug('result cache lookup failed', { id, error })
    }
  }

  private enqueue(job: JobDef | string, input: unknown, options: JobOptions, submit: SubmitOptions): Promise<JobHandle> {
    return new Promise((resolve, reject) => {
      if (this.closedWith !== undefined) {
        reject(this.closedWith)
        return
      }
      try {
        const { spec, record } = this.buildSpec(job, input, options)
        this.queue.push({
          spec,
          record,
          resolve,
          reject,
          deadlineMs: this.init.env.clock.monotonicMs() + (submit.submitTimeoutMs ?? this.submitTimeoutMs),
          timeoutMs: submit.submitTimeoutMs ?? this.submitTimeoutMs,
          signal: submit.signal,
        })
        this.requestFlush()
      } catch (error) {
        reject(error as Error)
      }
    })
  }

  private buildSpec(job: JobDef | string, input: unknown, options: JobOptions): { spec: JobSpec; record: Uint8Array } {
    const type = typeof job === 'string' ? job : job.type
    const def = this.defs.get(type) ?? (typeof job === 'string' ? undefined : job)
    let checked = input
    if (def?.validate !== undefined) {
      try {
        checked = def.validate(input)
      } catch (error) {
        throw new InvalidJobError(`input of ${type} refused: ${(error as Error).message}`)
      }
    }
    try {
      checkBody(checked)
    } catch (error) {
      throw new InvalidJobError(`input of ${type} cannot travel: ${(error as Error).message}`)
    }
    const resolved = resolveJobOptions(options)
    // A keyed job's id follows from its key, so no resubmission can ever make a second job.
    const id = resolved.idempotencyKey === null ? this.init.env.random.id() : idempotentJobId(resolved.idempotencyKey)
    const spec: JobSpec = { id, type, input: checked === undefined ? null : checked, options: resolved, submittedAt: this.init.env.clock.wallMs() }
    let record: Uint8Array
    try {
      record = encodeJobRecord({ kind: 'submitted', spec })
    } catch (error) {
      if (error instanceof EnvelopeTooLargeError) throw new PayloadTooLargeError(error.bytes, this.inputMaxBytes)
      if (error instanceof ProtocolError) throw new InvalidJobError(error.message)
      throw error
    }
    if (record.length > this.inputMaxBytes) throw new PayloadTooLargeError(record.length, this.inputMaxBytes)
    return { spec, record }
  }

  private requestFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      const queued = this.queue
      this.queue = []
      // One message per chunk, so that no submit exceeds the envelope limit or the batch limit.
      for (let start = 0; start < queued.length;) {
        let end = start
        let size = 0
        while (end < queued.length && end - start < BATCH_MAX_JOBS && (end === start || size + queued[end]!.record.length <= MESSAGE_MAX_BYTES))
          size += queued[end++]!.record.length
        void this.send(queued.slice(start, end), 1)
        start = end
      }
    })
  }

  /**
   * Sends a batch to the leader, retrying transient failures until each item's deadline. `failed`
   * remembers the last error and the leader's last word on its log, which a later ask that merely
   * timed out must not hide: the records the leader queued may still become durable.
   */
  private async send(batch: Queued[], attempt: number, failed: Failures = {}): Promise<void> {
    const live = batch.filter((q) => {
      if (this.closedWith !== undefined) q.reject(this.closedWith)
      else if (q.signal?.aborted === true) q.reject(abortError(q.signal))
      else if (this.init.env.clock.monotonicMs() > q.deadlineMs) q.reject(givingUp(q, failed))
      else return true
      return false
    })
    if (live.length === 0) return
    let replies: SubmitReply[]
    try {
      const scheduler = this.scheduler()
      // No longer than the most patient item would still wait, so a submit timeout is kept.
      const leftMs = Math.max(...live.map((q) => q.deadlineMs)) - this.init.env.clock.monotonicMs()
      replies = await scheduler.ask(
        { type: 'submit', records: live.map((q) => q.record), watcher: this.init.watcher },
        { timeoutMs: Math.max(1, Math.min(ASK_TIMEOUT_MS, leftMs)) },
      )
    } catch (error) {
      if (!TRANSIENT.has((error as Error).name)) {
        for (const q of live) q.reject(error as Error)
        return
      }
      await this.pause(attempt)
      const last = error as Error
      return this.send(live, attempt + 1, { last, logError: last.name === 'JobLogUnavailableError' ? last : failed.logError })
    }
    live.forEach((q, i) => {
      const reply = replies[i]
      if (reply === undefined) q.reject(new InvalidJobError('the leader sent no answer for this job'))
      else if (reply.status === 'accepted') q.resolve(this.handle(q.spec.id))
      else if (reply.status === 'duplicate') q.resolve(this.handle(reply.of))
      else q.reject(fromWireError(reply.error))
    })
  }

  private scheduler(): ActorRef<SchedulerMsg> {
    const leader = this.init.cluster.leader()
    if (leader === null || leader === undefined) throw new NoLeaderError('no leader is known yet')
    return this.init.system.ref<SchedulerMsg>({ node: leader.nodeId, path: SCHEDULER_PATH })
  }

  private async askLeader<T>(ask: (scheduler: ActorRef<SchedulerMsg>) => Promise<T>, options: AbortOptions, attempt = 1): Promise<T> {
    try {
      return await ask(this.scheduler())
    } catch (error) {
      if (!TRANSIENT.has((error as Error).name) || attempt >= 8 || options.signal?.aborted === true) throw error
      await this.pause(attempt, options.signal)
      if (this.closedWith !== undefined) throw this.closedWith
      return this.askLeader(ask, options, attempt + 1)
    }
  }

  /** The wait before retry `attempt`; it ends early when the client closes, and rejects when `signal` aborts. */
  private pause(attempt: number, signal?: AbortSignal): Promise<void> {
    return abortable<void>(signal, (resolve) => {
      const end = (): void => {
        this.init.env.timers.cancel(timer)
        this.sleepers.delete(wake)
      }
      const wake = (): void => {
        end()
        resolve()
      }
      const timer = this.init.env.timers.schedule(backoffDelayMs(RETRY, attempt, this.init.env.random), wake)
      this.sleepers.add(wake)
      return end
    })
  }
}

/** What the attempts of a submission met so far. */
interface Failures {
  readonly last?: Error
  /** The leader's last JobLogUnavailableError, kept even if later attempts failed otherwise. */
  readonly logError?: Error
}

const MAY_STILL_RUN = 'it may still run: look it up by id or resubmit with the same idempotency key'

/**
 * The error for a submission whose time ran out. If the leader ever said the job log was failing,
 * the records it queued may still become durable, so the error says the outcome is unknown; so
 * does a last ask that timed out, which the leader may have received.
 */
function givingUp(q: Queued, failed: Failures): Error {
  if (failed.logError !== undefined)
    return new JobLogUnavailableError(
      `the job log did not acknowledge job ${q.spec.id} within ${q.timeoutMs} ms; the leader last said: ${failed.logError.name}: ${failed.logError.message}; ${MAY_STILL_RUN}`,
      true,
    )
  const last = failed.last === undefined ? '' : `; last error: ${failed.last.name}: ${failed.last.message}`
  const unknown = failed.last?.name === 'AskTimeoutError' ? `; ${MAY_STILL_RUN}` : ''
  return new NoLeaderError(`no leader accepted job ${q.spec.id} within ${q.timeoutMs} ms${last}${unknown}`)
}

function settleOutcome(id: string, outcome: JobOutcome, resolve: (value: unknown) => void, reject: (error: Error) => void): void {
  if (outcome.ok) resolve(outcome.value)
  else if (outcome.error.name === 'JobCancelledError') reject(new JobCancelledError(id))
  else reject(new JobFailedError(id, outcome.error))
}

function signalOf(options: AbortOptions): AbortOptions {
  return options.signal === undefined ? {} : { signal: options.signal }
}
