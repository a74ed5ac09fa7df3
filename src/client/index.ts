/**
 * `distributex/client`: submit and follow jobs from an application that does not run a peer (a web
 * server, a script, a browser page), over the HTTP API of any peers it is given.
 *
 * Invariants:
 * - Portable: this module graph imports nothing but its own sources and the error classes, and
 *   uses only fetch, AbortSignal, ReadableStream and TextDecoder, so it bundles for browsers
 *   (test/client/portability.test.ts walks the imports).
 * - Failover without duplicates: a request that fails to connect, or that the cluster answers
 *   with 503 (no leader, job log unavailable, saturated), is tried at the next peer, with backoff
 *   between rounds, until `submitTimeoutMs` (submissions) or `requestTimeoutMs` (the rest). Every
 *   submission carries an idempotency key (a random one unless the caller gave one), so a retry
 *   after an answer was lost in transit returns the first submission's job instead of a second job.
 * - Same errors as in process: refusals rebuild the classes the in-process API throws
 *   (errors.ts); a job's failure rejects `result()` with JobFailedError or JobCancelledError.
 *
 * Input and result types follow from the job definitions: pass a definition to `submit`, or type
 * the client with the job module (`connect<{ thumbnail: typeof thumbnail }>`, which an `import
 * type` satisfies without bundling the handler), or pass `jobs: { thumbnail }`. Keys name job types.
 * Values travel as JSON, so a result type should be JSON data.
 *
 * @example
 * ```ts
 * const client = connect<{ thumbnail: typeof thumbnail }>({ peers: ['http://10.0.0.1:7401', 'http://10.0.0.2:7401'] })
 * const job = await client.submit('thumbnail', { url, width: 640 })
 * for await (const p of job.progress()) console.log(p.fraction, p.message)
 * const { bytes } = await job.result({ timeoutMs: 30_000 })
 * ```
 */
import { AbortedError, InvalidArgumentError } from '../errors.js'
import type { JobDef, JobInfo, JobOptions, JobStatus } from '../jobs/types.js'
import { errorFromResponse, errorFromWire, isWireError, unreachable } from './errors.js'
import { jitter, nowMs, randomKey, sleep, timeoutSignal } from './platform.js'
import { readSse } from './sse.js'

export { RemoteJobError, errorFromWire, type WireError } from './errors.js'
export { AbortedError, DistributeXError, InvalidArgumentError, NodeUnreachableError, RemoteError, SystemShutdownError } from '../errors.js'
export { ClusterSaturatedError, InvalidJobError, JobCancelledError, JobFailedError, NoLeaderError, PayloadTooLargeError, UnknownJobTypeError } from '../jobs/errors.js'
export { JobLogUnavailableError } from '../storage/errors.js'
export type { JobDef, JobInfo, JobOptions, JobStatus } from '../jobs/types.js'

/** Default time a submission keeps trying the peers. */
export const CLIENT_SUBMIT_TIMEOUT_MS = 30_000
/** Default time any other request keeps trying the peers. */
export const CLIENT_REQUEST_TIMEOUT_MS = 10_000
/** Result streams `results()` keeps open at once (browsers allow about 6 connections per host). */
const RESULTS_CONCURRENCY = 4
const BACKOFF = { minMs: 100, maxMs: 2000 }
/** Event streams opened in a row that ended without an event before `events()` gives up (about 30 s of backoff). */
const MAX_STREAM_REOPENS = 20
/** Longest wait the HTTP API accepts for `submitTimeoutMs`. */
const NODE_WAIT_MAX_MS = 600_000

// `any` in the conditional types below matches a definition of any input and result: JobDef is
// contravariant in its input, so `unknown` would not match.
/** The input type of a job definition. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InputOf<D> = D extends JobDef<infer I, any> ? I : never
/** The result type of a job definition. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OutputOf<D> = D extends JobDef<any, infer O> ? Awaited<O> : never
/** The keys of `Jobs` whose values are job definitions: the job types the client can name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JobName<Jobs> = { [K in keyof Jobs]: Jobs[K] extends JobDef<any, any> ? K : never }[keyof Jobs] & string

/** Job types known by name only: any string, with unknown input and result. */
export type AnyJobs = Record<string, JobDef<unknown, unknown>>

