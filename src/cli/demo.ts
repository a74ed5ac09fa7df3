/**
 * `distributex demo` (npm start): starts a local cluster of three identical peers on loopback with
 * the embedded defaults (a file job log shared by the peers, memory caches), runs a mixed workload
 * through their HTTP APIs with a live progress line, kills the leader with SIGKILL halfway to show
 * a failover, and prints a summary. Ctrl-C stops the workload and the peers cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { realEnvironment } from '../env/real.js'
import type { Environment } from '../env/types.js'
import type { StatusDocument } from '../node/http-api.js'

// From src/cli/ in a checkout and from the build's chunks in src/bundle/ (src/build-bundle.mjs).
const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url))
const BATCH = 100
const LANES = 4

interface DemoPeer {
  readonly name: string
  readonly args: string[]
  readonly http: string
  process: ChildProcess | undefined
}

export interface DemoOptions {
  /** How many jobs the workload submits. */
  readonly jobs: number
  /** Leave the leader alone instead of killing it halfway. */
  readonly keepLeader?: boolean | undefined
  /** Where the peers keep their data (emptied first). */
  readonly dir: string
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const total = options.jobs
  const env = realEnvironment({ logLevel: 'error' })
  const dir = resolve(options.dir)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await run([BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const peers: DemoPeer[] = []
  try {
    out(`starting 3 peers on loopback in ${dir} ...\n`)
    for (let i = 0; i < 3; i++) {
      const [p2p, http] = [await freePort(), await freePort()]
      const bootstrap = i === 0 ? [] : ['--bootstrap', (await status(peers[0]!))!.addresses[0]!]
      const peer: DemoPeer = {
        name: `peer-${i}`,
        http: `http://127.0.0.1:${http}`,
        process: undefined,
        args: [
          BIN,
          'start',
          '--listen',
          `/ip4/127.0.0.1/tcp/${p2p}`,
          '--http',
          `127.0.0.1:${http}`,
          '--data-dir',
          join(dir, `peer-${i}`),
          '--secret-file',
          join(dir, 'cluster.key'),
          '--log-level',
          'error',
          ...bootstrap,
        ],
      }
      peers.push(peer)
      startPeer(peer)
      await until(
        env,
        stop.signal,
        async () => (await status(peer))?.addresses.length ?? 0,
        (n) => n > 0,
      )
    }
    // Every peer a voter before the show starts: killing the leader of a cluster whose third peer is
    // still a worker (promotion follows admission) leaves one voter of two, and no leader ever again.
    const leader = await until(
      env,
      stop.signal,
      () => leaderOf(peers, undefined, peers.length),
      (l) => l !== undefined,
    )
    out(`cluster up: leader ${short(leader!.nodeId)} (epoch ${leader!.epoch}); try: distributex status --http ${peers[0]!.http.slice(7)}\n\n`)
    const summary = await workload(env, peers, total, options.keepLeader !== true, stop.signal)
    out(`\n${summary}\n`)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    out('stopping the peers (each leaves the cluster gracefully) ...\n')
    await Promise.all(peers.map(stopPeer))
  }
  return 0
}

async function workload(env: Environment, peers: DemoPeer[], total: number, failover: boolean, signal: AbortSignal): Promise<string> {
  const started = env.clock.monotonicMs()
  let submitted = 0
  let done = 0
  let failed = 0
  let failedAttempts = 0
  // Failed attempts last read from each peer process; a killed process keeps its last figure.
  const attemptsOf = new Map<ChildProcess, number>()
  let failoverNote = 'no failover'
  let leaderNote = ''
  const latencies: number[] = []
  // On a terminal the progress line redraws in place; piped, it prints a line a second.
  const tty = process.stdout.isTTY === true
  const render = (): void => {
    const seconds = (env.clock.monotonicMs() - started) / 1000
    const line = `${done + failed}/${total} jobs finished (${failed} failed, ${failedAttempts} failed attempts), ${Math.round((done + failed) / Math.max(seconds, 0.001))}/s ${leaderNote}`
    out(tty ? `\r${line}   ` : `${line}\n`)
  }
  const ticker = (): void => {
    render()
    timer = env.timers.schedule(tty ? 250 : 1000, ticker)
  }
  let timer = env.timers.schedule(tty ? 250 : 1000, ticker)
  const refreshLeader = async (): Promise<void> => {
    const l = await leaderOf(peers, signal)
    leaderNote = l === undefined ? '| electing a leader ...' : `| leader ${short(l.nodeId)} epoch ${l.epoch}`
  }
  const lane = async (): Promise<void> => {
    while (submitted < total && !signal.aborted) {
      const n = Math.min(BATCH, total - submitted)
      submitted += n
      const jobs = Array.from({ length: n }, (_, i) => mix(submitted - n + i))
      for (;;) {
        const target = await followerOf(peers, env, signal)
        const t0 = env.clock.monotonicMs()
        try {
          const res = await fetch(`${target.http}/jobs/batch?wait=1&timeoutMs=60000`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jobs }),
            signal,
          })
          const body = (await res.json()) as { results: Array<{ ok?: boolean }> }
          latencies.push(env.clock.monotonicMs() - t0)
          done += body.results.filter((r) => r.ok === true).length
          failed += body.results.filter((r) => r.ok !== true).length
          break
        } catch {
          if (signal.aborted) return
          await env.timers.sleep(200)
        }
      }
    }
  }
  const chaos = async (): Promise<void> => {
    if (!failover) return
    while (done + failed < total / 2 && !signal.aborted) await env.timers.sleep(50)
    const before = await leaderOf(peers)
    const victim = before === undefined ? undefined : await peerOf(peers, before.nodeId)
    if (victim === undefined || signal.aborted) return
    victim.process?.kill('SIGKILL')
    const killedAt = env.clock.monotonicMs()
    const after = await until(
      env,
      signal,
      () => leaderOf(peers.filter((p) => p !== victim)),
      (l) => l !== undefined && l.nodeId !== before!.nodeId,
    )
    const tookOver = `killed the leader ${short(before!.nodeId)} with SIGKILL; ${short(after!.nodeId)} took over (epoch ${before!.epoch} -> ${after!.epoch}) after ${Math.round(env.clock.monotonicMs() - killedAt)} ms`
    failoverNote = `${tookOver}; the old leader was restarted and is rejoining`
    startPeer(victim)
    const rejoined = await until(
      env,
      signal,
      () => status(victim),
      (s) => s?.leader?.nodeId === after!.nodeId && !s.leading,
      15_000,
    )
    if (rejoined?.leader?.nodeId === after!.nodeId) failoverNote = `${tookOver}; the old leader restarted and rejoined as a follower`
  }
  const leaderWatch = async (): Promise<void> => {
    while (done + failed < total && !signal.aborted) {
      await refreshLeader()
      await env.timers.sleep(300).catch(() => {})
    }
  }
  // Failed attempts, summed over every peer process from its dx_job_attempt_seconds; a killed
  // leader's figure is the one read from it last, at most a second before the kill.
  const refreshAttempts = async (): Promise<void> => {
    await Promise.all(
      peers.map(async (p) => {
        const child = p.process
        const text = await fetch(`${p.http}/metrics`, { signal }).then(
          (r) => r.text(),
          () => undefined,
        )
        if (child === undefined || text === undefined) return
        attemptsOf.set(
          child,
          [...text.matchAll(/^dx_job_attempt_seconds_count\{[^}]*outcome="error"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0),
        )
      }),
    )
    failedAttempts = [...attemptsOf.values()].reduce((a, b) => a + b, 0)
  }
  const attemptsWatch = async (): Promise<void> => {
    while (done + failed < total && !signal.aborted) {
      await refreshAttempts()
      await env.timers.sleep(1000).catch(() => {})
    }
  }
  await Promise.all([...Array.from({ length: LANES }, lane), chaos(), leaderWatch(), attemptsWatch()])
  await refreshAttempts()
  env.timers.cancel(timer)
  render()
  const seconds = (env.clock.monotonicMs() - started) / 1000
  latencies.sort((a, b) => a - b)
  return [
    signal.aborted ? 'interrupted.' : 'done.',
    `jobs: ${done} completed, ${failed} failed, after ${failedAttempts} failed attempts (the flaky type fails on purpose; it is retried up to 3 times) in ${seconds.toFixed(1)} s, ${Math.round((done + failed) / seconds)} jobs/s`,
    `batches of ${BATCH}: submit-to-all-results p50 ${Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0)} ms, max ${Math.round(latencies[latencies.length - 1] ?? 0)} ms`,
    `failover: ${failoverNote}`,
  ].join('\n')
}

