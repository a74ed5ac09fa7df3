// Goal: the terminal views work against a real peer as a user runs them: `--json` of status, jobs
// and members parses and agrees with the API; `submit --inputs --wait --progress` runs many jobs,
// draws a progress bar to 100% on stderr and prints one result per input on stdout; `submit --wait
// --progress` draws one job's own progress, and on a terminal (a real pseudo-terminal) redraws it in
// place while piped it prints nothing extra; `jobs result` follows a job the same way; `members
// remove --progress` shows the wait; `status` shows the leader's alerts; `top --once` shows the members, the leader, the throughput
// and the forecast; `top` draws the leader's forecast per peer and its predicted alerts; `monitoring`
// prints the rules and dashboard.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { progressLine } from '../../src/cli/progress.js'
import { formatStatus } from '../../src/cli/status.js'
import { formatTop, sparkline } from '../../src/cli/top.js'
import type { DashboardSummary } from '../../src/dashboard/hub.js'
import { freePort, Peer, waitFor } from '../helpers/peers.js'
import { inTerminal } from './terminal.js'
import { BIN, fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

let dir: string
let peer: Peer

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-cli-mon-'))
  peer = new Peer({
    name: 'p0',
    dataDir: join(dir, 'p0'),
    secretFile: join(dir, 'p0', 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    jobLog: `file:${join(dir, 'joblog')}`,
    actors: fixture(join(sourceDir(import.meta.dirname), '..', 'fixtures', 'jobs-module.ts')),
  })
  peer.start()
  await waitFor(
    () => peer.status(),
    (s) => s?.leading === true,
    90_000,
    'the peer to lead',
  )
})

after(async () => {
  await peer.kill()
  await rm(dir, { recursive: true, force: true })
})

