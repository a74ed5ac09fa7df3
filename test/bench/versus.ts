/**
 * DistributeX against BullMQ, side by side in one run (issue 15): the job queue most Node.js users
 * would pick instead, on the same machine in the same minutes, so that only ratios count.
 *
 * Sides, alternated within each pair (A B A B):
 * - `bullmq-everysec`: BullMQ 6.7 on a redis-server this bench starts on a free port with a fresh
 *   data directory (AOF, appendfsync everysec: its usual setting, weaker than ours), a Worker
 *   (concurrency 128) in one process and the producer in another;
 * - `dx`: DistributeX's embedded default (the replicated job log, memory result caches), three
 *   `distributex start` peers and a submitter process that joins as a member without job types;
 * - `bullmq-always`: as the first, with appendfsync always (acknowledged means on disk, as ours);
 * - `dx-kafka`: the same three peers on Kafka (job log) and a redis-server of the bench's own
 *   (result cache), when a Kafka broker answers at 127.0.0.1:$DX_KAFKA_PORT (19092) or :9092.
 *
 * Measured per side and pair: end-to-end jobs/s for JOBS no-op jobs (batches of 1,000, IN_FLIGHT
 * batches at a time, from the first submission to the last completion; on BullMQ the worker's
 * last `completed` event, as in the baseline), with the CPU time of every process of that side
 * (peers, submitter and Redis; producer, worker and redis-server; the Kafka broker's too) per 1,000
 * jobs; then P50/P99 latency from each job's scheduled submission to its result at open-loop rates
 * (no-op and 10 ms timer jobs at 1,000 and 3,000/s; 2 ms CPU jobs at 150 and 300/s, since two cores
 * cannot run 2 ms jobs at 1,000/s beside anything else); and, on `dx`, each peer's RSS and CPU
 * share while the 3-peer cluster sits idle.
 *
 * Options: --pairs N (3), --jobs N (50000), --in-flight N (6), --seconds S (5, per latency run,
 * after --warmup S (1)), --rates 1000,3000, --cpu-rates 150,300, --kinds noop,timer,cpu,
 * --sides bullmq-everysec,dx,bullmq-always,dx-kafka, --idle-seconds S (6), --profile DIR (DX
 * processes run under --cpu-prof, written to DIR/<pair>-<side>/<process>), --dx-root DIR (run the
 * DistributeX processes from another checkout), --dx-root-b DIR with side `dx-b` (the embedded
 * default from a second checkout, e.g. the commit before a change, alternated in the same run).
 * The last line is one JSON object: the medians over pairs of DistributeX divided by BullMQ.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs, promisify } from 'node:util'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import type { Command, Kind, LatencyResult, Reply } from './_versus-load.js'

const { values: flags } = parseArgs({
  options: {
    pairs: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '50000' },
    'in-flight': { type: 'string', default: '6' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    rates: { type: 'string', default: '1000,3000' },
    'cpu-rates': { type: 'string', default: '150,300' },
    kinds: { type: 'string', default: 'noop,timer,cpu' },
    sides: { type: 'string', default: 'bullmq-everysec,dx,bullmq-always,dx-kafka' },
    'idle-seconds': { type: 'string', default: '6' },
    profile: { type: 'string' },
    'dx-root': { type: 'string' },
    'dx-root-b': { type: 'string' },
  },
})
const PAIRS = Number(flags.pairs)
const JOBS = Number(flags.jobs)
const BATCH = 1000
const IN_FLIGHT = Number(flags['in-flight'])
const SECONDS = Number(flags.seconds)
const WARMUP = Number(flags.warmup)
const RATES = flags.rates.split(',').map(Number)
const CPU_RATES = flags['cpu-rates'].split(',').map(Number)
const KINDS = flags.kinds.split(',') as Kind[]
const IDLE_SECONDS = Number(flags['idle-seconds'])
const PROFILE = flags.profile === undefined ? undefined : resolve(flags.profile)
const CONCURRENCY = 128
const HERE = import.meta.dirname
const REPO = resolve(HERE, '..', '..')
const DX_ROOT = resolve(flags['dx-root'] ?? REPO)
const DX_ROOT_B = flags['dx-root-b'] === undefined ? undefined : resolve(flags['dx-root-b'])

type Side = 'bullmq-everysec' | 'dx' | 'bullmq-always' | 'dx-kafka' | 'dx-b'
const SIDES = flags.sides.split(',') as Side[]

/** What one side measured in one pair. */
interface SideResult {
  jobsPerS: number
  cpuMsPer1000: number
  /** Latency by `${kind}@${rate}`. */
  latency: Record<string, LatencyResult>
  /** Per idle peer (dx only). */
  idle?: Array<{ rssMb: number; cpuPct: number }>
}