/** The demo's job mix: mostly short sleeps and some CPU work, plus a flaky type that needs retries. */
function mix(i: number): { type: string; input: unknown; options?: unknown } {
  if (i % 10 === 0) return { type: 'flaky', input: { failRate: 0.3 }, options: { retries: 3, backoff: { minMs: 20 } } }
  if (i % 3 === 0) return { type: 'fib', input: { n: 5000 + (i % 5000) } }
  return { type: 'sleep', input: { ms: 5 + (i % 40) } }
}

function startPeer(peer: DemoPeer): void {
  peer.process = spawn(process.execPath, peer.args, { stdio: ['ignore', 'ignore', 'inherit'] })
}

async function stopPeer(peer: DemoPeer): Promise<void> {
  const child = peer.process
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill('SIGTERM')
  await exited
}

/** The peer's /status; undefined while it is down, or once `signal` (the demo's Ctrl-C) aborts. */
async function status(peer: DemoPeer, signal?: AbortSignal): Promise<StatusDocument | undefined> {
  try {
    const res = await fetch(`${peer.http}/status`, { signal: signal ?? null })
    return res.ok ? ((await res.json()) as StatusDocument) : undefined
  } catch {
    return undefined
  }
}

/** The leader, once one leads with at least `voters` voters up (itself included: its role shows as leader). */
async function leaderOf(peers: DemoPeer[], signal?: AbortSignal, voters = 0): Promise<{ nodeId: string; epoch: number } | undefined> {
  const statuses = (await Promise.all(peers.map((p) => status(p, signal)))).filter((s) => s !== undefined)
  const leading = statuses.find((s) => s.leading)
  const votersUp = leading?.members.filter((m) => (m.role === 'voter' || m.role === 'leader') && m.state === 'up').length ?? 0
  if (leading === undefined || votersUp < voters) return undefined
  return leading.leader ?? undefined
}

