/**
 * End-to-end job throughput and latency on 3 peers (`distributex start` processes on loopback) that
 * run the jobs, and a submitter: this process joins the cluster as a peer without job types (so
 * nothing runs here) and uses the job API, as an application would (and as BullMQ's baseline used
 * its producer API in a separate process).
 * - throughput: 50,000 no-op jobs submitted in batches of 1,000 (several batches in flight), from
 *   the first submission to the last result; on the embedded default (the replicated log, each
 *   peer with its own directory; memory caches) alternated with the single-host file log the peers
 *   share (PAIRS pairs, A B A B, medians reported), and on Kafka plus Redis;
 * - latency: one job at a time at an open-loop 1,000 jobs/s for 10 s (after 2 s of warm-up), on the
 *   embedded default, from each job's scheduled submission time to its result.
 * Prints one JSON object on the last line. Options (environment): JOBS, IN_FLIGHT, PAIRS, BREAKDOWN=1 (also
 * prints submit-to-acknowledgement latency and the leader's job-log append latency), PROFILE=<dir> (peers run under --cpu-prof).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { resolveConfig } from '../../src/node/config.js'
import { startNode, type RunningNode } from '../../src/node/start.js'
import { ensureKafka, ensureRedis } from '../helpers/services.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'

const JOBS = Number(process.env.JOBS ?? 50_000)
const BATCH = 1000
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 6)
const RATE = 1000
const LATENCY_SECONDS = 10
const WARMUP_SECONDS = 2
const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')

async function cluster(jobLog: (dir: string) => string | undefined, cache: string): Promise<{ peers: Peer[]; client: RunningNode; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-bench-jobs-'))
  await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const peers: Peer[] = []
  for (let i = 0; i < 3; i++) {
    const log = jobLog(dir)
    const p = new Peer({
      ...(process.env.PROFILE === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}/p${i}`] }),
      name: `p${i}`,
      dataDir: join(dir, `p${i}`),
      secretFile: join(dir, 'cluster.key'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      ...(log === undefined ? {} : { jobLog: log }),
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
  await waitFor(
    async () => (await peers[0]!.status())!.members.every((m) => (m.capacity as number) > 0),
    (ok) => ok,
    10_000,
    'executors gossiped',
  )
  const log = jobLog(dir)
  const config = resolveConfig(
    {
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [await peers[0]!.address()],
      secretFile: join(dir, 'cluster.key'),
      dataDir: join(dir, 'submitter'),
      http: 'off',
      logLevel: 'error',
      ...(log === undefined ? {} : { jobLog: log }),
      cache,
      kafkaReplicationFactor: 1,
      kafkaMinInsyncReplicas: 1,
    },
    {},
  )
  const client = await startNode(config, [])
  await waitFor(
    async () => client.cluster.view()?.leader?.nodeId,
    (l) => l !== undefined,
    30_000,
    'the submitter to join',
  )
  return {
    peers,
    client,
    close: async () => {
      await client.stop()
      // With PROFILE=<dir> set, peers run under --cpu-prof and stop gracefully so that the profiles get written.
      await Promise.all(peers.map((p) => (process.env.PROFILE === undefined ? p.kill() : p.stop())))
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function throughput(client: RunningNode): Promise<number> {
  const batch = Array.from({ length: BATCH }, () => ({ job: 'noop', input: null, options: { retries: 1 } }))
  const run = async (): Promise<number> => {
    const handles = await Promise.all(client.jobs.submitBatch(batch))
    const results = await Promise.allSettled(handles.map((h) => h.result()))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) console.error(`a job failed: ${(failed as PromiseRejectedResult).reason}`)
    return results.filter((r) => r.status === 'fulfilled').length
  }
  if ((await run()) !== BATCH) throw new Error('warm-up batch failed')
  let next = 0
  let completed = 0
  const start = performance.now()
  const lane = async (): Promise<void> => {
    while (next < JOBS) {
      next += BATCH
      const done = await run()
      completed += done
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  const seconds = (performance.now() - start) / 1000
  if (completed !== next) throw new Error(`${completed} of ${next} completed`)
  return completed / seconds
}

/** The leader's job-log append latency histogram (cumulative counts by upper bound in seconds), from its /metrics. */
async function appendBuckets(peers: Peer[]): Promise<Map<string, number>> {
  for (const p of peers) {
    if ((await p.status())?.leading !== true) continue
    const text = await (await fetch(`${p.httpUrl}/metrics`)).text()
    return new Map([...text.matchAll(/^dx_job_log_append_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]))
  }
  return new Map()
}

