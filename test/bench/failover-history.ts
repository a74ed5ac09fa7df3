/**
 * Failover with a long history: 3 peers on the embedded default (each with its own data directory
 * and copy of the replicated log) run HISTORY no-op jobs (1,000,000 by default) submitted by an
 * in-process peer without job types; then the leader's resident memory is read and it is killed
 * with -9, and failover is the time from the kill until a survivor acknowledges a new job. With
 * snapshots and retention, neither should grow with the history (goals: failover under 2,000 ms,
 * leader RSS under 250 MB). Environment: HISTORY (jobs), SUBMIT_S (stop submitting after so many seconds
 * and measure with the history reached, for a loaded machine), IN_FLIGHT (batches of 1,000 in flight),
 * PEER_ARGS (extra `distributex start` options, space-separated; `--log-level info` with TIMELINE), TIMELINE=1 (after the kill, when
 * each survivor names the new leader and leads, from its /status every 25 ms, and the survivors' log lines since the kill), NODE_ARGS (extra node options for the peers, space-separated, to compare V8 settings), POLL_S
 * (every so many seconds, each peer's RSS and V8 heap from /proc and /metrics on stderr, to see where
 * the memory goes during the run; 0 = off), PEER_BIN (the peers' executable: by default this checkout's
 * src/cli/bin.mjs, which compiles the sources through tsx in each peer, about 70 MB of resident
 * memory that an installed package does not have; `dist/src/cli/bin.mjs` after `npm run build` runs
 * what a package ships). A batch the client gives up on (a leader change under load) is sent again,
 * and the number of such retries and the longest wait for a batch are printed. Prints one JSON
 * object on the last line.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { resolveConfig } from '../../src/node/config.js'
import { startNode } from '../../src/node/start.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'

const HISTORY = Number(process.env.HISTORY ?? 1_000_000)
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 6)
const PEER_ARGS = (process.env.PEER_ARGS ?? '').split(' ').filter((a) => a !== '')
const NODE_ARGS = (process.env.NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
const POLL_S = Number(process.env.POLL_S ?? 0)
const SUBMIT_S = Number(process.env.SUBMIT_S ?? Infinity)
const TIMELINE = process.env.TIMELINE === '1'
const BATCH = 1000
const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')
const PEER_BIN = process.env.PEER_BIN === undefined ? undefined : resolve(process.env.PEER_BIN)

/** Resident set size of a process in MB, from /proc. */
function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return Math.round(kb / 1024)
}

