// Goal: the placement simulator, running the real scheduler core and policies, reproduces queueing
// theory before any claim rests on it (T0): power-of-two choices on 100 identical exponential
// servers at lambda 0.9 gives the supermarket fixed point T = 2.61 (within 5%), random placement
// gives M/M/1 (T = 10, within 5%), and random and round robin diverge on the heterogeneous
// Google-2019 mix at rho 0.8 while wlc stays stable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runPlacement } from '../../sim/placement/engine.js'
import { PLACEMENT_SCENARIOS } from '../../sim/placement/scenarios.js'

/** Mitzenmacher's fixed point: s_i = lambda^((d^i - 1)/(d - 1)); T = sum_{i>=1} s_i / lambda. */
function supermarket(lambda: number, d: number): number {
  let t = 0
  for (let i = 1; i < 200; i++) t += lambda ** ((d ** i - 1) / (d - 1))
  return t / lambda
}

const s1 = PLACEMENT_SCENARIOS.S1!

test('T0: supermarket fixed point for p2c (d=2, lambda=0.9, N=100)', () => {
  const expected = supermarket(0.9, 2)
  assert.ok(Math.abs(expected - 2.61) < 0.01)
  const r = runPlacement({ ...s1, jobs: 40_000, gossip: 1, knownSpeeds: true }, 'p2c', 1)
  console.log(`p2c mean time in system ${r.meanJct.toFixed(3)} (fixed point ${expected.toFixed(3)})`)
  assert.ok(Math.abs(r.meanJct / expected - 1) <= 0.05, `p2c T ${r.meanJct}`)
})

test('T0: random placement is M/M/1 (lambda=0.9: T=10)', () => {
  // Few nodes and many jobs: an M/M/1 queue at 0.9 relaxes over ~400 mean service times.
  const r = runPlacement({ ...s1, nodes: 8, jobs: 120_000, gossip: 1000, knownSpeeds: true }, 'random', 1)
  console.log(`random mean time in system ${r.meanJct.toFixed(3)} (M/M/1 10.0)`)
  assert.ok(Math.abs(r.meanJct / 10 - 1) <= 0.05, `random T ${r.meanJct}`)
})

test('T0: random and round robin are unstable on the heterogeneous mix at rho 0.8; wlc is not', () => {
  const s2 = { ...PLACEMENT_SCENARIOS.S2!, jobs: 8000 }
  const growth = (policy: string): { last: number; p99: number } => {
    const r = runPlacement(s2, policy, 1)
    return { last: r.makespan, p99: r.p99Jct }
  }
  const wlc = growth('wlc')
  for (const p of ['random', 'round-robin']) {
    const g = growth(p)
    console.log(`${p}: P99 ${g.p99.toFixed(1)}, makespan ${g.last.toFixed(0)}; wlc P99 ${wlc.p99.toFixed(1)}, makespan ${wlc.last.toFixed(0)}`)
    // Diverging: the P99 is many times wlc's, and the last jobs finish long after the arrivals stop.
    assert.ok(g.p99 > 10 * wlc.p99, `${p} P99 ${g.p99}`)
    assert.ok(g.last > 1.3 * wlc.last, `${p} makespan ${g.last}`)
  }
})