/** The share of appends within each bucket bound, between two scrapes: where the latency goes. */
function describeAppends(before: Map<string, number>, after: Map<string, number>): string {
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0)
  const shares = [...after].filter(([le]) => le !== '+Inf').map(([le, n]) => `<=${Number(le) * 1000}ms ${Math.round((100 * (n - (before.get(le) ?? 0))) / Math.max(total, 1))}%`)
  return `leader job-log appends during the latency run: ${total}; ${shares.join(', ')}`
}

async function latency(client: RunningNode): Promise<{ p50: number; p99: number }> {
  const samples: number[] = []
  const ackSamples: number[] = []
  const total = RATE * (LATENCY_SECONDS + WARMUP_SECONDS)
  const started = performance.now()
  const pending: Array<Promise<void>> = []
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    const measured = k >= RATE * WARMUP_SECONDS
    pending.push(
      (async () => {
        const handle = await client.jobs.submit('noop', null)
        const acked = performance.now()
        await handle.result()
        if (measured && process.env.BREAKDOWN !== undefined) ackSamples.push(acked - due)
        // From the scheduled send time, so a late sender cannot hide queueing (coordinated omission).
        if (measured) samples.push(performance.now() - due)
      })(),
    )
  }
  await Promise.all(pending)
  samples.sort((a, b) => a - b)
  if (process.env.BREAKDOWN !== undefined) {
    ackSamples.sort((a, b) => a - b)
    console.error(`submit->ack p50 ${ackSamples[Math.floor(ackSamples.length / 2)]!.toFixed(2)} p99 ${ackSamples[Math.floor(ackSamples.length * 0.99)]!.toFixed(2)} ms`)
  }
  return { p50: samples[Math.floor(samples.length * 0.5)]!, p99: samples[Math.floor(samples.length * 0.99)]! }
}

/** Runs the throughput (and, if asked, the latency) measurement on a fresh cluster. */
async function measure(jobLog: (dir: string) => string | undefined, cache: string, withLatency: boolean): Promise<{ jobsPerS: number; lat?: { p50: number; p99: number } }> {
  const c = await cluster(jobLog, cache)
  try {
    const jobsPerS = await throughput(c.client)
    if (!withLatency) return { jobsPerS }
    const before = process.env.BREAKDOWN === undefined ? undefined : await appendBuckets(c.peers)
    const lat = await latency(c.client)
    if (before !== undefined) console.error(describeAppends(before, await appendBuckets(c.peers)))
    return { jobsPerS, lat }
  } finally {
    await c.close()
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// The replicated default (each peer its own directory, a majority fsync per append) against the
// single-host file log the peers share, alternated A B A B in one run so the machine's speed cancels.
const PAIRS = Number(process.env.PAIRS ?? 2)
const replicated: Array<{ jobsPerS: number; lat?: { p50: number; p99: number } }> = []
const shared: number[] = []
for (let pair = 0; pair < PAIRS; pair++) {
  const r = await measure(() => undefined, 'memory', pair === 0)
  replicated.push(r)
  console.error(
    `pair ${pair + 1}: replicated default ${Math.round(r.jobsPerS)} jobs/s${r.lat === undefined ? '' : `; latency at ${RATE}/s p50 ${r.lat.p50.toFixed(2)} ms, p99 ${r.lat.p99.toFixed(2)} ms`}`,
  )
  const f = await measure((dir) => `file:${join(dir, 'joblog')}`, 'memory', false)
  shared.push(f.jobsPerS)
  console.error(`pair ${pair + 1}: shared file log ${Math.round(f.jobsPerS)} jobs/s`)
}
const lat = replicated[0]!.lat!
const brokers = await ensureKafka()
await ensureRedis()
const kafka = await measure(() => `kafka://${brokers}/dx-bench-${Date.now()}`, `redis://127.0.0.1:6379/dxbench${Date.now()}`, false)
console.error(`kafka+redis: ${Math.round(kafka.jobsPerS)} jobs/s`)
const embeddedJobs = median(replicated.map((r) => r.jobsPerS))
const fileJobs = median(shared)
console.log(
  JSON.stringify({
    bench: 'jobs',
    embedded_jobs_per_s: Math.round(embeddedJobs),
    file_jobs_per_s: Math.round(fileJobs),
    replicated_vs_file: Math.round((embeddedJobs / fileJobs) * 100) / 100,
    kafka_jobs_per_s: Math.round(kafka.jobsPerS),
    p50_ms: Math.round(lat.p50 * 100) / 100,
    p99_ms: Math.round(lat.p99 * 100) / 100,
  }),
)
