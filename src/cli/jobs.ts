/** `distributex submit` and `distributex jobs`: the job API over a node's HTTP endpoint. */
import { readFileSync } from 'node:fs'
import type { JobInfo, JobStatus } from '../jobs/types.js'
import { NodeRequestError, NodeUnavailableError, nodeTarget, request, type NodeOptions, type NodeTarget } from './http-client.js'
import { readSse } from '../client/sse.js'
import { ProgressBar, showProgress } from './progress.js'
import { realEnvironment } from '../env/real.js'
import { tableLines } from './table.js'

/** Jobs per submission request of `submit --inputs`. */
const SUBMIT_CHUNK = 500
/** Results awaited at once by `submit --inputs --wait`. */
const WAIT_PARALLEL = 32

export interface SubmitOptions extends NodeOptions {
  readonly wait?: boolean | undefined
  readonly timeoutMs?: number | undefined
  readonly options?: string | undefined
  readonly inputs?: string | undefined
  readonly progress?: boolean | undefined
}

export interface ListOptions extends NodeOptions {
  readonly status?: JobStatus | undefined
  readonly limit: number
  readonly json?: boolean | undefined
}

/** `distributex submit <type> [json input] [--wait] [--options <json>]`, or many jobs with `--inputs <file>` */
export async function runSubmit(type: string, inputText: string | undefined, values: SubmitOptions): Promise<number> {
  const options = values.options === undefined ? {} : parseJson(values.options, '--options')
  const target = nodeTarget(values.http, values.httpTokenFile, process.env)
  const wait = values.wait === true
  if (values.inputs !== undefined) {
    if (inputText !== undefined) throw new NodeRequestError('give either <json input> or --inputs <file>, not both', undefined)
    const inputs = readInputs(values.inputs)
    const progress = showProgress(process.stderr, values.progress)
    return submitMany(target, type, inputs, options, { wait, timeoutMs: values.timeoutMs, progress })
  }
  const input = parseJson(inputText ?? 'null', 'input')
  if (wait && showProgress(process.stderr, values.progress)) {
    const { id } = await request<{ id: string }>(target, 'POST', '/jobs', { type, input, options })
    return awaitFollowing(target, id, type, values.timeoutMs)
  }
  const query = wait ? `?wait=1${values.timeoutMs === undefined ? '' : `&timeoutMs=${values.timeoutMs}`}` : ''
  const reply = await request<{ id: string; ok?: boolean; value?: unknown; error?: { name: string; message: string } }>(target, 'POST', `/jobs${query}`, { type, input, options })
  process.stdout.write(JSON.stringify(reply) + '\n')
  return reply.ok === false ? 1 : 0
}

/** `distributex jobs [list] [--status S] [--limit N] [--json]`: newest first, as a table or JSON. */
export async function listJobs(values: ListOptions): Promise<number> {
  const target = nodeTarget(values.http, values.httpTokenFile, process.env)
  const { jobs } = await request<{ jobs: JobInfo[]; next: string | null }>(
    target,
    'GET',
    `/jobs?limit=${values.limit}${values.status === undefined ? '' : `&status=${encodeURIComponent(values.status)}`}`,
  )
  process.stdout.write(values.json === true ? JSON.stringify(jobs, null, 2) + '\n' : formatJobs(jobs))
  return 0
}

/** `distributex jobs inspect <id>`: the job's record as JSON. */
export async function inspectJob(id: string, values: NodeOptions): Promise<number> {
  process.stdout.write(JSON.stringify(await request(nodeTarget(values.http, values.httpTokenFile, process.env), 'GET', `/jobs/${encodeURIComponent(id)}`), null, 2) + '\n')
  return 0
}

export interface ResultOptions extends NodeOptions {
  readonly progress?: boolean | undefined
}

/**
 * `distributex jobs result <id> [--progress]`: waits for the outcome and prints it as JSON; exit 1
 * if the job failed. On a terminal (or with --progress) the job's own progress shows on stderr.
 */
export async function jobResult(id: string, values: ResultOptions): Promise<number> {
  const target = nodeTarget(values.http, values.httpTokenFile, process.env)
  if (showProgress(process.stderr, values.progress)) return awaitFollowing(target, id, 'job', undefined)
  const reply = await request<{ ok: boolean }>(target, 'GET', `/jobs/${encodeURIComponent(id)}/result`)
  process.stdout.write(JSON.stringify(reply) + '\n')
  return reply.ok ? 0 : 1
}

/** `distributex jobs cancel <id>`: exit 1 if there is no such job. */
export async function cancelJob(id: string, values: NodeOptions): Promise<number> {
  const reply = await request<{ cancelled: boolean }>(nodeTarget(values.http, values.httpTokenFile, process.env), 'POST', `/jobs/${encodeURIComponent(id)}/cancel`)
  process.stdout.write(reply.cancelled ? 'cancel requested\n' : 'no such job\n')
  return reply.cancelled ? 0 : 1
}

function formatJobs(jobs: JobInfo[]): string {
  if (jobs.length === 0) return 'no jobs\n'
  const rows = jobs.map((j) => [j.id, j.type, j.status, String(j.attempts), j.assignedTo ?? '-', j.progress === null ? '-' : `${Math.round(j.progress.fraction * 100)}%`])
  const header = ['ID', 'TYPE', 'STATUS', 'ATTEMPTS', 'NODE', 'PROGRESS']
  return [...tableLines(header, rows), ''].join('\n')
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new NodeRequestError(`${what} is not JSON: ${(error as Error).message}`, undefined)
  }
}

