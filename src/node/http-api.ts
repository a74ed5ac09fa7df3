/**
 * The routes every node serves over HTTP: cluster status, Prometheus metrics, the job API
 * (submit, list, inspect, wait for a result, follow as server-sent events, cancel) that the
 * `distributex` CLI and `distributex/client` use, and the alerts (GET /alerts, and
 * GET /alerts/events as server-sent events). Alerts are evaluated by the leader: another node
 * asks the leader for them (cluster-alerts.ts), so every node shows the cluster's alerts.
 */
import { HttpError, type Route } from '../adapters/http/server.js'
import type { ClusterView, RemoveReply } from '../cluster/types.js'
import type { JobClient } from '../jobs/client.js'
import type { JobOptions, JobStatus } from '../jobs/types.js'
import { isFinal, type JobInfo, type JobOutcome } from '../jobs/types.js'
import { JobCancelledError, JobExpiredError, JobFailedError } from '../jobs/errors.js'
import { toWireError } from '../errors.js'
import { timeoutSignal } from '../env/abort.js'
import type { Timers } from '../env/types.js'
import type { ClusterAnalytics } from '../predict/analytics.js'
import { ClusterAlerts } from './cluster-alerts.js'

/** The JSON document of GET /status. */
export interface StatusDocument {
  nodeId: string
  /** The cluster's identity, once this node knows it. */
  clusterId: string | null
  addresses: string[]
  leader: { nodeId: string; epoch: number } | null
  leading: boolean
  /** Why this node gave up the lead, if it did (until it leads again). */
  resigned?: string
  /** Set while this node hears no other member although it should (joining, or a member of a cluster of several). */
  warning?: string
  members: Array<Record<string, unknown> & { nodeId: string; state: string }>
  /** Predictions, forecasts and alerts, on the leader. */
  analytics?: ReturnType<ClusterAnalytics['status']>
}

/** Builds /status from the cluster view. */
export function statusDocument(nodeId: string, addresses: string[], view: ClusterView | undefined): StatusDocument {
  return {
    nodeId,
    clusterId: view?.clusterId ?? null,
    addresses,
    leader: view?.leader ?? null,
    leading: view?.leading ?? false,
    ...(view?.resigned === undefined ? {} : { resigned: view.resigned }),
    ...(view?.warning === undefined ? {} : { warning: view.warning }),
    members: (view?.members ?? []).map((m) => ({
      nodeId: m.nodeId,
      state: m.state,
      voter: m.voter,
      role: m.role,
      incarnation: m.incarnation,
      addresses: [...m.addresses],
      lastSeenMsAgo: m.lastSeenMsAgo === null ? null : Math.round(m.lastSeenMsAgo),
      ...(m.metrics === null
        ? {}
        : {
            capacity: m.metrics.capacity,
            running: m.metrics.running,
            queued: m.metrics.queued,
            eventLoopLagMs: m.metrics.eventLoopLagMs,
            cpu: m.metrics.cpu,
            memoryMb: m.metrics.memoryMb,
            types: m.metrics.types,
            durations: m.metrics.durations,
          }),
    })),
  }
}

/** Most jobs in one batch request. */
const BATCH_MAX_JOBS = 10_000

/** Most jobs in one page of GET /jobs. */
const LIST_MAX_JOBS = 10_000

/** Default wait of GET /jobs/:id/result. */
const RESULT_WAIT_MS = 30_000
/** Longest wait (`timeoutMs`, `submitTimeoutMs`) a request may ask for: 10 minutes. */
export const WAIT_MAX_MS = 600_000
const STATUSES: readonly JobStatus[] = ['waiting', 'queued', 'retrying', 'running', 'completed', 'failed', 'cancelled']

