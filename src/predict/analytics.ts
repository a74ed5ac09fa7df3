/**
 * The leader's analytics: learns job durations and node speeds from what executors gossip, samples
 * every node's load once per step, forecasts it, evaluates the alerts, and serves predictions to
 * the placement. One per node, fed only while the node's scheduler runs (the leader).
 *
 * Feeding from gossip: each node gossips, per job type, how many attempts it has run and the P50 and
 * P90 of its recent ones. When a node's count for a type grows by k, the leader takes k observations
 * (at most MAX_MERGED) spread over the log-normal that those quantiles describe, so the merged
 * histogram carries the node's spread, not just its median.
 *
 * Load forecasts: Holt (damped trend) at three smoothing levels and an EWMA, the one with the lowest
 * MASE so far chosen per horizon (forecast.ts, loadForecaster); its own MASE is what is reported.
 * Every 5 s of the next minute is a tracked horizon, so each point of the forecast path the
 * dashboards draw (`forecast()`) comes from the model that has scored best at that distance.
 *
 * Effective durations: on a loaded host a node's slots are not independent workers, and its jobs
 * stretch as more run at once, faster than the predictor's decaying summaries follow. So the alerts
 * read each node's duration by Little's law, busy slot-seconds over attempts finished (both
 * smoothed over a few samples, from the gossiped running count and attempt totals), and scale the
 * predicted work offered to it by how much longer that is than predicted.
 *
 * Pure: time comes in with every call; alert transitions go to listeners synchronously.
 */
import type { MemberView } from '../cluster/types.js'
import { AlertEngine, type Alert, type AlertOptions, type AlertTransition, type NodeSample } from './alerts.js'
import { DurationPredictor, meanMs, type DurationEstimate, type DurationPredictorOptions } from './duration.js'
import { loadForecaster, TrackedForecaster } from './forecast.js'

export interface AnalyticsOptions {
  /** Time between load samples (default 1 s). */
  readonly stepMs?: number
  readonly alerts?: AlertOptions
  readonly predictor?: DurationPredictorOptions
}

/** What /status shows of the analytics. */
export interface AnalyticsStatus {
  readonly alerts: Alert[]
  /** Relative speed per node, as learnt. */
  readonly speeds: Record<string, number>
  /** MASE of the load forecasts (all nodes pooled) at 10 s and 60 s; null until scored. */
  readonly mase: { readonly '10s': number | null; readonly '60s': number | null }
  /** Per node: load now and its forecast in 10 s and 60 s. */
  readonly forecasts: Record<string, { load: number; in10s: number; in60s: number }>
}

/** One point of a node's forecast path: load (jobs per slot) `inS` seconds after the sample, with its ~90% band. */
export interface ForecastPoint {
  readonly inS: number
  readonly load: number
  readonly low: number
  readonly high: number
}

/** One node's load, (running + queued) / capacity in jobs per slot, and its forecast path. */
export interface NodeLoadForecast {
  readonly node: string
  readonly load: number
  readonly capacity: number
  readonly points: readonly ForecastPoint[]
}

/** A job type's learnt duration on a node of average speed. */
export interface TypeDuration {
  readonly type: string
  readonly p50Ms: number
  readonly p90Ms: number
  readonly count: number
}

/** What the leader forecasts, for the dashboards: load paths, bottleneck alerts, durations by type. */
export interface LoadForecast {
  /** Wall-clock time of the load sample the paths start from, ms; null before the first sample. */
  readonly at: number | null
  readonly horizonS: number
  /** The load (jobs per slot) at which node-saturation counts a node as saturated. */
  readonly saturation: number
  readonly nodes: readonly NodeLoadForecast[]
  /** The alerts firing, soonest first (those that hold now first; at most FORECAST_MAX_ALERTS): predicted bottlenecks with their node and time. */
  readonly alerts: readonly Alert[]
  /** The most observed types whose durations are learnt (at most MAX_DURATION_TYPES). */
  readonly durations: readonly TypeDuration[]
  readonly mase: { readonly '10s': number | null; readonly '60s': number | null }
  /** The latest alert transitions, oldest first, when asked for (so any node can serve the cluster's alerts). */
  readonly history?: readonly AlertTransition[]
}