/** Options of `connect`. */
export interface ClientInit<Jobs> {
  /** Base URLs of the peers' HTTP APIs, tried in order, e.g. `http://10.0.0.1:7401`. */
  peers: readonly string[]
  /** The bearer token, when the peers have one (`--http-token-file`). */
  token?: string
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch
  /** Job definitions by type, for typing (and a check that each key is its definition's type). */
  jobs?: Jobs
  /** How long a submission keeps trying the peers before it fails. Default 30,000 ms. */
  submitTimeoutMs?: number
  /** How long other requests keep trying the peers. Default 10,000 ms. */
  requestTimeoutMs?: number
}

/** Options of one submission: the job's options, plus how long to keep trying and a signal. */
export interface ClientSubmitOptions extends JobOptions {
  signal?: AbortSignal
  /** Overrides the client's `submitTimeoutMs` for this submission. */
  submitTimeoutMs?: number
}

/** Options of a wait. */
export interface WaitOptions {
  signal?: AbortSignal
  /** Gives up after this long with AbortedError; the job is unaffected. */
  timeoutMs?: number
}

/** A progress report of a running job. */
export interface JobProgress {
  readonly id: string
  readonly fraction: number
  readonly message: string | null
}

/** How a job ended: its value, or JobFailedError / JobCancelledError. */
export type JobResult<O> = { readonly id: string; readonly ok: true; readonly value: O } | { readonly id: string; readonly ok: false; readonly error: Error }

/** What a job's event stream yields: progress while it runs, then its result, last. */
export type JobEvent<O> = ({ readonly type: 'progress' } & JobProgress) | ({ readonly type: 'result' } & JobResult<O>)

/** A submitted job, on the cluster. */
export interface RemoteJob<O = unknown> {
  readonly id: string
  /** Resolves with the job's value; rejects with JobFailedError or JobCancelledError. */
  result(options?: WaitOptions): Promise<O>
  /** Progress reports until the job ends (then the iteration ends; a failure is `result()`'s to report). */
  progress(options?: WaitOptions): AsyncIterable<JobProgress>
  /** Progress reports, then the result. */
  events(options?: WaitOptions): AsyncIterable<JobEvent<O>>
  /** The job as the leader sees it, or null if unknown. */
  get(options?: { signal?: AbortSignal }): Promise<JobInfo | null>
  /** Requests cancellation; false if the cluster does not know the job. */
  cancel(options?: { signal?: AbortSignal }): Promise<boolean>
}

/** One item of `submitBatch`. */
export interface ClientBatchItem<Jobs> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  job: JobDef<any, any> | JobName<Jobs>
  input: unknown
  options?: JobOptions
}

/** One page of `list`, newest first; `next` is the cursor of the following page (null at the end). */
export interface JobPage {
  readonly jobs: JobInfo[]
  readonly next: string | null
}

/** Connects to a cluster through the HTTP APIs of `peers`. No request is sent until the first call. */
export function connect<Jobs extends object = AnyJobs>(init: ClientInit<Jobs>): DistributeXClient<Jobs> {
  return new DistributeXClient(init)
}

interface Attempt {
  signal?: AbortSignal | undefined
  timeoutMs: number
  /** True for a stream: the time limit covers getting the response headers, not reading the body. */
  stream?: boolean
}

export class DistributeXClient<Jobs extends object = AnyJobs> {
  private readonly peers: readonly string[]
  private readonly fetch: typeof fetch
  private readonly token: string | undefined
  private readonly submitTimeoutMs: number
  private readonly requestTimeoutMs: number
  /** The peer that answered last, tried first next time. */
  private preferred = 0

  constructor(init: ClientInit<Jobs>) {
    if (!Array.isArray(init.peers) || init.peers.length === 0) throw new InvalidArgumentError('connect needs at least one peer URL, e.g. http://127.0.0.1:7401')
    this.peers = init.peers.map(peerUrl)
    const f = init.fetch ?? globalThis.fetch
    if (typeof f !== 'function') throw new InvalidArgumentError('no fetch: pass one with connect({ fetch })')
    // Called unbound: a browser's fetch throws "Illegal invocation" when called as another object's method.
    this.fetch = (input, request) => f(input, request)
    this.token = init.token
    this.submitTimeoutMs = positive(init.submitTimeoutMs, 'submitTimeoutMs') ?? CLIENT_SUBMIT_TIMEOUT_MS
    this.requestTimeoutMs = positive(init.requestTimeoutMs, 'requestTimeoutMs') ?? CLIENT_REQUEST_TIMEOUT_MS
    for (const [key, def] of Object.entries(init.jobs ?? {}) as Array<[string, unknown]>) {
      const type = (def as { type?: unknown } | null)?.type
      if (type !== key) throw new InvalidArgumentError(`jobs: the key ${JSON.stringify(key)} must be the job's type ${JSON.stringify(type)}`)
    }
  }

