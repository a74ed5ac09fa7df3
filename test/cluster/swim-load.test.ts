// Goal: a worker spreads a new load version when a figure placement reads changes at all, or when
// lag, CPU or memory moves past its deadband, and not for jitter inside it; what members hold stays
// within the band of the latest sample. Method: loadMoved on chosen figures, and the SWIM pump over
// a real SWIM core fed a jittering then drifting load.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SwimPump, SwimStats } from '../../src/cluster/swim-pump.js'
import { SwimCore } from '../../src/cluster/swim/core.js'
import { loadMoved, loadValues } from '../../src/cluster/swim/load.js'
import { emptyMetrics, type NodeMetrics } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

// capacity, running, queued, lag ms, cpu, memory MB
const HELD = [8, 2, 0, 20, 0.05, 80]
const moved = (i: number, v: number): boolean =>
  loadMoved(
    HELD,
    HELD.map((x, j) => (j === i ? v : x)),
  )

test('placement figures move on any change; lag, CPU and memory only past their deadbands', () => {
  assert.equal(moved(0, 9), true)
  assert.equal(moved(1, 3), true)
  assert.equal(moved(2, 1), true)
  assert.equal(moved(3, 29), false, 'lag: 9 ms is inside 10 ms')
  assert.equal(moved(3, 31), true)
  assert.equal(loadMoved([8, 2, 0, 200, 0.05, 80], [8, 2, 0, 245, 0.05, 80]), false, 'lag: 45 ms is inside 25% of 200')
  assert.equal(loadMoved([8, 2, 0, 200, 0.05, 80], [8, 2, 0, 255, 0.05, 80]), true)
  assert.equal(moved(4, 0.07), false, 'cpu: 0.02 is inside its band (0.025: figures are rounded to 0.01)')
  assert.equal(moved(4, 0.08), true)
  assert.equal(moved(5, 84), false, 'memory: 4 MB is inside its band')
  assert.equal(moved(5, 85), true)
  assert.equal(loadMoved(HELD, HELD.slice(0, 5)), true, 'another shape: always')
})

test('the pump spreads no version for jitter, one when a figure drifts past its band, and what it holds stays within the band', () => {
  const swim = new SwimCore({ self: 'a', random: new SeededRandom(1) })
  const pump = new SwimPump({ swim, founder: true, loadEveryMs: 500, stats: new SwimStats() })
  const rng = new SeededRandom(7)
  let metrics: NodeMetrics = { ...emptyMetrics(), capacity: 8 }
  const versions: number[] = []
  for (let i = 0; i < 200; i++) {
    const now = i * 500
    // Jitter for 100 s (lag 20-27 ms, cpu 0.01-0.02, memory 80-83 MB), then lag and memory drift up.
    const drift = i < 100 ? 0 : i - 100
    metrics = { ...metrics, eventLoopLagMs: 20 + rng.int(0, 7) + drift, cpu: 0.01 + rng.int(0, 1) / 100, memoryMb: 80 + rng.int(0, 3) + drift / 4 }
    pump.tick(
      now,
      () => [],
      () => metrics,
    )
    const held = swim.load('a')!
    versions.push(held.version)
    assert.equal(loadMoved(held.values, loadValues(metrics)), false, `at ${now} ms members hold ${JSON.stringify(held.values)} for ${JSON.stringify(loadValues(metrics))}`)
  }
  assert.equal(versions[99], 1, 'jitter inside the bands: the first version only')
  assert.ok(versions[199]! > 5 && versions[199]! < 40, `drift: ${versions[199]} versions`)
  metrics = { ...metrics, running: 1 }
  pump.tick(
    200 * 500,
    () => [],
    () => metrics,
  )
  assert.equal(swim.load('a')!.version, versions[199]! + 1, 'a job started: a version at once')
})
