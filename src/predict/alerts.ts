/**
 * Bottleneck alerts, evaluated by the leader on each sample of the gossiped load (one per step).
 *
 * - node-saturation: a node's load L ((running + queued) / capacity) is projected forward with a
 *   fluid queue, dL/dt = (offered - min(L, 1)) / duration, driven by the Holt (damped trend)
 *   forecast of its offered utilisation, from the smoothed current load. It fires when the
 *   projection reaches `saturation` within the horizon and so does the projection driven by the
 *   lower edge of the forecast's 90% band, on `confirm` of the last `confirmWindow` samples (so one
 *   noisy sample never fires it). Predicted time is when the projection crosses. It resolves when a
 *   horizon has passed since it fired without the node saturating (the prediction failed), or when the load and the
 *   projection at the horizon are both below `clearFraction` x saturation on `clearConfirm`
 *   consecutive samples (hysteresis: a node hovering near saturation otherwise cleared and fired
 *   again, each time a false alert). No alert fires before its forecaster has `warmup` samples: a
 *   trend from the first few is noise; nor, short of saturation now, while the smoothed offered
 *   utilisation is below `offeredGate` (a noise-made trend on a lightly offered node). The offered
 *   utilisation leads the queue: a queue grows only once the offered work exceeds capacity, and
 *   then fast, so watching the queue alone warns too late.
 *   Overflow: the leader assigns a node at most twice its capacity, so once the cluster is offered
 *   more than it can run, the overflow lands on whichever node still has room, a step that node's
 *   own offered load never shows before it comes (a slow node among fast ones saturates that way,
 *   last). But under that limit every node holds twice its capacity exactly when the cluster as a
 *   whole does, so the cluster's fill time bounds each node's: a second projection runs the same
 *   fluid queue on the whole cluster (its held jobs, capped per node at the limit, its offered
 *   utilisation and its drain rate, all weighed by speed) and, where it reaches saturation, warns
 *   every node, behind the same band, confirmation and gate applied to the cluster's offered
 *   utilisation.
 * - queue-instability: the forecast offered utilisation of a node (predicted work assigned per
 *   second / capacity) exceeds `instability` at the horizon, on `confirm` of the last `confirmWindow` samples.
 * - cluster-demand: the forecast offered work of all nodes exceeds `demand` of their capacity
 *   within the horizon, on `confirm` of the last `confirmWindow` samples.
 * - deadline-risk: a job's estimated wait plus its P90 duration ends past its deadline (raised by
 *   the placement when it decides); resolves once the deadline has passed.
 *
 * Each alert has a stable key (name and node or job), a severity, a predicted time and a sentence.
 * Pure: time comes in with every call; transitions (fired, resolved) are returned to the caller.
 */
import { assert } from '../assert.js'
import { HoltDamped } from './forecast.js'

export type AlertName = 'node-saturation' | 'queue-instability' | 'cluster-demand' | 'deadline-risk'

export interface Alert {
  readonly key: string
  readonly name: AlertName
  readonly severity: 'warning' | 'critical'
  /** The node concerned, or null for the cluster. */
  readonly node: string | null
  /** The job concerned (deadline-risk). */
  readonly job?: string
  /** Wall-clock time the condition is predicted to happen (ms since the epoch), or null if it holds now. */
  readonly predictedAt: number | null
  /** Wall-clock time the alert fired. */
  readonly firedAt: number
  readonly message: string
}

export interface AlertTransition {
  readonly kind: 'fired' | 'resolved'
  readonly alert: Alert
  /** Wall-clock time of the transition. */
  readonly at: number
}

