/**
 * `distributex top`: a live terminal view of the cluster from one peer's summary stream (the same
 * GET /dashboard/events the web dashboard reads): members with role, state and load, throughput
 * and latency with a sparkline of the last minute, queue depth, alerts and the leader history.
 * On a terminal it redraws in place once a second (plain ANSI, so it works over SSH); `--once`
 * prints a single frame and exits, for scripts. It reconnects when the peer goes away.
 */
import type { DashboardSnapshot, DashboardSummary, EpochChange } from '../dashboard/hub.js'
import { realTimers } from '../env/real.js'
import { NodeRequestError, NodeUnavailableError, nodeTarget, type NodeOptions, type NodeTarget } from './http-client.js'

/** Points of the sparklines (one a second). */
const SPARK_POINTS = 60
const SPARK = '▁▂▃▄▅▆▇█'

/** A sparkline of the values (nulls as spaces), scaled to their maximum. */
export function sparkline(values: ReadonlyArray<number | null>): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0))
  return values.map((v) => (v === null ? ' ' : max === 0 ? SPARK[0] : SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1)))])).join('')
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-'
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`
}

function short(id: string | null | undefined): string {
  if (id === null || id === undefined) return '-'
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
}

/** One screen of `top` from the summaries seen so far (oldest first) and the leader history. */
export function formatTop(history: readonly DashboardSummary[], epochs: readonly EpochChange[], width = 100): string {
  const s = history.at(-1)
  if (s === undefined) return 'waiting for the first summary…\n'
  const leader = s.leader === null ? 'none' : `${short(s.leader.nodeId)} (epoch ${s.leader.epoch})`
  const lines = [
    `distributex top — cluster ${short(s.clusterId)}  leader ${leader}  via ${short(s.nodeId)}${s.leading ? ' (leads)' : ''}  ${new Date(s.t).toLocaleTimeString()}`,
    '',
  ]
  const header = ['NODE', 'ROLE', 'STATE', 'RUNNING', 'QUEUED', 'CPU', 'LAG', 'MEM']
  const rows = [...s.members]
    .sort((a, b) => Number(b.leader) - Number(a.leader) || a.nodeId.localeCompare(b.nodeId))
    .map((m) => {
      const live = m.state === 'up'
      return [
        `${m.leader ? '*' : ' '}${short(m.nodeId)}${m.nodeId === s.nodeId ? ' (this)' : ''}`,
        m.leader ? 'leader' : m.role,
        m.state,
        live && m.running !== null ? `${m.running}/${m.capacity ?? '-'}` : '-',
        live && m.queued !== null ? String(m.queued) : '-',
        live && m.cpu !== null ? `${Math.round(m.cpu * 100)}%` : '-',
        live ? ms(m.lagMs) : '-',
        live && m.memoryMb !== null ? `${Math.round(m.memoryMb)} MB` : '-',
      ]
    })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  lines.push(line(header), ...rows.map(line), '')
  const recent = history.slice(-SPARK_POINTS)
  const spark = Math.max(10, Math.min(SPARK_POINTS, width - 40))
  const t = s.throughput
  lines.push(
    `throughput  ${t === null ? '-' : `${t.completed.toFixed(1)}${t.capped ? '+' : ''} jobs/s completed, ${t.failed.toFixed(1)} failed`}`.padEnd(52) +
      sparkline(recent.slice(-spark).map((x) => x.throughput?.completed ?? null)),
  )
  lines.push(
    `latency     ${s.latency === null ? '- (no jobs finished in the last 10 s)' : `P50 ${ms(s.latency.p50Ms)}  P99 ${ms(s.latency.p99Ms)}  (${s.latency.count} jobs)`}`.padEnd(52) +
      sparkline(recent.slice(-spark).map((x) => x.latency?.p99Ms ?? null)),
  )
  lines.push(
    `queue       ${s.queue.queued} queued, ${s.queue.running} running of ${s.queue.capacity} workers`.padEnd(52) +
      sparkline(recent.slice(-spark).map((x) => x.queue.queued + x.queue.running)),
  )
  lines.push('', s.alerts.length === 0 ? 'alerts      none' : `alerts      ${s.alerts.length}`)
  for (const a of s.alerts) lines.push(`  ${a.severity === 'critical' ? '!!' : '! '} ${a.name}: ${a.message}`)
  lines.push(
    '',
    `leaders     ${
      epochs.length === 0
        ? 'none seen yet'
        : epochs
            .slice(-5)
            .reverse()
            .map((e) => `${e.epoch}:${short(e.nodeId)}`)
            .join('  ')
    }`,
  )
  return lines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l)).join('\n') + '\n'
}

/** Reads the summary stream, calling `onEvent` for each event; resolves when the stream ends. */
async function follow(target: NodeTarget, signal: AbortSignal, onEvent: (event: string, data: unknown) => boolean): Promise<void> {
  const headers: Record<string, string> = target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }
  let res: Response
  try {
    res = await fetch(`${target.url}/dashboard/events`, { headers, signal })
  } catch (error) {
    if (signal.aborted) return
    throw new NodeUnavailableError(`cannot reach the node at ${target.url}: ${(error as Error).message}`, undefined)
  }
  if (res.status === 401) throw new NodeRequestError('the node wants its API token: --http-token-file <path>', 401)
  if (!res.ok || res.body === null) throw new NodeUnavailableError(`the node answered HTTP ${res.status}`, res.status)
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true })
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('')
        if (data !== '' && !onEvent(event, JSON.parse(data))) return
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error
  }
}

export interface TopOptions extends NodeOptions {
  readonly once?: boolean | undefined
}

/** `distributex top [--http host:port] [--http-token-file F] [--once]` */
export async function runTop(options: TopOptions): Promise<number> {
  const target = nodeTarget(options.http, options.httpTokenFile, process.env)
  const once = options.once === true
  const tty = process.stdout.isTTY === true && !once
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let history: DashboardSummary[] = []
  let epochs: EpochChange[] = []
  const draw = (): void => {
    // A pseudo-terminal may report 0 columns: fall back to 100.
    const columns = process.stdout.columns
    const frame = formatTop(history, epochs, columns !== undefined && columns >= 40 ? columns : 100)
    process.stdout.write(tty ? `\x1b[H\x1b[2J${frame}` : frame)
  }
  try {
    if (tty) process.stdout.write('\x1b[?25l')
    while (!stop.signal.aborted) {
      let done = false
      await follow(target, stop.signal, (event, data) => {
        if (event === 'snapshot') {
          const snapshot = data as DashboardSnapshot
          history = snapshot.history.slice(-SPARK_POINTS)
          epochs = [...snapshot.epochs]
        } else if (event === 'epoch') epochs.push(data as EpochChange)
        else if (event === 'summary') {
          history.push(data as DashboardSummary)
          if (history.length > SPARK_POINTS) history.shift()
        } else return true
        if (event === 'epoch') return true
        // --once waits for a summary with job figures (or the first one after a snapshot without any).
        if (once && (event === 'summary' || history.length > 0)) {
          done = true
          draw()
          return false
        }
        if (tty) draw()
        else if (event === 'summary') draw()
        return true
      }).catch((error: unknown) => {
        if (once || !tty) throw error
        process.stdout.write(`\x1b[H\x1b[2Jdisconnected from ${target.url} (${(error as Error).message}); retrying…\n`)
      })
      if (done || once) break
      if (!stop.signal.aborted) await realTimers.sleep(1000, { signal: stop.signal }).catch(() => undefined)
    }
  } finally {
    if (tty) process.stdout.write('\x1b[?25h')
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return 0
}
