/**
 * The live summary behind the web dashboard: once a second while at least one page watches, else
 * every IDLE_TICK_MS, it samples this peer's cluster view (members, load, leader) and, while a page
 * watches, asks the current leader for the jobs that finished since the previous sample, the newest
 * jobs, and its forecasts (per-peer load paths, predicted bottlenecks, learnt durations). Every watcher gets the same compact summary, so
 * any number of open pages costs the leader four small asks a second.
 *
 * Invariants: it reads the cluster through this peer's view and the jobs and forecasts through
 * JobClient, which follows the leader, so it keeps working on a peer that loses (or never had) the
 * lead; a failed ask leaves a gap (null figures), never an error for the page. The leader's alerts
 * come with its forecast, and on the leader also from its own /status (so they are in the history
 * while nobody watches, and survive a failed forecast ask), listed once. A forecast names
 * only members of this peer's view, and its times are seconds after the summary's own time, so the
 * leader's clock never mixes with this peer's. Time comes from the environment. The epoch history
 * and the last HISTORY_POINTS summaries are kept for pages that open later; only the newest of them
 * keeps its forecast (a page draws the latest one), which keeps the snapshot small.
 */
import type { StatusDocument } from '../node/http-api.js'
import type { JobInfo } from '../jobs/types.js'
import type { LoadForecast, TypeDuration } from '../predict/analytics.js'
import type { Clock, Timers, TimerHandle } from '../env/types.js'
import { assert } from '../assert.js'

/** Time between summaries while a page watches, ms. */
export const TICK_MS = 1000
/**
 * And while none does: the history a page opens on is sampled this often. Every peer runs a hub, and
 * sampling a 50-member view each second was 4-7% of an idle worker's CPU.
 */
export const IDLE_TICK_MS = 5000
/** Summaries kept for pages that open later (5 minutes while watched, 25 while not). */
export const HISTORY_POINTS = 300
/** Finished jobs asked for per tick: throughput above this many per second shows as "at least". */
export const MAX_FINISHED_PER_TICK = 2000
/** Leader changes kept. */
const EPOCHS_KEPT = 50
/** Jobs shown in the recent list. */
const RECENT_JOBS = 15
/** Window of the latency percentiles. */
const LATENCY_WINDOW_MS = 10_000
/** Event-loop lag above which a member gets an alert. */
const LAG_ALERT_MS = 200
/** Most of the leader's alerts a summary carries. */
const MAX_PREDICTED_ALERTS = 50

/** One member in a summary. */
export interface MemberSample {
  readonly nodeId: string
  readonly role: string
  readonly state: string
  readonly voter: boolean
  readonly leader: boolean
  readonly running: number | null
  readonly queued: number | null
  readonly capacity: number | null
  readonly cpu: number | null
  readonly lagMs: number | null
  readonly memoryMb: number | null
}

/** An alert the page shows. */
export interface DashboardAlert {
  readonly name: string
  readonly severity: 'critical' | 'warning'
  readonly message: string
  /** Set on the leader's predicted alerts: seconds until the predicted condition, null when it holds now. */
  readonly predictedInS?: number | null
  /** The leader's key of the alert (one per condition and node), on its alerts only. */
  readonly key?: string
}

/** One peer's load forecast, in jobs per slot ((running + queued) / capacity). */
export interface PeerForecast {
  readonly nodeId: string
  /** Load at the leader's latest sample. */
  readonly load: number
  /** The path, every few seconds up to the horizon: seconds after the summary's time, load, and its ~90% band. */
  readonly points: ReadonlyArray<{ readonly inS: number; readonly load: number; readonly low: number; readonly high: number }>
  /** Highest forecast load over the horizon (or the load now, if higher). */
  readonly peak: number
  /**
   * Seconds until the peer saturates (0: now), by its forecast path or the leader's node-saturation
   * alert for it, whichever says sooner; null if neither does within the horizon.
   */
  readonly saturatesInS: number | null
}

