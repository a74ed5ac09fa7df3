/**
 * `distributex top`: a live terminal view of the cluster from one peer's summary stream (the same
 * GET /dashboard/events the web dashboard reads): members with role, state and load, throughput
 * and latency with a sparkline of the last minute, queue depth, the leader's load forecast per peer
 * (when each saturates), the alerts (the leader's predicted ones with their time) and the leader history.
 * On a terminal it redraws in place once a second (plain ANSI, so it works over SSH); `--once`
 * prints a single frame and exits, for scripts. It reconnects when the peer goes away.
 */
import type { DashboardAlert, DashboardSnapshot, DashboardSummary, EpochChange } from '../dashboard/hub.js'
import { realTimers } from '../env/real.js'
import { NodeRequestError, NodeUnavailableError, nodeTarget, type NodeOptions, type NodeTarget } from './http-client.js'
import { tableLines } from './table.js'

/** Points of the sparklines (one a second). */
const SPARK_POINTS = 60
const SPARK = '▁▂▃▄▅▆▇█'

/** A sparkline of the values (nulls as spaces), scaled to their maximum, or to `top` if that is higher. */
export function sparkline(values: ReadonlyArray<number | null>, top = 0): string {
  const max = Math.max(0, top, ...values.map((v) => v ?? 0))
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
  lines.push(...tableLines(header, rows), '')
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
  lines.push('', ...forecastLines(s, history))
  lines.push('', s.alerts.length === 0 ? 'alerts      none' : `alerts      ${s.alerts.length}`)
  for (const a of s.alerts) lines.push(`  ${a.severity === 'critical' ? '!!' : '! '} ${a.name}${predictedWhen(a)}: ${a.message}`)
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

/** Live summaries `--once` waits for at most before it prints one without a throughput. */
const ONCE_SUMMARIES_MAX = 3

/** A summary's forecast is drawn this long after it, as the web page does: a sample whose ask failed does not blank it. */
const FORECAST_KEEP_MS = 5000
/** Peers listed under the forecast, the highest peaks first. */
const FORECAST_ROWS = 8

/** ` (predicted in 12 s)` for an alert the leader predicts, `` for the others; as the web page words it. */
function predictedWhen(a: DashboardAlert): string {
  if (a.predictedInS === undefined) return ''
  return ` (predicted ${a.predictedInS === null ? 'now' : a.predictedInS === 0 ? 'due now' : `in ${a.predictedInS} s`})`
}

function load(value: number): string {
  return value >= 100 ? String(Math.round(value)) : value.toFixed(2)
}

/**
 * The leader's forecast under the newest summary `s`: per peer its load now, the peak over the
 * horizon, when it saturates and a sparkline of the path from now, on a scale whose top is the
 * saturation load (a full bar: saturated); the newest forecast of the last FORECAST_KEEP_MS, else a note.
 */
export function forecastLines(s: DashboardSummary, history: readonly DashboardSummary[]): string[] {
  const from = history.findLast((h) => h.forecast !== null && s.t - h.t <= FORECAST_KEEP_MS)
  const f = from?.forecast ?? null
  if (f === null) return ['forecast    none from the leader yet']
  const mase = f.mase['10s'] === null ? '' : `; error so far (MASE) ${f.mase['10s'].toFixed(2)} at 10 s${f.mase['60s'] === null ? '' : `, ${f.mase['60s'].toFixed(2)} at 60 s`}`
  const lines = [`forecast    the leader's, next ${f.horizonS} s, in jobs per slot; saturated at ${load(f.saturation)}${mase}`]
  if (f.peers.length === 0) return [...lines, '  no peer forecast yet']
  const rows = f.peers.slice(0, FORECAST_ROWS).map((p) => {
    const when = p.saturatesInS === null ? `not within ${f.horizonS} s` : p.saturatesInS > 0 ? `in ${Math.round(p.saturatesInS)} s` : p.load >= f.saturation ? 'now' : 'due now'
    return [
      `  ${short(p.nodeId)}`,
      load(p.load),
      load(p.peak),
      when,
      sparkline(
        [p.load, ...p.points.map((x) => x.load)].map((x) => Math.min(x, f.saturation)),
        f.saturation,
      ),
    ]
  })
  lines.push(...tableLines(['  PEER', 'LOAD', 'PEAK', 'SATURATES', 'PATH'], rows))
  if (f.peers.length > FORECAST_ROWS) lines.push(`  … and ${f.peers.length - FORECAST_ROWS} more`)
  return lines
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
      let live = 0
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
        // --once waits for live summaries, which carry the leader's forecast (the snapshot's newest
        // lacks it when nobody watched before), until one has a throughput: the first sample a peer
        // takes for a watcher is only the baseline of the count. A gap (leader away) ends it too.
        if (once && event === 'summary' && (history.at(-1)!.throughput !== null || ++live >= ONCE_SUMMARIES_MAX)) {
          done = true
          draw()
          return false
        }
        if (tty || (!once && event === 'summary')) draw()
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
