// Goal: alerts fire before a node saturates when its offered load ramps, not on noise alone, and
// resolve with hysteresis or once their prediction failed; confirmation counts 3 of the last 8
// samples; queue instability, cluster demand and deadline risk fire and resolve;
// on the ramp study the alerts meet recall >= 0.8, a median lead >= 10 s and at most 1 false alert
// per node-hour (an alert the node's load does not follow to saturation within two horizons).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AlertEngine, type NodeSample } from '../../src/predict/alerts.js'
import { ClusterAnalytics } from '../../src/predict/analytics.js'
import { runRampStudy } from '../../sim/placement/ramps.js'
import type { MemberView } from '../../src/cluster/types.js'
import { emptyMetrics } from '../../src/cluster/types.js'

const sample = (node: string, load: number, offered: number): NodeSample => ({
  node,
  capacity: 10,
  running: Math.min(10, load * 10),
  queued: Math.max(0, load * 10 - 10),
  offered,
  meanDurationS: 1,
})

test('node-saturation fires ahead of a ramp, with a predicted time and a sentence, then resolves', () => {
  const e = new AlertEngine({ horizonMs: 60_000, stepMs: 1000 })
  const fired: number[] = []
  let resolved = -1
  let load = 0.5
  for (let t = 0; t < 400; t++) {
    const offered = t < 100 ? 0.5 : t < 200 ? 0.5 + (t - 100) * 0.01 : 0.3
    load = Math.max(0, load + offered - Math.min(load, 1))
    for (const tr of e.sample(t * 1000, [sample('a', load, offered)])) {
      if (tr.alert.name !== 'node-saturation') continue
      if (tr.kind === 'fired') {
        fired.push(t)
        assert.match(tr.alert.message, /node a (is predicted to saturate in \d+ s|is saturated)/)
      } else resolved = t
    }
    if (load >= 2 && fired.length > 0) assert.ok(fired[0]! < t, 'fired before saturating')
  }
  assert.ok(fired.length >= 1)
  assert.ok(resolved > fired[0]!)
  assert.equal(e.alerts().length, 0)
})

test('node-saturation warns a node the cluster overflow is about to reach, while its own offered load is still low', () => {
  // Two fast nodes (10 slots, 1 s jobs) and a slow one (10 slots, 2 s jobs) that the placement
  // uses only once both fast ones hold twice their capacity (the leader's overcommit limit), as
  // jobs arrive on a slow ramp. The slow node's own offered load is nothing until the overflow
  // lands on it as a step; the cluster's offered load shows it coming.
  const e = new AlertEngine()
  const nodes = [
    { node: 'a', durationS: 1, held: 0, work: 0 },
    { node: 'b', durationS: 1, held: 0, work: 0 },
    { node: 's', durationS: 2, held: 0, work: 0 },
  ]
  let backlog = 0
  let fired: number | undefined
  let saturated: number | undefined
  for (let t = 0; t < 600 && saturated === undefined; t++) {
    backlog += t < 60 ? 14 : 14 + 0.2 * (t - 60)
    for (const n of nodes) n.held -= Math.min(n.held, 10) / n.durationS
    for (; backlog >= 1; backlog--) {
      const fast = nodes.filter((n) => n.durationS === 1 && n.held < 20).sort((x, y) => x.held - y.held)[0]
      const to = fast ?? (nodes[2]!.held < 20 ? nodes[2] : undefined)
      if (to === undefined) break
      to.held++
      to.work += to.durationS
    }
    const samples = nodes.map((n) => ({
      node: n.node,
      capacity: 10,
      running: Math.min(n.held, 10),
      queued: Math.max(0, n.held - 10),
      offered: n.work / 10,
      meanDurationS: n.durationS,
      speed: 1 / n.durationS,
    }))
    for (const n of nodes) n.work = 0
    for (const tr of e.sample(t * 1000, samples)) if (tr.kind === 'fired' && tr.alert.name === 'node-saturation' && tr.alert.node === 's') fired ??= t
    if (nodes[2]!.held >= 19) saturated = t
  }
  assert.ok(saturated !== undefined, 'the ramp saturates the slow node')
  assert.ok(fired !== undefined && fired <= saturated - 15, `fired at ${fired} s, saturated at ${saturated} s`)
})