  /** Submits a job; resolves with it once the cluster has made it durable. */
  submit<I, O>(job: JobDef<I, O>, input: I, options?: ClientSubmitOptions): Promise<RemoteJob<Awaited<O>>>
  submit<K extends JobName<Jobs>>(type: K, input: InputOf<Jobs[K]>, options?: ClientSubmitOptions): Promise<RemoteJob<OutputOf<Jobs[K]>>>
  async submit(job: JobDef | string, input: unknown, options: ClientSubmitOptions = {}): Promise<RemoteJob> {
    const { signal, submitTimeoutMs, ...jobOptions } = options
    const body = { type: typeOf(job), input: input ?? null, options: withKey(jobOptions) }
    const res = await this.send('POST', (leftMs) => `/jobs?submitTimeoutMs=${nodeWait(leftMs)}`, body, {
      signal,
      timeoutMs: positive(submitTimeoutMs, 'submitTimeoutMs') ?? this.submitTimeoutMs,
    })
    const { id } = (await res.json()) as { id: string }
    return this.job(id)
  }

  /** Submits many jobs in one request; each promise resolves or rejects on its own. */
  submitBatch(items: ReadonlyArray<ClientBatchItem<Jobs>>, options: { signal?: AbortSignal; submitTimeoutMs?: number } = {}): Array<Promise<RemoteJob>> {
    const body = { jobs: items.map((item) => ({ type: typeOf(item.job), input: item.input ?? null, options: withKey(item.options ?? {}) })) }
    const answer = (async () => {
      const res = await this.send('POST', (leftMs) => `/jobs/batch?submitTimeoutMs=${nodeWait(leftMs)}`, body, {
        signal: options.signal,
        timeoutMs: positive(options.submitTimeoutMs, 'submitTimeoutMs') ?? this.submitTimeoutMs,
      })
      return ((await res.json()) as { results: Array<{ id?: string; error?: unknown }> }).results
    })()
    return items.map(async (_item, i) => {
      const reply = (await answer)[i]
      if (typeof reply?.id === 'string') return this.job(reply.id)
      throw isWireError(reply?.error) ? errorFromWire(reply.error) : new InvalidArgumentError('the node sent no answer for this job')
    })
  }

  /** A handle to an existing job (no request is sent). */
  job<O = unknown>(id: string): RemoteJob<O> {
    return {
      id,
      result: (options) => this.result<O>(id, options),
      progress: (options) => this.progress(id, options),
      events: (options) => this.events<O>(id, options),
      get: (options) => this.get(id, options),
      cancel: (options) => this.cancel(id, options),
    }
  }

  /** The job as the leader sees it, or null if unknown. */
  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<JobInfo | null> {
    try {
      return (await (await this.send('GET', () => `/jobs/${encodeURIComponent(id)}`, undefined, { signal: options.signal, timeoutMs: this.requestTimeoutMs })).json()) as JobInfo
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_JOB_NOT_FOUND') return null
      throw error
    }
  }

  /** One page of recent jobs, newest first. */
  async list(filter: { status?: JobStatus; limit?: number; cursor?: string } = {}, options: { signal?: AbortSignal } = {}): Promise<JobPage> {
    const query = new URLSearchParams()
    if (filter.status !== undefined) query.set('status', filter.status)
    if (filter.limit !== undefined) query.set('limit', String(filter.limit))
    if (filter.cursor !== undefined) query.set('cursor', filter.cursor)
    const text = query.toString()
    const page = (await (await this.send('GET', () => `/jobs${text === '' ? '' : `?${text}`}`, undefined, { signal: options.signal, timeoutMs: this.requestTimeoutMs })).json()) as
      JobInfo[] | JobPage
    // A node without paging answers a plain array, which is the whole (last) page.
    return Array.isArray(page) ? { jobs: page, next: null } : page
  }

