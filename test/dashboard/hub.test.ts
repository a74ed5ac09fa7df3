// Goal: the dashboard hub's figures are right. Method: a manual environment, a status document and
// a job list under the test's control. Checked: leader changes become the epoch history (and events
// to watchers); the leader is asked only while someone watches; throughput counts exactly the jobs
// finished since the previous sample; latency percentiles; a failed ask leaves a gap, never a
// wrong figure; the alerts a peer can tell from its view, plus the leader's that its /status carries
// (under analytics.alerts), once even when its forecast has them too; the leader's
// forecast reaches the summary for known members only, relative to the summary's time, with its
// saturation crossing and predicted alerts, and only the newest summary of the history keeps it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  alertsOf,
  DashboardHub,
  IDLE_TICK_MS,
  TICK_MS,
  FORECAST_MAX_PEERS,
  forecastSummary,
  percentiles,
  predictedAlerts,
  type HubEvent,
  type MemberSample,
} from '../../src/dashboard/hub.js'
import { ManualEnvironment } from '../../src/env/manual.js'
import type { JobInfo } from '../../src/jobs/types.js'
import type { StatusDocument } from '../../src/node/http-api.js'
import type { LoadForecast, NodeLoadForecast } from '../../src/predict/analytics.js'
import type { Alert } from '../../src/predict/alerts.js'

const member = (nodeId: string, state = 'up', extra: Record<string, unknown> = {}): StatusDocument['members'][number] => ({
  nodeId,
  state,
  voter: true,
  role: 'voter',
  running: 1,
  queued: 2,
  capacity: 16,
  eventLoopLagMs: 3,
  cpu: 0.1,
  memoryMb: 100,
  ...extra,
})

function job(id: string, status: JobInfo['status'], submittedAt: number, finishedAt: number | null): JobInfo {
  return { id, type: 't', status, attempts: 1, assignedTo: 'a', progress: null, outcome: null, submittedAt, finishedAt }
}

function setup() {
  const env = new ManualEnvironment({ wallStartMs: 1_000_000 })
  let status: StatusDocument = { nodeId: 'a', clusterId: 'c', addresses: [], leader: { nodeId: 'a', epoch: 1 }, leading: true, members: [member('a'), member('b')] }
  let jobs: JobInfo[] = []
  let failing = false
  let forecast: LoadForecast | null = null
  let forecastFails = false
  const asks: string[] = []
  const hub = new DashboardHub({
    status: () => status,
    clock: env.clock,
    timers: env.timers,
    forecasts: {
      forecast: async () => {
        asks.push('forecast')
        if (forecastFails) throw new Error('the leader is gone')
        return forecast
      },
    },
    jobs: {
      list: async (filter) => {
        asks.push(filter.status ?? 'any')
        if (failing) throw new Error('no leader')
        return { jobs: jobs.filter((j) => filter.status === undefined || j.status === filter.status).slice(0, filter.limit) }
      },
    },
  })
  return {
    env,
    hub,
    asks,
    setStatus: (s: Partial<StatusDocument>) => (status = { ...status, ...s }),
    setJobs: (j: JobInfo[]) => (jobs = j),
    fail: (f: boolean) => (failing = f),
    setForecast: (f: LoadForecast | null) => (forecast = f),
    failForecast: (f: boolean) => (forecastFails = f),
    now: () => env.clock.wallMs(),
  }
}

test('leader changes make the epoch history; the leader is asked only while a page watches', async () => {
  const t = setup()
  await t.hub.tick()
  assert.deepEqual(t.asks, [])
  t.setStatus({ leader: null })
  await t.env.advance(1000)
  await t.hub.tick()
  const events: HubEvent[] = []
  const { snapshot, unwatch } = t.hub.watch((e) => events.push(e))
  assert.deepEqual(
    snapshot.epochs.map((e) => [e.epoch, e.nodeId]),
    [[1, 'a']],
  )
  assert.equal(snapshot.history.length, 2)
  assert.deepEqual(
    snapshot.history[1]!.alerts.map((a) => a.name),
    ['NoLeader'],
  )
  t.setStatus({ leader: { nodeId: 'b', epoch: 2 }, leading: false })
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual(
    events.map((e) => e.kind),
    ['epoch', 'summary'],
  )
  const first = events[0]!
  assert.deepEqual(first.kind === 'epoch' ? [first.change.epoch, first.change.nodeId, first.change.at] : [], [2, 'b', t.now()])
  assert.deepEqual(t.asks.sort(), ['any', 'completed', 'failed', 'forecast'])
  unwatch()
  await t.hub.tick()
  assert.equal(t.asks.length, 4)
})

