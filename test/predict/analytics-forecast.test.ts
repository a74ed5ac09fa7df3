// Goal: the leader's forecast document (ClusterAnalytics.forecast, what dashboards draw) is sound.
// Method: an analytics fed a rising load on one node and a flat one on another, sampled once a
// second. Checked: a path every 5 s up to 60 s per node sampled, each point inside its band and
// the band never below zero load, the 10 s and 60 s points the same as /status shows, the sample
// time, the saturation load of the alerts, learnt durations by type, a cap on nodes keeps the
// highest peaks, and a node that stops being sampled leaves the forecast.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ClusterAnalytics } from '../../src/predict/analytics.js'
import type { MemberView } from '../../src/cluster/types.js'
import { emptyMetrics } from '../../src/cluster/types.js'

const member = (node: string, running: number, queued: number, count: number): MemberView => ({
  nodeId: node,
  state: 'up',
  addresses: [],
  incarnation: 1,
  voter: true,
  role: 'voter',
  phi: 0,
  lastSeenMsAgo: 0,
  metrics: { ...emptyMetrics(), capacity: 10, running, queued, durations: { resize: { count, p50Ms: 200, p90Ms: 400 } } },
})

test('the forecast has a banded path per node, agrees with /status, and drops nodes no longer sampled', () => {
  const a = new ClusterAnalytics()
  assert.deepEqual(a.forecast().nodes, [])
  assert.equal(a.forecast().at, null)
  const wall = 1_700_000_000_000
  for (let s = 1; s <= 40; s++) a.observe([member('rising', Math.min(10, s / 2), Math.max(0, s / 2 - 10), s), member('flat', 3, 0, s)], s * 1000, wall + s * 1000)
  const f = a.forecast()
  assert.equal(f.at, wall + 40_000)
  assert.deepEqual([f.horizonS, f.saturation], [60, 2])
  assert.deepEqual(f.nodes.map((n) => n.node).sort(), ['flat', 'rising'])
  const status = a.status().forecasts
  for (const n of f.nodes) {
    assert.deepEqual(
      n.points.map((p) => p.inS),
      [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60],
    )
    for (const p of n.points) assert.ok(p.low >= 0 && p.low <= p.load && p.load <= p.high, `${n.node} at ${p.inS} s: ${JSON.stringify(p)}`)
    assert.equal(n.points[1]!.load, Math.max(0, status[n.node]!.in10s))
    assert.equal(n.points[11]!.load, Math.max(0, status[n.node]!.in60s))
    assert.equal(n.capacity, 10)
  }
  const rising = f.nodes.find((n) => n.node === 'rising')!
  assert.equal(rising.load, 2)
  assert.ok(rising.points[11]!.load > rising.points[0]!.load, `a rising load is forecast to keep rising: ${rising.points.map((p) => p.load.toFixed(2)).join(' ')}`)
  const flat = f.nodes.find((n) => n.node === 'flat')!
  assert.ok(Math.abs(flat.points[11]!.load - 0.3) < 0.01, `a flat load stays flat: ${flat.points[11]!.load}`)
  assert.deepEqual(
    f.durations.map((d) => d.type),
    ['resize'],
  )
  assert.ok(f.durations[0]!.p50Ms > 150 && f.durations[0]!.p50Ms < 260 && f.durations[0]!.p90Ms > f.durations[0]!.p50Ms, JSON.stringify(f.durations))
  assert.deepEqual(
    a.forecast(1).nodes.map((n) => n.node),
    ['rising'],
    'a capped forecast keeps the highest peaks',
  )
  a.observe([member('flat', 3, 0, 41)], 41_000, wall + 41_000)
  assert.deepEqual(
    a.forecast().nodes.map((n) => n.node),
    ['flat'],
  )
})
