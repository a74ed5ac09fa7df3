// Goal (issue 11, item 6), with real processes: three peers run the same CPU-bound job type, one of
// them at half speed (its jobs get half the share of a core: test/predict/fixtures/crunch.ts). While
// the arrival rate is light the leader's predictor learns that peer's speed from the gossiped
// durations and the placement sends it less work; when the arrival rate ramps past the cluster's
// capacity the leader's node-saturation alert fires and every peer's GET /alerts and /alerts/events
// shows it, before the slow peer holds twice its capacity. Asserted from /status (learnt speeds),
// /alerts (on a follower too), the peer's own /metrics (its load) and the job timings (who ran
// what, how long).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Alert, AlertTransition } from '../../src/predict/alerts.js'
import type { JobInfo } from '../../src/jobs/types.js'
import { agreedLeader, type Peer, waitFor } from '../helpers/peers.js'
import { startCrunchPeers } from './fixtures/crunch-cluster.js'

/** Light load first (the alert engine needs 30 samples and the predictor some runs), then a linear ramp. */
const WARM_S = 40
const RAMP_S = 150
const LIGHT_PER_S = 12
/**
 * Far past what the peers can run on any machine: 70 saturated them on a loaded machine (about 50
 * jobs/s) but nobody on a quiet one (3 peers ran 93 jobs/s), and the crunch jobs sleep most of
 * their time, so durations at light load do not tell the capacity either.
 */
const PEAK_PER_S = 200

/** The arrival rate `s` seconds into the phase. */
function rate(s: number): number {
  return s < WARM_S ? LIGHT_PER_S : Math.min(PEAK_PER_S, LIGHT_PER_S + ((PEAK_PER_S - LIGHT_PER_S) * (s - WARM_S)) / RAMP_S)
}

async function load(peer: Peer): Promise<{ held: number; capacity: number } | undefined> {
  try {
    const text = await (await fetch(`${peer.httpUrl}/metrics`, { signal: AbortSignal.timeout(2000) })).text()
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
    return { held: value('dx_jobs_running') + value('dx_jobs_waiting_local'), capacity: value('dx_jobs_capacity') }
  } catch {
    return undefined
  }
}