test('throughput counts the jobs finished since the previous sample; latency is submit to finish', async () => {
  const t = setup()
  const summaries: Array<Extract<HubEvent, { kind: 'summary' }>['summary']> = []
  t.hub.watch((e) => (e.kind === 'summary' ? summaries.push(e.summary) : undefined))
  const t0 = t.now()
  t.setJobs([job('old', 'completed', t0 - 5000, t0 - 10)])
  await t.hub.tick()
  assert.equal(summaries[0]!.throughput, null, 'the first sample is the baseline')
  await t.env.advance(2000)
  const t1 = t.now()
  const done = Array.from({ length: 10 }, (_, i) => job(`c${i}`, 'completed', t1 - 1500, t1 - 1500 + (i + 1) * 100))
  t.setJobs([job('q', 'queued', t1, null), ...done, job('f', 'failed', t1 - 1000, t1 - 500), job('old', 'completed', t0 - 5000, t0 - 10)])
  await t.hub.tick()
  const s = summaries[1]!
  assert.deepEqual(s.throughput, { completed: 5, failed: 0.5, capped: false })
  // Latencies 100..1000 ms and 500 ms: P50 is the 6th of 11, P99 the largest.
  assert.deepEqual(s.latency, { p50Ms: 500, p99Ms: 1000, count: 11 })
  assert.deepEqual(s.queue, { queued: 4, running: 2, capacity: 32 })
  assert.equal(s.recent!.length, 13)
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual(summaries[2]!.throughput, { completed: 0, failed: 0, capped: false }, 'jobs are counted once')
})

test('a failed ask leaves a gap and the next sample starts a new baseline', async () => {
  const t = setup()
  const summaries: Array<Extract<HubEvent, { kind: 'summary' }>['summary']> = []
  t.hub.watch((e) => (e.kind === 'summary' ? summaries.push(e.summary) : undefined))
  await t.hub.tick()
  t.fail(true)
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual([summaries[1]!.throughput, summaries[1]!.recent], [null, null])
  assert.equal(summaries[1]!.members.length, 2, 'the view part still comes')
  t.fail(false)
  t.setJobs([job('x', 'completed', t.now() - 100, t.now())])
  await t.env.advance(1000)
  await t.hub.tick()
  assert.equal(summaries[2]!.throughput, null)
})

/** An alert of the leader's analytics, as /status carries it under `analytics.alerts`. */
function leaderAlert(name: Alert['name'], node: string | null, predictedAt: number | null, message: string): Alert {
  return { key: `${name}:${node ?? ''}`, name, severity: 'warning', node, predictedAt, firedAt: 0, message }
}

function analyticsOf(alerts: Alert[]): NonNullable<StatusDocument['analytics']> {
  return { alerts, speeds: {}, mase: { '10s': null, '60s': null }, forecasts: {} }
}

test("alerts come from the view and from the leader's analytics in /status", () => {
  const status: StatusDocument = {
    nodeId: 'a',
    clusterId: 'c',
    addresses: [],
    leader: null,
    leading: false,
    warning: 'no other member heard for 10 s',
    members: [member('a', 'up', { eventLoopLagMs: 450 }), member('b', 'down'), member('c', 'suspect')],
    analytics: analyticsOf([leaderAlert('cluster-demand', null, 70_000, 'demand at 90% in 60 s'), leaderAlert('node-saturation', 'a', null, 'node a is saturated')]),
  }
  const members = status.members.map((m) => ({
    nodeId: m.nodeId,
    role: 'voter',
    state: m.state,
    voter: true,
    leader: false,
    running: 0,
    queued: 0,
    capacity: 1,
    cpu: 0,
    lagMs: Number(m.eventLoopLagMs),
    memoryMb: 1,
  }))
  // The leader's alerts: the one that holds now first, then the predicted one, in seconds from now.
  assert.deepEqual(
    alertsOf(status, members, 10_000).map((a) => [a.name, a.severity, a.predictedInS]),
    [
      ['NoLeader', 'critical', undefined],
      ['Isolated', 'warning', undefined],
      ['EventLoopLag', 'warning', undefined],
      ['MemberDown', 'warning', undefined],
      ['MemberSuspect', 'warning', undefined],
      ['node-saturation', 'warning', null],
      ['cluster-demand', 'warning', 60],
    ],
  )
})