/** Why the leader refused a removal by hand, as HTTP status and error code. */
const REMOVAL_REFUSALS: Record<string, [number, string, string]> = {
  'not-member': [404, 'ERR_NOT_A_MEMBER', 'is not a member of the cluster'],
  'not-down': [409, 'ERR_MEMBER_NOT_DOWN', 'is not down: only a member that is down can be removed by hand (a live one leaves with SIGTERM)'],
  self: [409, 'ERR_MEMBER_IS_LEADER', 'is the leader: stop it (SIGTERM) to make it leave'],
  busy: [503, 'ERR_CONFIG_CHANGE_IN_PROGRESS', 'cannot be removed yet: the previous configuration change is not yet held by a majority; retry shortly'],
  'no-leader': [503, 'ERR_NO_LEADER', 'cannot be removed: no leader is known or it did not answer; retry shortly'],
}

export function nodeRoutes(deps: {
  status: () => StatusDocument
  metrics: () => Promise<string>
  metricsContentType: string
  jobs: JobClient
  timers: Timers
  removeMember: (nodeId: string) => Promise<RemoveReply>
  analytics?: ClusterAnalytics
  leader?: () => string | null
  /** True while this node leads. */
  leading?: () => boolean
}): Route[] {
  const { jobs, timers, analytics } = deps
  const alerts =
    analytics === undefined
      ? undefined
      : new ClusterAlerts({
          analytics,
          timers,
          leader: () => deps.leader?.() ?? null,
          leading: () => deps.leading?.() ?? true,
          ask: (history, signal) => jobs.forecast(1, { history, signal }),
        })
  return [
    ...(alerts === undefined
      ? []
      : [
          { method: 'GET', pattern: '/alerts', handle: async ({ signal }) => ({ status: 200, json: await alerts.snapshot(signal) }) } satisfies Route,
          {
            method: 'GET',
            pattern: '/alerts/events',
            handle: ({ signal }) => ({ status: 200, contentType: 'text/event-stream', stream: alerts.events(signal) }),
          } satisfies Route,
        ]),
    { method: 'GET', pattern: '/status', handle: () => ({ status: 200, json: deps.status() }) },
    { method: 'GET', pattern: '/metrics', public: true, handle: async () => ({ status: 200, text: await deps.metrics(), contentType: deps.metricsContentType }) },
    { method: 'GET', pattern: '/healthz', public: true, handle: () => ({ status: 200, json: { ok: true } }) },
    {
      method: 'POST',
      pattern: '/members/:id/remove',
      async handle({ params }) {
        const id = params.id!
        const reply = await deps.removeMember(id)
        if (reply.ok) return { status: 200, json: { removed: id } }
        const [status, code, why] = REMOVAL_REFUSALS[reply.reason] ?? [500, 'ERR_INTERNAL', `was not removed: ${reply.reason}`]
        throw new HttpError(status, `${id} ${why}`, code)
      },
    },
    {
      method: 'POST',
      pattern: '/jobs',
      async handle({ body, query, signal: gone }) {
        const request = body as { type?: unknown; input?: unknown; options?: unknown } | undefined
        if (request === undefined || typeof request.type !== 'string') throw new HttpError(400, 'body must be {"type": string, "input": any, "options"?: {...}}')
        const handle = await jobs.submit(request.type, request.input ?? null, { ...((request.options ?? {}) as JobOptions), ...submitTimeout(query), signal: gone })
        if (query.get('wait') === null) return { status: 202, json: { id: handle.id } }
        return { status: 200, json: { id: handle.id, ...(await outcome(timers, waitMs(query), gone, (signal) => handle.result({ signal }))) } }
      },
    },
    {
      method: 'POST',
      pattern: '/jobs/batch',
      async handle({ body, query, signal: gone }) {
        const items = (body as { jobs?: unknown } | undefined)?.jobs
        if (!Array.isArray(items) || items.length > BATCH_MAX_JOBS)
          throw new HttpError(400, `body must be {"jobs": [{"type", "input", "options"?}, ...]} with at most ${BATCH_MAX_JOBS} jobs`)
        const wait = query.get('wait') !== null
        const ms = waitMs(query)
        const results = await Promise.all(
          jobs
            .submitBatch(
              items.map((item: { type?: unknown; input?: unknown; options?: unknown }) => ({
                job: typeof item?.type === 'string' ? item.type : '',
                input: item?.input ?? null,
                options: (item?.options ?? {}) as JobOptions,
              })),
              { ...submitTimeout(query), signal: gone },
            )
            .map(async (submitted) => {
              let id: string | undefined
              try {
                const handle = await submitted
                id = handle.id
                return wait ? { id, ...(await outcome(timers, ms, gone, (signal) => handle.result({ signal }))) } : { id }
              } catch (error) {
                // Not submitted: {error}. Submitted, but the wait ended first: {id, error}, no `ok` (no outcome yet).
                return { ...(id === undefined ? {} : { id }), error: toWireError(error, 'ERR') }
              }
            }),
        )
        return { status: 200, json: { results } }
      },
    },
    {
      method: 'GET',
      pattern: '/jobs',
      async handle({ query }) {
        const status = query.get('status') ?? undefined
        if (status !== undefined && !STATUSES.includes(status as JobStatus)) throw new HttpError(400, `status must be one of ${STATUSES.join(', ')}`)
        const cursor = query.get('cursor') ?? undefined
        if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw new HttpError(400, 'cursor must be the `next` of a previous page')
        const limit = Number(query.get('limit') ?? 100)
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_MAX_JOBS) throw new HttpError(400, `limit must be an integer in 1..${LIST_MAX_JOBS}`)
        // One page, newest first; `next` (null on the last page) is the cursor of the following one.
        return { status: 200, json: await jobs.list({ ...(status === undefined ? {} : { status: status as JobStatus }), limit, ...(cursor === undefined ? {} : { cursor }) }) }
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/:id',
      async handle({ params }) {
        const info = await inspect(jobs, params.id!)
        if (info === null) throw new HttpError(404, `no job ${params.id}`, 'ERR_JOB_NOT_FOUND')
        return { status: 200, json: info }
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/:id/result',
      async handle({ params, query, signal: gone }) {
        const info = await inspect(jobs, params.id!)
        if (info === null) throw new HttpError(404, `no job ${params.id}`, 'ERR_JOB_NOT_FOUND')
        if (isFinal(info.status) && info.outcome !== null) return { status: 200, json: { id: info.id, ...info.outcome } }
        return { status: 200, json: { id: info.id, ...(await outcome(timers, waitMs(query), gone, (signal) => jobs.handle(info.id).result({ signal }))) } }
      },
    },
    {
      method: 'GET',
      pattern: '/jobs/:id/events',
      async handle({ params, signal: gone }) {
        const info = await jobs.inspect(params.id!)
        if (info === null) throw new HttpError(404, `no job ${params.id}`, 'ERR_JOB_NOT_FOUND')
        return { status: 200, contentType: 'text/event-stream', stream: jobEvents(jobs, timers, info, gone) }
      },
    },
    { method: 'POST', pattern: '/jobs/:id/cancel', handle: async ({ params }) => ({ status: 200, json: { cancelled: await jobs.cancel(params.id!) } }) },
  ]
}

/** A job as the leader sees it; a job past the leader's retention is a 404 with code JOB_EXPIRED, told apart from one never seen. */
async function inspect(jobs: JobClient, id: string): Promise<JobInfo | null> {
  try {
    return await jobs.inspect(id)
  } catch (error) {
    if (error instanceof JobExpiredError) throw new HttpError(404, error.message, error.code)
    throw error
  }
}

/** `?submitTimeoutMs=` bounds how long a submission retries while no leader takes it; a client that goes away ends the retries. */
function submitTimeout(query: URLSearchParams): { submitTimeoutMs?: number } {
  const ms = boundedMs(query, 'submitTimeoutMs')
  return ms === undefined ? {} : { submitTimeoutMs: ms }
}

function waitMs(query: URLSearchParams): number {
  return boundedMs(query, 'timeoutMs') ?? RESULT_WAIT_MS
}

/** A positive wait from the query, at most WAIT_MAX_MS (400 above: a timer past 2^31-1 ms would fire at once). */
function boundedMs(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name)
  if (text === null) return undefined
  const ms = Number(text)
  if (!Number.isFinite(ms) || ms <= 0 || ms > WAIT_MAX_MS) throw new HttpError(400, `${name} must be a number of milliseconds between 1 and ${WAIT_MAX_MS}`, 'ERR_HTTP_QUERY')
  return ms
}