export interface AlertOptions {
  /** How far ahead alerts look (default 60 s). */
  readonly horizonMs?: number
  /** Time between samples (default 1 s). */
  readonly stepMs?: number
  /** Load (jobs per unit of capacity) at which a node counts as saturated (default 2: its queue holds twice its capacity). */
  readonly saturation?: number
  /** Offered utilisation above which a node's queue is unstable (default 0.9). */
  readonly instability?: number
  /** Share of the cluster's capacity above which demand alerts (default 0.85). */
  readonly demand?: number
  /** An alert clears below this fraction of its threshold (default 0.6). */
  readonly clearFraction?: number
  /** Smoothing of the alerting forecasts (default ALERT_HOLT). */
  readonly holt?: { readonly alpha: number; readonly beta: number; readonly phi: number }
  /** How many one-step standard errors the lower band sits below the forecast (default 0.5). */
  readonly bandSigmas?: number
  /** Samples, of the last `confirmWindow`, a condition must hold on to fire (default 3). */
  readonly confirm?: number
  /** The samples `confirm` counts over (default CONFIRM_WINDOW). */
  readonly confirmWindow?: number
  /** Consecutive calm samples before an alert resolves (default CLEAR_CONFIRM). */
  readonly clearConfirm?: number
  /** Samples a forecaster needs before its alert may fire (default WARMUP). */
  readonly warmup?: number
  /** node-saturation fires only while the smoothed offered utilisation is at least this (default OFFERED_GATE). */
  readonly offeredGate?: number
  /**
   * Whether a busy cluster's overflow reaches a node with room (default true: the leader places
   * every job where there is room). False where each node's arrivals are its own (pinned work).
   */
  readonly overflow?: boolean
}

/** One node's load at a sample. */
export interface NodeSample {
  readonly node: string
  readonly capacity: number
  readonly running: number
  readonly queued: number
  /** Predicted work (seconds on that node) assigned to it per second since the last sample, per unit of capacity. */
  readonly offered: number
  /** Mean duration of its jobs, in seconds (how fast its queue drains per slot). */
  readonly meanDurationS: number
  /**
   * Its speed relative to the others (1 when unknown): a slot of a node at half speed runs half
   * the work of another's, which the cluster's offered utilisation must weigh.
   */
  readonly speed?: number
}

/**
 * Holt parameters for alerting: more responsive than the forecasting defaults, to catch ramps early.
 * These defaults (with a 60 s horizon, a band of 0.5 sigma, 3 confirming samples of 8, 30 calm samples to
 * clear below 0.6 of the threshold, 30 samples of warm-up) were picked on the ramp study's seeds
 * 11-13 (sim/placement/ramps.ts) and checked on seeds 1-6; see test/bench/RESULTS.md.
 */
export const ALERT_HOLT = { alpha: 0.2, beta: 0.1, phi: 0.98 }
/** Weight of a new sample in the smoothed load a projection starts from. */
const LOAD_SMOOTHING = 0.5
/** How far ahead alerts look by default. */
export const ALERT_HORIZON_MS = 60_000
/** Samples a condition must hold on, out of the last CONFIRM_WINDOW, to fire. */
const CONFIRM = 3
/**
 * The window CONFIRM counts over. A node's offered load is sampled with Poisson noise, so on a ramp the
 * condition flickers: on the ramp study's missed saturations it held on 4-14 of the 120 samples before,
 * never on 3 in a row. Three of the last eight still keeps one noisy sample from firing.
 */
const CONFIRM_WINDOW = 8
/** Consecutive calm samples before an alert resolves. */
const CLEAR_CONFIRM = 30
/** Samples before a forecaster's trend means anything (its first few differences are noise). */
const WARMUP = 30
/**
 * Smoothed offered utilisation below which node-saturation does not fire (unless the node is already
 * saturated). A node offered well under its capacity drains its queue, so a projection that still
 * reaches saturation rides on a trend the noise made. With the confirmation window and the expiry of
 * failed predictions (which each bring recall, and false alerts with it), 0.88 is what holds recall
 * >= 0.8 and <= 1 false alert per node-hour on every 3-seed set of the ramp study tried (12 sets);
 * see test/bench/RESULTS.md, "recall (issue 11)".
 */
const OFFERED_GATE = 0.88

interface Watch {
  readonly forecaster: HoltDamped
  /** The last samples' verdicts, newest in bit 0 (1: the condition held). */
  firing: number
  clearing: number
  /** Smoothed load (node-saturation only). */
  load?: number
  /** Whether the node reached saturation since its alert fired (node-saturation only). */
  reached?: boolean
}

/** Where a fluid projection of a load reaches saturation (steps ahead; 0 = now), and where it ends. */
interface Projection {
  readonly crossAt: number | undefined
  readonly end: number
}

/** The cluster's fill projection, as each node's saturation check reads it. */
interface Fill {
  readonly central: Projection
  readonly fires: boolean
  readonly forecaster: HoltDamped
  /** Held jobs per slot now, by speed. */
  readonly load: number
}

/** `f`'s forecast `h` steps ahead, lowered by `margin` sigmas of its one-step band. */
function lowered(f: HoltDamped, h: number, margin: number): number {
  return f.forecast(h) - (margin * f.band(1)) / 1.645
}