test('steady load below capacity never fires', () => {
  const e = new AlertEngine()
  for (let t = 0; t < 600; t++)
    assert.deepEqual(
      e.sample(t * 1000, [sample('a', 0.6, 0.6 + 0.05 * Math.sin(t))]).filter((x) => x.alert.name === 'node-saturation'),
      [],
    )
})

test('a condition that flickers fires once it holds on 3 of the last 8 samples; a lone sample never does', () => {
  // A one-step horizon, so queue-instability holds exactly on the samples offered past 0.9.
  const run = (above: (t: number) => boolean): number | undefined => {
    const e = new AlertEngine({ horizonMs: 1000, warmup: 3 })
    for (let t = 0; t < 40; t++)
      for (const tr of e.sample(t * 1000, [sample('a', 0.5, above(t) ? 0.95 : 0.5)])) if (tr.kind === 'fired' && tr.alert.name === 'queue-instability') return t
    return undefined
  }
  assert.equal(
    run((t) => t === 10),
    undefined,
  )
  assert.equal(
    run((t) => t === 10 || t === 25),
    undefined,
  )
  // Every other sample from t = 10: never three in a row, but the third such sample fires.
  assert.equal(
    run((t) => t >= 10 && t % 2 === 0),
    14,
  )
})

test('a saturation alert whose horizon passes without the node saturating resolves, though the load stays high', () => {
  const e = new AlertEngine()
  let load = 0.5
  let offered = 0.5
  let fired: number | undefined
  let resolved: number | undefined
  for (let t = 0; t < 400 && resolved === undefined; t++) {
    if (fired === undefined) offered = t < 100 ? 0.5 : 0.5 + (t - 100) * 0.01
    load = Math.max(0, load + offered - Math.min(load, 1))
    for (const tr of e.sample(t * 1000, [sample('a', load, offered)])) {
      if (tr.alert.name !== 'node-saturation') continue
      if (tr.kind === 'fired') {
        fired = t
        // The ramp stops short: offered exactly its capacity, the node holds 1.5 jobs per slot.
        load = 1.5
        offered = 1
      } else resolved = t
    }
    assert.ok(load < 2)
  }
  assert.ok(fired !== undefined, 'fired on the ramp')
  // 1.5 jobs per slot is above the calm level (0.6 x 2), so only the failed prediction resolves it.
  assert.equal(resolved, fired + 60)
})

test('queue instability, cluster demand and deadline risk', () => {
  const e = new AlertEngine({ confirm: 2, warmup: 3, clearConfirm: 2 })
  const names = new Set<string>()
  for (let t = 0; t < 10; t++)
    for (const tr of e.sample(t * 1000, [sample('a', 0.9, 0.95), sample('b', 0.9, 0.95)])) names.add(`${tr.kind}:${tr.alert.name}:${tr.alert.node ?? ''}`)
  assert.ok(names.has('fired:queue-instability:a'))
  assert.ok(names.has('fired:cluster-demand:'))
  const risk = e.deadlineRisk(0, 'job-1', 'a', 10_000, 5_000)
  assert.equal(risk[0]?.alert.name, 'deadline-risk')
  assert.deepEqual(e.deadlineRisk(0, 'job-1', 'a', 10_000, 5_000), [])
  assert.deepEqual(e.deadlineRisk(0, 'job-2', 'a', 1_000, 5_000), [])
  const later = e.sample(6_000 + 10_000, [sample('a', 0.1, 0.1)])
  assert.ok(later.some((t) => t.kind === 'resolved' && t.alert.name === 'deadline-risk'))
  // Node b left: its alerts resolve.
  assert.ok(later.some((t) => t.kind === 'resolved' && t.alert.node === 'b'))
})