async function peerOf(peers: DemoPeer[], nodeId: string): Promise<DemoPeer | undefined> {
  for (const p of peers) if ((await status(p))?.nodeId === nodeId) return p
  return undefined
}

/** A live peer that does not lead (submissions to it survive a leader kill); any live peer otherwise. */
async function followerOf(peers: DemoPeer[], env: Environment, signal: AbortSignal): Promise<DemoPeer> {
  const statuses = await Promise.all(peers.map((p) => status(p, signal)))
  const live = peers.filter((_, i) => statuses[i] !== undefined)
  const followers = peers.filter((_, i) => statuses[i]?.leading === false)
  const pool = followers.length > 0 ? followers : live.length > 0 ? live : peers
  return pool[env.random.int(0, pool.length - 1)]!
}

async function until<T>(env: Environment, signal: AbortSignal, probe: () => Promise<T>, done: (value: T) => boolean, withinMs = Infinity): Promise<T> {
  const deadline = env.clock.monotonicMs() + withinMs
  for (;;) {
    const value = await probe()
    if (done(value) || signal.aborted || env.clock.monotonicMs() > deadline) return value
    await env.timers.sleep(100)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePort(port))
    })
  })
}

function run(args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' })
    child.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`${args.join(' ')} exited with ${code}`))))
  })
}

function short(nodeId: string): string {
  return `${nodeId.slice(0, 6)}…${nodeId.slice(-4)}`
}

function out(text: string): void {
  process.stdout.write(text)
}