/** Every child process still running, killed if the bench itself ends early (Ctrl-C, a failure). */
const children = new Set<{ kill: (signal: NodeJS.Signals) => unknown; once: (event: 'exit', listener: () => void) => unknown }>()
function track(proc: ChildProcess): void {
  children.add(proc)
  proc.once('exit', () => children.delete(proc))
}
const livePeers = new Set<Peer>()
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  for (const p of livePeers) void p.kill()
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

const TICK_MS = 1000 / 100 // USER_HZ is 100 on Linux

/** utime + stime of a process in ms, from /proc (0 once it is gone). */
async function cpuMs(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return 0
  }
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

async function totalCpuMs(pids: readonly number[]): Promise<number> {
  return (await Promise.all(pids.map(cpuMs))).reduce((a, b) => a + b, 0)
}

/** The pid listening on a TCP port on this host (the Kafka broker), if ss can tell. */
async function listenerPid(port: number): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)('ss', ['-ltnpH', `sport = :${port}`])
    const m = /pid=(\d+)/.exec(stdout)
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
    socket.once('timeout', () => {
      socket.destroy()
      done(false)
    })
  })
}

/** A child process spoken to over IPC, one request at a time. */
class Child {
  private readonly replies: Array<(m: Reply | { ok: string }) => void> = []
  /** Messages that came before anyone asked for them (a child may be ready before its sibling). */
  private readonly inbox: Array<Reply | { ok: string }> = []
  private readonly listeners = new Map<string, () => void>()
  readonly exited: Promise<void>
  constructor(
    readonly proc: ChildProcess,
    readonly name: string,
  ) {
    proc.on('message', (m: { ok: string }) => {
      const listener = this.listeners.get(m.ok)
      if (listener !== undefined) {
        this.listeners.delete(m.ok)
        listener()
        return
      }
      const reply = this.replies.shift()
      if (reply === undefined) this.inbox.push(m)
      else reply(m)
    })
    this.exited = new Promise((r) => proc.once('exit', () => r()))
    void this.exited.then(() => {
      for (const reply of this.replies.splice(0)) reply({ ok: 'error', message: `${name} exited` })
    })
  }