test('three real peers, one at half speed: the leader learns it, places less on it, and every peer shows its saturation alert', { timeout: 420_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-half-'))
  const peers: Peer[] = []
  try {
    // No work stealing: it takes queued work off the slow peer, which then never fills (a CI run
    // with it on: the slow peer held at most 10 jobs on 16 slots all along the ramp), and what this
    // test watches is the placement and the alert on their own.
    const { slow } = await startCrunchPeers(dir, 2, 'off', peers)
    let leader = (await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      120_000,
      'three peers agreeing on a leader',
    ))!
    const ids = new Map<Peer, string>()
    for (const p of peers) ids.set(p, (await p.status())!.nodeId)
    const slowId = ids.get(slow)!
    const fastIds = peers.filter((p) => p !== slow).map((p) => ids.get(p)!)

    // Open-loop arrivals: every 200 ms a batch of however many jobs the rate owes. The alerts are
    // evaluated by whoever leads, from the samples it has taken itself: if the leader changes (the
    // shared machine is often overloaded), the new one must warm up, so the light phase starts again.
    let start = Date.now()
    const begin = start
    const elapsedS = (): number => (Date.now() - start) / 1000
    const submissions: Array<Promise<{ status: number }>> = []
    const leaders: string[] = []
    let owed = 0
    let submitted = 0
    let saturatedAt: number | undefined
    let peakHeld = 0
    let alertOnFollower: Alert | undefined
    let warmSpeeds: Record<string, number> | undefined
    const endS = WARM_S + RAMP_S + 30
    const peerOf = (id: string): Peer => peers.find((p) => ids.get(p) === id)!
    // A follower's event stream, read the whole run: it should carry the leader's alert as it fires.
    const watcher = peers.find((p) => ids.get(p) !== leader.nodeId)!
    const stream = new AbortController()
    let streamed = ''
    const reading = (async () => {
      const res = await fetch(`${watcher.httpUrl}/alerts/events`, { signal: stream.signal })
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        streamed += decoder.decode(value, { stream: true })
      }
    })().catch(() => undefined)
    // Until 15 s after the slow peer saturates, so an alert that comes late still shows on the follower.
    while (elapsedS() < endS && (saturatedAt === undefined || Date.now() - saturatedAt < 15_000)) {
      const now = (await slow.status())?.leader
      if (now !== undefined && now !== null && (now.nodeId !== leader.nodeId || now.epoch !== leader.epoch)) {
        leaders.push(`epoch ${now.epoch} at ${((Date.now() - begin) / 1000).toFixed(1)} s`)
        assert.ok(leaders.length <= 2, `the leader changed ${leaders.length} times (${leaders.join(', ')}): the machine is too loaded for this test`)
        leader = now
        start = Date.now()
        saturatedAt = undefined
        alertOnFollower = undefined
        warmSpeeds = undefined
      }
      const leaderPeer = peerOf(leader.nodeId)
      const follower = peers.find((p) => p !== leaderPeer)!
      owed += rate(elapsedS()) * 0.2
      const n = Math.floor(owed)
      owed -= n
      if (n > 0) {
        submitted += n
        submissions.push(leaderPeer.call('POST', '/jobs/batch', { jobs: Array.from({ length: n }, () => ({ type: 'crunch', input: null })) }).catch(() => ({ status: 0 })))
      }
      const [l, alerts] = await Promise.all([load(slow), alertOnFollower === undefined ? follower.call<{ alerts: Alert[] }>('GET', '/alerts').catch(() => undefined) : undefined])
      if (l !== undefined && Number.isFinite(l.held)) {
        peakHeld = Math.max(peakHeld, l.held)
        // Within one job of twice its capacity: the leader gives a peer at most twice its capacity.
        if (saturatedAt === undefined && l.held >= 2 * l.capacity - 1) {
          saturatedAt = Date.now()
          // The light phase is about a fifth of the cluster's capacity: filling a peer then is a stalled host, not a ramp to forecast.
          assert.ok(elapsedS() >= WARM_S, `the slow peer held twice its capacity ${elapsedS().toFixed(1)} s into the light phase: the machine is too loaded for this test`)
        }
      }
      alertOnFollower ??= alerts?.json.alerts?.find((a) => a.name === 'node-saturation')
      if (warmSpeeds === undefined && elapsedS() > WARM_S)
        warmSpeeds = (await leaderPeer.call<{ analytics?: { speeds: Record<string, number> } }>('GET', '/status').catch(() => undefined))?.json.analytics?.speeds
      await new Promise((r) => setTimeout(r, 200))
    }
    const refused = (await Promise.all(submissions)).filter((r) => r.status !== 200).length
    stream.abort()
    await reading
    const streamedFired = streamed
      .split('\n\n')
      .filter((e) => e.startsWith('event: fired\n'))
      .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)) as Alert)

    // The predictor learnt the slow peer.
    const leaderPeer = peerOf(leader.nodeId)
    const status = await leaderPeer.call<{ analytics: { speeds: Record<string, number> }; members: Array<{ nodeId: string; durations?: Record<string, unknown> }> }>(
      'GET',
      '/status',
    )
    const speeds = status.json.analytics.speeds
    const fastSpeed = Math.sqrt(speeds[fastIds[0]!]! * speeds[fastIds[1]!]!)
    const learnt = speeds[slowId]! / fastSpeed

    // The job timings: who ran what, and how long it took there.
    const jobs: JobInfo[] = []
    for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
      const page: { status: number; json: { jobs: JobInfo[]; next: string | null } } = await leaderPeer.call(
        'GET',
        `/jobs?status=completed&limit=10000${cursor === null ? '' : `&cursor=${cursor}`}`,
      )
      jobs.push(...page.json.jobs)
      cursor = page.json.next
    }
    // Each job reports the process it ran in (a job's assignedTo is forgotten across a change of leader).
    const byNode = new Map<string, number[]>()
    for (const j of jobs) {
      if (j.type !== 'crunch' || j.outcome === null || !j.outcome.ok) continue
      const { ms, pid } = j.outcome.value as { ms: number; pid: number }
      const id = ids.get(peers.find((p) => p.pid === pid)!)!
      byNode.set(id, [...(byNode.get(id) ?? []), ms])
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const slowRuns = byNode.get(slowId) ?? []
    const fastRuns = fastIds.map((id) => byNode.get(id) ?? [])
    const measured = median(slowRuns) / median(fastRuns.flat())

    const alerts = await leaderPeer.call<{ history: AlertTransition[] }>('GET', '/alerts')
    const fired = alerts.json.history.find((t) => t.kind === 'fired' && t.alert.name === 'node-saturation' && t.alert.node === slowId)
    const summary = {
      leaderChanges: leaders,
      submitted,
      refused,
      completed: jobs.length,
      runs: { slow: slowRuns.length, fast: fastRuns.map((r) => r.length) },
      medianMs: { slow: median(slowRuns), fast: median(fastRuns.flat()) },
      measured,
      learnt,
      speeds,
      saturatedAtS: saturatedAt === undefined ? null : (saturatedAt - start) / 1000,
      peakHeld,
      alertAtS: fired === undefined ? null : (fired.alert.firedAt - start) / 1000,
      alertMessage: fired?.alert.message ?? null,
      leadS: fired === undefined || saturatedAt === undefined ? null : (saturatedAt - fired.alert.firedAt) / 1000,
      phaseStartS: (start - begin) / 1000,
      followerSaw: alertOnFollower?.key ?? null,
      warmSpeeds,
      gossiped: status.json.members.map((m) => [m.nodeId === slowId ? 'slow' : m.nodeId.slice(-4), m.durations?.crunch]),
      streamedFired: streamedFired.map((a) => `${a.name} ${a.node === slowId ? 'slow' : (a.node?.slice(-4) ?? '')}`),
      history: alerts.json.history.map(
        (t) => `${t.kind} ${t.alert.name} ${t.alert.node === slowId ? 'slow' : (t.alert.node?.slice(-4) ?? '')} ${((t.at - start) / 1000).toFixed(1)}`,
      ),
    }
    console.log(`half-speed: ${JSON.stringify(summary)}`)

    // The slowdown is real: the slow peer's jobs took about twice as long (the CPU limit, not the test, decides).
    assert.ok(measured > 1.5, `slow peer's jobs should take about 2x as long: ${JSON.stringify(summary)}`)
    // The predictor learnt it from the gossip.
    assert.ok(learnt < 0.75, `learnt speed of the slow peer relative to the fast ones: ${JSON.stringify(summary)}`)
    // The placement sent it less work than each fast peer.
    assert.ok(
      fastRuns.every((r) => slowRuns.length < 0.8 * r.length),
      `the slow peer should run fewer jobs: ${JSON.stringify(summary)}`,
    )
    // Every peer shows the cluster's alerts, not just the leader: the follower's /alerts and its event stream.
    assert.ok(saturatedAt !== undefined, `the ramp should saturate the slow peer: ${JSON.stringify(summary)}`)
    assert.ok(
      alertOnFollower !== undefined && alerts.json.history.some((h) => h.kind === 'fired' && h.alert.key === alertOnFollower!.key),
      `a follower's /alerts should show the leader's node-saturation alert: ${JSON.stringify(summary)}`,
    )
    assert.ok(
      streamedFired.some((a) => a.name === 'node-saturation'),
      `a follower's /alerts/events should stream the alert as it fires: ${JSON.stringify(summary)}`,
    )
    // Issue 11: the alert comes before the slow peer holds twice its capacity. Its own offered load
    // does not foresee that (the overflow lands on it as a step once the fast peers are full), but
    // the cluster's fill projection does: under the leader's limit every peer is full when the
    // cluster is.
    assert.ok(
      fired !== undefined && saturatedAt !== undefined && fired.alert.firedAt < saturatedAt,
      `node-saturation for the slow peer should fire before it holds twice its capacity: ${JSON.stringify(summary)}`,
    )
  } finally {
    await Promise.all(peers.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
  }
})