/** Spacing of the points of a forecast path. */
const PATH_STEP_MS = 5000
/** Types listed in a forecast's durations. */
const MAX_DURATION_TYPES = 20
/** Alerts a forecast lists (deadline risks are per job, so there can be many): the soonest. */
const FORECAST_MAX_ALERTS = 100

/** Most pseudo-observations taken from one gossiped summary. */
const MAX_MERGED = 16
/** Log-normal sigma per unit of ln(P90 / P50). */
const Z90 = 1.2816
/** Weight of a sample in the smoothed busy slot-seconds and attempts finished of a node. */
const LITTLE_ALPHA = 0.2
/** Smoothed attempts finished per sample below which a node's effective duration is not trusted. */
const LITTLE_MIN_DONE = 1
/** Alert transitions kept for late readers. */
export const MAX_HISTORY = 200

export class ClusterAnalytics {
  readonly predictor: DurationPredictor
  private readonly engine: AlertEngine
  private readonly stepMs: number
  private readonly h10: number
  private readonly h60: number
  /** The horizons of the forecast path, in steps: every PATH_STEP_MS up to 60 s (h10 and h60 among them). */
  private readonly path: readonly number[]
  private readonly counts = new Map<string, number>()
  private readonly loads = new Map<string, { tracked: TrackedForecaster; last: number; capacity: number }>()
  private readonly offered = new Map<string, { workS: number; jobs: number }>()
  /** Per node: attempts finished (gossiped total) at the last sample, and the smoothed busy slot-seconds and attempts finished per sample. */
  private readonly little = new Map<string, { total: number; busyS: number; done: number }>()
  private readonly listeners = new Set<(t: AlertTransition) => void>()
  private readonly recent: AlertTransition[] = []
  private lastSampleMs = -Infinity
  private lastSampleWallMs: number | null = null

  constructor(options: AnalyticsOptions = {}) {
    this.stepMs = options.stepMs ?? 1000
    this.h10 = Math.max(1, Math.round(10_000 / this.stepMs))
    this.h60 = Math.max(1, Math.round(60_000 / this.stepMs))
    const every = Math.max(1, Math.round(PATH_STEP_MS / this.stepMs))
    const path = new Set([this.h10, this.h60])
    for (let h = every; h < this.h60; h += every) path.add(h)
    this.path = [...path].sort((a, b) => a - b)
    this.predictor = new DurationPredictor(options.predictor)
    this.engine = new AlertEngine({ stepMs: this.stepMs, ...options.alerts })
  }

  predict(type: string, node: string | null, hintMs: number | null): DurationEstimate {
    return this.predictor.predict(type, node, hintMs)
  }

  speed(node: string): number {
    return this.predictor.speed(node)
  }

