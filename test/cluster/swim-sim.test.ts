// Goal: at scale, under message loss and latency, the SWIM core converges on a crash within a bound
// and never declares a live member dead when there is no partition; and a partition that outlasts
// the suspicion timeout heals. Method: the deterministic SWIM simulation (sim/swim/harness.ts) over
// many seeds: joins spread over 5 s, 1% loss, 1-10 ms latency, one crash of a random member.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSwimSim } from '../../sim/swim/harness.js'

const NODES = 200
const SEEDS = 20

test(`${SEEDS} seeds at N=${NODES}: crash convergence within 15 s, no false deaths`, { timeout: 300_000 }, () => {
  const convergence: number[] = []
  let formed = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSwimSim({ nodes: NODES, seed, settleMs: 0, steadyMs: 1_000, waitMs: 30_000 })
    // A member that missed a join learns it at the latest when the joiner's walk probes it (N periods); within 35 s a few pairs may remain.
    assert.ok(r.missingPairs <= NODES / 2, `seed ${seed}: ${r.missingPairs} pairs unknown after 35 s`)
    assert.notEqual(r.convergenceMs, null, `seed ${seed}: the crash never converged`)
    // Default settings at N=200: detection ~1 period, suspicion min 4·log10(200)·0.5 s = 4.6 s, then dissemination.
    assert.ok(r.convergenceMs! <= 15_000, `seed ${seed}: converged after ${r.convergenceMs} ms`)
    assert.equal(r.falseDeaths, 0, `seed ${seed}: false deaths`)
    assert.ok(r.maxProbeBytes <= 1_500, `seed ${seed}: a probe-path message of ${r.maxProbeBytes} B`)
    convergence.push(r.convergenceMs!)
    if (r.formationMs !== null) formed++
  }
  convergence.sort((a, b) => a - b)
  console.log(`formed (every pair) in ${formed}/${SEEDS} seeds; convergence ms: median ${convergence[SEEDS >> 1]!.toFixed(0)}, max ${convergence[SEEDS - 1]!.toFixed(0)}`)
})

test('a partition longer than the suspicion timeout heals', { timeout: 120_000 }, () => {
  const r = runSwimSim({ nodes: 50, seed: 11, settleMs: 0, steadyMs: 1_000, waitMs: 30_000, partitionMs: 15_000 })
  assert.ok(r.partitionDeaths > 0, 'the partition was too short to matter')
  assert.notEqual(r.healMs, null, 'never healed')
  assert.ok(r.healMs! <= 30_000, `healed after ${r.healMs} ms`)
  assert.equal(r.falseDeaths, 0)
})