  static start(name: string, module: string, args: string[], execArgv: string[] = []): Child {
    const proc = fork(module, args, { cwd: REPO, execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    track(proc)
    return new Child(proc, name)
  }

  /** The next message, e.g. the first 'ready'. */
  next<T = Reply>(): Promise<T> {
    const waiting = this.inbox.shift()
    if (waiting !== undefined) return Promise.resolve(waiting as T)
    return new Promise((r) => this.replies.push(r as (m: Reply | { ok: string }) => void))
  }

  /** Resolves when a message `{ ok: tag }` arrives (outside the request/reply order). */
  once(tag: string): Promise<void> {
    return new Promise((r) => this.listeners.set(tag, r))
  }

  async request<T extends Reply>(command: Command | { cmd: 'expect'; n: number }): Promise<T> {
    const reply = this.next<Reply>()
    this.proc.send(command)
    const r = await reply
    if (r.ok === 'error') throw new Error(`${this.name}: ${r.message}`)
    return r as T
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.proc.send({ cmd: 'stop' })
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** A redis-server of the bench's own on a free port, with a fresh data directory. */
async function startRedis(appendfsync: 'everysec' | 'always' | 'off'): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-versus-redis-'))
  const port = await freePort()
  const persistence = appendfsync === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', appendfsync]
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--daemonize', 'no', '--logfile', ''], {
    stdio: 'ignore',
  })
  track(proc)
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  await waitFor(
    () => answers(port),
    (ok) => ok,
    10_000,
    `redis-server on ${port}`,
  )
  return {
    port,
    pid: proc.pid!,
    stop: async () => {
      proc.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const latencyRuns = (): Array<{ kind: Kind; rate: number }> => KINDS.flatMap((kind) => (kind === 'cpu' ? CPU_RATES : RATES).map((rate) => ({ kind, rate })))

/** Throughput with CPU accounting, then the latency runs, through a driver child. */
async function measureWith(driver: Child, pids: () => readonly number[], throughput: () => Promise<number>): Promise<Omit<SideResult, 'idle'>> {
  const cpuBefore = await totalCpuMs(pids())
  const jobsPerS = await throughput()
  const cpuMsPer1000 = ((await totalCpuMs(pids())) - cpuBefore) / (JOBS / 1000)
  const latency: Record<string, LatencyResult> = {}
  for (const { kind, rate } of latencyRuns()) {
    const r = await driver.request<{ ok: 'latency'; result: LatencyResult }>({ cmd: 'latency', kind, rate, seconds: SECONDS, warmup: WARMUP })
    latency[`${kind}@${rate}`] = r.result
  }
  return { jobsPerS, cpuMsPer1000, latency }
}

async function runBullmq(appendfsync: 'everysec' | 'always'): Promise<SideResult> {
  const redis = await startRedis(appendfsync)
  const module = join(HERE, '_versus-bullmq.ts')
  const worker = Child.start('bullmq worker', module, ['worker', String(redis.port), String(CONCURRENCY)])
  const producer = Child.start('bullmq producer', module, ['producer', String(redis.port)])
  try {
    await worker.next()
    await producer.next()
    const enqueueAndDrain = async (n: number): Promise<number> => {
      await worker.request({ cmd: 'expect', n })
      const done = worker.once('done')
      const start = performance.now()
      await producer.request({ cmd: 'throughput', jobs: n, batch: BATCH, inFlight: IN_FLIGHT })
      await done
      return n / ((performance.now() - start) / 1000)
    }
    await enqueueAndDrain(BATCH) // warm-up, as the DistributeX submitter does
    await worker.request({ cmd: 'expect', n: Number.POSITIVE_INFINITY })
    return await measureWith(
      producer,
      () => [redis.pid, worker.proc.pid!, producer.proc.pid!],
      () => enqueueAndDrain(JOBS),
    )
  } finally {
    await producer.stop()
    await worker.stop()
    await redis.stop()
  }
}

async function runDx(kind: 'dx' | 'dx-kafka', profileDir: string | undefined, root: string): Promise<SideResult> {
  const DX_BENCH = join(root, 'test', 'bench')
  const BIN = join(root, 'src', 'cli', 'bin.mjs')
  const dir = await mkdtemp(join(tmpdir(), 'dx-versus-'))
  const redis = kind === 'dx-kafka' ? await startRedis('off') : undefined
  const kafkaPid = kind === 'dx-kafka' ? await listenerPid(KAFKA_PORT!) : undefined
  const jobLog = kind === 'dx-kafka' ? `kafka://127.0.0.1:${KAFKA_PORT}/dx-versus-${Date.now()}` : undefined
  const cache = redis === undefined ? 'memory' : `redis://127.0.0.1:${redis.port}/dxversus`
  const peers: Peer[] = []
  let submitter: Child | undefined
  try {
    await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    for (let i = 0; i < 3; i++) {
      const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}/p${i}`]
      const p = new Peer({
        name: `p${i}`,
        bin: BIN,
        nodeArgs,
        dataDir: join(dir, `p${i}`),
        secretFile: join(dir, 'cluster.key'),
        p2pPort: await freePort(),
        httpPort: await freePort(),
        ...(jobLog === undefined ? {} : { jobLog }),
        cache,
        actors: join(DX_BENCH, '_versus-jobs.ts'),
        bootstrap: i === 0 ? [] : [await peers[0]!.address()],
      })
      peers.push(p)
      p.start()
      livePeers.add(p)
      await p.address()
    }
    const leader = await waitFor(
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
    if (profileDir !== undefined) {
      const roles = await Promise.all(peers.map(async (p) => `${p.spec.name}${(await p.status())?.leading === true ? ' (leader)' : ''}`))
      console.error(`profiles in ${profileDir}: ${roles.join(', ')}; leader ${leader!.nodeId}`)
    }
    let idle: SideResult['idle']
    if (kind === 'dx') {
      // Idle cost of a formed 3-peer cluster, before anything else joins or runs.
      const pids = peers.map((p) => p.pid!)
      const before = await Promise.all(pids.map(cpuMs))
      await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000))
      const after = await Promise.all(pids.map(cpuMs))
      const rss = await Promise.all(pids.map(rssMb))
      idle = pids.map((_, i) => ({ rssMb: Math.round(rss[i]! * 10) / 10, cpuPct: Math.round(((after[i]! - before[i]!) / (IDLE_SECONDS * 1000)) * 1000) / 10 }))
    }
    const opts = { bootstrap: await peers[0]!.address(), secretFile: join(dir, 'cluster.key'), dataDir: join(dir, 'submitter'), ...(jobLog === undefined ? {} : { jobLog }), cache }
    submitter = Child.start(
      'dx submitter',
      join(DX_BENCH, '_versus-submitter.ts'),
      [JSON.stringify(opts)],
      profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}/submitter`],
    )
    const ready = await submitter.next()
    if (ready.ok !== 'ready') throw new Error(`submitter: ${JSON.stringify(ready)}`)
    const s = submitter
    const pids = (): number[] => [...peers.map((p) => p.pid!), s.proc.pid!, ...(redis === undefined ? [] : [redis.pid]), ...(kafkaPid === undefined ? [] : [kafkaPid])]
    const measured = await measureWith(
      s,
      pids,
      async () => (await s.request<{ ok: 'throughput'; jobsPerS: number; completed: number }>({ cmd: 'throughput', jobs: JOBS, batch: BATCH, inFlight: IN_FLIGHT })).jobsPerS,
    )
    return { ...measured, ...(idle === undefined ? {} : { idle }) }
  } finally {
    await submitter?.stop()
    // Under --cpu-prof the peers stop gracefully so that their profiles get written.
    await Promise.all(peers.map((p) => (profileDir === undefined ? p.kill() : p.stop())))
    for (const p of peers) livePeers.delete(p)
    await redis?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const KAFKA_PORT = (await answers(Number(process.env.DX_KAFKA_PORT ?? 19092))) ? Number(process.env.DX_KAFKA_PORT ?? 19092) : (await answers(9092)) ? 9092 : undefined
const sides = SIDES.filter((s) => s !== 'dx-kafka' || KAFKA_PORT !== undefined)
if (sides.length < SIDES.length) console.error('no Kafka broker at 127.0.0.1:19092 or :9092: dx-kafka skipped (start one with `bash test/kafka/broker.sh start`)')

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '-')
function describe(side: Side, r: SideResult): string {
  const lat = Object.entries(r.latency)
    .map(([k, v]) => `${k} ${fmt(v.p50)}/${fmt(v.p99)}${v.failed > 0 ? ` (${v.failed} failed)` : ''}`)
    .join(', ')
  const idle = r.idle === undefined ? '' : `; idle peers ${r.idle.map((p) => `${p.rssMb} MB ${p.cpuPct}%`).join(', ')}`
  return `${side}: ${Math.round(r.jobsPerS)} jobs/s, ${fmt(r.cpuMsPer1000, 0)} CPU ms/1000 jobs; p50/p99 ms ${lat}${idle}`
}

const results: Array<Partial<Record<Side, SideResult>>> = []
const failures: string[] = []
for (let pair = 0; pair < PAIRS; pair++) {
  const row: Partial<Record<Side, SideResult>> = {}
  for (const side of sides) {
    const profileDir = PROFILE === undefined ? undefined : join(PROFILE, `${pair + 1}-${side}`)
    try {
      if (side === 'dx-b' && DX_ROOT_B === undefined) throw new Error('the dx-b side needs --dx-root-b')
      row[side] =
        side === 'dx' || side === 'dx-kafka'
          ? await runDx(side, profileDir, DX_ROOT)
          : side === 'dx-b'
            ? await runDx('dx', profileDir, DX_ROOT_B!)
            : await runBullmq(side === 'bullmq-always' ? 'always' : 'everysec')
      console.error(`pair ${pair + 1} ${describe(side, row[side]!)}`)
    } catch (error) {
      // A failed side leaves a gap in its pair (left out of the medians) rather than ending the run.
      failures.push(`pair ${pair + 1} ${side}: ${(error as Error).message.split('\n')[0]}`)
      console.error(`pair ${pair + 1} ${side} FAILED: ${(error as Error).stack ?? String(error)}`)
    }
  }
  results.push(row)
  console.error(`pair ${pair + 1} raw: ${JSON.stringify(row)}`)
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const round = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null)
/** The median over pairs of f(dx side) / f(bullmq side). */
const ratio = (a: Side, b: Side, f: (r: SideResult) => number | undefined): number | null =>
  round(median(results.map((row) => (row[a] === undefined || row[b] === undefined ? Number.NaN : (f(row[a]!) ?? Number.NaN) / (f(row[b]!) ?? Number.NaN)))))
const lat =
  (key: string, q: 'p50' | 'p99') =>
  (r: SideResult): number | undefined =>
    r.latency[key]?.[q]
const idle = results.flatMap((row) => row.dx?.idle ?? [])
const [r1, r2] = RATES
console.log(
  JSON.stringify({
    bench: 'versus',
    pairs: PAIRS,
    throughput_ratio: ratio('dx', 'bullmq-everysec', (r) => r.jobsPerS),
    throughput_ratio_same_durability: ratio('dx', 'bullmq-always', (r) => r.jobsPerS),
    kafka_throughput_ratio: ratio('dx-kafka', 'bullmq-everysec', (r) => r.jobsPerS),
    p50_ratio_1000: ratio('dx', 'bullmq-everysec', lat(`noop@${r1}`, 'p50')),
    p99_ratio_1000: ratio('dx', 'bullmq-everysec', lat(`noop@${r1}`, 'p99')),
    p99_ratio_3000: ratio('dx', 'bullmq-everysec', lat(`noop@${r2}`, 'p99')),
    kafka_throughput_ratio_same_durability: ratio('dx-kafka', 'bullmq-always', (r) => r.jobsPerS),
    p99_ratio_1000_same_durability: ratio('dx', 'bullmq-always', lat(`noop@${r1}`, 'p99')),
    timer_p99_ratio_1000: ratio('dx', 'bullmq-everysec', lat(`timer@${r1}`, 'p99')),
    timer_p99_ratio_3000: ratio('dx', 'bullmq-everysec', lat(`timer@${r2}`, 'p99')),
    cpu_p99_ratio_low: ratio('dx', 'bullmq-everysec', lat(`cpu@${CPU_RATES[0]}`, 'p99')),
    cpu_p99_ratio_high: ratio('dx', 'bullmq-everysec', lat(`cpu@${CPU_RATES[1]}`, 'p99')),
    cpu_ms_per_1000_ratio: ratio('dx', 'bullmq-everysec', (r) => r.cpuMsPer1000),
    dx_jobs_per_s: round(median(results.map((r) => r.dx?.jobsPerS ?? Number.NaN))),
    bullmq_everysec_jobs_per_s: round(median(results.map((r) => r['bullmq-everysec']?.jobsPerS ?? Number.NaN))),
    idle_peer_rss_mb_max: idle.length === 0 ? null : Math.max(...idle.map((p) => p.rssMb)),
    idle_peer_cpu_pct_max: idle.length === 0 ? null : Math.max(...idle.map((p) => p.cpuPct)),
    failed_sides: failures.length,
    ...(DX_ROOT_B === undefined
      ? {}
      : {
          dx_vs_dx_b_throughput: ratio('dx', 'dx-b', (r) => r.jobsPerS),
          dx_vs_dx_b_p99_1000: ratio('dx', 'dx-b', lat(`noop@${r1}`, 'p99')),
          dx_vs_dx_b_cpu_ms: ratio('dx', 'dx-b', (r) => r.cpuMsPer1000),
        }),
  }),
)
