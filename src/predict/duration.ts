/**
 * Duration predictor: how long a job of a type will take on a node, learnt online.
 *
 * Observations are stored as work: the observed duration times the speed of the node that ran it,
 * so what one node teaches applies to every other. Node speeds are themselves estimated from the
 * same observations: a run that took less than the type's predicted work says its node is fast
 * (an EWMA of log(predicted work / duration) per node). Speeds are reported relative to their
 * geometric mean over the nodes seen, so the scale of "work" cannot drift. A node's learnt speed
 * is shrunk toward that mean by its evidence (n / (n + SPEED_PRIOR_OBS), empirical Bayes with the
 * mean as prior), and the evidence of a node without news while the others run decays: a placement
 * that believes a node slow sends it nothing, so a speed mislearnt on a few noisy early runs would
 * otherwise never be corrected (the node is starved for good). Forgotten, it looks average again,
 * gets work, and relearns quickly.
 *
 * Duration hints are noisy estimates in whatever unit the submitter thinks in. Per type (backed off
 * to all types) a decaying least-squares fit of log work on log hint learns what a hint means: its
 * slope is the weight the hint deserves against the type's typical work (the Bayesian blend of two
 * noisy estimates by their variances: a hint as noisy as the type's own spread gets half), its
 * residual spread gives the P90. Taking a hint at face value instead would also bias the speeds:
 * a policy sends the largest hints, whose noise is mostly upward, to the fastest nodes. Until a
 * fit has FIT_MIN observations, hints are calibrated per node: an EWMA of log(duration / hint),
 * falling back to the calibration over all nodes divided by the node's relative speed.
 *
 * Per key a decaying log-bucket histogram gives P50 and P90 (half-life in observations), and an
 * EWMA of log duration follows sudden change: when it strays more than 2x from the histogram's
 * median, the quantiles are shifted by that ratio until the histogram catches up. Keys back off from
 * the type to its family (the part before the last '.', ':' or '/'), to every type, then to a
 * default, while a key has fewer than `minCount` observations.
 *
 * Pure: no clock, no I/O; the caller feeds observations in the order it learns of them.
 */
import { assert } from '../assert.js'
import { DecayingLogHistogram } from './log-histogram.js'

/** Where a prediction came from: the job's own hint, its type, its family, all types, or the default. */
export type EstimateSource = 'hint' | 'type' | 'family' | 'global' | 'default'

/** A prediction, in ms on the node it is for. */
export interface DurationEstimate {
  readonly p50Ms: number
  readonly p90Ms: number
  readonly source: EstimateSource
}

/** z of the 0.9 quantile of a normal. */
const Z90 = 1.2816
/** Bound on p90 / p50 used for the mean: beyond it a summary says more about outliers than about work. */
const SPREAD_MAX = 10

/**
 * The expected duration (ms) behind an estimate: durations are skewed, and work offered per second
 * is the arrival rate times the mean, not the median. Fits a log-normal through p50 and p90
 * (sigma = ln(p90 / p50) / z90, mean = p50 * exp(sigma^2 / 2)); with p90 = 4 x p50 the mean is
 * about 1.9 x p50.
 */
export function meanMs(estimate: DurationEstimate): number {
  const spread = Math.min(SPREAD_MAX, Math.max(1, estimate.p90Ms / Math.max(1e-9, estimate.p50Ms)))
  const sigma = Math.log(spread) / Z90
  return estimate.p50Ms * Math.exp((sigma * sigma) / 2)
}

export interface DurationPredictorOptions {
  /** Observations after which one counts half (default 500). */
  readonly halfLife?: number
  /** Observations a key needs before it is used (default 3). */
  readonly minCount?: number
  /** Work of a job of a type never seen (default 500 ms, as Dask's unknown-task-duration). */
  readonly defaultMs?: number
  /** Weight of a new observation in the EWMA of log duration (default 0.2). */
  readonly ewmaAlpha?: number
  /** Weight of a new observation in a node's log-speed EWMA (default 0.02). */
  readonly speedAlpha?: number
  /** Most keys (types and families) kept; the least used is dropped beyond (default 10,000). */
  readonly maxKeys?: number
}

