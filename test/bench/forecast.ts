/**
 * The leader's load forecasting, per member and step (one step a second): the forecaster it runs
 * for each member (src/predict/forecast.ts `loadForecaster`, tracked at the analytics' 12 horizons)
 * pushed one sample, against the same file at a baseline commit (BASELINE_REF, default HEAD~1,
 * copied next to this checkout's sources so it runs the same imports), rounds alternating A B A B;
 * then the whole ClusterAnalytics.observe at 50 and 1,000 members. Both forecasters are fed the same
 * series and must agree on every forecast, band and MASE, or the bench fails. Options
 * (environment): BASELINE_REF, NODES (200), STEPS (300), ROUNDS (4).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as current from '../../src/predict/forecast.js'
import { ClusterAnalytics } from '../../src/predict/analytics.js'
import type { MemberView } from '../../src/cluster/types.js'

const REF = process.env['BASELINE_REF'] ?? 'HEAD~1'
const NODES = Number(process.env['NODES'] ?? 200)
const STEPS = Number(process.env['STEPS'] ?? 300)
const ROUNDS = Number(process.env['ROUNDS'] ?? 4)
const PATH = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const copy = join(root, 'test', 'artifacts', 'bench-forecast-baseline.ts')
mkdirSync(dirname(copy), { recursive: true })
const source = execFileSync('git', ['show', `${REF}:src/predict/forecast.ts`], { cwd: root, encoding: 'utf8' })
writeFileSync(copy, source.replaceAll("'../assert.js'", "'../../src/assert.js'"))
const baseline = (await import(copy)) as typeof current

type Module = typeof current
const series = (s: number, i: number): number => (s % 53 === 7 ? NaN : ((s * 7 + i * 3) % 11) / 4)

function usPerNodeStep(m: Module): number {
  const fs = Array.from({ length: NODES }, () => new m.TrackedForecaster(m.loadForecaster(PATH), PATH))
  const t0 = performance.now()
  for (let s = 0; s < STEPS; s++) for (let i = 0; i < NODES; i++) fs[i]!.push(series(s, i))
  return ((performance.now() - t0) * 1000) / (NODES * STEPS)
}

function agree(): void {
  const a = new baseline.TrackedForecaster(baseline.loadForecaster(PATH), PATH)
  const b = new current.TrackedForecaster(current.loadForecaster(PATH), PATH)
  for (let s = 0; s < 500; s++) {
    a.push(series(s, 1))
    b.push(series(s, 1))
    for (const h of PATH) {
      const x = JSON.stringify([a.forecast(h), a.band(h), a.mase(h), a.scored(h)])
      const y = JSON.stringify([b.forecast(h), b.band(h), b.mase(h), b.scored(h)])
      if (x !== y) throw new Error(`the forecasters disagree at step ${s}, horizon ${h}: ${x} against ${y}`)
    }
  }
}

function observeUs(members: number): number {
  const analytics = new ClusterAnalytics()
  const views = Array.from({ length: members }, (_, i) => ({
    nodeId: `n${i}`,
    state: 'up',
    metrics: { capacity: 4, running: 0, queued: 0, eventLoopLagMs: 1, cpu: 0.01, memoryMb: 80, types: [], durations: {} },
  }))
  const t0 = performance.now()
  for (let s = 0; s < STEPS; s++) {
    for (const [i, v] of views.entries()) v.metrics.running = (s + i) % 4
    analytics.observe(views as unknown as MemberView[], s * 1000, 1_000_000 + s * 1000)
  }
  return ((performance.now() - t0) * 1000) / (members * STEPS)
}

agree()
const rounds: Array<{ baseline: number; current: number }> = []
for (let r = 0; r < ROUNDS; r++) rounds.push({ baseline: usPerNodeStep(baseline), current: usPerNodeStep(current) })
const ratios = rounds.map((r) => r.current / r.baseline).sort((x, y) => x - y)
const median = (ratios[(ratios.length - 1) >> 1]! + ratios[ratios.length >> 1]!) / 2
const round2 = (x: number): number => Math.round(x * 100) / 100
for (const r of rounds) console.log(`forecaster per member-step: ${REF} ${round2(r.baseline)} µs, this checkout ${round2(r.current)} µs`)
const observe = { 50: round2(observeUs(50)), 1000: round2(observeUs(1000)) }
console.log(`ClusterAnalytics.observe per member-step: ${observe[50]} µs at 50 members, ${observe[1000]} µs at 1,000`)
console.log(
  JSON.stringify({
    bench: 'forecast',
    baseline: REF,
    forecaster_us_per_member_step: { baseline: rounds.map((r) => round2(r.baseline)), current: rounds.map((r) => round2(r.current)) },
    ratio_median: round2(median),
    observe_us_per_member_step: observe,
  }),
)
