/**
 * Bottleneck alerts, evaluated by the leader on each sample of the gossiped load (one per step).
 *
 * - node-saturation: a node's load L ((running + queued) / capacity) is projected forward with a
 *   fluid queue, dL/dt = (offered - min(L, 1)) / duration, driven by the Holt (damped trend)
 *   forecast of its offered utilisation, from the smoothed current load. It fires when the
 *   projection reaches `saturation` within the horizon and so does the projection driven by the
 *   lower edge of the forecast's 90% band, on `confirm` consecutive samples (so one noisy sample never
 *   fires it). Predicted time is when the projection crosses. It resolves when the load and the
 *   projection at the horizon are both below `clearFraction` x saturation on `clearConfirm`
 *   consecutive samples (hysteresis: a node hovering near saturation otherwise cleared and fired
 *   again, each time a false alert). No alert fires before its forecaster has `warmup` samples: a
 *   trend from the first few is noise; nor, short of saturation now, while the smoothed offered
 *   utilisation is below `offeredGate` (a noise-made trend on a lightly offered node). The offered
 *   utilisation leads the queue: a queue grows only once the offered work exceeds capacity, and
 *   then fast, so watching the queue alone warns too late.
 *   Overflow: the leader assigns a node up to twice its capacity, so once the cluster is offered
 *   more than it can run and the other nodes' slots are all busy, the overflow lands on whichever
 *   node still has room, a step that node's own offered load never shows before it comes (a slow
 *   node among fast ones saturates that way). So a second projection, driven by the cluster's
 *   offered utilisation (speed-weighted) wherever that is above 1, fires too, behind the same
 *   gate applied to the cluster's offered utilisation.
 * - queue-instability: the forecast offered utilisation of a node (predicted work assigned per
 *   second / capacity) exceeds `instability` at the horizon, `confirm` samples running.
 * - cluster-demand: the forecast offered work of all nodes exceeds `demand` of their capacity
 *   within the horizon, `confirm` samples running.
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
  /** Consecutive samples a condition must hold to fire (default 3). */
  readonly confirm?: number
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
 * These defaults (with a 60 s horizon, a band of 0.5 sigma, 3 confirming samples, 30 calm samples to
 * clear below 0.6 of the threshold, 30 samples of warm-up) were picked on the ramp study's seeds
 * 11-13 (sim/placement/ramps.ts) and checked on seeds 1-6; see test/bench/RESULTS.md.
 */
export const ALERT_HOLT = { alpha: 0.2, beta: 0.1, phi: 0.98 }
/** Weight of a new sample in the smoothed load a projection starts from. */
const LOAD_SMOOTHING = 0.5
/** How far ahead alerts look by default. */
export const ALERT_HORIZON_MS = 60_000
/** Consecutive samples a condition must hold to fire. */
const CONFIRM = 3
/** Consecutive calm samples before an alert resolves. */
const CLEAR_CONFIRM = 30
/** Samples before a forecaster's trend means anything (its first few differences are noise). */
const WARMUP = 30
/**
 * Smoothed offered utilisation below which node-saturation does not fire (unless the node is already
 * saturated). A node offered well under its capacity drains its queue, so a projection that still
 * reaches saturation rides on a trend the noise made; on the ramp study (seeds 11-13) this gate
 * halved the false alerts at the same recall (see test/bench/RESULTS.md).
 */
const OFFERED_GATE = 0.82