const LN2 = Math.log(2)
/** Ratio of P90 to P50 assumed when only the default is known (log-normal sigma 1). */
const DEFAULT_SPREAD = Math.exp(1.2816)
/** Speeds are clamped to this range around the geometric mean. */
const SPEED_MIN = 1 / 64
const SPEED_MAX = 64

/** Observations a node's speed needs to count half against the prior (the mean speed). */
const SPEED_PRIOR_OBS = 16
/** Per node seen: observations of the others a node's evidence stays whole without news of it. */
const SPEED_FRESH_PER_NODE = 50
/** Per node seen: observations of the others in which its evidence then halves. */
const SPEED_STALE_HALF_LIFE_PER_NODE = 25

/** Observations of hinted jobs a fit of log work on log hint needs before it is used. */
const FIT_MIN = 30
/** The fitted slope is kept in this range (a hint never counts negatively, nor much more than fully). */
const SLOPE_MAX = 1.5

interface NodeSpeed {
  /** EWMA of the node's log speed (on the scale of the others'). */
  value: number
  /** Its evidence, in observations (decayed by evidence()). */
  count: number
  /** speedObservations at its last observation. */
  lastAt: number
}

interface KeyStats {
  readonly histogram: DecayingLogHistogram
  ewmaLog: number
  fit?: HintFit
}

/** A decaying least-squares fit of y = a + b x (log work on log hint), by observation count. */
class HintFit {
  private n = 0
  private sx = 0
  private sy = 0
  private sxx = 0
  private sxy = 0
  private syy = 0
  private readonly keep: number
  count = 0

  constructor(halfLife: number) {
    this.keep = 2 ** (-1 / halfLife)
  }

  add(x: number, y: number): void {
    const k = this.keep
    this.n = this.n * k + 1
    this.sx = this.sx * k + x
    this.sy = this.sy * k + y
    this.sxx = this.sxx * k + x * x
    this.sxy = this.sxy * k + x * y
    this.syy = this.syy * k + y * y
    this.count++
  }

  /** Intercept, slope and residual standard deviation; undefined while too few or all hints alike. */
  fit(): { a: number; b: number; sd: number } | undefined {
    if (this.count < FIT_MIN) return undefined
    const mx = this.sx / this.n
    const my = this.sy / this.n
    const vx = this.sxx / this.n - mx * mx
    const vy = Math.max(0, this.syy / this.n - my * my)
    if (!(vx > 1e-6)) return undefined
    const b = Math.min(SLOPE_MAX, Math.max(0, (this.sxy / this.n - mx * my) / vx))
    return { a: my - b * mx, b, sd: Math.sqrt(Math.max(0, vy - b * b * vx)) }
  }
}

export class DurationPredictor {
  private readonly halfLife: number
  private readonly minCount: number
  private readonly defaultMs: number
  private readonly ewmaAlpha: number
  private readonly speedAlpha: number
  private readonly maxKeys: number
  private readonly keys = new Map<string, KeyStats>()
  private readonly global: KeyStats
  private readonly logSpeed = new Map<string, NodeSpeed>()
  /** The log speeds' centre, by trust, and the observation count it was computed at. */
  private centreCache = { value: 0, at: -1 }
  /** Observations with a node so far: the clock of the speeds' staleness. */
  private speedObservations = 0
  /** Per node, and over all nodes: EWMA of log(duration / hint). */
  private readonly hintLog = new Map<string, { value: number; count: number }>()
  private globalHintLog: { value: number; count: number } | undefined

  constructor(options: DurationPredictorOptions = {}) {
    this.halfLife = options.halfLife ?? 500
    this.minCount = options.minCount ?? 3
    this.defaultMs = options.defaultMs ?? 500
    this.ewmaAlpha = options.ewmaAlpha ?? 0.2
    this.speedAlpha = options.speedAlpha ?? 0.02
    this.maxKeys = options.maxKeys ?? 10_000
    assert(this.defaultMs > 0 && this.minCount >= 1 && this.ewmaAlpha > 0 && this.ewmaAlpha <= 1, 'invalid duration predictor options')
    this.global = { histogram: new DecayingLogHistogram(this.halfLife * 10), ewmaLog: 0 }
  }

