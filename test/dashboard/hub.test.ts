// Goal: the dashboard hub's figures are right. Method: a manual environment, a status document and
// a job list under the test's control. Checked: leader changes become the epoch history (and events
// to watchers); the leader is asked only while someone watches; throughput counts exactly the jobs
// finished since the previous sample; latency percentiles; a failed ask leaves a gap, never a
// wrong figure; the alerts a peer can tell from its view, plus those /status carries.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { alertsOf, DashboardHub, percentiles, type HubEvent } from '../../src/dashboard/hub.js'
import { ManualEnvironment } from '../../src/env/manual.js'
import type { JobInfo } from '../../src/jobs/types.js'
import type { StatusDocument } from '../../src/node/http-api.js'

const member = (nodeId: string, state = 'up', extra: Record<string, unknown> = {}): StatusDocument['members'][number] => ({ nodeId, state, voter: true, role: 'voter', running: 1, queued: 2, capacity: 16, eventLoopLagMs: 3, cpu: 0.1, memoryMb: 100, ...extra })

function job(id: string, status: JobInfo['status'], submittedAt: number, finishedAt: number | null): JobInfo {
  return { id, type: 't', status, attempts: 1, assignedTo: 'a', progress: null, outcome: null, submittedAt, finishedAt }
}

function setup() {
  const env = new ManualEnvironment({ wallStartMs: 1_000_000 })
  let status: StatusDocument = { nodeId: 'a', clusterId: 'c', addresses: [], leader: { nodeId: 'a', epoch: 1 }, leading: true, members: [member('a'), member('b')] }
  let jobs: JobInfo[] = []
  let failing = false
  const asks: string[] = []
  const hub = new DashboardHub({
    status: () => status,
    clock: env.clock,
    timers: env.timers,
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
  assert.deepEqual(snapshot.epochs.map((e) => [e.epoch, e.nodeId]), [[1, 'a']])
  assert.equal(snapshot.history.length, 2)
  assert.deepEqual(snapshot.history[1]!.alerts.map((a) => a.name), ['NoLeader'])
  t.setStatus({ leader: { nodeId: 'b', epoch: 2 }, leading: false })
  await t.env.advance(1000)
  await t.hub.tick()
  assert.deepEqual(events.map((e) => e.kind), ['epoch', 'summary'])
  const first = events[0]!
  assert.deepEqual(first.kind === 'epoch' ? [first.change.epoch, first.change.nodeId, first.change.at] : [], [2, 'b', t.now()])
  assert.deepEqual(t.asks.sort(), ['any', 'completed', 'failed'])
  unwatch()
  await t.hub.tick()
  assert.equal(t.asks.length, 3)
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

test('alerts come from the view and from /status', () => {
  const status: StatusDocument = { nodeId: 'a', clusterId: 'c', addresses: [], leader: null, leading: false, members: [member('a', 'up', { eventLoopLagMs: 450 }), member('b', 'down'), member('c', 'suspect')] }
  const withExtra = { ...status, alerts: [{ name: 'SaturationPredicted', severity: 'critical', message: 'full in 10 min' }, null, 'junk'] } as unknown as StatusDocument
  const members = withExtra.members.map((m) => ({ nodeId: m.nodeId, role: 'voter', state: m.state, voter: true, leader: false, running: 0, queued: 0, capacity: 1, cpu: 0, lagMs: Number(m.eventLoopLagMs), memoryMb: 1 }))
  assert.deepEqual(
    alertsOf(withExtra, members).map((a) => [a.name, a.severity]),
    [['NoLeader', 'critical'], ['EventLoopLag', 'warning'], ['MemberDown', 'warning'], ['MemberSuspect', 'warning'], ['SaturationPredicted', 'critical']],
  )
})

test('percentiles are nearest-rank', () => {
  assert.equal(percentiles([]), null)
  assert.deepEqual(percentiles([5]), { p50Ms: 5, p99Ms: 5, count: 1 })
  assert.deepEqual(percentiles(Array.from({ length: 100 }, (_, i) => 100 - i)), { p50Ms: 50, p99Ms: 99, count: 100 })
})
