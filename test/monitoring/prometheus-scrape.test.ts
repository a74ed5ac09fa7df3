// Goal: the shipped rules work on a real scrape. Method: Debian's Prometheus, with the config
// `distributex monitoring prometheus` generates (1 s scrape and evaluation), scrapes three real
// peers running jobs; its HTTP API then shows the job counters moved, the rate and P99 recording
// rules returning numbers, and, after one peer is stopped with kill -9, its alerts firing.
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { prometheusConfig } from '../../src/monitoring/prometheus-config.js'
import { renderRules } from '../../src/monitoring/rules.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN, fixture } from '../helpers/bin.js'
import { sourceDir } from '../helpers/paths.js'

const run = promisify(execFile)
const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
let dir: string
let prometheus: ChildProcess | undefined
let promUrl: string
const peers: Peer[] = []
const promLog: string[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-prom-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const actors = fixture(join(ROOT, 'test', 'fixtures', 'jobs-module.ts'))
  const make = async (name: string, bootstrap: string[]): Promise<Peer> => {
    const p = new Peer({ name, dataDir: join(dir, name), secretFile: join(dir, 'cluster.key'), p2pPort: await freePort(), httpPort: await freePort(), bootstrap, actors })
    peers.push(p)
    p.start()
    return p
  }
  const founder = await make('p0', [])
  // A loaded machine (CI shares its cores) can take a while to start the first peer.
  await waitFor(
    () => founder.status(),
    (s) => s !== undefined && s.addresses.length > 0,
    90_000,
    'p0 to serve /status',
  )
  const seed = await founder.address()
  await make('p1', [seed])
  await make('p2', [seed])
  await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    90_000,
    'three peers with an agreed leader',
  )

  await writeFile(join(dir, 'distributex.rules.yml'), renderRules())
  const config = join(dir, 'prometheus.yml')
  await writeFile(
    config,
    prometheusConfig({ targets: peers.map((p) => `127.0.0.1:${p.spec.httpPort}`), rulesFile: join(dir, 'distributex.rules.yml'), scrapeInterval: '1s', evaluationInterval: '1s' }),
  )
  await run('promtool', ['check', 'config', config])
  const port = await freePort()
  promUrl = `http://127.0.0.1:${port}`
  prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  prometheus.stderr?.on('data', (d: Buffer) => promLog.push(d.toString()))
  await waitFor(
    () =>
      fetch(`${promUrl}/-/ready`)
        .then((r) => r.ok)
        .catch(() => false),
    (ok) => ok,
    30_000,
    'Prometheus to be ready',
  )
})

after(async () => {
  prometheus?.kill('SIGKILL')
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

/** One instant query; the values of its result series. */
async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
  assert.equal(body.status, 'success', body.error)
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
}

async function firing(): Promise<string[]> {
  const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: { alertname: string }; state: string }> } }
  return body.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname)
}

test('Prometheus scrapes three peers: counters move, recording rules answer, a stopped peer fires alerts', { timeout: 150_000 }, async () => {
  await waitFor(
    () => query('up{job="distributex"} == 1'),
    (r) => r.length === 3,
    30_000,
    'three targets up',
  )
  const submitter = peers[0]!
  for (let i = 0; i < 4; i++) {
    const reply = await submitter.call<{ results: Array<{ ok?: boolean }> }>('POST', '/jobs/batch?wait=1', {
      jobs: Array.from({ length: 100 }, (_, n) => ({ type: 'double', input: { n } })),
    })
    assert.equal(reply.status, 200)
    assert.ok(reply.json.results.every((r) => r.ok === true))
  }
  const finished = await waitFor(
    () => query('sum(dx_jobs_finished_total{outcome="completed"})'),
    (r) => (r[0]?.value ?? 0) >= 400,
    30_000,
    'the leader to count 400 completed jobs',
  )
  assert.ok(finished[0]!.value >= 400)
  // A labelled counter appears with its first increment, so a batch finished between two scrapes
  // reads as a constant to rate(): jobs keep finishing while the rule is polled.
  const rate = await waitFor(
    async () => {
      await submitter.call('POST', '/jobs/batch?wait=1', { jobs: [{ type: 'double', input: { n: 1 } }] })
      return query('dx:jobs_finished:rate1m{outcome="completed"}')
    },
    (r) => (r[0]?.value ?? 0) > 0,
    30_000,
    'the throughput recording rule',
  )
  assert.ok(rate[0]!.value > 0)
  const p99 = await waitFor(
    () => query('dx:job_attempt_seconds:p99_1m'),
    (r) => r.length === 1 && Number.isFinite(r[0]!.value) && r[0]!.value > 0,
    30_000,
    'the P99 recording rule',
  )
  assert.ok(p99[0]!.value > 0 && p99[0]!.value < 60, `P99 ${p99[0]!.value} s`)
  const epoch = await query('dx:cluster_leader_epoch:max')
  assert.ok(epoch[0]!.value >= 1)
  assert.deepEqual(
    (await firing()).filter((a) => a === 'DistributeXPeerUnreachable' || a === 'DistributeXMemberDown'),
    [],
  )

  // Induced condition: a follower stops for good.
  const leader = (await agreedLeader(peers))!
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const victim = peers.find((_, i) => ids[i] !== leader.nodeId)!
  const stoppedAt = Date.now()
  await victim.kill()
  const alerts = await waitFor(firing, (a) => a.includes('DistributeXPeerUnreachable') && a.includes('DistributeXMemberDown'), 60_000, 'the member-down alerts to fire')
  console.log(JSON.stringify({ alertsFiringAfterMs: Date.now() - stoppedAt, firing: alerts, p99Seconds: p99[0]!.value, completedRate: rate[0]!.value }))
  const down = await query('up{job="distributex"} == 0')
  assert.deepEqual(
    down.map((d) => d.metric.instance),
    [`127.0.0.1:${victim.spec.httpPort}`],
  )
})