  /** Requests cancellation; false if the cluster does not know the job. */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const res = await this.send('POST', () => `/jobs/${encodeURIComponent(id)}/cancel`, {}, { signal: options.signal, timeoutMs: this.requestTimeoutMs })
    return ((await res.json()) as { cancelled: boolean }).cancelled
  }

  /** Waits for the job's value; rejects with JobFailedError, JobCancelledError, or AbortedError when the wait ends first. */
  async result<O = unknown>(id: string, options: WaitOptions = {}): Promise<O> {
    for await (const event of this.events<O>(id, options)) {
      if (event.type !== 'result') continue
      if (event.ok) return event.value
      throw event.error
    }
    throw new AbortedError(`the event stream of job ${id} ended without a result`)
  }

  /** Progress reports of a job until it ends. */
  async *progress(id: string, options: WaitOptions = {}): AsyncGenerator<JobProgress> {
    for await (const event of this.events(id, options)) {
      if (event.type === 'progress') yield { id: event.id, fraction: event.fraction, message: event.message }
    }
  }

  /**
   * Progress reports, then the result, from GET /jobs/:id/events. When the stream breaks (the peer
   * went away, or stopped waiting), it is opened again, at the next peer if need be; progress may
   * then repeat. Gives up when it cannot be opened for `requestTimeoutMs`, or after 20 streams in a
   * row that broke before any event.
   */
  async *events<O = unknown>(id: string, options: WaitOptions = {}): AsyncGenerator<JobEvent<O>> {
    const signal = waitSignal(options)
    const path = `/jobs/${encodeURIComponent(id)}/events`
    let lastError: Error | undefined
    for (let round = 0; ; round++) {
      let res: Response
      try {
        res = await this.send('GET', () => path, undefined, { signal, timeoutMs: this.requestTimeoutMs, stream: true })
      } catch (error) {
        throw aborted(error, signal, options, id) ?? error
      }
      try {
        for await (const sse of readSse(res.body!)) {
          round = 0
          const data = JSON.parse(sse.data) as Record<string, unknown>
          if (sse.event === 'progress') yield { type: 'progress', id, fraction: Number(data.fraction), message: typeof data.message === 'string' ? data.message : null }
          else if (sse.event === 'outcome') {
            yield data.ok === true
              ? { type: 'result', id, ok: true, value: data.value as O }
              : {
                  type: 'result',
                  id,
                  ok: false,
                  error: isWireError(data.error) ? errorFromWire(data.error, { jobId: id }) : new AbortedError(`job ${id} ended without an error description`),
                }
            return
          } else if (sse.event === 'error' && isWireError(data)) lastError = errorFromWire(data)
        }
      } catch (error) {
        const stop = aborted(error, signal, options, id)
        if (stop !== undefined) throw stop
        lastError = error as Error
      }
      // Streams that open but break before any event: give up after a while rather than loop.
      if (round >= MAX_STREAM_REOPENS) throw lastError ?? unreachable(this.peers, `the event stream of job ${id} kept breaking`)
      this.preferred = (this.preferred + 1) % this.peers.length
      await sleep(backoffMs(round), signal).catch((error: unknown) => {
        throw aborted(error, signal, options, id) ?? error
      })
    }
  }

  /**
   * Results of `jobs` in the order they finish (among the few followed at once), until all have
   * finished. A failed job is a result with `ok: false`, not a thrown error; an unreachable cluster
   * or the wait's end throws.
   */
  async *results<O = unknown>(jobs: ReadonlyArray<string | { readonly id: string }>, options: WaitOptions = {}): AsyncGenerator<JobResult<O>> {
    const stop = new AbortController()
    const wait = waitSignal(options)
    const signal = wait === undefined ? stop.signal : AbortSignal.any([stop.signal, wait])
    const ids = jobs.map((j) => (typeof j === 'string' ? j : j.id))
    const running = new Map<number, Promise<{ slot: number; result: JobResult<O> }>>()
    let next = 0
    const start = (slot: number): void => {
      const id = ids[next++]!
      running.set(
        slot,
        this.result<O>(id, { signal }).then(
          (value) => ({ slot, result: { id, ok: true as const, value } }),
          (error: unknown) => {
            if ((error as Error).name === 'JobFailedError' || (error as Error).name === 'JobCancelledError')
              return { slot, result: { id, ok: false as const, error: error as Error } }
            throw error
          },
        ),
      )
    }
    for (let slot = 0; slot < RESULTS_CONCURRENCY && next < ids.length; slot++) start(slot)
    try {
      while (running.size > 0) {
        const { slot, result } = await Promise.race(running.values())
        running.delete(slot)
        if (next < ids.length) start(slot)
        yield result
      }
    } finally {
      // The caller stopped early (or a wait failed): end the waits still open.
      for (const pending of running.values()) pending.catch(() => undefined)
      stop.abort(new AbortedError('results() ended'))
    }
  }

  /**
   * Sends one request, trying the peers in turn (the last one that answered first) on connection
   * errors and 503 answers, with backoff between rounds, for at most `timeoutMs`. Resolves with a
   * successful response (body unread); rejects with the typed error of any other answer, the last
   * 503 error or NodeUnreachableError when time runs out, or AbortedError when `signal` aborts.
   */
  private async send(method: 'GET' | 'POST', path: (leftMs: number) => string, body: unknown, attempt: Attempt): Promise<Response> {
    const deadline = nowMs() + attempt.timeoutMs
    const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {}
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    if (attempt.stream === true) headers.accept = 'text/event-stream'
    let last: Error | undefined
    for (let round = 0; ; round++) {
      for (let k = 0; k < this.peers.length; k++) {
        const leftMs = deadline - nowMs()
        if (leftMs <= 0) break
        const index = (this.preferred + k) % this.peers.length
        const peer = this.peers[index]!
        // The time limit aborts this attempt; once a stream's headers are in, only the caller's signal does.
        const limit = new AbortController()
        const timer = timeoutSignal(leftMs)
        const onTimeout = (): void => limit.abort(timer.reason)
        timer.addEventListener('abort', onTimeout, { once: true })
        const signal = attempt.signal === undefined ? limit.signal : AbortSignal.any([attempt.signal, limit.signal])
        let res: Response
        try {
          res = await this.fetch(`${peer}${path(leftMs)}`, { method, headers, signal, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
          // Read within the time limit (and the retries) unless it is a stream that is read as it comes.
          if (!res.ok || attempt.stream !== true) res = new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers })
        } catch (error) {
          if (attempt.signal?.aborted === true) throw new AbortedError('operation aborted', { cause: attempt.signal.reason })
          last = unreachable([peer], limit.signal.aborted ? `no answer within ${attempt.timeoutMs} ms` : describeFetchError(error))
          continue
        } finally {
          timer.removeEventListener('abort', onTimeout)
        }
        if (res.ok) {
          this.preferred = index
          return res
        }
        const error = errorFromResponse(res.status, await res.json().catch(() => null))
        if (res.status !== 503) throw error
        last = error
      }
      const leftMs = deadline - nowMs()
      if (leftMs <= 0) throw last ?? unreachable(this.peers, `no answer within ${attempt.timeoutMs} ms`)
      await sleep(Math.min(leftMs, backoffMs(round)), attempt.signal)
    }
  }
}