export class AlertEngine {
  private readonly horizonSteps: number
  private readonly stepMs: number
  /** The load (jobs per slot) at which a node counts as saturated; dashboards draw it. */
  readonly saturation: number
  private readonly instability: number
  private readonly demand: number
  private readonly clear: number
  private readonly holt: { readonly alpha: number; readonly beta: number; readonly phi: number }
  private readonly bandSigmas: number
  private readonly confirm: number
  private readonly confirmWindow: number
  private readonly clearConfirm: number
  private readonly warmup: number
  private readonly offeredGate: number
  private readonly overflow: boolean
  private readonly watches = new Map<string, Watch>()
  private readonly active = new Map<string, Alert>()

  constructor(options: AlertOptions = {}) {
    this.stepMs = options.stepMs ?? 1000
    this.horizonSteps = Math.max(1, Math.round((options.horizonMs ?? ALERT_HORIZON_MS) / this.stepMs))
    this.saturation = options.saturation ?? 2
    this.instability = options.instability ?? 0.9
    this.demand = options.demand ?? 0.85
    this.clear = options.clearFraction ?? 0.6
    this.holt = options.holt ?? ALERT_HOLT
    this.bandSigmas = options.bandSigmas ?? 0.5
    this.confirm = options.confirm ?? CONFIRM
    this.confirmWindow = Math.max(this.confirm, options.confirmWindow ?? CONFIRM_WINDOW)
    this.clearConfirm = options.clearConfirm ?? CLEAR_CONFIRM
    this.warmup = Math.max(3, options.warmup ?? WARMUP)
    this.offeredGate = options.offeredGate ?? OFFERED_GATE
    this.overflow = options.overflow ?? true
    assert(this.stepMs > 0 && this.saturation > 0 && this.instability > 0 && this.demand > 0 && this.clear > 0 && this.clear < 1, 'invalid alert options')
  }

  /** The alerts firing now. */
  alerts(): Alert[] {
    return [...this.active.values()]
  }

  /** Takes one sample of every node; returns what fired and what resolved. */
  sample(wallMs: number, nodes: readonly NodeSample[]): AlertTransition[] {
    const out: AlertTransition[] = []
    // The cluster in common units: work, held jobs (capped at the limit) and slots weighed by speed.
    let capacity = 0
    let offered = 0
    let held = 0
    let drain = 0
    for (const n of nodes) {
      if (n.capacity <= 0) continue
      const speed = n.speed ?? 1
      capacity += n.capacity * speed
      offered += n.offered * n.capacity * speed
      held += Math.min(n.running + n.queued, this.saturation * n.capacity) * speed
      drain += (n.capacity * speed) / Math.max(1e-3, n.meanDurationS)
    }
    const seen = new Set<string>()
    const cluster = capacity > 0 ? this.watch('cluster-demand:', offered / capacity, held / capacity) : undefined
    const fill = cluster !== undefined && this.overflow ? this.clusterFill(cluster, held / capacity, drain / capacity) : undefined
    for (const n of nodes) {
      if (n.capacity <= 0) continue
      const load = (n.running + n.queued) / n.capacity
      seen.add(`node-saturation:${n.node}`)
      seen.add(`queue-instability:${n.node}`)
      this.saturationCheck(out, wallMs, n, load, fill)
      this.check(
        out,
        wallMs,
        'queue-instability',
        n.node,
        n.offered,
        this.instability,
        (_at, value) => `node ${n.node} is offered ${Math.round(value * 100)}% of its capacity: its queue will grow without bound`,
        false,
      )
    }
    if (cluster !== undefined) {
      seen.add('cluster-demand:')
      this.check(
        out,
        wallMs,
        'cluster-demand',
        null,
        offered / capacity,
        this.demand,
        (at, value) =>
          `cluster demand is forecast at ${Math.round(value * 100)}% of capacity${at === null ? '' : ` in ${Math.round((at - wallMs) / 1000)} s`}: admit less or add nodes`,
        false,
        cluster,
      )
    }
    // Nodes that left: their alerts resolve.
    for (const [key, alert] of this.active) {
      if (alert.name === 'deadline-risk') {
        if (alert.predictedAt !== null && wallMs > alert.predictedAt) out.push(this.resolve(key, wallMs))
      } else if (!seen.has(`${alert.name}:${alert.node ?? ''}`)) out.push(this.resolve(key, wallMs))
    }
    for (const key of this.watches.keys()) if (!seen.has(key)) this.watches.delete(key)
    return out
  }

