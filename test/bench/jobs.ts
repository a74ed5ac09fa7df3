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
 * prints submit-to-acknowledgement latency and the leader's job-log append latency), PROFILE=<dir> (peers run under --cpu-prof),
 * VARIANT_ENV=<JSON object> (pair B is the replicated default again, its peers started with these
 * environment variables, e.g. '{"DX_V8_FLAGS":""}' for V8's own GC settings; no file log, no Kafka),
 * PEER_ARGS (extra `distributex start` options, space-separated, e.g. `--lease-ms 5000` on a loaded machine),
 * COSTS=1 (the replicated default only, PAIRS runs of the throughput part: per process, the leader,
 * each follower and the submitter, CPU ms and replication frames sent and received and local log
 * writes (each fsynced) per 1,000 jobs; throughput on a shared machine means little, these do not;
 * run it from two checkouts in turn for A B A B), KAFKA=0 (no Kafka + Redis run), LATENCY=0 (no latency run).
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
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
const PEER_ARGS = (process.env.PEER_ARGS ?? '').split(' ').filter((a) => a !== '')
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
      extraArgs: PEER_ARGS,
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

/** CPU time (user + system) a process has used, in ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Runs the throughput (and, if asked, the latency) measurement on a fresh cluster; also the peers' CPU ms per 1,000 jobs of the throughput run. */
async function measure(
  jobLog: (dir: string) => string | undefined,
  cache: string,
  withLatency: boolean,
): Promise<{ jobsPerS: number; cpuMsPer1000: number; lat?: { p50: number; p99: number } }> {
  const c = await cluster(jobLog, cache)
  try {
    const cpuBefore = c.peers.reduce((sum, p) => sum + cpuMs(p.pid!), 0)
    const jobsPerS = await throughput(c.client)
    const cpuMsPer1000 = ((c.peers.reduce((sum, p) => sum + cpuMs(p.pid!), 0) - cpuBefore) * 1000) / (JOBS + BATCH)
    if (!withLatency) return { jobsPerS, cpuMsPer1000 }
    const before = process.env.BREAKDOWN === undefined ? undefined : await appendBuckets(c.peers)
    const lat = await latency(c.client)
    if (before !== undefined) console.error(describeAppends(before, await appendBuckets(c.peers)))
    return { jobsPerS, cpuMsPer1000, lat }
  } finally {
    await c.close()
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Replication counters of one peer, from its /metrics (zero where a metric is absent, as on older commits). */
async function replicationCounts(p: Peer): Promise<{ framesSent: number; framesReceived: number; writes: number }> {
  const text = await (await fetch(`${p.httpUrl}/metrics`)).text()
  const get = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
  return { framesSent: get('dx_replication_frames_sent_total'), framesReceived: get('dx_replication_frames_received_total'), writes: get('dx_replication_log_writes_total') }
}

/**
 * COSTS=1: the throughput run on the replicated default, with each process's CPU and replication
 * operations per 1,000 jobs (the submitter's CPU is this process's, bench bookkeeping included).
 */
async function costs(): Promise<void> {
  const rows: Array<Record<string, number | string>> = []
  for (let run = 0; run < PAIRS; run++) {
    const c = await cluster(() => undefined, 'memory')
    try {
      const leading = await Promise.all(c.peers.map(async (p) => (await p.status())?.leading === true))
      const roles = c.peers.map((_, i) => (leading[i] ? 'leader' : 'follower'))
      const counts = async (): Promise<Array<{ framesSent: number; framesReceived: number; writes: number }>> => [
        ...(await Promise.all(c.peers.map(replicationCounts))),
        c.client.replication?.status()?.counts ?? { framesSent: 0, framesReceived: 0, writes: 0 },
      ]
      const cpu = (): number[] => {
        const self = process.cpuUsage()
        return [...c.peers.map((p) => cpuMs(p.pid!)), (self.user + self.system) / 1000]
      }
      const cpuBefore = cpu()
      const countsBefore = await counts()
      const jobsPerS = await throughput(c.client)
      const cpuAfter = cpu()
      const countsAfter = await counts()
      const per1000 = (x: number): number => Math.round((x * 1000 * 10) / (JOBS + BATCH)) / 10
      ;[...roles, 'submitter'].forEach((role, i) => {
        rows.push({
          run: run + 1,
          role,
          jobs_per_s: Math.round(jobsPerS),
          cpu_ms: per1000(cpuAfter[i]! - cpuBefore[i]!),
          frames_sent: per1000(countsAfter[i]!.framesSent - countsBefore[i]!.framesSent),
          frames_received: per1000(countsAfter[i]!.framesReceived - countsBefore[i]!.framesReceived),
          log_writes: per1000(countsAfter[i]!.writes - countsBefore[i]!.writes),
        })
      })
      for (const r of rows.filter((r) => r.run === run + 1)) console.error(JSON.stringify(r))
    } finally {
      await c.close()
    }
  }
  console.log(JSON.stringify({ bench: 'jobs', mode: 'costs', per_1000_jobs: rows }))
}

// The replicated default (each peer its own directory, a majority fsync per append) against the
// single-host file log the peers share, alternated A B A B in one run so the machine's speed cancels.
const PAIRS = Number(process.env.PAIRS ?? 2)
/** KAFKA=0 skips the Kafka + Redis run, LATENCY=0 the latency run (throughput pairs only). */
const KAFKA = process.env.KAFKA !== '0'
const LATENCY = process.env.LATENCY !== '0'
if (process.env.COSTS !== undefined) {
  await costs()
  process.exit(0)
}
const VARIANT_ENV = process.env.VARIANT_ENV === undefined ? undefined : (JSON.parse(process.env.VARIANT_ENV) as Record<string, string>)
if (VARIANT_ENV !== undefined) {
  const a: number[] = []
  const b: number[] = []
  const aCpu: number[] = []
  const bCpu: number[] = []
  for (let pair = 0; pair < PAIRS; pair++) {
    const ma = await measure(() => undefined, 'memory', false)
    a.push(ma.jobsPerS)
    aCpu.push(ma.cpuMsPer1000)
    const saved = Object.fromEntries(Object.keys(VARIANT_ENV).map((k) => [k, process.env[k]]))
    Object.assign(process.env, VARIANT_ENV)
    try {
      const mb = await measure(() => undefined, 'memory', false)
      b.push(mb.jobsPerS)
      bCpu.push(mb.cpuMsPer1000)
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
    console.error(
      `pair ${pair + 1}: default ${Math.round(a.at(-1)!)} jobs/s, ${Math.round(aCpu.at(-1)!)} peer CPU ms/1k jobs; variant ${Math.round(b.at(-1)!)} jobs/s, ${Math.round(bCpu.at(-1)!)} CPU ms/1k`,
    )
  }
  const ratio = (x: number, y: number): number => Math.round((x / y) * 100) / 100
  console.log(
    JSON.stringify({
      bench: 'jobs',
      variant_env: VARIANT_ENV,
      default_jobs_per_s: Math.round(median(a)),
      variant_jobs_per_s: Math.round(median(b)),
      variant_vs_default: ratio(median(b), median(a)),
      default_cpu_ms_per_1000: Math.round(median(aCpu)),
      variant_cpu_ms_per_1000: Math.round(median(bCpu)),
      variant_cpu_vs_default: ratio(median(bCpu), median(aCpu)),
    }),
  )
  process.exit(0)
}
const replicated: Array<{ jobsPerS: number; cpuMsPer1000: number; lat?: { p50: number; p99: number } }> = []
const shared: Array<{ jobsPerS: number; cpuMsPer1000: number }> = []
const loadAvg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 2).join(' ')
for (let pair = 0; pair < PAIRS; pair++) {
  const r = await measure(() => undefined, 'memory', pair === 0 && LATENCY)
  replicated.push(r)
  console.error(
    `pair ${pair + 1}: replicated default ${Math.round(r.jobsPerS)} jobs/s, peers' CPU ${Math.round(r.cpuMsPer1000)} ms/1k jobs (load ${loadAvg()})${r.lat === undefined ? '' : `; latency at ${RATE}/s p50 ${r.lat.p50.toFixed(2)} ms, p99 ${r.lat.p99.toFixed(2)} ms`}`,
  )
  const f = await measure((dir) => `file:${join(dir, 'joblog')}`, 'memory', false)
  shared.push(f)
  console.error(
    `pair ${pair + 1}: shared file log ${Math.round(f.jobsPerS)} jobs/s, peers' CPU ${Math.round(f.cpuMsPer1000)} ms/1k jobs (load ${loadAvg()}); pair ratio ${(r.jobsPerS / f.jobsPerS).toFixed(2)}`,
  )
}
const lat = replicated[0]!.lat
let kafkaJobsPerS: number | undefined = undefined
if (KAFKA) {
  const brokers = await ensureKafka()
  await ensureRedis()
  kafkaJobsPerS = (await measure(() => `kafka://${brokers}/dx-bench-${Date.now()}`, `redis://127.0.0.1:6379/dxbench${Date.now()}`, false)).jobsPerS
  console.error(`kafka+redis: ${Math.round(kafkaJobsPerS)} jobs/s`)
}
const embeddedJobs = median(replicated.map((r) => r.jobsPerS))
const fileJobs = median(shared.map((f) => f.jobsPerS))
console.log(
  JSON.stringify({
    bench: 'jobs',
    embedded_jobs_per_s: Math.round(embeddedJobs),
    file_jobs_per_s: Math.round(fileJobs),
    replicated_vs_file: Math.round((embeddedJobs / fileJobs) * 100) / 100,
    pair_ratios: replicated.map((r, i) => Math.round((r.jobsPerS / shared[i]!.jobsPerS) * 100) / 100),
    replicated_cpu_ms_per_1000: Math.round(median(replicated.map((r) => r.cpuMsPer1000))),
    file_cpu_ms_per_1000: Math.round(median(shared.map((f) => f.cpuMsPer1000))),
    ...(kafkaJobsPerS === undefined ? {} : { kafka_jobs_per_s: Math.round(kafkaJobsPerS) }),
    ...(lat === undefined ? {} : { p50_ms: Math.round(lat.p50 * 100) / 100, p99_ms: Math.round(lat.p99 * 100) / 100 }),
  }),
)
