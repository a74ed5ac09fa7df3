/**
 * One run of the fault campaign: real `distributex start` peers on loopback (each its own process
 * and data directory, the replicated job log), a client workload that records a history of job
 * submissions with idempotency keys, and nemeses drawn from a seed: kill -9 of the leader or of any
 * peer (restarted 1-3 s later on its data directory), SIGSTOP for 1-4 s then SIGCONT, and a
 * graceful restart. At most two peers are faulty at a time (five voters keep a majority).
 *
 * After the nemesis stops, every peer runs again; recovery is the time until the peers agree on a
 * leader and a fresh job completes. The checker then reads, through the API, the result of every
 * acknowledged job, each from two peers, and the whole job list, and replays one stopped peer's
 * copy of the log: lost = an acknowledged job without its right result; duplicated = a job with two
 * different results, or two final records after the latest snapshot; unexpected = a listed job no
 * one submitted. History and schedule are returned so a failing run can be saved and replayed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SeededRandom } from '../../src/env/prng.js'
import { decodeJobRecord } from '../../protocols/jobs/codec.js'
import { replayJobLog } from '../../src/jobs/replay.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { openReplicaCopy } from '../helpers/job-workload.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'

const run = promisify(execFile)
const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')

export interface CampaignOptions {
  seed: number
  /** How long nemeses run while the workload submits. */
  seconds: number
  peers?: number
  /** Submission loops in parallel. */
  clients?: number
  log?: (line: string) => void
}

/** One client operation: invoke, then ok (acknowledged with an id), fail (refused) or unknown. */
export interface HistoryEntry {
  at: number
  key: string
  n: number
  outcome: 'ok' | 'fail' | 'unknown'
  id?: string
  detail?: string
}

export interface NemesisEvent {
  at: number
  kind: 'kill-leader' | 'kill' | 'stop' | 'restart'
  peer: string
  heal?: number
}

export interface CampaignResult {
  seed: number
  seconds: number
  faults: number
  acked: number
  lost: number
  duplicated: number
  unexpected: number
  recoveryMs: number
  problems: string[]
  history: HistoryEntry[]
  schedule: NemesisEvent[]
}