  /** The placement found that a job will likely miss its deadline; fires once per job. */
  deadlineRisk(wallMs: number, job: string, node: string, expectedEndMs: number, deadline: number): AlertTransition[] {
    const key = `deadline-risk:${job}`
    if (this.active.has(key) || expectedEndMs <= deadline) return []
    const alert: Alert = {
      key,
      name: 'deadline-risk',
      severity: 'warning',
      node,
      job,
      predictedAt: deadline,
      firedAt: wallMs,
      message: `job ${job} on ${node} is expected to finish ${Math.round((expectedEndMs - deadline) / 1000)} s after its deadline`,
    }
    this.active.set(key, alert)
    return [{ kind: 'fired', alert, at: wallMs }]
  }

  /** The watch of `key`, created on first use, after pushing `value` to its forecaster. */
  private watch(key: string, value: number, load?: number): Watch {
    let w = this.watches.get(key)
    if (w === undefined) {
      w = { forecaster: new HoltDamped(this.holt), firing: 0, clearing: 0, ...(load === undefined ? {} : { load }) }
      this.watches.set(key, w)
    }
    w.forecaster.push(value)
    return w
  }

  /**
   * The cluster's fill projection: its smoothed load (held jobs per slot, by speed) driven by its
   * offered utilisation and drained at its mean rate; undefined while its forecaster warms up.
   */
  private clusterFill(w: Watch, load: number, drainPerS: number): Fill | undefined {
    w.load = w.load! + LOAD_SMOOTHING * (load - w.load!)
    if (w.forecaster.samples < this.warmup) return undefined
    return { ...this.assess(Math.max(load, w.load), (drainPerS * this.stepMs) / 1000, w.forecaster), forecaster: w.forecaster, load }
  }

  /**
   * Projects a load from `start` (see project) and says whether that fires: it holds now, or the
   * projection crosses within the horizon, the offered utilisation is past the gate, and the
   * projection driven by the lower band crosses too.
   */
  private assess(start: number, drain: number, f: HoltDamped): { central: Projection; fires: boolean } {
    const central = this.project(start, drain, f, 0)
    const fires =
      central.crossAt === 0 || (central.crossAt !== undefined && lowered(f, 0, 0) >= this.offeredGate && this.project(start, drain, f, this.bandSigmas).crossAt !== undefined)
    return { central, fires }
  }

  /**
   * Fluid projection of a load (jobs per slot) from `start`: each step it gains the forecast
   * offered utilisation (lowered by `margin` band sigmas) and loses what its busy slots finish,
   * `drain` per slot. The step it reaches saturation (0 if it is there now) and where it ends.
   */
  private project(start: number, drain: number, f: HoltDamped, margin: number): Projection {
    let l = start
    if (l >= this.saturation) return { crossAt: 0, end: l }
    for (let h = 1; h <= this.horizonSteps; h++) {
      l = Math.max(0, l + (Math.max(0, lowered(f, h, margin)) - Math.min(l, 1)) * drain)
      if (l >= this.saturation) return { crossAt: h, end: l }
    }
    return { crossAt: undefined, end: l }
  }

