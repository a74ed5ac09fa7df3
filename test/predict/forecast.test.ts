// Goal: Holt with damped trend beats the naive forecast (MASE < 1) at 10 s and 60 s horizons on a
// load series with a daily-like cycle, ramps and noise, sampled once a second, and the MASE it
// tracks online agrees with an offline computation; the EWMA baseline is reported beside it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Ewma, HoltDamped, loadForecaster, TrackedForecaster } from '../../src/predict/forecast.js'
import { runRampStudy } from '../../sim/placement/ramps.js'
import { SeededRandom } from '../../src/env/prng.js'
import { normal } from '../../sim/placement/workload.js'

/** Utilisation-like: 0.5 +- 40% sinusoid (period 20 min), occasional 60-s ramps, AR(1) noise. */
function series(seed: number, n: number): number[] {
  const random = new SeededRandom(seed)
  const out: number[] = []
  let ar = 0
  let ramp = 0
  for (let t = 0; t < n; t++) {
    ar = 0.5 * ar + normal(random) * 0.05
    if (ramp === 0 && random.next() < 1 / 600) ramp = 60
    const rampPart = ramp > 0 ? (60 - ramp--) * 0.005 : 0
    out.push(0.5 * (1 + 0.4 * Math.sin((2 * Math.PI * t) / 1200)) + rampPart + ar)
  }
  return out
}

test('MASE < 1 at 10 s and 60 s for Holt damped; EWMA baseline reported', () => {
  for (const seed of [1, 2, 3]) {
    const xs = series(seed, 7200)
    const holt = new TrackedForecaster(new HoltDamped(), [10, 60])
    const ewma = new TrackedForecaster(new Ewma(), [10, 60])
    for (const x of xs) {
      holt.push(x)
      ewma.push(x)
    }
    const h10 = holt.mase(10)!
    const h60 = holt.mase(60)!
    console.log(`seed ${seed}: Holt MASE 10s ${h10.toFixed(3)} 60s ${h60.toFixed(3)}; EWMA 10s ${ewma.mase(10)!.toFixed(3)} 60s ${ewma.mase(60)!.toFixed(3)}`)
    assert.ok(h10 < 1, `MASE 10 s ${h10}`)
    assert.ok(h60 < 1, `MASE 60 s ${h60}`)
    assert.equal(holt.scored(10), xs.length - 10)
  }
})

test('online MASE equals the offline computation', () => {
  const xs = series(7, 500)
  const tracked = new TrackedForecaster(new HoltDamped(), [5])
  const offline = new HoltDamped()
  const forecasts: number[] = []
  for (const x of xs) {
    tracked.push(x)
    offline.push(x)
    forecasts.push(offline.forecast(5))
  }
  let model = 0
  let naive = 0
  for (let t = 0; t + 5 < xs.length; t++) {
    model += Math.abs(xs[t + 5]! - forecasts[t]!)
    naive += Math.abs(xs[t + 5]! - xs[t]!)
  }
  assert.ok(Math.abs(tracked.mase(5)! - model / naive) < 1e-9)
})

test('a linear ramp is followed, with the trend damped over long horizons', () => {
  const holt = new HoltDamped({ alpha: 0.5, beta: 0.3, phi: 0.9 })
  for (let t = 0; t < 100; t++) holt.push(t)
  // Damping makes the steady trend beta / (1 - (1 - beta) phi) = 0.81 of the true slope.
  assert.ok(Math.abs(holt.forecast(1) - 100) < 1)
  assert.ok(Math.abs(holt.slope - 0.3 / (1 - 0.7 * 0.9)) < 0.01)
  // Damped: never more than phi/(1-phi) = 9 steps of trend.
  assert.ok(holt.forecast(1000) < 99 + 9.5)
  assert.ok(holt.band(10) >= holt.band(1))
})

test('non-finite samples are ignored', () => {
  const holt = new HoltDamped()
  holt.push(1)
  holt.push(Number.NaN)
  assert.equal(holt.samples, 1)
  assert.equal(holt.forecast(3), 1)
})

test("the leader's load forecaster (selection by MASE) beats naive on the cycle series and on ramping queues", () => {
  const ramps = runRampStudy(1, { nodes: 1, hours: 2 }).timeline.load
  for (const [name, xs] of [
    ['cycle', series(1, 7200)],
    ['ramps', ramps],
  ] as const) {
    const f = new TrackedForecaster(loadForecaster([10, 60]), [10, 60])
    const holt = new TrackedForecaster(new HoltDamped(), [10, 60])
    for (const x of xs) {
      f.push(x)
      holt.push(x)
    }
    console.log(`${name}: selected MASE 10s ${f.mase(10)!.toFixed(3)} 60s ${f.mase(60)!.toFixed(3)} (Holt alone ${holt.mase(10)!.toFixed(3)} / ${holt.mase(60)!.toFixed(3)})`)
    assert.ok(f.mase(10)! < 1 && f.mase(60)! < 1)
  }
})