for (const seeds of [
  [1, 2, 3],
  [7, 8, 9],
])
  test(`ramp study (seeds ${seeds.join(', ')}): recall >= 0.8, median lead >= 10 s, at most 1 false alert per node-hour`, () => {
    // Seeds 1-3 are the bench's; on 7-9 recall fell to 0.77 while alerts had to hold 3 samples in a row.
    let saturations = 0
    let announced = 0
    let falseAlerts = 0
    let nodeHours = 0
    const leads: number[] = []
    for (const seed of seeds) {
      const r = runRampStudy(seed, { nodes: 8, hours: 2 })
      saturations += r.saturations
      announced += r.announced
      falseAlerts += r.falseAlerts
      nodeHours += r.nodeHours
      leads.push(...r.leadsS)
    }
    leads.sort((a, b) => a - b)
    const lead = leads[Math.floor(leads.length / 2)]!
    console.log(
      `ramps ${seeds.join(',')}: ${saturations} saturations, recall ${(announced / saturations).toFixed(2)}, median lead ${lead} s, ${(falseAlerts / nodeHours).toFixed(2)} false alerts per node-hour`,
    )
    assert.ok(announced / saturations >= 0.8, `recall ${announced / saturations}`)
    assert.ok(lead >= 10, `lead ${lead}`)
    assert.ok(falseAlerts / nodeHours <= 1, `false alerts per node-hour ${falseAlerts / nodeHours}`)
  })

test('analytics merges gossiped duration summaries and learns a slow node', () => {
  const a = new ClusterAnalytics()
  const member = (node: string, count: number, p50Ms: number): MemberView => ({
    nodeId: node,
    state: 'up',
    addresses: [],
    incarnation: 1,
    voter: true,
    role: 'voter',
    phi: 0,
    lastSeenMsAgo: 0,
    metrics: { ...emptyMetrics(), capacity: 2, durations: { work: { count, p50Ms, p90Ms: p50Ms * 1.5 } } },
  })
  for (let round = 1; round <= 30; round++) a.observe([member('fast', round * 4, 100), member('slow', round * 4, 200)], round * 1000, round * 1000)
  const ratio = a.speed('fast') / a.speed('slow')
  assert.ok(ratio > 1.7 && ratio < 2.3, `speed ratio ${ratio}`)
  assert.ok(a.predict('work', 'slow', null).p50Ms > a.predict('work', 'fast', null).p50Ms * 1.7)
  assert.ok(a.status().forecasts.fast !== undefined)
})

test("analytics reads a node's duration under load by Little's law: jobs that stretch as more run at once make it unstable", () => {
  // Both nodes gossip the same P50 of 100 ms and are offered 60 jobs/s on 10 slots (predicted 60%
  // of capacity); `stretched` finishes its 60 a second with all 10 slots busy (by Little's law
  // 167 ms each: 100% of capacity), `steady` with 6 busy (100 ms each, as predicted).
  const fires = (running: number): boolean => {
    const a = new ClusterAnalytics()
    const fired: string[] = []
    a.onAlert((t) => fired.push(`${t.kind}:${t.alert.name}`))
    for (let s = 1; s <= 60; s++) {
      // From the second sample on, when the leader has learnt the type from the first gossip.
      for (let j = 0; j < (s > 1 ? 60 : 0); j++) a.assigned('n', 'work', null)
      const metrics = { ...emptyMetrics(), capacity: 10, running, durations: { work: { count: s * 60, p50Ms: 100, p90Ms: 150 } } }
      a.observe([{ nodeId: 'n', state: 'up', addresses: [], incarnation: 1, voter: true, role: 'voter', phi: 0, lastSeenMsAgo: 0, metrics }], s * 1000, s * 1000)
    }
    return fired.includes('fired:queue-instability')
  }
  assert.equal(fires(6), false)
  assert.equal(fires(10), true)
})
