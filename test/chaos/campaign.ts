/**
 * One run of the fault campaign: real `distributex start` peers (each its own process and data
 * directory), a client workload that records a history of job submissions with idempotency keys,
 * and nemeses drawn from a seed. Three setups:
 * - hosts (the default as root with nftables): each peer in its own network namespace with its
 *   data directory on a small tmpfs, the replicated job log; faults are kill -9 of the leader or of
 *   any peer (restarted 1-4 s later on its data directory), SIGSTOP then SIGCONT, a graceful
 *   restart, partitions (two halves; one host isolated; one way: a host that hears nobody), packet
 *   loss at a host, and a full disk (test/chaos/faults.ts);
 * - kafka: peers on loopback on Kafka (a broker of the run's own) and Redis (a redis-server of the
 *   run's own), with broker and Redis restarts beside the process faults;
 * - loopback (not root): the process faults only.
 * At most two peers are faulty at a time (five voters keep a majority); a partition into halves
 * holds every peer, and a service restart runs alone among service faults.
 *
 * After the nemesis stops, every peer runs again; recovery is the time until the peers agree on a
 * leader and a fresh job completes. The checker then reads, through the API, the result of every
 * acknowledged job, each from two peers, and the whole job list, and replays one stopped peer's
 * copy of the log: lost = an acknowledged job without its right result; duplicated = a job with two
 * different results, or two final records after the latest snapshot; unexpected = a listed job no
 * one submitted. History and schedule are returned so a failing run can be saved and replayed.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { execFile, spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SeededRandom } from '../../src/env/prng.js'
import { decodeJobRecord } from '../../protocols/jobs/codec.js'
import { replayJobLog } from '../../src/jobs/replay.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { openReplicaCopy } from '../helpers/job-workload.js'
import { Peer, agreedLeader, freePort, waitFor, type PeerSpec } from '../helpers/peers.js'
import { canUseNetns, setDataLink, setupHosts, teardownHosts, type Host, type HostNet } from '../helpers/netns.js'
import { kafkaBroker } from '../helpers/services.js'
import { canUseNft, clearRules, dropFrom, emptyDisk, fillDisk, loseAt, mountDisk, unmountDisk } from './faults.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)

export interface CampaignOptions {
  seed: number
  /** How long nemeses run while the workload submits. */
  seconds: number
  peers?: number
  /** Submission loops in parallel. */
  clients?: number
  /** Which setup (see the module doc); default: hosts when possible, else loopback. */
  setup?: CampaignSetup
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

export type CampaignSetup = 'hosts' | 'kafka' | 'loopback'

export interface NemesisEvent {
  at: number
  kind: 'kill-leader' | 'kill' | 'stop' | 'restart' | 'halves' | 'isolate' | 'one-way' | 'loss' | 'disk-full' | 'kafka-restart' | 'redis-restart'
  /** The peer it struck (for halves: the peers on the smaller side, comma-separated; for a service: its name). */
  peer: string
  heal?: number
}

/** Nemesis kinds and their weights per setup. */
const NEMESES: Record<CampaignSetup, ReadonlyArray<[NemesisEvent['kind'], number]>> = {
  hosts: [
    ['kill-leader', 15],
    ['kill', 15],
    ['stop', 10],
    ['restart', 5],
    ['halves', 15],
    ['isolate', 10],
    ['one-way', 10],
    ['loss', 10],
    ['disk-full', 10],
  ],
  kafka: [
    ['kill-leader', 25],
    ['kill', 20],
    ['stop', 15],
    ['restart', 10],
    ['kafka-restart', 15],
    ['redis-restart', 15],
  ],
  loopback: [
    ['kill-leader', 30],
    ['kill', 30],
    ['stop', 25],
    ['restart', 15],
  ],
}

/** The campaign's own network of hosts, apart from the netns tests' networks. */
const CHAOS_NET: HostNet = { prefix: 'dxc', octet: 91 }
/** Each peer's data directory is a tmpfs of this size (MiB), so that a full disk is a real ENOSPC. */
const DISK_MB = 96

export interface CampaignResult {
  seed: number
  seconds: number
  setup: CampaignSetup
  faults: number
  acked: number
  lost: number
  duplicated: number
  unexpected: number
  recoveryMs: number
  problems: string[]
  history: HistoryEntry[]
  schedule: NemesisEvent[]
  /** Each peer's last log lines, kept only when the run found problems. */
  logs: string[]
}