  /** Calls `listener` with every alert that fires or resolves; returns the unsubscribe. */
  onAlert(listener: (t: AlertTransition) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  alerts(): Alert[] {
    return this.engine.alerts()
  }

  /** The latest transitions, oldest first. */
  history(): readonly AlertTransition[] {
    return this.recent
  }

  /** The placement put a job of `type` on `node`. */
  assigned(node: string, type: string, hintMs: number | null): void {
    const o = this.offered.get(node) ?? { workS: 0, jobs: 0 }
    o.workS += meanMs(this.predictor.predict(type, node, hintMs)) / 1000
    o.jobs++
    this.offered.set(node, o)
  }

  /** The placement put a job with a deadline on `node`, where it expects it to end at `expectedEndMs` (wall clock). */
  deadline(wallMs: number, job: string, node: string, expectedEndMs: number, deadline: number): void {
    this.emit(this.engine.deadlineRisk(wallMs, job, node, expectedEndMs, deadline))
  }

  /** The leader's view of the members, at any rate: learns from it, and samples it once per step. */
  observe(members: readonly MemberView[], nowMs: number, wallMs: number): void {
    for (const m of members) {
      if (m.metrics === null) continue
      for (const [type, d] of Object.entries(m.metrics.durations)) this.merge(m.nodeId, type, d)
    }
    if (nowMs - this.lastSampleMs < this.stepMs) return
    const elapsedS = this.lastSampleMs === -Infinity ? this.stepMs / 1000 : (nowMs - this.lastSampleMs) / 1000
    this.lastSampleMs = nowMs
    this.lastSampleWallMs = wallMs
    const samples: NodeSample[] = []
    for (const m of members) {
      if (m.metrics === null || m.metrics.capacity <= 0 || (m.state !== 'up' && m.state !== 'suspect')) continue
      const capacity = m.metrics.capacity
      const o = this.offered.get(m.nodeId) ?? { workS: 0, jobs: 0 }
      this.offered.delete(m.nodeId)
      const load = (m.metrics.running + m.metrics.queued) / capacity
      const predictedS = o.jobs > 0 ? o.workS / o.jobs : this.typicalS(m.nodeId)
      const effectiveS = this.effectiveS(m.nodeId, m.metrics.running, m.metrics.durations, elapsedS)
      const stretch = effectiveS === undefined ? 1 : effectiveS / predictedS
      samples.push({
        node: m.nodeId,
        capacity,
        running: m.metrics.running,
        queued: m.metrics.queued,
        offered: (o.workS * stretch) / elapsedS / capacity,
        meanDurationS: predictedS * stretch,
        speed: this.predictor.speed(m.nodeId),
      })
      const f = this.loads.get(m.nodeId) ?? { capacity, tracked: new TrackedForecaster(loadForecaster(this.path), this.path), last: load }
      f.tracked.push(load)
      f.last = load
      f.capacity = capacity
      this.loads.set(m.nodeId, f)
    }
    for (const node of [...this.loads.keys()])
      if (!samples.some((s) => s.node === node)) {
        this.loads.delete(node)
        this.little.delete(node)
      }
    this.emit(this.engine.sample(wallMs, samples))
  }

  /** MASE at 10 s and 60 s, pooled over the nodes (weighted by forecasts scored). */
  mase(): { '10s': number | null; '60s': number | null } {
    const pool = (h: number): number | null => {
      let sum = 0
      let n = 0
      for (const { tracked } of this.loads.values()) {
        const m = tracked.mase(h)
        const k = tracked.scored(h)
        if (m === undefined || !Number.isFinite(m) || k === 0) continue
        sum += m * k
        n += k
      }
      return n === 0 ? null : sum / n
    }
    return { '10s': pool(this.h10), '60s': pool(this.h60) }
  }

  status(): AnalyticsStatus {
    const forecasts: AnalyticsStatus['forecasts'] = {}
    for (const [node, f] of this.loads) forecasts[node] = { load: f.last, in10s: f.tracked.forecast(this.h10), in60s: f.tracked.forecast(this.h60) }
    return { alerts: this.alerts(), speeds: this.predictor.speeds(), mase: this.mase(), forecasts }
  }

  /**
   * The forecast path of the `maxNodes` nodes sampled last with the highest forecast peak (a
   * cluster's worth would not fit one message), the alerts firing, the learnt durations by type,
   * and the latest `maxHistory` alert transitions if asked.
   */
  forecast(maxNodes = Infinity, maxHistory = 0): LoadForecast {
    const nodes: NodeLoadForecast[] = []
    for (const [node, f] of this.loads) {
      const points = this.path.map((h) => {
        const load = Math.max(0, f.tracked.forecast(h))
        const band = f.tracked.band(h)
        return { inS: (h * this.stepMs) / 1000, load, low: Math.max(0, load - band), high: load + band }
      })
      nodes.push({ node, load: f.last, capacity: f.capacity, points: points.filter((p) => Number.isFinite(p.load) && Number.isFinite(p.high)) })
    }
    const peak = (n: NodeLoadForecast): number => Math.max(n.load, ...n.points.map((p) => p.load))
    nodes.sort((a, b) => peak(b) - peak(a) || (a.node < b.node ? -1 : 1))
    const types = new Set<string>()
    for (const key of this.counts.keys()) types.add(key.slice(key.indexOf('\u0000') + 1))
    const durations: TypeDuration[] = []
    for (const type of types) {
      const estimate = this.predictor.estimateWork(type)
      if (estimate.source === 'type') durations.push({ type, p50Ms: estimate.p50Ms, p90Ms: estimate.p90Ms, count: this.predictor.count(type) })
    }
    durations.sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1))
    const alerts = this.alerts().sort((a, b) => (a.predictedAt ?? -Infinity) - (b.predictedAt ?? -Infinity))
    return {
      at: this.lastSampleWallMs,
      horizonS: (this.h60 * this.stepMs) / 1000,
      saturation: this.engine.saturation,
      nodes: nodes.slice(0, maxNodes),
      alerts: alerts.slice(0, FORECAST_MAX_ALERTS),
      durations: durations.slice(0, MAX_DURATION_TYPES),
      mase: this.mase(),
      ...(maxHistory > 0 ? { history: this.recent.slice(-maxHistory) } : {}),
    }
  }

  /**
   * A node's mean attempt duration by Little's law (seconds): smoothed busy slot-seconds over
   * smoothed attempts finished; undefined until it finishes about one attempt per sample.
   */
  private effectiveS(node: string, running: number, durations: Record<string, { count: number }>, elapsedS: number): number | undefined {
    let total = 0
    for (const d of Object.values(durations)) total += d.count
    const l = this.little.get(node)
    if (l === undefined) {
      this.little.set(node, { total, busyS: running * elapsedS, done: 0 })
      return undefined
    }
    const done = Math.max(0, total - l.total)
    l.total = total
    l.busyS += LITTLE_ALPHA * (running * elapsedS - l.busyS)
    l.done += LITTLE_ALPHA * (done - l.done)
    return l.done >= LITTLE_MIN_DONE ? l.busyS / l.done : undefined
  }

  private typicalS(node: string): number {
    return meanMs(this.predictor.predict('', node, null)) / 1000
  }

  private merge(node: string, type: string, d: { count: number; p50Ms: number; p90Ms: number }): void {
    const key = `${node}\u0000${type}`
    const before = this.counts.get(key)
    this.counts.set(key, d.count)
    const fresh = before === undefined ? d.count : d.count - before
    if (fresh <= 0 || !(d.p50Ms > 0)) return
    const k = Math.min(MAX_MERGED, fresh)
    const sigma = d.p90Ms > d.p50Ms ? Math.log(d.p90Ms / d.p50Ms) / Z90 : 0
    // From the median outward: the first observations of a node set its speed the most, and an
    // ascending sweep would start it on the summary's fastest runs.
    const mid = Math.floor((k - 1) / 2)
    for (let j = 0; j < k; j++) {
      const i = j % 2 === 0 ? mid - j / 2 : mid + (j + 1) / 2
      this.predictor.observe(type, d.p50Ms * Math.exp(sigma * probit((i + 0.5) / k)), node)
    }
  }

  private emit(transitions: readonly AlertTransition[]): void {
    for (const t of transitions) {
      this.recent.push(t)
      if (this.recent.length > MAX_HISTORY) this.recent.shift()
      for (const l of this.listeners) l(t)
    }
  }
}

/** The standard normal quantile, by Tukey's lambda approximation (within about 1% for 0.01 < p < 0.99). */
function probit(p: number): number {
  return 4.91 * (p ** 0.14 - (1 - p) ** 0.14)
}