function peerUrl(peer: string): string {
  let url: URL
  try {
    url = new URL(peer)
  } catch {
    throw new InvalidArgumentError(`peer ${JSON.stringify(peer)} is not a URL; use e.g. http://10.0.0.1:7401`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`peer ${JSON.stringify(peer)} must be an http: or https: URL`)
  return url.href.replace(/\/+$/, '')
}

function positive(ms: number | undefined, name: string): number | undefined {
  if (ms === undefined) return undefined
  if (!(ms > 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`${name} must be a positive number of milliseconds, got ${String(ms)}`)
  return ms
}

function typeOf(job: JobDef | string): string {
  return typeof job === 'string' ? job : job.type
}

/** The options with an idempotency key, so that resubmitting after a lost answer cannot create a second job. */
function withKey(options: JobOptions): JobOptions {
  return options.idempotencyKey === undefined ? { ...options, idempotencyKey: `dx-client:${randomKey()}` } : options
}

/** The node's own retry bound for a submission: what is left of ours, within what the API accepts. */
function nodeWait(leftMs: number): number {
  return Math.max(1, Math.min(NODE_WAIT_MAX_MS, Math.floor(leftMs)))
}

function backoffMs(round: number): number {
  return Math.min(BACKOFF.maxMs, BACKOFF.minMs * 2 ** Math.min(round, 10)) * (0.8 + 0.4 * jitter())
}

function waitSignal(options: WaitOptions): AbortSignal | undefined {
  const timeout = options.timeoutMs === undefined ? undefined : timeoutSignal(positive(options.timeoutMs, 'timeoutMs')!)
  if (timeout === undefined) return options.signal
  return options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
}

/** The error to end a wait with when `signal` aborted (its own timeout, or the caller's signal); undefined otherwise. */
function aborted(error: unknown, signal: AbortSignal | undefined, options: WaitOptions, id: string): Error | undefined {
  if (signal?.aborted !== true) return undefined
  if (options.signal?.aborted === true) return error instanceof AbortedError ? error : new AbortedError('operation aborted', { cause: options.signal.reason })
  return new AbortedError(`no result of job ${id} within ${options.timeoutMs} ms`, { cause: signal.reason })
}

/** fetch's TypeError says only "fetch failed"; Node puts the reason (ECONNREFUSED ...) in `cause`. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  if (cause instanceof Error) return cause.message
  return error instanceof Error ? error.message : String(error)
}