  private saturationCheck(out: AlertTransition[], wallMs: number, n: NodeSample, load: number, fill: Fill | undefined): void {
    const key = `node-saturation:${n.node}`
    const w = this.watch(key, n.offered, load)
    w.load = w.load! + LOAD_SMOOTHING * (load - w.load!)
    if (w.forecaster.samples < this.warmup) return
    const drain = this.stepMs / 1000 / Math.max(1e-3, n.meanDurationS)
    const alone = this.assess(Math.max(load, w.load), drain, w.forecaster)
    // The node's own projection first; failing that, the cluster filling up fills this node too.
    const byCluster = !alone.fires && fill?.fires === true
    const central = byCluster ? fill!.central : alone.central
    const firing = this.active.has(key)
    if (!firing) {
      if (this.confirmed(w, alone.fires || byCluster)) {
        const crossAt = central.crossAt!
        const predictedAt = crossAt === 0 ? null : wallMs + crossAt * this.stepMs
        const inS = Math.round((crossAt * this.stepMs) / 1000)
        const message =
          crossAt === 0
            ? `node ${n.node} is saturated: ${load.toFixed(1)} jobs per slot`
            : byCluster
              ? `node ${n.node} is predicted to saturate within ${inS} s: the cluster is offered ${Math.round(lowered(fill!.forecaster, crossAt, 0) * 100)}% of its capacity and holds ${fill!.load.toFixed(1)} jobs per slot, and each node takes at most ${this.saturation} per slot, so the overflow fills every node; ${load.toFixed(1)} jobs per slot here now`
              : `node ${n.node} is predicted to saturate in ${inS} s: it is offered ${Math.round(lowered(w.forecaster, crossAt, 0) * 100)}% of capacity, ${load.toFixed(1)} jobs per slot now`
        const alert: Alert = { key, name: 'node-saturation', severity: crossAt === 0 ? 'critical' : 'warning', node: n.node, predictedAt, firedAt: wallMs, message }
        this.active.set(key, alert)
        w.firing = 0
        w.reached = crossAt === 0
        out.push({ kind: 'fired', alert, at: wallMs })
      }
      return
    }
    if (load >= this.saturation) w.reached = true
    // The alert said "within the horizon"; once the horizon has passed without saturation the
    // prediction failed. It resolves, so fresh evidence can fire a fresh prediction (left standing,
    // it hid the next ramp: that ramp's saturation came with no alert of its own).
    if (!w.reached && wallMs - this.active.get(key)!.firedAt >= this.horizonSteps * this.stepMs) {
      w.clearing = 0
      out.push(this.resolve(key, wallMs))
      return
    }
    const calm = load < this.clear * this.saturation && Math.max(alone.central.end, fill?.central.end ?? 0) < this.clear * this.saturation
    w.clearing = calm ? w.clearing + 1 : 0
    if (w.clearing >= this.clearConfirm) {
      w.clearing = 0
      out.push(this.resolve(key, wallMs))
    }
  }

  private check(
    out: AlertTransition[],
    wallMs: number,
    name: AlertName,
    node: string | null,
    value: number,
    threshold: number,
    say: (at: number | null, value: number) => string,
    band: boolean,
    /** The watch, when the caller already pushed `value` to it. */
    pushed?: Watch,
  ): void {
    const key = `${name}:${node ?? ''}`
    const w = pushed ?? this.watch(key, value)
    if (w.forecaster.samples < this.warmup) return
    // The first step at which the forecast (and, for saturation, its lower band) reaches the threshold.
    let crossAt: number | undefined
    let lowerCrosses = !band
    for (let h = 0; h <= this.horizonSteps; h++) {
      const f = h === 0 ? value : w.forecaster.forecast(h)
      if (crossAt === undefined && f >= threshold) crossAt = h
      if (band && h > 0 && f - w.forecaster.band(h) >= threshold) lowerCrosses = true
      if (crossAt !== undefined && lowerCrosses) break
    }
    if (value >= threshold) lowerCrosses = true
    const firing = this.active.has(key)
    if (!firing) {
      if (this.confirmed(w, crossAt !== undefined && lowerCrosses)) {
        const predictedAt = crossAt === 0 ? null : wallMs + crossAt! * this.stepMs
        const shown = crossAt === 0 ? value : w.forecaster.forecast(crossAt!)
        const alert: Alert = { key, name, severity: crossAt === 0 ? 'critical' : 'warning', node, predictedAt, firedAt: wallMs, message: say(predictedAt, shown) }
        this.active.set(key, alert)
        w.firing = 0
        out.push({ kind: 'fired', alert, at: wallMs })
      }
      return
    }
    const calm = value < this.clear * threshold && w.forecaster.forecast(this.horizonSteps) < this.clear * threshold
    w.clearing = calm ? w.clearing + 1 : 0
    if (w.clearing >= this.clearConfirm) {
      w.clearing = 0
      out.push(this.resolve(key, wallMs))
    }
  }

  /** Records this sample's verdict; true when the condition held on `confirm` of the last `confirmWindow` samples. */
  private confirmed(w: Watch, holds: boolean): boolean {
    w.firing = ((w.firing << 1) | (holds ? 1 : 0)) & ((1 << this.confirmWindow) - 1)
    let held = 0
    for (let bits = w.firing; bits !== 0; bits &= bits - 1) held++
    return holds && held >= this.confirm
  }

  private resolve(key: string, wallMs: number): AlertTransition {
    const alert = this.active.get(key)!
    this.active.delete(key)
    return { kind: 'resolved', alert, at: wallMs }
  }
}