/** Runs the CLI against the peer (the commands that talk to one get its --http). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const http = args[0] === 'monitoring' ? [] : ['--http', `127.0.0.1:${peer.spec.httpPort}`]
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args, ...http])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

test('submit --inputs --wait runs many jobs with a progress bar, and --json lists them', { timeout: 90_000 }, async () => {
  const inputs = join(dir, 'inputs.jsonl')
  await writeFile(inputs, Array.from({ length: 60 }, (_, n) => JSON.stringify({ n })).join('\n') + '\n{"n":"not a number"}\n')
  const run = await cli('submit', 'double', '--inputs', inputs, '--wait', '--progress')
  assert.equal(run.code, 1, 'one input is refused')
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id?: string; ok?: boolean; value?: { doubled: number }; error?: { name: string } })
  assert.equal(lines.length, 61)
  assert.deepEqual(
    lines.slice(0, 60).map((l) => l.value?.doubled),
    Array.from({ length: 60 }, (_, n) => n * 2),
  )
  assert.equal(lines[60]!.error?.name, 'InvalidJobError')
  assert.match(run.stderr, /finished \[#{30}\] 60\/61 +98%|finished \[#+\.*\] 61\/61 100%/)
  assert.match(run.stderr, /submitted \[#{30}\] 61\/61 100%/)

  const listed = await cli('jobs', 'list', '--json', '--limit', '100')
  assert.equal(listed.code, 0)
  const jobs = JSON.parse(listed.stdout) as Array<{ id: string; status: string; finishedAt: number | null }>
  const ids = new Set(lines.slice(0, 60).map((l) => l.id))
  const ours = jobs.filter((j) => ids.has(j.id))
  assert.equal(ours.length, 60)
  assert.ok(ours.every((j) => j.status === 'completed' && typeof j.finishedAt === 'number'))
})

test("submit --wait --progress draws the job's own progress and prints its outcome", { timeout: 60_000 }, async () => {
  const run = await cli('submit', 'steps', '{"steps":5,"ms":200}', '--wait', '--progress')
  assert.equal(run.code, 0, run.stderr)
  const reply = JSON.parse(run.stdout) as { id: string; ok: boolean; value: { steps: number } }
  assert.equal(reply.ok, true)
  assert.deepEqual(reply.value, { steps: 5 })
  // The job's progress messages reach the bar while it runs, not only the final 100%.
  assert.match(run.stderr, /steps \[#+\.+\] +\d+\/100 +[1-8]\d%  step [1-4] of 5/)
  assert.match(run.stderr, /steps \[#{30}\] 100\/100 100%  done/)

  const failed = await cli('submit', 'double', '{"n":"x"}', '--wait', '--progress')
  assert.equal(failed.code, 2, 'a refused input is a usage error, as without the bar')
})

test('submit --wait on a terminal redraws the bar in place; piped it prints nothing extra', { timeout: 60_000 }, async () => {
  const terminal = await inTerminal([process.execPath, BIN, 'submit', 'steps', '{"steps":5,"ms":200}', '--wait', '--http', `127.0.0.1:${peer.spec.httpPort}`])
  assert.equal(terminal.code, 0, terminal.output)
  const frames = terminal.output.split('\r').filter((f) => f.startsWith('steps ['))
  assert.ok(frames.length >= 3, `redrawn in place while the job runs (${frames.length} frames)`)
  assert.ok(frames.every((f) => f.includes('\x1b[K')))
  assert.match(terminal.output, /steps \[#{30}\] 100\/100 100%  done\x1b\[K\r?\n\{"id":"[^"]+","ok":true/, 'the bar ends with a newline before the outcome')

  const piped = await cli('submit', 'steps', '{"steps":3,"ms":100}', '--wait')
  assert.equal(piped.code, 0)
  assert.equal(piped.stderr, '', 'nothing on stderr without a terminal or --progress')
  assert.equal((JSON.parse(piped.stdout) as { ok: boolean }).ok, true)
})

test("jobs result waits with the job's own progress; piped, only the outcome", { timeout: 60_000 }, async () => {
  // Long enough that the job still runs once a second CLI process has started.
  const { id } = JSON.parse((await cli('submit', 'steps', '{"steps":8,"ms":500}')).stdout) as { id: string }
  const followed = await cli('jobs', 'result', id, '--progress')
  assert.equal(followed.code, 0, followed.stderr)
  assert.match(followed.stderr, /job \[#+\.+\] +\d+\/100 +\d+%  step [1-7] of 8/)
  assert.match(followed.stderr, /job \[#{30}\] 100\/100 100%  done/)
  assert.deepEqual((JSON.parse(followed.stdout) as { value: unknown }).value, { steps: 8 })
  const piped = await cli('jobs', 'result', id)
  assert.equal(piped.stderr, '')
  assert.equal(piped.stdout, followed.stdout)
})

test('members remove --progress shows the time waited for the leader, and how it ended', { timeout: 30_000 }, async () => {
  const run = await cli('members', 'remove', '12D3KooWNoSuchMember', '--progress')
  assert.equal(run.code, 2, 'no such member: the leader refuses')
  assert.match(run.stderr, /^removing 12D3KooWNoSuchMember failed \(\d+\.\d s\)\n.*is not a member/m)
  assert.doesNotMatch((await cli('members', 'remove', '12D3KooWNoSuchMember')).stderr, /removing/, 'piped: no progress')
})

test('status --json and members --json agree with the API', { timeout: 30_000 }, async () => {
  const api = (await peer.status())!
  const status = JSON.parse((await cli('status', '--json')).stdout) as { nodeId: string; leader: { nodeId: string } }
  assert.equal(status.nodeId, api.nodeId)
  assert.equal(status.leader.nodeId, api.nodeId)
  const members = JSON.parse((await cli('members', '--json')).stdout) as Array<{ nodeId: string; state: string }>
  assert.deepEqual(
    members.map((m) => [m.nodeId, m.state]),
    [[api.nodeId, 'up']],
  )
})

test("status shows the leader's active alerts from its /status, and a warning", { timeout: 30_000 }, async () => {
  const live = await cli('status')
  assert.equal(live.code, 0)
  assert.match(live.stdout, /\(this node leads\)/)
  assert.match(live.stdout, /^alerts: (none|\d+)$/m, 'the leader lists its alerts, even when there are none')
  const text = formatStatus({
    nodeId: 'a',
    clusterId: 'c',
    addresses: [],
    leader: { nodeId: 'a', epoch: 3 },
    leading: true,
    warning: 'no other member heard for 10 s',
    members: [],
    analytics: {
      alerts: [{ key: 'node-saturation:b', name: 'node-saturation', severity: 'critical', node: 'b', predictedAt: null, firedAt: 0, message: 'node b is saturated' }],
      speeds: {},
      mase: { '10s': null, '60s': null },
      forecasts: {},
    },
  })
  assert.match(text, /^warning: no other member heard for 10 s$/m)
  assert.match(text, /^alerts: 1\n {2}!! node-saturation \(b\): node b is saturated$/m)
  assert.doesNotMatch(formatStatus({ nodeId: 'a', clusterId: 'c', addresses: [], leader: null, leading: false, members: [] }), /alerts/, 'a follower has none to show')
})

test('top --once shows the peer, the leader and the job figures', { timeout: 30_000 }, async () => {
  const { code, stdout } = await cli('top', '--once')
  assert.equal(code, 0)
  const id = (await peer.status())!.nodeId
  assert.match(stdout, new RegExp(`leader ${id.slice(0, 6)}…${id.slice(-6)} \\(epoch \\d+\\)`))
  assert.match(stdout, /NODE +ROLE +STATE +RUNNING/)
  assert.match(stdout, /\*12D3Ko…\w{6} \(this\) +leader +up/)
  assert.match(stdout, /^throughput +\d+\.\d\+? jobs\/s completed, \d+\.\d failed/m, 'a measured throughput, not the baseline sample')
  assert.match(stdout, /^forecast {4}(none from the leader yet|the leader's, next \d+ s)/m)
  assert.match(stdout, /alerts +none/)
})

test('top and progress render pure frames', () => {
  assert.equal(progressLine(5, 10, 10), '[#####.....]  5/10  50%')
  assert.equal(sparkline([0, 1, 2, null, 4]), '▁▂▄ █')
  const frame = formatTop(
    [
      {
        t: 0,
        nodeId: 'a',
        clusterId: 'c',
        leader: null,
        leading: false,
        members: [],
        throughput: null,
        latency: null,
        queue: { queued: 0, running: 0, capacity: 0 },
        recent: null,
        alerts: [{ name: 'NoLeader', severity: 'critical', message: 'No leader is known.' }],
        forecast: null,
      },
    ],
    [],
  )
  assert.match(frame, /leader none/)
  assert.match(frame, /!! NoLeader: No leader is known\./)
  assert.match(frame, /forecast +none from the leader yet/)
  assert.match(frame, /leaders +none seen yet/)
})

test("top shows the leader's forecast per peer and its predicted alerts, as the web page does", () => {
  const summary = (t: number, forecast: DashboardSummary['forecast'], alerts: DashboardSummary['alerts'] = []): DashboardSummary => ({
    t,
    nodeId: 'a',
    clusterId: 'c',
    leader: { nodeId: 'a', epoch: 2 },
    leading: true,
    members: [],
    throughput: null,
    latency: null,
    queue: { queued: 0, running: 0, capacity: 0 },
    recent: null,
    alerts,
    forecast,
  })
  const points = (from: number, slope: number) => Array.from({ length: 6 }, (_, i) => ({ inS: (i + 1) * 10, load: from + slope * (i + 1), low: 0, high: 3 }))
  const forecast: DashboardSummary['forecast'] = {
    horizonS: 60,
    saturation: 2,
    peers: [
      { nodeId: 'busy', load: 1.2, points: points(1.2, 0.2), peak: 2.4, saturatesInS: 40 },
      { nodeId: 'full', load: 2.5, points: points(2.5, 0), peak: 2.5, saturatesInS: 0 },
      { nodeId: 'idle', load: 0.1, points: points(0.1, 0), peak: 0.1, saturatesInS: null },
    ],
    durations: [],
    mase: { '10s': 0.84, '60s': null },
  }
  const alerts: DashboardSummary['alerts'] = [
    { name: 'MemberDown', severity: 'warning', message: 'x is down.' },
    { name: 'node-saturation', severity: 'warning', message: 'node busy is predicted to saturate in 40 s', predictedInS: 40, key: 'node-saturation:busy' },
    { name: 'cluster-demand', severity: 'critical', message: 'demand is over capacity', predictedInS: null, key: 'cluster-demand:' },
  ]
  const frame = formatTop([summary(1000, forecast, alerts)], [], 120)
  assert.match(frame, /^forecast {4}the leader's, next 60 s, in jobs per slot; saturated at 2\.00; error so far \(MASE\) 0\.84 at 10 s$/m)
  assert.match(frame, /^ {2}PEER +LOAD +PEAK +SATURATES +PATH$/m)
  assert.match(frame, /^ {2}busy +1\.20 +2\.40 +in 40 s +▅▅▆▇███$/m)
  assert.match(frame, /^ {2}full +2\.50 +2\.50 +now +█{7}$/m)
  assert.match(frame, /^ {2}idle +0\.10 +0\.10 +not within 60 s +▁{7}$/m)
  assert.match(frame, /^ {2}! {2}MemberDown: x is down\.$/m)
  assert.match(frame, /^ {2}! {2}node-saturation \(predicted in 40 s\): node busy is predicted/m)
  assert.match(frame, /^ {2}!! cluster-demand \(predicted now\): demand is over capacity$/m)
  // A summary whose forecast ask failed keeps the last forecast a few seconds, then says so.
  assert.match(formatTop([summary(1000, forecast), summary(4000, null)], [], 120), /^ {2}busy /m)
  assert.match(formatTop([summary(1000, forecast), summary(7000, null)], [], 120), /^forecast +none from the leader yet$/m)
})

test('monitoring prints the rules, the Grafana dashboard and a Prometheus config', { timeout: 30_000 }, async () => {
  assert.match((await cli('monitoring', 'rules')).stdout, /alert: "DistributeXNoLeader"/)
  assert.equal((JSON.parse((await cli('monitoring', 'grafana')).stdout) as { uid: string }).uid, 'distributex-cluster')
  assert.match((await cli('monitoring', 'prometheus', '--targets', '10.0.0.1:7401,10.0.0.2:7401')).stdout, /targets: \["10\.0\.0\.1:7401", "10\.0\.0\.2:7401"\]/)
  assert.equal((await cli('monitoring', 'prometheus')).code, 2)
})