/** The bound on recovery after the last fault heals: every peer up under one leader. */
export const RECOVERY_BOUND_MS = 120_000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The setup a campaign uses when none is asked for: separate hosts when this process can make them. */
export function defaultSetup(): CampaignSetup {
  return canUseNetns() && canUseNft() ? 'hosts' : 'loopback'
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? (() => {})
  const setup = options.setup ?? defaultSetup()
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
  const hosts: Host[] = setup === 'hosts' ? setupHosts(count, CHAOS_NET) : []
  const disks: string[] = []
  const services = setup === 'kafka' ? await startServices(dir) : undefined
  const finished = (fields: Pick<CampaignResult, 'lost' | 'duplicated' | 'unexpected' | 'recoveryMs' | 'problems'>): CampaignResult => ({
    seed: options.seed,
    seconds: options.seconds,
    setup,
    faults: schedule.length,
    acked: history.filter((h) => h.outcome === 'ok').length,
    history,
    schedule,
    logs: fields.problems.length === 0 ? [] : peers.map((p) => `${p.spec.name}:\n${p.output.slice(-40).join('\n')}`),
    ...fields,
  })
  try {
    await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
    if (setup === 'hosts') await writeFile(join(dir, 'http.token'), `chaos-${options.seed}-${random.id()}\n`, { mode: 0o600 })
    for (let i = 0; i < count; i++) {
      const home = join(dir, `p${i}`)
      await mkdir(home)
      if (setup === 'hosts') {
        mountDisk(home, DISK_MB)
        disks.push(home)
      }
      const common = { name: `p${i}`, dataDir: join(home, 'data'), secretFile: join(dir, 'cluster.key'), extraArgs: ['--voters', String(count >= 5 ? 5 : 3)] }
      const host = hosts[i]
      const spec: PeerSpec =
        host !== undefined
          ? { ...common, netns: host.ns, host: host.dataIp, httpBind: '0.0.0.0', httpReach: host.mgmtIp, p2pPort: 7400, httpPort: 7401, httpTokenFile: join(dir, 'http.token') }
          : { ...common, p2pPort: await freePort(), httpPort: await freePort(), ...(services === undefined ? {} : { jobLog: services.jobLog, cache: services.cache }) }
      const peer = new Peer(i === 0 ? spec : { ...spec, bootstrap: [await peers[0]!.address()] })
      peers.push(peer)
      peer.start()
      if (i === 0) await peer.address()
    }
    await waitFor(
      () => agreedLeader(peers),
      (l) => l !== undefined,
      300_000,
      `${count} peers up with one leader`,
    )
    log(`${setup}: cluster of ${count} formed in ${now()} ms`)

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
          const reply = await target.call<{ id?: string; error?: { name: string; message: string } }>('POST', '/jobs?submitTimeoutMs=3000', {
            type: 'fib',
            input: { n },
            options: { idempotencyKey: key, retries: 10 },
          })
          if (reply.status === 202 && reply.json.id !== undefined) history.push({ at, key, n, outcome: 'ok', id: reply.json.id })
          else
            history.push({
              at,
              key,
              n,
              outcome: reply.json.error?.message.includes('may still run') === true ? 'unknown' : 'fail',
              detail: `${reply.status} ${reply.json.error?.name}`,
            })
        } catch (error) {
          history.push({ at, key, n, outcome: 'unknown', detail: (error as Error).message.slice(0, 120) })
          await sleep(50)
        }
      }
    }
    const clients = Array.from({ length: options.clients ?? 3 }, (_, c) => client(c))

    // The nemesis.
    const faulty = new Set<Peer>()
    let serviceFaulty = false
    const heals: Array<Promise<void>> = []
    const deadline = Date.now() + options.seconds * 1000
    const weights = NEMESES[setup]
    const totalWeight = weights.reduce((sum, [, w]) => sum + w, 0)
    while (Date.now() < deadline) {
      await sleep(random.int(1500, 4000))
      const roll = random.int(0, totalWeight - 1)
      let kind = weights[0]![0]
      for (let acc = 0, i = 0; i < weights.length; i++) {
        acc += weights[i]![1]
        if (roll < acc) {
          kind = weights[i]![0]
          break
        }
      }
      const heal = random.int(1000, 4000)
      if (kind === 'kafka-restart' || kind === 'redis-restart') {
        if (serviceFaulty || services === undefined) continue
        serviceFaulty = true
        schedule.push({ at: now(), kind, peer: kind === 'kafka-restart' ? 'kafka' : 'redis', heal })
        log(`${now()} ms: ${kind} for ${heal} ms`)
        heals.push(
          (async () => {
            await (kind === 'kafka-restart' ? services.restartKafka(heal) : services.restartRedis(heal))
            serviceFaulty = false
          })(),
        )
        continue
      }
      if (kind === 'halves') {
        if (faulty.size > 0) continue
        const order = [...peers.keys()]
        for (let i = order.length - 1; i > 0; i--) {
          const j = random.int(0, i)
          ;[order[i], order[j]] = [order[j]!, order[i]!]
        }
        const small = order.slice(0, Math.floor(count / 2))
        const side = (i: number): boolean => small.includes(i)
        schedule.push({ at: now(), kind, peer: small.map((i) => peers[i]!.spec.name).join(','), heal })
        log(`${now()} ms: halves ${small.map((i) => peers[i]!.spec.name).join(',')} | rest for ${heal} ms`)
        for (const p of peers) faulty.add(p)
        for (const [i, h] of hosts.entries())
          dropFrom(
            h,
            'dxpart',
            hosts.filter((_, j) => side(j) !== side(i)),
          )
        heals.push(
          (async () => {
            await sleep(heal)
            for (const h of hosts) clearRules(h, 'dxpart')
            faulty.clear()
          })(),
        )
        continue
      }
      if (faulty.size >= 2) continue
      const healthy = peers.filter((p) => !faulty.has(p) && p.running)
      if (healthy.length === 0) continue
      let victim = healthy[random.int(0, healthy.length - 1)]!
      if (kind === 'kill-leader') {
        const leader = (await victim.status())?.leader?.nodeId
        const ids = await Promise.all(healthy.map(async (p) => (await p.status())?.nodeId))
        const index = leader === undefined ? -1 : ids.indexOf(leader)
        if (index >= 0) victim = healthy[index]!
        else kind = 'kill'
      }
      schedule.push({ at: now(), kind, peer: victim.spec.name, heal })
      log(`${now()} ms: ${kind} ${victim.spec.name} for ${heal} ms`)
      faulty.add(victim)
      const host = hosts[peers.indexOf(victim)]
      const struck = kind
      heals.push(
        (async () => {
          await strike(struck, victim, host, hosts, disks[peers.indexOf(victim)], heal)
          faulty.delete(victim)
        })(),
      )
    }
    await Promise.all(heals)
    stopWorkload = true
    await Promise.all(clients)

    // Recovery: every peer up, one agreed leader, a fresh job done.
    const healedAt = Date.now()
    try {
      await waitFor(
        () => agreedLeader(peers),
        (l) => l !== undefined,
        RECOVERY_BOUND_MS,
        'an agreed leader after the faults',
      )
    } catch (error) {
      // No recovery: the run fails with what each peer saw, and keeps its history and schedule.
      const views = await Promise.all(peers.map(async (p) => `${p.spec.name}: ${JSON.stringify(await p.status()).slice(0, 600)}`))
      return finished({
        lost: 0,
        duplicated: 0,
        unexpected: 0,
        recoveryMs: -1,
        problems: [`no agreed leader within ${RECOVERY_BOUND_MS} ms after the faults: ${(error as Error).message.slice(0, 200)}`, ...views],
      })
    }
    const probeKey = `s${options.seed}-probe`
    const probe = await waitFor(
      () =>
        peers[0]!
          .call<{ id?: string; ok?: boolean }>('POST', '/jobs?wait&timeoutMs=30000', { type: 'fib', input: { n: 1 }, options: { idempotencyKey: probeKey } })
          .catch(() => ({ status: 0, json: {} as { id?: string; ok?: boolean } })),
      (r) => r.status === 200 && r.json.ok === true,
      120_000,
      'a job after the faults',
    )
    const recoveryMs = Date.now() - healedAt
    log(`recovered in ${recoveryMs} ms`)
    history.push({ at: now(), key: probeKey, n: 1, outcome: 'ok', id: probe.json.id! })

    let result: Awaited<ReturnType<typeof check>>
    try {
      result = await check(peers, history)
    } catch (error) {
      // The cluster became unavailable again while being checked: a failed run, history kept.
      return finished({ lost: 0, duplicated: 0, unexpected: 0, recoveryMs, problems: [`the check could not complete: ${(error as Error).message.slice(0, 400)}`] })
    }
    const leader = (await agreedLeader(peers))!
    const ids = await Promise.all(peers.map(async (p) => (await p.status())?.nodeId))
    const leaderPeer = peers[ids.indexOf(leader.nodeId)] ?? peers[0]!
    await Promise.all(peers.map((p) => p.stop()))
    // On Kafka there is no replica copy: the checks through the API above cover that setup.
    const replayed = setup === 'kafka' ? { lost: 0, duplicated: 0, problems: [] } : await checkReplica(leaderPeer.spec.dataDir, history)
    return finished({
      lost: result.lost + replayed.lost,
      duplicated: result.duplicated + replayed.duplicated,
      unexpected: result.unexpected,
      recoveryMs,
      problems: [...result.problems, ...replayed.problems],
    })
  } finally {
    await Promise.all(peers.map((p) => p.kill()))
    if (hosts.length > 0) teardownHosts(count, CHAOS_NET)
    for (const disk of disks) unmountDisk(disk)
    await services?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Carries out one fault on one peer (and its host), then heals it after `healMs`. */
async function strike(kind: NemesisEvent['kind'], victim: Peer, host: Host | undefined, hosts: readonly Host[], disk: string | undefined, healMs: number): Promise<void> {
  switch (kind) {
    case 'stop':
      process.kill(victim.pid!, 'SIGSTOP')
      await sleep(healMs)
      process.kill(victim.pid!, 'SIGCONT')
      return
    case 'isolate':
      setDataLink(host!, false)
      await sleep(healMs)
      setDataLink(host!, true)
      return
    case 'one-way':
      dropFrom(
        host!,
        'dxoneway',
        hosts.filter((h) => h !== host),
      )
      await sleep(healMs)
      clearRules(host!, 'dxoneway')
      return
    case 'loss':
      loseAt(host!, 30)
      await sleep(healMs)
      clearRules(host!, 'dxloss')
      return
    case 'disk-full':
      fillDisk(disk!)
      await sleep(healMs)
      await emptyDisk(disk!)
      return
    default:
      if (kind === 'restart') await victim.stop()
      else await victim.kill()
      await sleep(healMs)
      victim.start()
  }
}

/** The Kafka setup's services, of this run only: a broker and a redis-server, each restartable on its data. */
async function startServices(
  dir: string,
): Promise<{ jobLog: string; cache: string; restartKafka(downMs: number): Promise<void>; restartRedis(downMs: number): Promise<void>; stop(): Promise<void> }> {
  const broker = kafkaBroker(await freePort())
  await broker.start()
  const redisPort = await freePort()
  const redisDir = join(dir, 'redis')
  await mkdir(redisDir)
  let redis: { kill: () => Promise<void> } | undefined
  const startRedis = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', ''],
      { stdio: 'ignore' },
    )
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    redis = {
      kill: async () => {
        proc.kill('SIGKILL')
        await exited
      },
    }
    await waitFor(
      () =>
        run('redis-cli', ['-p', String(redisPort), 'ping']).then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      10_000,
      `redis-server on ${redisPort}`,
    )
  }
  await startRedis()
  return {
    jobLog: `kafka://${broker.bootstrap}/dx-chaos-${Date.now()}`,
    cache: `redis://127.0.0.1:${redisPort}/dxchaos`,
    restartKafka: async (downMs) => {
      await broker.stop()
      await sleep(downMs)
      await broker.start({ keepData: true })
    },
    restartRedis: async (downMs) => {
      await redis?.kill()
      await sleep(downMs)
      await startRedis()
    },
    stop: async () => {
      await redis?.kill()
      await broker.stop()
    },
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
          // A job with no answer in time is lost; the problem names its record, as the peer holds it.
          type Answer = { ok?: boolean; value?: { n: number }; waited?: string; record?: unknown }
          const reply: { status: number; json: Answer } = await waitFor(
            () => peer.call<Answer>('GET', `/jobs/${h.id}/result?timeoutMs=30000`).catch(() => ({ status: 0, json: {} as Answer })),
            (r) => r.status === 200 || r.status === 404,
            120_000,
            `job ${h.id}`,
          ).catch(async (error: Error) => ({
            status: -1,
            json: {
              waited: error.message,
              record: await peer.call('GET', `/jobs/${h.id}`).then(
                (r) => r.json,
                (e: Error) => e.message,
              ),
            },
          }))
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
    const page: { status: number; json: { jobs: Array<{ id: string }>; next: string | null } } = await peers[0]!.call(
      'GET',
      `/jobs?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`,
    )
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
    const replay = await replayJobLog(
      copy.log,
      () => new SchedulerCore(0, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 1_000_000, maxAgeMs: Infinity } }),
    )
    /** The distinct final outcomes recorded per job, and how many final records there are. */
    const finished = new Map<string, { outcomes: Set<string>; records: number }>()
    const end = await copy.log.endOffset()
    for (let offset = replay.from; offset < end;) {
      const chunk = await copy.log.read(offset, 5000)
      if (chunk.length === 0) break
      for (const entry of chunk) {
        const record = decodeJobRecord(entry.payload)
        if (record.kind === 'finished') {
          const f = finished.get(record.id) ?? { outcomes: new Set<string>(), records: 0 }
          f.outcomes.add(`attempt ${record.attempt}: ${JSON.stringify(record.outcome)}`)
          f.records++
          finished.set(record.id, f)
        }
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
      // The same final record twice is a retried append whose first try did land (an ambiguous
      // append is retried as is); replay keeps the first. Two different ones would be two results.
      const f = finished.get(h.id!)
      if (f !== undefined && f.outcomes.size > 1) {
        duplicated++
        problems.push(`log: ${h.id} has ${f.records} final records after the snapshot: ${[...f.outcomes].join(' / ')}`)
      }
    }
    return { lost, duplicated, problems }
  } finally {
    await copy.close()
  }
}