/** One line per peer: RSS, and from its /metrics the V8 heap (used/committed), new and old space and external memory, in MB. */
async function memoryLine(peers: Peer[]): Promise<string> {
  const mb = (text: string, name: string): string => {
    const v = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1]
    return v === undefined ? '?' : String(Math.round(Number(v) / 1048576))
  }
  const parts = await Promise.all(
    peers.map(async (p) => {
      if (!p.running) return `${p.spec.name} down`
      const text = await fetch(`${p.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => '')
      return (
        `${p.spec.name} rss ${rssMb(p.pid!)} heap ${mb(text, 'dx_nodejs_heap_size_used_bytes')}/${mb(text, 'dx_nodejs_heap_size_total_bytes')}` +
        ` new ${mb(text, 'dx_nodejs_heap_space_size_total_bytes\\{space="new"\\}')} old ${mb(text, 'dx_nodejs_heap_space_size_used_bytes\\{space="old"\\}')}/${mb(text, 'dx_nodejs_heap_space_size_total_bytes\\{space="old"\\}')}` +
        ` ext ${mb(text, 'dx_nodejs_external_memory_bytes')}`
      )
    }),
  )
  return parts.join(' | ')
}

/** One unlabelled metric of a peer, as its /metrics shows it ('?' if absent). */
async function metric(p: Peer, name: string): Promise<string> {
  const text = await fetch(`${p.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
    .then((r) => r.text())
    .catch(() => '')
  return new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? '?'
}

/**
 * Polls the survivors' /status every 25 ms from the kill on and notes, relative to the kill, when
 * each first names a leader of a newer epoch than `epoch` and when one reports leading it.
 */
function watchFailover(survivors: Peer[], killedAt: number, epoch: number): { stop(): Promise<string[]> } {
  const marks: string[] = []
  const seen = new Set<string>()
  let running = true
  const mark = (key: string, text: string): void => {
    if (seen.has(key)) return
    seen.add(key)
    marks.push(`${text} ${Math.round(performance.now() - killedAt)}`)
  }
  const loop = (async (): Promise<void> => {
    while (running) {
      await Promise.all(
        survivors.map(async (p) => {
          const s = await p.status().catch(() => undefined)
          if (s?.leader !== null && s?.leader !== undefined && s.leader.epoch > epoch) mark(`${p.spec.name} leader`, `${p.spec.name} knows leader of epoch ${s.leader.epoch}`)
          if (s?.leading === true) mark(`${p.spec.name} leading`, `${p.spec.name} leading`)
        }),
      )
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return marks
    },
  }
}

const dir = await mkdtemp(join(tmpdir(), 'dx-bench-history-'))
await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
const peers: Peer[] = []
try {
  for (let i = 0; i < 3; i++) {
    const p = new Peer({
      name: `p${i}`,
      dataDir: join(dir, `p${i}`),
      secretFile: join(dir, 'cluster.key'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      bootstrap: i === 0 ? [] : [await peers[0]!.address()],
      nodeArgs: NODE_ARGS,
      extraArgs: PEER_ARGS,
      ...(PEER_BIN === undefined ? {} : { bin: PEER_BIN }),
    })
    peers.push(p)
    p.start()
    await p.address()
  }
  await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    60_000,
    'a leader',
  )
  const config = resolveConfig(
    {
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [await peers[0]!.address()],
      secretFile: join(dir, 'cluster.key'),
      dataDir: join(dir, 'submitter'),
      http: 'off',
      logLevel: 'error',
    },
    {},
  )
  const client = await startNode(config, [])
  try {
    await waitFor(
      async () => client.cluster.view()?.leader?.nodeId,
      (l) => l !== undefined,
      60_000,
      'the submitter to join',
    )
    const batch = Array.from({ length: BATCH }, () => ({ job: 'noop', input: null, options: { retries: 1 } }))
    let submitted = 0
    let finished = 0
    const started = performance.now()
    const poll =
      POLL_S > 0
        ? setInterval(() => {
            void memoryLine(peers).then((line) => console.error(`${Math.round((performance.now() - started) / 1000)} s, ${finished} jobs: ${line}`))
          }, POLL_S * 1000)
        : undefined
    /** Batches given up on (no leader within the client's timeout, a result lost to a failover) and resubmitted, and the longest time without a finished batch. */
    let retried = 0
    let lastProgress = performance.now()
    let longestStallMs = 0
    const lane = async (): Promise<void> => {
      while (submitted < HISTORY && performance.now() - started < SUBMIT_S * 1000) {
        submitted += BATCH
        // A leader change under load can outlast the client's wait: the batch is sent again (as new
        // jobs: the history only grows), and the wait is reported rather than ending the run.
        for (;;) {
          try {
            const handles = await Promise.all(client.jobs.submitBatch(batch))
            await Promise.all(handles.map((h) => h.result()))
            break
          } catch (error) {
            retried++
            console.error(`${Math.round((performance.now() - started) / 1000)} s: batch retried after ${String(error).slice(0, 200)}`)
            // What the peers logged (warnings and errors) before the first few of these, to tell a slow election from a stall.
            if (retried <= 3) for (const p of peers) console.error(`  ${p.spec.name}: ${p.output.slice(-15).join(`\n  ${p.spec.name}: `)}`)
          }
        }
        const now = performance.now()
        longestStallMs = Math.max(longestStallMs, now - lastProgress)
        lastProgress = now
        finished += BATCH
        if (finished % 100_000 === 0) console.error(`${finished} jobs in ${Math.round((performance.now() - started) / 1000)} s`)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane)).finally(() => clearInterval(poll))
    if (POLL_S > 0) console.error(`end: ${await memoryLine(peers)}`)
    // The submitter is a member too, so the peers' own view of the leader is what counts here.
    const leader = (await waitFor(
      async () => (await peers[0]!.status())?.leader,
      (l) => l !== null && l !== undefined,
      30_000,
      'the leader',
    ))!
    const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
    const victim = peers[ids.indexOf(leader.nodeId)]!
    const leaderRss = rssMb(victim.pid!)
    const survivor = peers.find((p) => p !== victim)!
    const survivors = peers.filter((p) => p !== victim)
    // The lag each survivor observed lengthens its election timeout (src/cluster/core.ts, "Lag").
    const lags = TIMELINE ? await Promise.all(survivors.map(async (p) => `${p.spec.name} ${await metric(p, 'dx_cluster_lag_seconds')} s`)) : []
    const killedAt = performance.now()
    const killedWall = Date.now()
    await victim.kill()
    const timeline = TIMELINE ? watchFailover(survivors, killedAt, leader.epoch) : undefined
    for (;;) {
      const reply = await survivor.call<{ id?: string }>('POST', '/jobs', { type: 'noop', input: null }).catch(() => ({ status: 0, json: {} }))
      if (reply.status === 202) break
    }
    const failoverMs = Math.round(performance.now() - killedAt)
    if (timeline !== undefined) {
      const marks = await timeline.stop()
      console.error(`survivors' observed lag at the kill: ${lags.join(', ')}`)
      console.error(
        `failover timeline (ms after the kill): ${marks.join('; ')}; first job acknowledged ${failoverMs}; survivors stopped at about ${Math.round(performance.now() - killedAt)}`,
      )
      for (const p of survivors)
        for (const line of p.output) {
          const time = Number(/"time":(\d+)/.exec(line)?.[1])
          if (time >= killedWall) console.error(`  ${p.spec.name} +${time - killedWall} ms: ${line.slice(0, 400)}`)
        }
    }
    console.error(
      `history ${finished} jobs (${Math.round(finished / ((killedAt - started) / 1000))} jobs/s); leader RSS ${leaderRss} MB; failover ${failoverMs} ms; ` +
        `${retried} batches retried; longest time without a finished batch ${Math.round(longestStallMs)} ms`,
    )
    console.log(JSON.stringify({ bench: 'failover-history', jobs_in_history: finished, failover_ms: failoverMs, leader_rss_mb: leaderRss }))
  } finally {
    await client.stop()
  }
} finally {
  // With TIMELINE the peers end by SIGTERM, so that a `--cpu-prof` in NODE_ARGS writes their profiles.
  if (TIMELINE) await Promise.all(peers.map(async (p) => p.running && (await Promise.race([p.stop(), new Promise((resolve) => setTimeout(resolve, 10_000))]))))
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
}
