/**
 * The routes every node serves over HTTP: cluster status, Prometheus metrics, and the job API
 * (submit, list, inspect, wait for a result, cancel) that the `distributex` CLI uses.
 */
import { HttpError, type Route } from '../adapters/http/server.js'
import type { ClusterView } from '../cluster/types.js'
import type { JobClient } from '../jobs/client.js'
import { JobExpiredError } from '../jobs/errors.js'
import type { JobInfo, JobOptions, JobStatus } from '../jobs/types.js'
import { isFinal } from '../jobs/types.js'
import { timeoutSignal } from '../env/abort.js'
import type { Timers } from '../env/types.js'

/** The JSON document of GET /status. */
export interface StatusDocument {
  nodeId: string
  addresses: string[]
  leader: { nodeId: string; epoch: number } | null
  leading: boolean
  members: Array<Record<string, unknown> & { nodeId: string; state: string }>
}

/** Builds /status from the cluster view. */
export function statusDocument(nodeId: string, addresses: string[], view: ClusterView | undefined): StatusDocument {
  return {
    nodeId,
    addresses,
    leader: view?.leader ?? null,
    leading: view?.leading ?? false,
    members: (view?.members ?? []).map((m) => ({
      nodeId: m.nodeId,
      state: m.state,
      voter: m.voter,
      incarnation: m.incarnation,
      addresses: [...m.addresses],
      lastSeenMsAgo: m.lastSeenMsAgo === null ? null : Math.round(m.lastSeenMsAgo),
      ...(m.metrics === null ? {} : { capacity: m.metrics.capacity, running: m.metrics.running, queued: m.metrics.queued, eventLoopLagMs: m.metrics.eventLoopLagMs, cpu: m.metrics.cpu, memoryMb: m.metrics.memoryMb, types: m.metrics.types, durations: m.metrics.durations }),
    })),
  }
}

/** Most jobs in one batch request. */
const BATCH_MAX = 10_000

/** Most jobs in one page of GET /jobs. */
const LIST_MAX = 10_000

/** Default wait of GET /jobs/:id/result. */
const RESULT_WAIT_MS = 30_000
const STATUSES: readonly JobStatus[] = ['waiting', 'queued', 'retrying', 'running', 'completed', 'failed', 'cancelled']

export function nodeRoutes(deps: { status: () => StatusDocument; metrics: () => Promise<string>; metricsContentType: string; jobs: JobClient; timers: Timers }): Route[] {
  const { jobs, timers } = deps
  return [
    { method: 'GET', pattern: '/status', handle: () => ({ status: 200, json: deps.status() }) },
    { method: 'GET', pattern: '/metrics', handle: async () => ({ status: 200, text: await deps.metrics(), contentType: deps.metricsContentType }) },
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
        if (!Array.isArray(items) || items.length > BATCH_MAX) throw new HttpError(400, `body must be {"jobs": [{"type", "input", "options"?}, ...]} with at most ${BATCH_MAX} jobs`)
        const wait = query.get('wait') !== null
        const ms = waitMs(query)
        const results = await Promise.all(
          jobs.submitBatch(items.map((item: { type?: unknown; input?: unknown; options?: unknown }) => ({ job: typeof item?.type === 'string' ? item.type : '', input: item?.input ?? null, options: (item?.options ?? {}) as JobOptions })), { ...submitTimeout(query), signal: gone }).map(async (submitted) => {
            try {
              const handle = await submitted
              return wait ? { id: handle.id, ...(await outcome(timers, ms, gone, (signal) => handle.result({ signal }))) } : { id: handle.id }
            } catch (error) {
              const e = error as Error & { code?: string }
              return { error: { name: e.name, code: e.code ?? 'ERR', message: e.message } }
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
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_MAX) throw new HttpError(400, `limit must be an integer in 1..${LIST_MAX}`)
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
  const ms = Number(query.get('submitTimeoutMs'))
  return Number.isFinite(ms) && ms > 0 ? { submitTimeoutMs: ms } : {}
}

function waitMs(query: URLSearchParams): number {
  const ms = Number(query.get('timeoutMs') ?? RESULT_WAIT_MS)
  return Number.isFinite(ms) && ms > 0 ? ms : RESULT_WAIT_MS
}

/** Waits up to `ms` for a result and renders it, or its error, as JSON. */
async function outcome(timers: Timers, ms: number, gone: AbortSignal, wait: (signal: AbortSignal) => Promise<unknown>): Promise<{ ok: boolean; value?: unknown; error?: unknown }> {
  const { signal, clear } = timeoutSignal(timers, ms)
  try {
    return { ok: true, value: await wait(AbortSignal.any([signal, gone])) }
  } catch (error) {
    const e = error as Error & { code?: string }
    return { ok: false, error: { name: e.name, code: e.code ?? 'ERR', message: e.message } }
  } finally {
    clear()
  }
}
