// Goal: when Kafka or Redis is unavailable, a real cluster answers with clear errors, loses no
// acknowledged job, and recovers by itself when the service returns. Method: a Kafka broker and a
// Redis server of the test's own, stopped and started under a running 3-peer cluster.
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { kafkaBroker } from '../helpers/services.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const OUTAGE_KAFKA_PORT = Number(process.env.DX_KAFKA_OUTAGE_PORT ?? 19192)
const cleanups: Array<() => Promise<void>> = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function cluster(jobLog: string, cache: string): Promise<Peer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-outage-'))
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
      jobLog,
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
  return peers
}

async function submit(peer: Peer, n: number, submitTimeoutMs = 30_000): Promise<{ ids: string[]; errors: Array<{ name: string; message: string }> }> {
  const jobs = Array.from({ length: n }, (_, i) => ({ type: 'sleep', input: { ms: 20 + (i % 5) } }))
  const reply = await peer.call<{ results: Array<{ id?: string; error?: { name: string; message: string } }> }>('POST', `/jobs/batch?submitTimeoutMs=${submitTimeoutMs}`, { jobs })
  return { ids: reply.json.results.flatMap((r) => (r.id === undefined ? [] : [r.id])), errors: reply.json.results.flatMap((r) => (r.error === undefined ? [] : [r.error])) }
}

async function allCompleted(peer: Peer, ids: string[]): Promise<void> {
  for (const id of ids) {
    const reply = await waitFor(
      () => peer.call<{ ok: boolean }>('GET', `/jobs/${id}/result?timeoutMs=60000`),
      (r) => r.status === 200,
      120_000,
      `job ${id}`,
    )
    assert.equal(reply.json.ok, true, `job ${id}`)
  }
}

test('Kafka down: submissions fail with a clear error, acknowledged jobs wait; Kafka back: everything completes', { timeout: 300_000 }, async () => {
  const broker = kafkaBroker(OUTAGE_KAFKA_PORT)
  await broker.start()
  cleanups.push(() => broker.stop())
  const peers = await cluster(`kafka://${broker.bootstrap}/dx-outage-${Date.now()}`, 'memory')
  const before = await submit(peers[1]!, 50)
  assert.equal(before.ids.length, 50)
  await allCompleted(peers[1]!, before.ids)

  const inFlight = await submit(peers[1]!, 100)
  assert.equal(inFlight.ids.length, 100)
  await broker.stop()
  const refused = await submit(peers[2]!, 5, 5000)
  assert.equal(refused.ids.length, 0, 'nothing is acknowledged while the log is down')
  assert.equal(refused.errors.length, 5)
  for (const e of refused.errors) {
    assert.equal(e.name, 'JobLogUnavailableError', e.message)
    assert.match(
      e.message,
      /did not acknowledge job \w+ within 5000 ms; the leader last said: JobLogUnavailableError: the job log (is failing|has not acknowledged an append).*; it may still run/,
    )
  }

  await broker.start({ keepData: true })
  const after = await submit(peers[2]!, 50, 60_000)
  assert.equal(after.ids.length, 50, 'the cluster accepts work again')
  await allCompleted(peers[1]!, [...inFlight.ids, ...after.ids])
})

test('Redis down: jobs still complete (results come from the log); Redis back: results are cached again', { timeout: 180_000 }, async () => {
  const port = await freePort()
  const start = (): ChildProcess => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  let redis = start()
  cleanups.push(async () => void redis.kill('SIGKILL'))
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  cleanups.push(async () => client.disconnect())
  await waitFor(
    () => client.ping().catch(() => ''),
    (p) => p === 'PONG',
    10_000,
    'redis',
  )
  const prefix = `dxoutage${Date.now()}`
  const peers = await cluster(`file:${join(tmpdir(), `dx-outage-log-${Date.now()}`)}`, `redis://127.0.0.1:${port}/${prefix}`)
  const first = await submit(peers[1]!, 20)
  await allCompleted(peers[1]!, first.ids)
  assert.ok((await client.exists(`${prefix}:job:${first.ids[0]}`)) === 1, 'results are cached while Redis is up')

  redis.kill('SIGKILL')
  const during = await submit(peers[1]!, 20)
  assert.equal(during.ids.length, 20)
  await allCompleted(peers[2]!, during.ids)

  redis = start()
  await waitFor(
    () => client.ping().catch(() => ''),
    (p) => p === 'PONG',
    10_000,
    'redis back',
  )
  const later = await submit(peers[1]!, 20)
  await allCompleted(peers[1]!, later.ids)
  await waitFor(
    () => client.exists(`${prefix}:job:${later.ids[19]}`),
    (n) => n === 1,
    20_000,
    'results cached again',
  )
  const metrics = await (await fetch(`${(await Promise.all(peers.map(async (p) => [p, (await p.status())!.leading] as const))).find(([, l]) => l)![0].httpUrl}/metrics`)).text()
  assert.match(metrics, /^dx_jobs_cache_errors_total [1-9]\d*$/m, 'the leader counted the failed cache writes')
})
