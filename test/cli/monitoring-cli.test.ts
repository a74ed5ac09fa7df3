// Goal: the terminal views work against a real peer as a user runs them: `--json` of status, jobs
// and members parses and agrees with the API; `submit --inputs --wait --progress` runs many jobs,
// draws a progress bar to 100% on stderr and prints one result per input on stdout; `top --once`
// shows the members, the leader and the throughput; `monitoring` prints the rules and dashboard.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { progressLine } from '../../src/cli/progress.js'
import { formatTop, sparkline } from '../../src/cli/top.js'
import { freePort, Peer, waitFor } from '../helpers/peers.js'

const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')
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
    actors: join(import.meta.dirname, '..', 'fixtures', 'jobs-module.ts'),
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

test('top --once shows the peer, the leader and the job figures', { timeout: 30_000 }, async () => {
  const { code, stdout } = await cli('top', '--once')
  assert.equal(code, 0)
  const id = (await peer.status())!.nodeId
  assert.match(stdout, new RegExp(`leader ${id.slice(0, 6)}…${id.slice(-6)} \\(epoch \\d+\\)`))
  assert.match(stdout, /NODE +ROLE +STATE +RUNNING/)
  assert.match(stdout, /\*12D3Ko…\w{6} \(this\) +leader +up/)
  assert.match(stdout, /throughput +/)
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
  assert.match(frame, /leaders +none seen yet/)
})

test('monitoring prints the rules, the Grafana dashboard and a Prometheus config', { timeout: 30_000 }, async () => {
  assert.match((await cli('monitoring', 'rules')).stdout, /alert: "DistributeXNoLeader"/)
  assert.equal((JSON.parse((await cli('monitoring', 'grafana')).stdout) as { uid: string }).uid, 'distributex-cluster')
  assert.match((await cli('monitoring', 'prometheus', '--targets', '10.0.0.1:7401,10.0.0.2:7401')).stdout, /targets: \["10\.0\.0\.1:7401", "10\.0\.0\.2:7401"\]/)
  assert.equal((await cli('monitoring', 'prometheus')).code, 2)
})