/** The leader's forecast as a summary carries it. */
export interface DashboardForecast {
  /** How far ahead the paths go, s. */
  readonly horizonS: number
  /** Load (jobs per slot) at which the leader counts a peer as saturated. */
  readonly saturation: number
  /** Peers of this peer's view that the leader forecasts, by node id. */
  readonly peers: readonly PeerForecast[]
  /** Learnt duration of the most run job types, on a peer of average speed. */
  readonly durations: readonly TypeDuration[]
  /** Accuracy of the load forecasts so far (below 1 beats "nothing changes"); null until scored. */
  readonly mase: { readonly '10s': number | null; readonly '60s': number | null }
}

/** One job of the recent list. */
export interface RecentJob {
  readonly id: string
  readonly type: string
  readonly status: string
  readonly attempts: number
  readonly assignedTo: string | null
  readonly submittedAt: number
  readonly finishedAt: number | null
}

/** What the page gets every second. */
export interface DashboardSummary {
  /** Wall-clock time of the sample, ms. */
  readonly t: number
  readonly nodeId: string
  readonly clusterId: string | null
  readonly leader: { readonly nodeId: string; readonly epoch: number } | null
  readonly leading: boolean
  readonly members: readonly MemberSample[]
  /** Jobs finished per second since the previous sample; null when the leader could not be asked. */
  readonly throughput: { readonly completed: number; readonly failed: number; readonly capped: boolean } | null
  /** Submit-to-finish latency of the jobs finished in the last 10 s, ms; null without any. */
  readonly latency: { readonly p50Ms: number; readonly p99Ms: number; readonly count: number } | null
  /** Attempts waiting for a worker and running, summed over the members' gossip. */
  readonly queue: { readonly queued: number; readonly running: number; readonly capacity: number }
  readonly recent: readonly RecentJob[] | null
  /** The view's alerts, then the leader's predicted ones. */
  readonly alerts: readonly DashboardAlert[]
  /** The leader's forecast; null when it could not be asked or nobody watches (and in all but the newest summary of a snapshot). */
  readonly forecast: DashboardForecast | null
}

/** A leader change as this peer saw it. */
export interface EpochChange {
  readonly epoch: number
  readonly nodeId: string
  /** Wall-clock time this peer first saw it, ms. */
  readonly at: number
}

/** What a page gets when it connects. */
export interface DashboardSnapshot {
  readonly history: readonly DashboardSummary[]
  readonly epochs: readonly EpochChange[]
}

/** The jobs API the hub reads (JobClient's list). */
export interface JobLister {
  list(filter: { status?: 'completed' | 'failed'; limit?: number }): Promise<{ jobs: readonly JobInfo[] }>
}

/** Where the hub reads the leader's forecast (JobClient's forecast, which follows the leader). */
export interface ForecastReader {
  forecast(nodes: number): Promise<LoadForecast | null>
}

export interface HubDeps {
  readonly status: () => StatusDocument
  readonly jobs: JobLister
  readonly forecasts: ForecastReader
  readonly clock: Clock
  readonly timers: Timers
}

export type HubEvent = { readonly kind: 'summary'; readonly summary: DashboardSummary } | { readonly kind: 'epoch'; readonly change: EpochChange }

export class DashboardHub {
  private readonly history: DashboardSummary[] = []
  private readonly epochs: EpochChange[] = []
  private readonly watchers = new Set<(event: HubEvent) => void>()
  /** Finish time and latency of jobs finished recently, for the percentiles. */
  private finished: Array<{ at: number; ms: number }> = []
  /** Finish time up to which jobs were counted, or null before the first successful ask. */
  private countedUntil: number | null = null
  private timer: TimerHandle | undefined
  private ticking = false
  private stopped = false

  constructor(private readonly deps: HubDeps) {}

  /** Starts sampling; the view part runs always, the job asks only while someone watches. */
  start(): void {
    assert(this.timer === undefined && !this.stopped, 'the dashboard hub starts once')
    this.schedule()
  }

