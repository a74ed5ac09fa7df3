/**
 * Failover with a long history: 3 peers on the embedded default (each with its own data directory
 * and copy of the replicated log) run HISTORY no-op jobs (1,000,000 by default) submitted by an
 * in-process peer without job types; then the leader's resident memory is read and it is killed
 * with -9, and failover is the time from the kill until a survivor acknowledges a new job. With
 * snapshots and retention, neither should grow with the history (goals: failover under 2,000 ms,
 * leader RSS under 250 MB). Environment: HISTORY (jobs), IN_FLIGHT (batches of 1,000 in flight).
 * Prints one JSON object on the last line.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { resolveConfig } from '../../src/node/config.js'
import { startNode } from '../../src/node/start.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'

const HISTORY = Number(process.env.HISTORY ?? 1_000_000)
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 6)
const BATCH = 1000
const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')

/** Resident set size of a process in MB, from /proc. */
function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return Math.round(kb / 1024)
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
    const lane = async (): Promise<void> => {
      while (submitted < HISTORY) {
        submitted += BATCH
        const handles = await Promise.all(client.jobs.submitBatch(batch))
        await Promise.all(handles.map((h) => h.result()))
        finished += BATCH
        if (finished % 100_000 === 0) console.error(`${finished} jobs in ${Math.round((performance.now() - started) / 1000)} s`)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
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
    const killedAt = performance.now()
    await victim.kill()
    for (;;) {
      const reply = await survivor.call<{ id?: string }>('POST', '/jobs', { type: 'noop', input: null }).catch(() => ({ status: 0, json: {} }))
      if (reply.status === 202) break
    }
    const failoverMs = Math.round(performance.now() - killedAt)
    console.error(`history ${finished} jobs (${Math.round(finished / ((killedAt - started) / 1000))} jobs/s); leader RSS ${leaderRss} MB; failover ${failoverMs} ms`)
    console.log(JSON.stringify({ bench: 'failover-history', jobs_in_history: finished, failover_ms: failoverMs, leader_rss_mb: leaderRss }))
  } finally {
    await client.stop()
  }
} finally {
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
}