/**
 * Waits up to `ms` for a job's outcome and renders it as JSON: its value, or the error it failed or
 * was cancelled with. A wait that ends first (the time is up, the client went away, this node stops)
 * is no outcome: it rejects (AbortedError and the like), and the job is unaffected. Rendered as
 * `ok: false` it read as a failure of a job that was still queued (test/security/chaos.test.ts).
 */
async function outcome(timers: Timers, ms: number, gone: AbortSignal, wait: (signal: AbortSignal) => Promise<unknown>): Promise<{ ok: boolean; value?: unknown; error?: unknown }> {
  const { signal, clear } = timeoutSignal(timers, ms)
  try {
    return { ok: true, value: await wait(AbortSignal.any([signal, gone])) }
  } catch (error) {
    if (error instanceof JobFailedError || error instanceof JobCancelledError) return { ok: false, error: toWireError(error, 'ERR') }
    throw error
  } finally {
    clear()
  }
}

/** How often an open event stream sends a comment, so that idle-read timeouts of clients and proxies do not end it. */
const EVENTS_KEEPALIVE_MS = 15_000

/**
 * GET /jobs/:id/events: server-sent events `progress` ({id, fraction, message}) while the job runs,
 * then one `outcome` ({id, ok, value | error}, the job's recorded outcome: `error` is the last
 * attempt's error, or JobCancelledError), and the stream ends. If this node stops waiting first
 * (it shuts down, the client goes away), an `error` event ({name, code, message}) ends it instead:
 * the job is unaffected, and the client may ask again, here or at another peer.
 */