  /** A node's speed relative to the others (1 when unknown). */
  speed(node: string): number {
    const s = this.logSpeed.get(node)
    if (s === undefined) return 1
    return Math.min(SPEED_MAX, Math.max(SPEED_MIN, Math.exp(this.trust(s) * (s.value - this.centre()))))
  }

  /** Weight of a node's learnt speed against the prior. */
  private trust(s: NodeSpeed): number {
    const evidence = this.evidence(s)
    return evidence / (evidence + SPEED_PRIOR_OBS)
  }

  /** The mean log speed, each node weighed by its trust: a node barely known does not move the others. */
  private centre(): number {
    if (this.centreCache.at === this.speedObservations) return this.centreCache.value
    let sum = 0
    let weight = 0
    for (const s of this.logSpeed.values()) {
      const t = this.trust(s)
      sum += t * s.value
      weight += t
    }
    this.centreCache = { value: weight > 0 ? sum / weight : 0, at: this.speedObservations }
    return this.centreCache.value
  }

  /** A node's observations, decayed once the others have run long without news of it. */
  private evidence(s: NodeSpeed): number {
    const gap = this.speedObservations - s.lastAt - SPEED_FRESH_PER_NODE * this.logSpeed.size
    return gap > 0 ? s.count * 2 ** (-gap / (SPEED_STALE_HALF_LIFE_PER_NODE * this.logSpeed.size)) : s.count
  }

