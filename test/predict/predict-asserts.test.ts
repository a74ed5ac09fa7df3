// Goal: the predictors refuse settings that make no sense and values they cannot learn from,
// at construction or at the call, instead of forecasting NaN later. Method: each constructor with
// one bad setting, and a histogram fed a non-finite value.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AlertEngine } from '../../src/predict/alerts.js'
import { DurationPredictor } from '../../src/predict/duration.js'
import { Ewma, HoltDamped, SelectingForecaster, TrackedForecaster } from '../../src/predict/forecast.js'
import { DecayingLogHistogram } from '../../src/predict/log-histogram.js'

test('forecasters refuse smoothing outside (0, 1], fractional horizons and an empty choice', () => {
  for (const bad of [{ alpha: 0 }, { beta: 1.5 }, { phi: 0 }]) assert.throws(() => new HoltDamped(bad), { name: 'AssertionFailure', message: /invalid Holt parameters/ })
  assert.doesNotThrow(() => new HoltDamped({ alpha: 1, beta: 0, phi: 1 }))
  assert.throws(() => new Ewma(1.1), { name: 'AssertionFailure', message: /invalid EWMA alpha/ })
  assert.throws(() => new TrackedForecaster(new Ewma(), [1, 2.5]), { name: 'AssertionFailure', message: /horizons are whole steps/ })
  assert.throws(() => new TrackedForecaster(new Ewma(), [0]), { name: 'AssertionFailure', message: /horizons are whole steps/ })
  assert.throws(() => new SelectingForecaster([], [1]), { name: 'AssertionFailure', message: /at least one model/ })
})

test('the alert engine and the duration predictor refuse settings that make no sense', () => {
  for (const bad of [{ stepMs: 0 }, { saturation: -1 }, { clearFraction: 1 }, { demand: 0 }]) {
    assert.throws(() => new AlertEngine(bad), { name: 'AssertionFailure', message: /invalid alert options/ })
  }
  for (const bad of [{ defaultMs: 0 }, { minCount: 0 }, { ewmaAlpha: 2 }]) {
    assert.throws(() => new DurationPredictor(bad), { name: 'AssertionFailure', message: /invalid duration predictor options/ })
  }
})

test('a duration histogram needs a positive half-life and finite values', () => {
  assert.throws(() => new DecayingLogHistogram(0), { name: 'AssertionFailure', message: /half-life must be positive/ })
  const h = new DecayingLogHistogram(10)
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => h.observe(bad), { name: 'AssertionFailure', message: /observed value must be finite/ })
  h.observe(5)
  assert.ok(h.quantile(0.5) !== undefined)
})