async function* jobEvents(jobs: JobClient, timers: Timers, info: JobInfo, gone: AbortSignal): AsyncGenerator<string> {
  const id = info.id
  if (isFinal(info.status) && info.outcome !== null) {
    yield sseEvent('outcome', outcomeEvent(id, info.outcome))
    return
  }
  const pending: string[] = []
  let wake: (() => void) | undefined
  let done = false
  const push = (text: string): void => {
    pending.push(text)
    wake?.()
  }
  if (info.progress !== null) push(sseEvent('progress', { id, fraction: info.progress.fraction, message: info.progress.message }))
  const handle = jobs.handle(id)
  const unsubscribe = handle.onProgress((fraction, message) => push(sseEvent('progress', { id, fraction, message })))
  handle
    .result({ signal: gone })
    .then(
      (value) => push(sseEvent('outcome', { id, ok: true, value })),
      (error: unknown) => {
        if (error instanceof JobFailedError) push(sseEvent('outcome', { id, ok: false, error: error.reason }))
        else if (error instanceof JobCancelledError) push(sseEvent('outcome', { id, ok: false, error: toWireError(error) }))
        else push(sseEvent('error', toWireError(error, 'ERR')))
      },
    )
    .finally(() => {
      done = true
      wake?.()
    })
  let keepalive = timers.schedule(EVENTS_KEEPALIVE_MS, function beat() {
    push(': keepalive\n\n')
    keepalive = timers.schedule(EVENTS_KEEPALIVE_MS, beat)
  })
  try {
    for (;;) {
      while (pending.length > 0) yield pending.shift()!
      if (done) return
      await new Promise<void>((resolve) => (wake = resolve))
      wake = undefined
    }
  } finally {
    unsubscribe()
    timers.cancel(keepalive)
  }
}

/** A recorded outcome as the events stream sends it. */
function outcomeEvent(id: string, outcome: JobOutcome): { id: string; ok: boolean; value?: unknown; error?: unknown } {
  return outcome.ok ? { id, ok: true, value: outcome.value } : { id, ok: false, error: toWireError(outcome.error) }
}

function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n\n`
}