  /** The next tick, at the pace of whether a page watches; a sample that fails is skipped (a gap), and sampling goes on. */
  private schedule(): void {
    const next = (): void => {
      if (!this.stopped) this.schedule()
    }
    this.timer = this.deps.timers.schedule(this.watchers.size > 0 ? TICK_MS : IDLE_TICK_MS, () => void this.tick().then(next, next))
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) this.deps.timers.cancel(this.timer)
    this.watchers.clear()
  }

  /** The history so far, and a subscription to what follows; call the returned function to leave. */
  watch(listener: (event: HubEvent) => void): { snapshot: DashboardSnapshot; unwatch: () => void } {
    this.watchers.add(listener)
    // The first page: live summaries from the next second, not after what is left of an idle wait.
    if (this.watchers.size === 1 && this.timer !== undefined && !this.ticking && !this.stopped) {
      this.deps.timers.cancel(this.timer)
      this.schedule()
    }
    return { snapshot: { history: [...this.history], epochs: [...this.epochs] }, unwatch: () => this.watchers.delete(listener) }
  }

  get watching(): number {
    return this.watchers.size
  }

  /** One sample; exposed so that tests can drive it without timers. */
  async tick(): Promise<void> {
    if (this.ticking) return
    this.ticking = true
    try {
      const status = this.deps.status()
      const now = this.deps.clock.wallMs()
      this.noteLeader(status, now)
      const watched = this.watchers.size > 0
      const [jobs, forecast] = await Promise.all([watched ? this.askJobs(now) : { throughput: null, recent: null }, watched ? this.askForecast() : null])
      const summary = this.summarize(status, now, jobs.throughput, jobs.recent, forecast)
      const previous = this.history.at(-1)
      if (previous !== undefined && previous.forecast !== null) this.history[this.history.length - 1] = { ...previous, forecast: null }
      this.history.push(summary)
      if (this.history.length > HISTORY_POINTS) this.history.shift()
      for (const watcher of this.watchers) watcher({ kind: 'summary', summary })
    } finally {
      this.ticking = false
    }
  }

  private noteLeader(status: StatusDocument, now: number): void {
    const leader = status.leader
    if (leader === null) return
    const last = this.epochs.at(-1)
    if (last !== undefined && last.epoch === leader.epoch && last.nodeId === leader.nodeId) return
    if (last !== undefined && leader.epoch < last.epoch) return
    const change = { epoch: leader.epoch, nodeId: leader.nodeId, at: now }
    this.epochs.push(change)
    if (this.epochs.length > EPOCHS_KEPT) this.epochs.shift()
    for (const watcher of this.watchers) watcher({ kind: 'epoch', change })
  }

  /** Finished jobs since the last count, and the newest jobs; nulls when the leader does not answer. */
  private async askJobs(now: number): Promise<{ throughput: DashboardSummary['throughput']; recent: RecentJob[] | null }> {
    try {
      const [completed, failed, recent] = await Promise.all([
        this.deps.jobs.list({ status: 'completed', limit: MAX_FINISHED_PER_TICK }),
        this.deps.jobs.list({ status: 'failed', limit: MAX_FINISHED_PER_TICK }),
        this.deps.jobs.list({ limit: RECENT_JOBS }),
      ])
      const since = this.countedUntil
      this.countedUntil = now
      let throughput: DashboardSummary['throughput'] = null
      if (since !== null) {
        const fresh = (list: readonly JobInfo[]): JobInfo[] => list.filter((j) => j.finishedAt !== null && j.finishedAt > since && j.finishedAt <= now)
        const done = fresh(completed.jobs)
        const bad = fresh(failed.jobs)
        const seconds = Math.max(0.001, (now - since) / 1000)
        for (const j of [...done, ...bad]) this.finished.push({ at: j.finishedAt!, ms: Math.max(0, j.finishedAt! - j.submittedAt) })
        const capped = done.length === completed.jobs.length && done.length === MAX_FINISHED_PER_TICK
        throughput = { completed: done.length / seconds, failed: bad.length / seconds, capped }
      }
      return { throughput, recent: recent.jobs.map(recentJob) }
    } catch {
      this.countedUntil = null
      return { throughput: null, recent: null }
    }
  }

  /** The leader's forecast, or null when it does not answer. */
  private async askForecast(): Promise<LoadForecast | null> {
    try {
      return await this.deps.forecasts.forecast(FORECAST_MAX_PEERS)
    } catch {
      return null
    }
  }

  private summarize(status: StatusDocument, now: number, throughput: DashboardSummary['throughput'], recent: RecentJob[] | null, leader: LoadForecast | null): DashboardSummary {
    this.finished = this.finished.filter((f) => f.at > now - LATENCY_WINDOW_MS)
    const members = status.members.map((m) => memberSample(m, status.leader?.nodeId ?? null))
    const sum = (pick: (m: MemberSample) => number | null): number => members.filter((m) => m.state === 'up').reduce((total, m) => total + (pick(m) ?? 0), 0)
    return {
      t: now,
      nodeId: status.nodeId,
      clusterId: status.clusterId,
      leader: status.leader,
      leading: status.leading,
      members,
      throughput,
      latency: percentiles(this.finished.map((f) => f.ms)),
      queue: { queued: sum((m) => m.queued), running: sum((m) => m.running), capacity: sum((m) => m.capacity) },
      recent,
      alerts: mergeAlerts(alertsOf(status, members, now), leader === null ? [] : predictedAlerts(leader)),
      forecast: leader === null ? null : forecastSummary(leader, members),
    }
  }
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