interface Watch {
  readonly forecaster: HoltDamped
  firing: number
  clearing: number
  /** Smoothed load (node-saturation only). */
  load?: number
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
    // The cluster's offered utilisation in common units: work and slots weighed by speed.
    let capacity = 0
    let offered = 0
    for (const n of nodes) {
      if (n.capacity <= 0) continue
      const speed = n.speed ?? 1
      capacity += n.capacity * speed
      offered += n.offered * n.capacity * speed
    }
    const seen = new Set<string>()
    const cluster = capacity > 0 ? this.watch('cluster-demand:', offered / capacity) : undefined
    // Held jobs and slots of all nodes, for "are the others full?" (loads capped at saturation).
    let held = 0
    let slots = 0
    for (const n of nodes) {
      if (n.capacity <= 0) continue
      held += Math.min(n.running + n.queued, this.saturation * n.capacity)
      slots += n.capacity
    }
    for (const n of nodes) {
      if (n.capacity <= 0) continue
      const load = (n.running + n.queued) / n.capacity
      seen.add(`node-saturation:${n.node}`)
      seen.add(`queue-instability:${n.node}`)
      // The overflow reaches this node only once the others run every slot and queue beyond.
      const othersSlots = slots - n.capacity
      const othersBusy = this.overflow && othersSlots > 0 && (held - Math.min(n.running + n.queued, this.saturation * n.capacity)) / othersSlots >= 1
      this.saturationCheck(out, wallMs, n, load, othersBusy ? cluster : undefined)
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

  private saturationCheck(out: AlertTransition[], wallMs: number, n: NodeSample, load: number, cluster: Watch | undefined): void {
    const key = `node-saturation:${n.node}`
    const w = this.watch(key, n.offered, load)
    w.load = w.load! + LOAD_SMOOTHING * (load - w.load!)
    if (w.forecaster.samples < this.warmup) return
    const stepS = this.stepMs / 1000
    const drain = stepS / Math.max(1e-3, n.meanDurationS)
    const own = w.forecaster
    const overflowing = cluster !== undefined && cluster.forecaster.samples >= this.warmup ? cluster.forecaster : undefined
    const lowered = (f: HoltDamped, h: number, margin: number): number => f.forecast(h) - (margin * f.band(1)) / 1.645
    /**
     * Fluid projection of the load, driven by the forecast (or its lower band) of the node's
     * offered utilisation or, with `spill`, by the cluster's wherever that is above 1 and larger
     * (only then is there an overflow to land on this node). `spilled`: the overflow drove it.
     */
    const project = (margin: number, spill: HoltDamped | undefined): { crossAt: number | undefined; end: number; spilled: boolean } => {
      let l = Math.max(load, w.load!)
      if (l >= this.saturation) return { crossAt: 0, end: l, spilled: false }
      let spilled = false
      for (let h = 1; h <= this.horizonSteps; h++) {
        const mine = lowered(own, h, margin)
        const overflow = spill === undefined ? 0 : lowered(spill, h, margin)
        if (overflow > 1 && overflow > mine) spilled = true
        l = Math.max(0, l + (Math.max(0, mine, overflow > 1 ? overflow : 0) - Math.min(l, 1)) * drain)
        if (l >= this.saturation) return { crossAt: h, end: l, spilled }
      }
      return { crossAt: undefined, end: l, spilled }
    }
    // Each driver fires only past its own gate: the node's offered utilisation for its own
    // projection, the cluster's for the overflow's (a node offered little has no trend worth
    // following, but the overflow of a busy cluster still reaches it).
    const alone = project(0, undefined)
    const withSpill = overflowing === undefined ? undefined : project(0, overflowing)
    const byOwn = alone.crossAt !== undefined && (alone.crossAt === 0 || (lowered(own, 0, 0) >= this.offeredGate && project(this.bandSigmas, undefined).crossAt !== undefined))
    const bySpill =
      !byOwn &&
      withSpill?.crossAt !== undefined &&
      withSpill.spilled &&
      lowered(overflowing!, 0, 0) >= this.offeredGate &&
      project(this.bandSigmas, overflowing).crossAt !== undefined
    const central = bySpill ? withSpill : alone
    const firing = this.active.has(key)
    if (!firing) {
      w.firing = byOwn || bySpill ? w.firing + 1 : 0
      if (w.firing >= this.confirm) {
        const crossAt = central.crossAt!
        const predictedAt = crossAt === 0 ? null : wallMs + crossAt * this.stepMs
        const offered = Math.round((bySpill ? lowered(overflowing!, crossAt, 0) : lowered(own, crossAt, 0)) * 100)
        const message =
          crossAt === 0
            ? `node ${n.node} is saturated: ${load.toFixed(1)} jobs per slot`
            : `node ${n.node} is predicted to saturate in ${Math.round((crossAt * this.stepMs) / 1000)} s: ${bySpill ? 'the cluster is' : 'it is'} offered ${offered}% of capacity, ${load.toFixed(1)} jobs per slot now`
        const alert: Alert = { key, name: 'node-saturation', severity: crossAt === 0 ? 'critical' : 'warning', node: n.node, predictedAt, firedAt: wallMs, message }
        this.active.set(key, alert)
        w.firing = 0
        out.push({ kind: 'fired', alert, at: wallMs })
      }
      return
    }
    const calm = load < this.clear * this.saturation && Math.max(alone.end, withSpill?.end ?? 0) < this.clear * this.saturation
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
      w.firing = crossAt !== undefined && lowerCrosses ? w.firing + 1 : 0
      if (w.firing >= this.confirm) {
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

  private resolve(key: string, wallMs: number): AlertTransition {
    const alert = this.active.get(key)!
    this.active.delete(key)
    return { kind: 'resolved', alert, at: wallMs }
  }
}