test('on the leader its alerts are in every summary, watched or not, and listed once with the forecast', async () => {
  const t = setup()
  t.setStatus({ analytics: analyticsOf([leaderAlert('node-saturation', 'b', t.now() + 12_400, 'node b is predicted to saturate in 12 s')]) })
  await t.hub.tick()
  const summaries: Array<Extract<HubEvent, { kind: 'summary' }>['summary']> = []
  const { snapshot } = t.hub.watch((e) => (e.kind === 'summary' ? summaries.push(e.summary) : undefined))
  assert.deepEqual(
    snapshot.history[0]!.alerts.map((a) => [a.name, a.predictedInS]),
    [['node-saturation', 12]],
    'a page that opens later sees the alert in the history',
  )
  t.setForecast(leaderForecast(t.now(), []))
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual(
    summaries[0]!.alerts.map((a) => [a.name, a.predictedInS]),
    [
      ['node-saturation', 12],
      ['cluster-demand', 40],
    ],
  )
  t.failForecast(true)
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual(
    summaries[1]!.alerts.map((a) => [a.name, a.predictedInS]),
    [['node-saturation', 10]],
    'a failed forecast ask keeps the alerts of this leader',
  )
})

test('percentiles are nearest-rank', () => {
  assert.equal(percentiles([]), null)
  assert.deepEqual(percentiles([5]), { p50Ms: 5, p99Ms: 5, count: 1 })
  assert.deepEqual(percentiles(Array.from({ length: 100 }, (_, i) => 100 - i)), { p50Ms: 50, p99Ms: 99, count: 100 })
})

/** A forecast path rising by `slope` jobs per slot every 5 s for a minute, with a band of +-0.1 per point. */
function path(node: string, load: number, slope: number): NodeLoadForecast {
  return {
    node,
    load,
    capacity: 4,
    points: Array.from({ length: 12 }, (_, i) => ({
      inS: (i + 1) * 5,
      load: load + slope * (i + 1),
      low: load + slope * (i + 1) - 0.1 * (i + 1),
      high: load + slope * (i + 1) + 0.1 * (i + 1),
    })),
  }
}

function leaderForecast(at: number, nodes: NodeLoadForecast[]): LoadForecast {
  return {
    at,
    horizonS: 60,
    saturation: 2,
    nodes,
    alerts: [
      {
        key: 'cluster-demand:',
        name: 'cluster-demand',
        severity: 'warning',
        node: null,
        predictedAt: at + 40_000,
        firedAt: at - 3000,
        message: 'cluster demand is forecast at 90% of capacity in 40 s',
      },
      {
        key: 'node-saturation:b',
        name: 'node-saturation',
        severity: 'warning',
        node: 'b',
        predictedAt: at + 12_400,
        firedAt: at - 1000,
        message: 'node b is predicted to saturate in 12 s',
      },
    ],
    durations: [{ type: 'resize', p50Ms: 120, p90Ms: 300, count: 40 }],
    mase: { '10s': 0.8, '60s': null },
  }
}

const sample = (nodeId: string): MemberSample => ({
  nodeId,
  role: 'voter',
  state: 'up',
  voter: true,
  leader: false,
  running: 1,
  queued: 0,
  capacity: 4,
  cpu: 0,
  lagMs: 0,
  memoryMb: 1,
})

test('the forecast summary keeps known members, highest peak first, with when each saturates', () => {
  const f = forecastSummary(leaderForecast(5000, [path('a', 0.5, 0), path('b', 1, 0.1), path('stranger', 3, 0), path('c', 2.5, -0.1), path('d', 1, 0.1)]), [
    sample('a'),
    sample('b'),
    sample('c'),
    sample('d'),
  ])
  // c is saturated now; d's path reaches 2 jobs per slot in 50 s; b's too, but its node-saturation
  // alert (which projects the offered work) says 12 s, sooner.
  assert.deepEqual(
    f.peers.map((p) => [p.nodeId, p.saturatesInS, Math.round(p.peak * 100) / 100]),
    [
      ['c', 0, 2.5],
      ['b', 12, 2.2],
      ['d', 50, 2.2],
      ['a', null, 0.5],
    ],
  )
  const a = f.peers.find((p) => p.nodeId === 'a')!
  assert.deepEqual(a.points[0], { inS: 5, load: 0.5, low: 0.4, high: 0.6 })
  // A band whose lower edge would go below zero load is cut at zero; loads are kept to 1/1000.
  assert.deepEqual(a.points.at(-1), { inS: 60, load: 0.5, low: 0, high: 1.7 })
  assert.deepEqual([f.horizonS, f.saturation, f.durations, f.mase], [60, 2, [{ type: 'resize', p50Ms: 120, p90Ms: 300, count: 40 }], { '10s': 0.8, '60s': null }])
  const many = forecastSummary(
    leaderForecast(
      0,
      Array.from({ length: 50 }, (_, i) => path(`n${i}`, i / 10, 0)),
    ),
    Array.from({ length: 50 }, (_, i) => sample(`n${i}`)),
  )
  assert.equal(many.peers.length, FORECAST_MAX_PEERS)
  assert.equal(many.peers[0]!.nodeId, 'n49')
})

