/**
 * A decaying histogram over log-spaced buckets, for quantiles of positive values (durations, work).
 *
 * Buckets are 2^(1/8) wide (about 9%), from MIN to MAX; values outside are clamped into the end
 * buckets. Decay is by observation count, VPA-style: each new observation weighs 2^(1/halfLife)
 * times the previous one, so an observation `halfLife` observations old counts half. Instead of
 * shrinking every bucket on each observation, the weight of new ones grows; when it gets large
 * everything is rescaled, which keeps the arithmetic finite. Invariant: `total` is the sum of the
 * bucket weights (up to rounding) and is positive once anything was observed.
 */
import { assert } from '../assert.js'

/** Buckets per doubling. */
const PER_OCTAVE = 8
/** Smallest and largest value kept apart (in the caller's unit). */
const MIN = 0.01
const MAX = 1e9
const BUCKETS = Math.ceil(Math.log2(MAX / MIN) * PER_OCTAVE) + 1
/** Rescale once the weight of a new observation passes this. */
const RESCALE_AT = 1e100

export class DecayingLogHistogram {
  private readonly weights = new Float64Array(BUCKETS)
  private weight = 1
  private total = 0
  private readonly growth: number
  /** Observations ever made (undecayed). */
  count = 0

  constructor(halfLife: number) {
    assert(halfLife > 0, 'half-life must be positive')
    this.growth = 2 ** (1 / halfLife)
  }

  observe(value: number): void {
    assert(Number.isFinite(value), 'observed value must be finite')
    const i = bucketOf(value)
    this.weights[i]! += this.weight
    this.total += this.weight
    this.count++
    this.weight *= this.growth
    if (this.weight > RESCALE_AT) {
      const k = 1 / this.weight
      for (let b = 0; b < BUCKETS; b++) this.weights[b]! *= k
      this.total *= k
      this.weight = 1
    }
  }

  /** The q-quantile (0 < q < 1), at the geometric middle of its bucket; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total <= 0) return undefined
    const target = q * this.total
    let acc = 0
    for (let b = 0; b < BUCKETS; b++) {
      const w = this.weights[b]!
      if (w === 0) continue
      if (acc + w >= target) {
        // Interpolate inside the bucket on the log scale.
        const frac = Math.min(1, Math.max(0, (target - acc) / w))
        return MIN * 2 ** ((b - 0.5 + frac) / PER_OCTAVE)
      }
      acc += w
    }
    return valueOf(BUCKETS - 1)
  }
}

function bucketOf(value: number): number {
  if (!(value > MIN)) return 0
  return Math.min(BUCKETS - 1, Math.round(Math.log2(value / MIN) * PER_OCTAVE))
}

function valueOf(bucket: number): number {
  return MIN * 2 ** (bucket / PER_OCTAVE)
}