/** The inputs of `--inputs <file>` ('-' for stdin): a JSON array, or one JSON value per line. */
function readInputs(path: string): unknown[] {
  let text: string
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8')
  } catch (error) {
    throw new NodeRequestError(`cannot read --inputs ${path}: ${(error as Error).message}`, undefined)
  }
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) {
    const all = parseJson(trimmed, '--inputs')
    if (!Array.isArray(all)) throw new NodeRequestError('--inputs must hold a JSON array or JSON lines', undefined)
    return all
  }
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => parseJson(line, `--inputs line ${i + 1}`))
}

type Outcome = { id?: string; ok?: boolean; value?: unknown; error?: { name: string; code?: string; message: string } }

/**
 * Submits one job per input in batches, then (with --wait) waits for every result, a few at a time,
 * with a progress bar on stderr. Prints one JSON line per job on stdout, in input order; exit 1 if
 * any job failed or was refused.
 */
async function submitMany(
  target: NodeTarget,
  type: string,
  inputs: readonly unknown[],
  options: unknown,
  how: { wait: boolean; timeoutMs: number | undefined; progress: boolean },
): Promise<number> {
  const clock = realEnvironment({ logLevel: 'error' }).clock
  const bar = how.progress ? new ProgressBar(process.stderr, inputs.length, how.wait ? 'submitted' : 'submitting', () => clock.monotonicMs()) : undefined
  const outcomes: Outcome[] = []
  for (let start = 0; start < inputs.length; start += SUBMIT_CHUNK) {
    const jobs = inputs.slice(start, start + SUBMIT_CHUNK).map((input) => ({ type, input, options }))
    const reply = await request<{ results: Outcome[] }>(target, 'POST', '/jobs/batch', { jobs })
    outcomes.push(...reply.results)
    bar?.update(outcomes.length)
  }
  bar?.finish()
  if (how.wait) {
    const waiting = new ProgressBar(process.stderr, inputs.length, 'finished', () => clock.monotonicMs())
    const query = how.timeoutMs === undefined ? '' : `?timeoutMs=${how.timeoutMs}`
    let done = outcomes.filter((o) => o.id === undefined).length
    let failed = outcomes.filter((o) => o.error !== undefined).length
    const pending = outcomes.map((o, i) => [o, i] as const).filter(([o]) => o.id !== undefined)
    const worker = async (): Promise<void> => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const [o, i] = next
        outcomes[i] = await request<Outcome>(target, 'GET', `/jobs/${encodeURIComponent(o.id!)}/result${query}`)
        done++
        if (outcomes[i]!.ok === false) failed++
        if (how.progress) waiting.update(done, failed === 0 ? '' : `${failed} failed`)
      }
    }
    await Promise.all(Array.from({ length: WAIT_PARALLEL }, worker))
    if (how.progress) waiting.finish(failed === 0 ? '' : `${failed} failed`)
  }
  process.stdout.write(outcomes.map((o) => JSON.stringify(o)).join('\n') + (outcomes.length > 0 ? '\n' : ''))
  return outcomes.some((o) => o.ok === false || o.error !== undefined) ? 1 : 0
}

/**
 * `submit --wait` and `jobs result` with a progress bar labelled `label`: draws job `id`'s own
 * progress (from its event stream) while waiting for the outcome the same way as without the bar
 * (GET .../result), so the output and the timeout are those of a plain wait. The stream only feeds
 * the bar: if it breaks, the wait goes on without it.
 */
async function awaitFollowing(target: NodeTarget, id: string, label: string, timeoutMs: number | undefined): Promise<number> {
  const clock = realEnvironment({ logLevel: 'error' }).clock
  const bar = new ProgressBar(process.stderr, 100, label, () => clock.monotonicMs())
  const following = new AbortController()
  const follow = drawProgress(target, id, bar, following.signal).catch(() => undefined)
  try {
    const reply = await request<Outcome>(target, 'GET', `/jobs/${encodeURIComponent(id)}/result${timeoutMs === undefined ? '' : `?timeoutMs=${timeoutMs}`}`)
    if (reply.ok === true) bar.update(100)
    bar.finish(reply.ok === true ? 'done' : (reply.error?.name ?? 'failed'))
    process.stdout.write(JSON.stringify(reply) + '\n')
    return reply.ok === false ? 1 : 0
  } finally {
    following.abort()
    await follow
  }
}

/** Moves `bar` with each progress event of job `id` until the stream ends or `signal` aborts. */
async function drawProgress(target: NodeTarget, id: string, bar: ProgressBar, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string> = target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }
  const res = await fetch(`${target.url}/jobs/${encodeURIComponent(id)}/events`, { headers, signal })
  if (!res.ok || res.body === null) throw new NodeUnavailableError(`job events: HTTP ${res.status}`, res.status)
  for await (const event of readSse(res.body)) {
    if (event.event !== 'progress') continue
    const { fraction, message } = JSON.parse(event.data) as { fraction: number; message?: string | null }
    bar.update(Math.round(fraction * 100), message ?? '')
  }
}