/** The bound on recovery after the last fault heals: every peer up under one leader. */
export const RECOVERY_BOUND_MS = 120_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? (() => {})
  // Separate streams, so the nemesis schedule of a seed does not depend on how many submissions ran.
  const random = new SeededRandom(options.seed)
  const clientRandom = new SeededRandom(options.seed + 1)
  const count = options.peers ?? 5
  const dir = await mkdtemp(join(tmpdir(), 'dx-chaos-'))
  const peers: Peer[] = []
  const history: HistoryEntry[] = []
  const schedule: NemesisEvent[] = []
  const started = Date.now()
  const now = (): number => Date.now() - started
  try {
    await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    for (let i = 0; i < count; i++) {
      await mkdir(join(dir, `p${i}`))
      const spec = { name: `p${i}`, dataDir: join(dir, `p${i}`, 'data'), secretFile: join(dir, 'cluster.key'), p2pPort: await freePort(), httpPort: await freePort(), extraArgs: ['--voters', String(count >= 5 ? 5 : 3)] }
      const peer = new Peer(i === 0 ? spec : { ...spec, bootstrap: [await peers[0]!.address()] })
      peers.push(peer)
      peer.start()
      if (i === 0) await peer.address()
    }
    await waitFor(() => agreedLeader(peers), (l) => l !== undefined, 300_000, `${count} peers up with one leader`)
    log(`cluster of ${count} formed in ${now()} ms`)

    // The workload: keys are unique per submission; n identifies the right result.
    let stopWorkload = false
    let sequence = 0
    const client = async (c: number): Promise<void> => {
      while (!stopWorkload) {
        const key = `s${options.seed}-c${c}-${sequence++}`
        const n = sequence % 500
        const target = peers[clientRandom.int(0, peers.length - 1)]!
        const at = now()
        try {
          const reply = await target.call<{ id?: string; error?: { name: string; message: string } }>('POST', '/jobs?submitTimeoutMs=3000', { type: 'fib', input: { n }, options: { idempotencyKey: key, retries: 10 } })
          if (reply.status === 202 && reply.json.id !== undefined) history.push({ at, key, n, outcome: 'ok', id: reply.json.id })
          else history.push({ at, key, n, outcome: reply.json.error?.message.includes('may still run') === true ? 'unknown' : 'fail', detail: `${reply.status} ${reply.json.error?.name}` })
        } catch (error) {
          history.push({ at, key, n, outcome: 'unknown', detail: (error as Error).message.slice(0, 120) })
          await sleep(50)
        }
      }
    }
    const clients = Array.from({ length: options.clients ?? 3 }, (_, c) => client(c))

    // The nemesis.
    const faulty = new Set<Peer>()
    const heals: Array<Promise<void>> = []
    const deadline = Date.now() + options.seconds * 1000
    while (Date.now() < deadline) {
      await sleep(random.int(1500, 4000))
      if (faulty.size >= 2) continue
      const healthy = peers.filter((p) => !faulty.has(p) && p.running)
      if (healthy.length === 0) continue
      const roll = random.int(0, 99)
      let victim = healthy[random.int(0, healthy.length - 1)]!
      let kind: NemesisEvent['kind'] = roll < 30 ? 'kill-leader' : roll < 60 ? 'kill' : roll < 85 ? 'stop' : 'restart'
      if (kind === 'kill-leader') {
        const leader = (await victim.status())?.leader?.nodeId
        const ids = await Promise.all(healthy.map(async (p) => (await p.status())?.nodeId))
        const index = leader === undefined ? -1 : ids.indexOf(leader)
        if (index >= 0) victim = healthy[index]!
        else kind = 'kill'
      }
      const heal = random.int(1000, 4000)
      log(`roll ${roll}`)
      schedule.push({ at: now(), kind, peer: victim.spec.name, heal })
      log(`${now()} ms: ${kind} ${victim.spec.name} for ${heal} ms`)
      faulty.add(victim)
      const pid = victim.pid!
      const healed = (async () => {
        if (kind === 'stop') {
          process.kill(pid, 'SIGSTOP')
          await sleep(heal)
          process.kill(pid, 'SIGCONT')
        } else {
          if (kind === 'restart') await victim.stop()
          else await victim.kill()
          await sleep(heal)
          victim.start()
        }
        faulty.delete(victim)
      })()
      heals.push(healed)
    }
    await Promise.all(heals)
    stopWorkload = true
    await Promise.all(clients)

    // Recovery: every peer up, one agreed leader, a fresh job done.
    const healedAt = Date.now()
    try {
      await waitFor(() => agreedLeader(peers), (l) => l !== undefined, RECOVERY_BOUND_MS, 'an agreed leader after the faults')
    } catch (error) {
      // No recovery: the run fails with what each peer saw, and keeps its history and schedule.
      const views = await Promise.all(peers.map(async (p) => `${p.spec.name}: ${JSON.stringify(await p.status()).slice(0, 600)}`))
      const problems = [`no agreed leader within ${RECOVERY_BOUND_MS} ms after the faults: ${(error as Error).message.slice(0, 200)}`, ...views]
      return { seed: options.seed, seconds: options.seconds, faults: schedule.length, acked: history.filter((h) => h.outcome === 'ok').length, lost: 0, duplicated: 0, unexpected: 0, recoveryMs: -1, problems, history, schedule }
    }
    const probeKey = `s${options.seed}-probe`
    const probe = await waitFor(() => peers[0]!.call<{ id?: string; ok?: boolean }>('POST', '/jobs?wait&timeoutMs=30000', { type: 'fib', input: { n: 1 }, options: { idempotencyKey: probeKey } }).catch(() => ({ status: 0, json: {} as { id?: string; ok?: boolean } })), (r) => r.status === 200 && r.json.ok === true, 120_000, 'a job after the faults')
    const recoveryMs = Date.now() - healedAt
    log(`recovered in ${recoveryMs} ms`)
    history.push({ at: now(), key: probeKey, n: 1, outcome: 'ok', id: probe.json.id! })

    let result: Awaited<ReturnType<typeof check>>
    try {
      result = await check(peers, history)
    } catch (error) {
      // The cluster became unavailable again while being checked: a failed run, history kept.
      const problems = [`the check could not complete: ${(error as Error).message.slice(0, 400)}`]
      return { seed: options.seed, seconds: options.seconds, faults: schedule.length, acked: history.filter((h) => h.outcome === 'ok').length, lost: 0, duplicated: 0, unexpected: 0, recoveryMs, problems, history, schedule }
    }
    const leader = (await agreedLeader(peers))!
    const ids = await Promise.all(peers.map(async (p) => (await p.status())?.nodeId))
    const leaderPeer = peers[ids.indexOf(leader.nodeId)] ?? peers[0]!
    await Promise.all(peers.map((p) => p.stop()))
    const replayed = await checkReplica(leaderPeer.spec.dataDir, history)
    const problems = [...result.problems, ...replayed.problems]
    return { seed: options.seed, seconds: options.seconds, faults: schedule.length, acked: history.filter((h) => h.outcome === 'ok').length, lost: result.lost + replayed.lost, duplicated: result.duplicated + replayed.duplicated, unexpected: result.unexpected, recoveryMs, problems, history, schedule }
  } finally {
    await Promise.all(peers.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
  }
}