  /** Nodes with a speed estimate, and their speeds. */
  speeds(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const node of this.logSpeed.keys()) out[node] = this.speed(node)
    return out
  }

  /**
   * Records that a job of `type` took `durationMs` on `node` (or on a node of speed 1 when node is
   * null). The job's duration hint, when it had one, is a better yardstick of the node's speed
   * than the type's median.
   */
  observe(type: string, durationMs: number, node: string | null = null, hintMs: number | null = null): void {
    if (!(durationMs > 0) || !Number.isFinite(durationMs)) return
    const hint = hintMs !== null && hintMs > 0 && Number.isFinite(hintMs) ? hintMs : undefined
    if (node !== null) this.learnSpeed(node, type, durationMs, hint)
    if (hint !== undefined) {
      const sample = Math.log(durationMs / hint)
      this.globalHintLog = this.smooth(this.globalHintLog, sample)
      if (node !== null) this.hintLog.set(node, this.smooth(this.hintLog.get(node), sample))
    }
    const work = durationMs * (node === null ? 1 : this.speed(node))
    const logWork = Math.log(work)
    for (const key of [`t:${type}`, `f:${family(type)}`]) {
      const stats = this.keys.get(key) ?? this.addKey(key, logWork)
      this.keys.delete(key)
      this.keys.set(key, stats)
      this.update(stats, logWork, work)
      if (hint !== undefined) (stats.fit ??= new HintFit(this.halfLife)).add(Math.log(hint), logWork)
    }
    this.update(this.global, logWork, work)
    if (hint !== undefined) (this.global.fit ??= new HintFit(this.halfLife * 10)).add(Math.log(hint), logWork)
  }

  /** Predicted work (duration at speed 1) of a job of `type`. */
  estimateWork(type: string): DurationEstimate {
    const own = this.keys.get(`t:${type}`)
    if (own !== undefined && own.histogram.count >= this.minCount) return this.read(own, 'type')
    const fam = this.keys.get(`f:${family(type)}`)
    if (fam !== undefined && fam.histogram.count >= this.minCount) return this.read(fam, 'family')
    if (this.global.histogram.count >= this.minCount) return this.read(this.global, 'global')
    return { p50Ms: this.defaultMs, p90Ms: this.defaultMs * DEFAULT_SPREAD, source: 'default' }
  }

  /**
   * Predicted duration of a job of `type` on `node` (speed 1 when null). A hint, when given, is the
   * P50 on a node of average speed; the P90 keeps the type's learnt spread.
   */
  predict(type: string, node: string | null = null, hintMs: number | null = null): DurationEstimate {
    const speed = node === null ? 1 : this.speed(node)
    if (hintMs !== null && hintMs > 0) {
      const fitted = this.hintWork(type, hintMs)
      if (fitted !== undefined) return { p50Ms: fitted.p50Ms / speed, p90Ms: fitted.p90Ms / speed, source: 'hint' }
      const learnt = this.estimateWork(type)
      const spread = learnt.source === 'type' ? learnt.p90Ms / learnt.p50Ms : DEFAULT_SPREAD
      const own = node === null ? undefined : this.hintLog.get(node)
      const factor = own !== undefined ? Math.exp(own.value) : this.globalHintLog !== undefined ? Math.exp(this.globalHintLog.value) / speed : 1 / speed
      return { p50Ms: hintMs * factor, p90Ms: hintMs * spread * factor, source: 'hint' }
    }
    const work = this.estimateWork(type)
    return { p50Ms: work.p50Ms / speed, p90Ms: work.p90Ms / speed, source: work.source }
  }

  /** Predicted work of a job of `type` with hint `hintMs`, from the type's fit (else all types'), once one is ready. */
  private hintWork(type: string, hintMs: number): { p50Ms: number; p90Ms: number } | undefined {
    const fit = this.keys.get(`t:${type}`)?.fit?.fit() ?? this.keys.get(`f:${family(type)}`)?.fit?.fit() ?? this.global.fit?.fit()
    if (fit === undefined) return undefined
    const p50 = Math.exp(fit.a + fit.b * Math.log(hintMs))
    return { p50Ms: p50, p90Ms: p50 * Math.exp(Z90 * fit.sd) }
  }

  /** Observations of `type` so far. */
  count(type: string): number {
    return this.keys.get(`t:${type}`)?.histogram.count ?? 0
  }

  private learnSpeed(node: string, type: string, durationMs: number, hintMs: number | undefined): void {
    const own = this.keys.get(`t:${type}`)
    if (hintMs === undefined && (own === undefined || own.histogram.count < this.minCount)) return
    const expected = hintMs === undefined ? this.read(own!, 'type').p50Ms : (this.hintWork(type, hintMs)?.p50Ms ?? hintMs)
    const sample = Math.log(expected / durationMs)
    const s = this.logSpeed.get(node)
    // The sample is relative to the centre: the prediction used the mean speed of 1.
    const target = this.centre() + sample
    this.speedObservations++
    if (s === undefined) {
      this.logSpeed.set(node, { value: target, count: 1, lastAt: this.speedObservations })
      return
    }
    // Faster at first (and after a long silence), then the steady rate, so a node's speed is learnt within a few runs.
    s.count = this.evidence(s)
    s.lastAt = this.speedObservations
    const alpha = Math.max(this.speedAlpha, 1 / (s.count + 1))
    s.value += alpha * (target - s.value)
    s.count++
  }

  private smooth(s: { value: number; count: number } | undefined, sample: number): { value: number; count: number } {
    if (s === undefined) return { value: sample, count: 1 }
    const alpha = Math.max(this.speedAlpha, 1 / (s.count + 1))
    return { value: s.value + alpha * (sample - s.value), count: s.count + 1 }
  }

  private update(stats: KeyStats, logWork: number, work: number): void {
    stats.ewmaLog = stats.histogram.count === 0 ? logWork : stats.ewmaLog + this.ewmaAlpha * (logWork - stats.ewmaLog)
    stats.histogram.observe(work)
  }

  private read(stats: KeyStats, source: EstimateSource): DurationEstimate {
    const p50 = stats.histogram.quantile(0.5)!
    const p90 = stats.histogram.quantile(0.9)!
    const drift = stats.ewmaLog - Math.log(p50)
    const shift = Math.abs(drift) > LN2 ? Math.exp(drift) : 1
    return { p50Ms: p50 * shift, p90Ms: Math.max(p90, p50) * shift, source }
  }

  private addKey(key: string, logWork: number): KeyStats {
    if (this.keys.size >= this.maxKeys) {
      const oldest = this.keys.keys().next().value
      if (oldest !== undefined) this.keys.delete(oldest)
    }
    const stats: KeyStats = { histogram: new DecayingLogHistogram(this.halfLife), ewmaLog: logWork }
    this.keys.set(key, stats)
    return stats
  }
}

/** The family of a type: the part before its last '.', ':' or '/', or the type itself. */
export function family(type: string): string {
  const i = Math.max(type.lastIndexOf('.'), type.lastIndexOf(':'), type.lastIndexOf('/'))
  return i > 0 ? type.slice(0, i) : type
}