test('a forecast point outside the horizon or not a number is dropped', () => {
  const broken = path('a', 1, 0)
  const f = forecastSummary(
    leaderForecast(0, [
      { ...broken, points: [...broken.points, { inS: 65, load: 1, low: 1, high: 1 }, { inS: 0, load: 1, low: 1, high: 1 }, { inS: 30, load: Number.NaN, low: 0, high: 1 }] },
    ]),
    [sample('a')],
  )
  assert.equal(f.peers[0]!.points.length, 12)
})

test("the leader's alerts become predicted alerts, soonest first, in seconds from its sample", () => {
  assert.deepEqual(
    predictedAlerts(leaderForecast(5000, [])).map((a) => [a.name, a.predictedInS]),
    [
      ['node-saturation', 12],
      ['cluster-demand', 40],
    ],
  )
})

test('summaries carry the forecast and its alerts; a failed ask leaves a gap; the history keeps only the newest forecast', async () => {
  const t = setup()
  const summaries: Array<Extract<HubEvent, { kind: 'summary' }>['summary']> = []
  t.hub.watch((e) => (e.kind === 'summary' ? summaries.push(e.summary) : undefined))
  await t.hub.tick()
  assert.equal(summaries[0]!.forecast, null, 'no forecast before the leader has one')
  t.setForecast(leaderForecast(t.now(), [path('a', 0.5, 0.05), path('b', 1.5, 0.1)]))
  await t.env.advance(1000)
  await t.hub.tick()
  const s = summaries[1]!
  assert.deepEqual(
    s.forecast!.peers.map((p) => [p.nodeId, p.saturatesInS]),
    [
      ['b', 12],
      ['a', null],
    ],
  )
  assert.deepEqual(
    s.alerts.map((a) => [a.name, a.predictedInS]),
    [
      ['node-saturation', 12],
      ['cluster-demand', 40],
    ],
  )
  t.failForecast(true)
  await t.env.advance(1000)
  await t.hub.tick()
  assert.equal(summaries[2]!.forecast, null)
  assert.deepEqual(summaries[2]!.alerts, [])
  assert.notEqual(summaries[2]!.recent, null, 'the jobs part does not depend on the forecast')
  t.failForecast(false)
  await t.env.advance(1000)
  await t.hub.tick()
  const { snapshot } = t.hub.watch(() => undefined)
  assert.deepEqual(
    snapshot.history.map((h) => h.forecast !== null),
    [false, false, false, true],
  )
})

test('the hub starts once, and not again after it stopped', () => {
  const { hub } = setup()
  hub.start()
  assert.throws(() => hub.start(), { name: 'AssertionFailure', message: /the dashboard hub starts once/ })
  hub.stop()
  const fresh = setup().hub
  fresh.stop()
  assert.throws(() => fresh.start(), { name: 'AssertionFailure', message: /the dashboard hub starts once/ })
})

test('started, it samples every IDLE_TICK_MS while no page watches, every TICK_MS while one does, and the first page gets a summary within TICK_MS', async () => {
  const t = setup()
  t.hub.start()
  await t.env.advance(20_000 + IDLE_TICK_MS - 1)
  const summaries: number[] = []
  const { snapshot, unwatch } = t.hub.watch((e) => (e.kind === 'summary' ? summaries.push(e.summary.t) : undefined))
  assert.equal(snapshot.history.length, 4, 'one sample per IDLE_TICK_MS')
  const from = t.now()
  await t.env.advance(3 * TICK_MS)
  assert.deepEqual(summaries, [from + TICK_MS, from + 2 * TICK_MS, from + 3 * TICK_MS], 'live from the next second, not after the idle wait')
  unwatch()
  await t.env.advance(4 * IDLE_TICK_MS)
  const after = t.hub.watch(() => undefined)
  after.unwatch()
  assert.deepEqual(after.snapshot.history.length, 4 + 3 + 4, 'back to the idle pace')
  t.hub.stop()
})