/** Reads every acknowledged job's result from two peers, and the job list, through the API. */
async function check(peers: Peer[], history: HistoryEntry[]): Promise<{ lost: number; duplicated: number; unexpected: number; problems: string[] }> {
  const problems: string[] = []
  let lost = 0
  let duplicated = 0
  const acked = history.filter((h) => h.outcome === 'ok')
  for (let i = 0; i < acked.length; i += 100) {
    await Promise.all(
      acked.slice(i, i + 100).map(async (h, j) => {
        const seen: string[] = []
        for (const peer of [peers[(i + j) % peers.length]!, peers[(i + j + 1) % peers.length]!]) {
          const reply = await waitFor(() => peer.call<{ ok?: boolean; value?: { n: number } }>('GET', `/jobs/${h.id}/result?timeoutMs=30000`).catch(() => ({ status: 0, json: {} as { ok?: boolean; value?: { n: number } } })), (r) => r.status === 200 || r.status === 404, 120_000, `job ${h.id}`)
          if (reply.status !== 200 || reply.json.ok !== true || reply.json.value?.n !== h.n) {
            lost++
            problems.push(`lost: ${h.key} (${h.id}) -> ${reply.status} ${JSON.stringify(reply.json).slice(0, 200)}`)
            return
          }
          seen.push(JSON.stringify(reply.json.value))
        }
        if (seen[0] !== seen[1]) {
          duplicated++
          problems.push(`two results for ${h.id}: ${seen.join(' / ')}`)
        }
      }),
    )
  }
  // A submission whose outcome the client did not learn may have been taken: its key, sent again,
  // names that job (idempotency), or makes one now. Every listed job must be one of these.
  const known = new Set(acked.map((h) => h.id!))
  for (const h of history) {
    if (h.outcome === 'ok') continue
    const again = await peers[0]!.call<{ id?: string }>('POST', '/jobs?submitTimeoutMs=30000', { type: 'fib', input: { n: h.n }, options: { idempotencyKey: h.key, retries: 10 } })
    if (again.json.id === undefined) problems.push(`resubmitting ${h.key}: ${again.status}`)
    else known.add(again.json.id)
  }
  const listed = new Set<string>()
  let unexpected = 0
  let cursor: string | null = null
  do {
    const page: { status: number; json: { jobs: Array<{ id: string }>; next: string | null } } = await peers[0]!.call('GET', `/jobs?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`)
    for (const job of page.json.jobs) {
      if (listed.has(job.id)) {
        duplicated++
        problems.push(`job ${job.id} listed twice`)
      }
      listed.add(job.id)
      if (!known.has(job.id)) {
        unexpected++
        problems.push(`unexpected job ${job.id}`)
      }
    }
    cursor = page.json.next
  } while (cursor !== null)
  return { lost, duplicated, unexpected, problems }
}

/** Replays a stopped peer's copy of the log: every acknowledged job completed, no job finished twice after the snapshot. */
async function checkReplica(dataDir: string, history: HistoryEntry[]): Promise<{ lost: number; duplicated: number; problems: string[] }> {
  const problems: string[] = []
  const copy = await openReplicaCopy(dataDir)
  try {
    const replay = await replayJobLog(copy.log, () => new SchedulerCore(0, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 1_000_000, maxAgeMs: Infinity } }))
    const finished = new Map<string, number>()
    const end = await copy.log.endOffset()
    for (let offset = replay.from; offset < end; ) {
      const chunk = await copy.log.read(offset, 5000)
      if (chunk.length === 0) break
      for (const entry of chunk) {
        const record = decodeJobRecord(entry.payload)
        if (record.kind === 'finished') finished.set(record.id, (finished.get(record.id) ?? 0) + 1)
        offset = entry.offset + 1
      }
    }
    let lost = 0
    let duplicated = 0
    for (const h of history) {
      if (h.outcome !== 'ok') continue
      const info = replay.core.inspect(h.id!)
      if (info === undefined || info.status !== 'completed') {
        lost++
        problems.push(`log: acknowledged ${h.id} is ${info?.status ?? 'missing'} in ${dataDir}`)
      }
      if ((finished.get(h.id!) ?? 0) > 1) {
        duplicated++
        problems.push(`log: ${h.id} has ${finished.get(h.id!)} final records after the snapshot`)
      }
    }
    return { lost, duplicated, problems }
  } finally {
    await copy.close()
  }
}