function memberSample(m: StatusDocument['members'][number], leader: string | null): MemberSample {
  return {
    nodeId: m.nodeId,
    role: typeof m.role === 'string' ? m.role : m.voter === true ? 'voter' : 'worker',
    state: m.state,
    voter: m.voter === true,
    leader: m.nodeId === leader,
    running: num(m.running),
    queued: num(m.queued),
    capacity: num(m.capacity),
    cpu: num(m.cpu),
    lagMs: num(m.eventLoopLagMs),
    memoryMb: num(m.memoryMb),
  }
}

function recentJob(j: JobInfo): RecentJob {
  return { id: j.id, type: j.type, status: j.status, attempts: j.attempts, assignedTo: j.assignedTo, submittedAt: j.submittedAt, finishedAt: j.finishedAt ?? null }
}

/** P50 and P99 (nearest rank) of a sample, or null when it is empty. */
export function percentiles(values: readonly number[]): DashboardSummary['latency'] {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return { p50Ms: rank(0.5), p99Ms: rank(0.99), count: sorted.length }
}

/**
 * The alerts this peer can tell from its own view (no leader, members down or suspect, event-loop
 * lag, no other member heard), then the leader's active alerts that /status carries under
 * `analytics.alerts` on the leader only; their predicted times are seconds after `now`, which is
 * the leader's own clock there.
 */
export function alertsOf(status: StatusDocument, members: readonly MemberSample[], now: number): DashboardAlert[] {
  const alerts: DashboardAlert[] = []
  if (status.leader === null) alerts.push({ name: 'NoLeader', severity: 'critical', message: 'No leader is known: jobs are not scheduled until one is elected.' })
  if (status.warning !== undefined) alerts.push({ name: 'Isolated', severity: 'warning', message: status.warning })
  for (const m of members) {
    if (m.state === 'down') alerts.push({ name: 'MemberDown', severity: 'warning', message: `${m.nodeId} is down.` })
    else if (m.state === 'suspect') alerts.push({ name: 'MemberSuspect', severity: 'warning', message: `${m.nodeId} has not been heard from lately.` })
    if (m.state === 'up' && m.lagMs !== null && m.lagMs > LAG_ALERT_MS)
      alerts.push({ name: 'EventLoopLag', severity: 'warning', message: `${m.nodeId}'s event loop lags ${Math.round(m.lagMs)} ms.` })
  }
  const leaders = [...(status.analytics?.alerts ?? [])].sort((a, b) => (a.predictedAt ?? -Infinity) - (b.predictedAt ?? -Infinity))
  for (const a of leaders.slice(0, MAX_PREDICTED_ALERTS)) {
    const predictedInS = a.predictedAt === null ? null : Math.max(0, Math.round((a.predictedAt - now) / 1000))
    alerts.push({ name: a.name, severity: a.severity, message: a.message, predictedInS, key: a.key })
  }
  return alerts
}

