/** `distributex submit` and `distributex jobs`: the job API over a node's HTTP endpoint. */
import { parseArgs } from 'node:util'
import type { JobInfo } from '../jobs/types.js'
import { NodeRequestError, nodeTarget, request } from './http-client.js'

/** `distributex submit <type> <json> [--wait] [--options <json>] [--http host:port] [--http-token-file F]` */
export async function runSubmit(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { http: { type: 'string' }, 'http-token-file': { type: 'string' }, wait: { type: 'boolean', default: false }, options: { type: 'string' }, 'timeout-ms': { type: 'string' } } })
  const [type, inputText] = positionals
  if (type === undefined) throw new NodeRequestError('usage: distributex submit <type> <json input> [--wait] [--options <json>]', undefined)
  const input = parseJson(inputText ?? 'null', 'input')
  const options = values.options === undefined ? {} : parseJson(values.options, '--options')
  const query = values.wait ? `?wait=1${values['timeout-ms'] === undefined ? '' : `&timeoutMs=${values['timeout-ms']}`}` : ''
  const reply = await request<{ id: string; ok?: boolean; value?: unknown; error?: { name: string; message: string } }>(nodeTarget(values.http, values['http-token-file'], process.env), 'POST', `/jobs${query}`, { type, input, options })
  process.stdout.write(JSON.stringify(reply) + '\n')
  return reply.ok === false ? 1 : 0
}

/** `distributex jobs [list [--status S] [--limit N] | inspect <id> | result <id> | cancel <id>] [--http host:port] [--http-token-file F]` */
export async function runJobs(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { http: { type: 'string' }, 'http-token-file': { type: 'string' }, status: { type: 'string' }, limit: { type: 'string', default: '20' } } })
  const base = nodeTarget(values.http, values['http-token-file'], process.env)
  const [command = 'list', id] = positionals
  const needId = (): string => {
    if (id === undefined) throw new NodeRequestError(`usage: distributex jobs ${command} <id>`, undefined)
    return encodeURIComponent(id)
  }
  switch (command) {
    case 'list': {
      const { jobs } = await request<{ jobs: JobInfo[]; next: string | null }>(base, 'GET', `/jobs?limit=${encodeURIComponent(values.limit)}${values.status === undefined ? '' : `&status=${encodeURIComponent(values.status)}`}`)
      process.stdout.write(formatJobs(jobs))
      return 0
    }
    case 'inspect':
      process.stdout.write(JSON.stringify(await request(base, 'GET', `/jobs/${needId()}`), null, 2) + '\n')
      return 0
    case 'result': {
      const reply = await request<{ ok: boolean }>(base, 'GET', `/jobs/${needId()}/result`)
      process.stdout.write(JSON.stringify(reply) + '\n')
      return reply.ok ? 0 : 1
    }
    case 'cancel': {
      const reply = await request<{ cancelled: boolean }>(base, 'POST', `/jobs/${needId()}/cancel`)
      process.stdout.write(reply.cancelled ? 'cancel requested\n' : 'no such job\n')
      return reply.cancelled ? 0 : 1
    }
    default:
      throw new NodeRequestError(`unknown jobs command ${JSON.stringify(command)}: use list, inspect, result or cancel`, undefined)
  }
}

function formatJobs(jobs: JobInfo[]): string {
  if (jobs.length === 0) return 'no jobs\n'
  const rows = jobs.map((j) => [j.id, j.type, j.status, String(j.attempts), j.assignedTo ?? '-', j.progress === null ? '-' : `${Math.round(j.progress.fraction * 100)}%`])
  const header = ['ID', 'TYPE', 'STATUS', 'ATTEMPTS', 'NODE', 'PROGRESS']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line), ''].join('\n')
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new NodeRequestError(`${what} is not JSON: ${(error as Error).message}`, undefined)
  }
}
