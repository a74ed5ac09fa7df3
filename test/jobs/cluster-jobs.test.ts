// Goal: the platform's promise on real processes: 3 peers, 10,000 jobs submitted, the leader
// killed with -9 midway; every acknowledged job completes and its result is recorded exactly once
// in the job log. Run twice: on real Kafka and Redis, and on the single-host file log (shared by
// the peers of one host; memory caches). The replicated default has its own test on separate hosts
// (multi-host.test.ts). Also: bad input gets typed errors over HTTP.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { KafkaJobLog } from '../../src/adapters/kafka/job-log.js'
import { realEnvironment } from '../../src/env/real.js'
import { FileJobLog } from '../../src/adapters/file-log/file-job-log.js'
import { ensureKafka, ensureRedis } from '../helpers/services.js'
import { checkLog, checkResults, submitAndKillLeader, WORKLOAD_JOBS as JOBS } from '../helpers/job-workload.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const cleanups: Array<() => Promise<void>> = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

interface Cluster {
  peers: Peer[]
  dir: string
}

async function startCluster(jobLog: (dir: string) => string, cache: string): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-jobs-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const peers: Peer[] = []
  cleanups.push(async () => {
    await Promise.all(peers.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 3; i++) {
    const p = new Peer({
      name: `p${i}`,
      dataDir: join(dir, `p${i}`),
      secretFile: join(dir, 'cluster.key'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      jobLog: jobLog(dir),
      cache,
      bootstrap: i === 0 ? [] : [await peers[0]!.address()],
    })
    peers.push(p)
    p.start()
    await p.address()
  }
  await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    30_000,
    'a leader',
  )
  return { peers, dir }
}

/** The new leader's /metrics shows its duties: leading, appends to the log, finished jobs; some peer ran attempts. */
async function checkMetrics(cluster: Cluster): Promise<void> {
  const value = (text: string, series: string): number =>
    Number(
      text
        .split('\n')
        .find((line) => line.startsWith(`${series} `))
        ?.slice(series.length + 1) ?? NaN,
    )
  const live = cluster.peers.filter((p) => p.running)
  const texts = await Promise.all(live.map(async (p) => (await fetch(`${p.httpUrl}/metrics`)).text()))
  const leaders = texts.filter((t) => value(t, 'dx_cluster_leading') === 1)
  assert.equal(leaders.length, 1, 'exactly one live peer reports dx_cluster_leading 1')
  const leader = leaders[0]!
  assert.ok(value(leader, 'dx_jobs_finished_total{outcome="completed"}') > 0)
  assert.ok(value(leader, 'dx_job_log_append_seconds_count') > 0)
  assert.equal(value(leader, 'dx_jobs_backlog'), 0)
  for (const t of texts) assert.equal(value(t, 'dx_cluster_members{state="up"}'), live.length)
  assert.ok(texts.some((t) => value(t, 'dx_job_attempt_seconds_count{type="fib",outcome="ok"}') > 0))
}

test('real Kafka and Redis: 10,000 jobs, the leader killed midway, every acknowledged job recorded exactly once', { timeout: 600_000 }, async () => {
  const brokers = await ensureKafka()
  await ensureRedis()
  const topic = `dx-jobs-it-${Date.now()}`
  const cluster = await startCluster(() => `kafka://${brokers}/${topic}`, `redis://127.0.0.1:6379/dxit${Date.now()}`)
  const acked = await submitAndKillLeader(cluster.peers)
  assert.ok(acked.size >= JOBS * 0.95, `${acked.size} of ${JOBS} acknowledged`)
  const results = await checkResults(cluster.peers, acked)
  const log = new KafkaJobLog({ brokers: [brokers], cluster: `${topic}-check`, topic, env: realEnvironment({ logLevel: 'error' }) })
  try {
    await checkLog(log, acked, results)
  } finally {
    await log.close()
  }
})

test('the single-host file log: 10,000 jobs, the leader killed midway, every acknowledged job recorded exactly once', { timeout: 600_000 }, async () => {
  const cluster = await startCluster((dir) => `file:${join(dir, 'joblog')}`, 'memory')
  const acked = await submitAndKillLeader(cluster.peers)
  assert.ok(acked.size >= JOBS * 0.95, `${acked.size} of ${JOBS} acknowledged`)
  const results = await checkResults(cluster.peers, acked)
  await checkMetrics(cluster)
  await Promise.all(cluster.peers.map((p) => p.stop()))
  const log = await FileJobLog.open({ dir: join(cluster.dir, 'joblog') })
  try {
    await checkLog(log, acked, results)
  } finally {
    await log.close()
  }
})

test('bad input over HTTP gets typed errors: malformed input, unknown type, oversized payload', { timeout: 120_000 }, async () => {
  const cluster = await startCluster((dir) => `file:${join(dir, 'joblog')}`, 'memory')
  const peer = cluster.peers[1]!
  const cases: Array<[unknown, number, string]> = [
    [{ type: 'fib', input: { n: 'seven' } }, 400, 'InvalidJobError'],
    [{ type: 'no-such-job', input: {} }, 400, 'UnknownJobTypeError'],
    [{ type: 'noop', input: { pad: 'x'.repeat(400_000) } }, 413, 'PayloadTooLargeError'],
    [{ type: 'fib', input: { n: 1 }, options: { retries: 'many' } }, 400, 'InvalidJobError'],
    [{ input: {} }, 400, 'Error'],
  ]
  for (const [body, status, name] of cases) {
    const reply = await peer.call<{ error: { name: string } }>('POST', '/jobs', body)
    assert.deepEqual([reply.status, reply.json.error.name], [status, name], JSON.stringify(body).slice(0, 80))
  }
  const ok = await peer.call<{ ok: boolean; value: unknown }>('POST', '/jobs?wait=1', { type: 'fib', input: { n: 10 } })
  assert.deepEqual(ok.json.value, { n: 10, fib: 55 })
})