/**
 * One list from this peer's alerts and those of the leader's forecast: a leader alert that both
 * carry (this peer leads, so its /status has them too) is listed once, as the forecast has it.
 */
export function mergeAlerts(own: readonly DashboardAlert[], predicted: readonly DashboardAlert[]): DashboardAlert[] {
  const keys = new Set(predicted.map((a) => a.key))
  const local = own.filter((a) => a.key === undefined)
  const leaders = own.filter((a) => a.key !== undefined && !keys.has(a.key))
  return [...local, ...predicted, ...leaders]
}

/** Most peers a summary carries a forecast for: the highest peaks (a page cannot show more lines anyway). */
export const FORECAST_MAX_PEERS = 32

/**
 * The leader's forecast for the page: only peers of this peer's view (the leader may know a peer
 * this one has not heard of yet, or forecast one this view already dropped), the highest peaks
 * first, with when each saturates: the first point of its path at the saturation load, or its
 * node-saturation alert's time (the alert projects the work offered, which leads the load).
 */
export function forecastSummary(leader: LoadForecast, members: readonly MemberSample[]): DashboardForecast {
  const known = new Set(members.map((m) => m.nodeId))
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
  const alerted = new Map<string, number>()
  for (const a of leader.alerts) if (a.name === 'node-saturation' && a.node !== null) alerted.set(a.node, inSeconds(leader, a.predictedAt) ?? 0)
  const peers: PeerForecast[] = []
  for (const n of leader.nodes) {
    if (!known.has(n.node) || !finite(n.load)) continue
    const points = n.points
      .filter((p) => finite(p.inS) && p.inS > 0 && p.inS <= leader.horizonS && finite(p.load) && finite(p.low) && finite(p.high))
      .map((p) => ({ inS: p.inS, load: round(Math.max(0, p.load)), low: round(Math.max(0, Math.min(p.low, p.load))), high: round(Math.max(p.high, p.load)) }))
    const path = n.load >= leader.saturation ? 0 : (points.find((p) => p.load >= leader.saturation)?.inS ?? null)
    const alert = alerted.get(n.node)
    const crossing = alert === undefined ? path : Math.min(alert, path ?? Infinity)
    const load = round(Math.max(0, n.load))
    peers.push({ nodeId: n.node, load, points, peak: Math.max(load, ...points.map((p) => p.load)), saturatesInS: crossing })
  }
  peers.sort((a, b) => b.peak - a.peak || (a.nodeId < b.nodeId ? -1 : 1))
  return { horizonS: leader.horizonS, saturation: leader.saturation, peers: peers.slice(0, FORECAST_MAX_PEERS), durations: leader.durations, mase: leader.mase }
}

/** A load to 1/1000 of a job per slot: finer than any chart shows, and a third of the bytes of a full double. */
function round(load: number): number {
  return Math.round(load * 1000) / 1000
}

/** The leader's alerts (predicted bottlenecks, deadline risks) as the page lists them, soonest first. */
export function predictedAlerts(leader: LoadForecast): DashboardAlert[] {
  return leader.alerts
    .map((a) => ({ name: a.name, severity: a.severity, message: a.message, predictedInS: inSeconds(leader, a.predictedAt), key: a.key }))
    .sort((a, b) => (a.predictedInS ?? -1) - (b.predictedInS ?? -1))
    .slice(0, MAX_PREDICTED_ALERTS)
}

/** Whole seconds from the leader's latest sample to `predictedAt` (0 once it is past); null when the condition holds now. */
function inSeconds(leader: LoadForecast, predictedAt: number | null): number | null {
  return predictedAt === null || leader.at === null ? null : Math.max(0, Math.round((predictedAt - leader.at) / 1000))
}
