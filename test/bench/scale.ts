/**
 * A cluster that scales (issue 16). Two parts, both on by default:
 * - Real peers: `--peers N` (default 50) CLI peers on loopback, each with its own data directory, all
 *   bootstrapping from the first. Measures formation (from the first start until every peer agrees
 *   on one leader and sees all N up), idle CPU and RSS per peer over `--idle-s` seconds (from /proc)
 *   5 s after formation and again once the mesh is complete (`settled_*`, by role too),
 *   gossip bytes per peer per second on the wire (dx_net_gossip_rpc_bytes_{sent,received}_total), and failover
 *   (kill -9 of the leader all agree on then, with all up, until the survivors agree on another one;
 *   `leader_changed_before_kill` says whether it was another than at formation); at formation (or the timeout),
 *   the records each peer sent by path and took in, by its role (`records_at_formation`: where a
 *   record storm comes from). `--steady-after-s` (default
 *   180) measures CPU, RSS and connections once more that long after formation, by role (`steady`).
 * - Simulator (_scale-sim.ts): the real cluster actor on `--sim-nodes` (default 10,50) simulated
 *   nodes: formation, then the leader is crashed; failover, detection (every survivor sees it
 *   suspect or down) and gossip payload bytes and messages per node per second. Every node still
 *   publishes 4 records a second to all others, so a run costs O(N²) deliveries: 50 nodes took
 *   372 s of wall time at load average 25, 200 would take 16 times that, and 1,000 are out of reach
 *   until the cost per node stops growing with N (README, "Growing a cluster").
 * - Cluster cores at scale (sim/swim/cluster-harness.ts): `--swim-sim-nodes` (default 50,200,1000)
 *   nodes running the real cluster core with membership 'swim' (and the SWIM core): formation, a
 *   worker's crash seen down by all (and its death's spread against the largest age the nodes took
 *   it in with: what dx_swim_convergence_seconds reports), records and bytes per node per second,
 *   and CPU seconds per virtual second, measured once no node has membership updates queued
 *   (`settled_s` after formation: 1,000 joins fill every probe for about a minute). `sim_nodes`
 *   and `sim_convergence_s` come from its largest run.
 * `--membership gossip|swim` starts the real peers with that membership (default: the nodes' default,
 * 'swim'; records and probes per peer per second are reported either way). `--no-peers` / `--no-sim` skip a part; `--built` runs the peers from a fresh `npm run build`;
 * `--peer-args="..."` passes more options to every peer; `--timeline` prints where the failover's time
 * went (per survivor: when it named the new leader, saw the dead one not up, saw all others up);
 * `--logs DIR` keeps each peer's last lines of output there; `--profile-peers 1,2` CPU-profiles those
 * peers (`--profile-dir`), with the kill's time to slice the profiles by.
 * Prints one JSON object on the last line.
 */
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs, promisify } from 'node:util'
import { Peer, clusterPeerSpec } from '../helpers/peers.js'
import { rssMb } from '../helpers/proc.js'
import type { StatusDocument } from '../../src/node/http-api.js'
import { runClusterScale, type ClusterScaleResult } from '../../sim/swim/cluster-harness.js'
import { simScale, type SimScaleResult } from './_scale-sim.js'
import { DEFAULT_MEMBERSHIP } from '../../src/cluster/core.js'

const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')
const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '50' },
    'idle-s': { type: 'string', default: '15' },
    'formation-timeout-s': { type: 'string', default: '180' },
    'sim-nodes': { type: 'string', default: '10,50' },
    'swim-sim-nodes': { type: 'string', default: '50,200,1000' },
    membership: { type: 'string', default: DEFAULT_MEMBERSHIP },
    'no-peers': { type: 'boolean', default: false },
    'no-sim': { type: 'boolean', default: false },
    /** Runs the peers from a fresh build (`npm run build`, dist/), as an installed package does: no TypeScript compiled at start. */
    built: { type: 'boolean', default: false },
    /** Runs the peers with this CLI entry point instead (another build, to compare versions A B A B). */
    bin: { type: 'string' },
    /** More `distributex start` arguments for every peer, space-separated (`--peer-args="--lease-ms 3000"`). */
    'peer-args': { type: 'string', default: '' },
    /** After the kill, polls every survivor's /status each 100 ms and prints when each phase of the failover ended. */
    timeline: { type: 'boolean', default: false },
    /** Writes each peer's last 500 lines of output to DIR/p<i>.log at the end (with `--peer-args="--log-level info"`, its view of the failover). */
    logs: { type: 'string' },
    /** Seconds after formation at which CPU and RSS are measured once more (`steady_*`): an idle peer's cost once its code is warm (0: skip). */
    'steady-after-s': { type: 'string', default: '180' },
    /** Peers (indices, comma-separated) run with --cpu-prof into DIR (`--profile-dir`) and stop with SIGTERM so that it is written; the kill's monotonic time is printed to slice it. */
    'profile-peers': { type: 'string', default: '' },
    'profile-dir': { type: 'string', default: 'cpu-profiles' },
    /** The profiled peers' sampling interval in µs (node's --cpu-prof-interval): longer costs them less, so that all 50 can be profiled. */
    'profile-interval-us': { type: 'string', default: '1000' },
  },
})
const N = Number(values.peers)
const PROFILED = new Set(
  values['profile-peers']
    .split(',')
    .filter((x) => x !== '')
    .map(Number),
)
const IDLE_S = Number(values['idle-s'])
const STEADY_AFTER_MS = Number(values['steady-after-s']) * 1000
const FORMATION_TIMEOUT_MS = Number(values['formation-timeout-s']) * 1000
const SIM_NODES = values['sim-nodes']
  .split(',')
  .filter((s) => s !== '')
  .map(Number)
const MEMBERSHIP = values.membership
if (MEMBERSHIP !== 'gossip' && MEMBERSHIP !== 'swim') throw new Error(`--membership ${MEMBERSHIP}: gossip or swim`)
const SWIM_SIM_NODES = values['swim-sim-nodes']
  .split(',')
  .filter((s) => s !== '')
  .map(Number)
const TICKS = 100 // clock ticks per second (USER_HZ)
/** No connection opened by any peer for this long: the mesh is complete (PeersResult.settle_s). */
const SETTLED_QUIET_MS = 10_000
const SETTLE_MAX_MS = 90_000
const ROOT = join(import.meta.dirname, '..', '..')
if (values.built && values.bin === undefined && !values['no-peers']) await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT })
const PEER_BIN = values.bin ?? (values.built ? join(ROOT, 'dist', 'src', 'cli', 'bin.mjs') : undefined)

/**
 * A peer's memory beyond RSS, in MB. RSS counts every page a process maps, so the node binary's
 * pages (about 45 MB, read-only and shared by every node process on the host) are counted once per
 * peer; PSS divides each shared page among the processes that map it, so the PSS of all peers sums
 * to what they cost the host together; USS is what the peer alone holds (what its exit would free).
 */
function memoryMb(pid: number): { pss: number; uss: number; anon: number; file: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (text: string, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1]) / 1024
  return {
    pss: kb(rollup, 'Pss'),
    uss: kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty'),
    anon: kb(status, 'RssAnon'),
    file: kb(status, 'RssFile'),
  }
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  return statTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'))
}

/**
 * utime + stime of a process's threads but the main one, in clock ticks: V8's helpers (parallel
 * scavenges, concurrent marking and sweeping, compilation) and libuv's pool. A thread that ends
 * between the listing and the read is left out.
 */
function helperTicks(pid: number): number {
  let ticks = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue
    try {
      ticks += statTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
    } catch {
      continue
    }
  }
  return ticks
}

/**
 * Milliseconds a process's main thread has spent runnable but waiting for a CPU since it started
 * (the second field of /proc/PID/schedstat): what a host with more runnable threads than cores
 * costs it, besides its own work.
 */
function runqueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6
  } catch {
    return NaN // exited since
  }
}

function statTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** Sum of a Prometheus counter over its label sets (those that contain `label` when given), or undefined if the peer does not export it. */
async function counter(peer: Peer, name: string, label?: string): Promise<number | undefined> {
  const text = await scrape(peer)
  return text === undefined ? undefined : sumOf(text, name, label)
}

/** The peer's /metrics, or undefined if it did not answer in time. */
async function scrape(peer: Peer): Promise<string | undefined> {
  try {
    const res = await fetch(`${peer.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
    return await res.text()
  } catch {
    return undefined
  }
}

function sumOf(text: string, name: string, label?: string): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    if ((line.startsWith(name + ' ') || line.startsWith(name + '{')) && (label === undefined || line.includes(label)))
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** Per role a peer has in its own view (joining, worker, voter, leader): how many, and their mean records. */
interface RoleRecords {
  peers: number
  topic: number
  direct: number
  fallback: number
  received: number
}
type RecordCensus = Record<string, RoleRecords>

/**
 * Records each peer sent, by path (dx_cluster_record_paths_total), and took in, by the role it has
 * in its own view: which peers make a record storm, and over which path.
 */
async function recordCensus(peers: Peer[]): Promise<RecordCensus> {
  const running = peers.filter((p) => p.running)
  const [texts, statuses] = await Promise.all([Promise.all(running.map(scrape)), Promise.all(running.map((p) => p.status()))])
  const census: RecordCensus = {}
  for (const [i, text] of texts.entries()) {
    const s = statuses[i]
    if (text === undefined || s === undefined) continue
    const me = s.members.find((m) => m.nodeId === s.nodeId)
    const role = s.leading ? 'leader' : me?.state === 'joining' || me === undefined ? 'joining' : me.voter === true ? 'voter' : 'worker'
    const sum = (census[role] ??= { peers: 0, topic: 0, direct: 0, fallback: 0, received: 0 })
    sum.peers++
    for (const path of ['topic', 'direct', 'fallback'] as const) sum[path] += sumOf(text, 'dx_cluster_record_paths_total', `path="${path}"`) ?? 0
    sum.received += sumOf(text, 'dx_cluster_records_total', 'direction="received"') ?? 0
  }
  for (const sum of Object.values(census)) for (const k of ['topic', 'direct', 'fallback', 'received'] as const) sum[k] = round(sum[k] / sum.peers, 0)
  return census
}

/**
 * How often formation and failover are checked. Each check reads every peer's /status (50 members
 * each at 50 peers): checking every 100 ms, as the bench did until 2026-11-29, kept a core busy
 * serving and parsing status documents while the peers formed. Formation is read to the second,
 * failover to a fifth of one.
 */
const FORMATION_POLL_MS = 1000
/** How long the kill waits for the peers to agree on one leader with all up (the leader may have changed since formation). */
const REFORM_TIMEOUT_MS = 60_000
const FAILOVER_POLL_MS = 200
/** Seconds after the kill over which the survivors' CPU is counted (`after_kill_cpu_s_per_peer`). */
const AFTER_KILL_S = 10

/** Calls `probe` every `everyMs` (from the start of one call to the next) until `done`; throws after `timeoutMs`. */
async function poll<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs: number, what: string): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const at = performance.now()
    const value = await probe()
    if (done(value)) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, Math.max(0, at + everyMs - performance.now())))
  }
}

/**
 * The leader all `peers` agree on while each sees `expectUp` members up, else undefined. Until the
 * first peer sees that many up, only it is asked: the answer cannot be yes before, and 50 status
 * documents a second (the bench's CPU and the peers') took 6-7% of a slow host's CPU while it
 * formed (perf, RESULTS.md "hubs").
 */
async function formed(peers: Peer[], expectUp: number): Promise<{ nodeId: string; epoch: number } | undefined> {
  const sees = (s: StatusDocument | undefined): boolean => s !== undefined && s.leader !== null && s.members.filter((m) => m.state === 'up').length >= expectUp
  if (!sees(await peers[0]!.status())) return undefined
  const statuses = await Promise.all(peers.map((p) => p.status()))
  if (!statuses.every(sees)) return undefined
  return new Set(statuses.map((s) => `${s!.leader!.nodeId}@${s!.leader!.epoch}`)).size === 1 ? statuses[0]!.leader! : undefined
}

/** A one-line summary of who sees what, for a run that does not form. */
async function census(peers: Peer[]): Promise<string> {
  const statuses = await Promise.all(peers.map((p) => p.status()))
  for (const [i, p] of peers.entries()) if (statuses[i] === undefined) console.error(`p${i} ${p.running ? 'running' : 'exited'}: ${p.output.slice(-5).join(' | ')}`)
  return statuses
    .map((s, i) =>
      s === undefined
        ? `p${i}:?`
        : `p${i}:${s.members.find((m) => m.nodeId === s.nodeId)?.state}/${s.members.filter((m) => m.state === 'up').length}up/${s.leader?.nodeId.slice(-4) ?? '-'}${notUp(s, statuses)}`,
    )
    .join(' ')
}

/** Who a peer that sees fewer than all up holds in which state (`[p7 suspect worker, no address]`), when few: what a run that does not form waits on. */
function notUp(s: StatusDocument, all: Array<StatusDocument | undefined>): string {
  const others = s.members.filter((m) => m.state !== 'up')
  if (others.length === 0 || others.length > 3) return ''
  const name = (id: string): string => {
    const i = all.findIndex((x) => x?.nodeId === id)
    return i === -1 ? id.slice(-4) : `p${i}`
  }
  const addresses = (m: (typeof others)[number]): string => (Array.isArray(m.addresses) && m.addresses.length > 0 ? '' : ', no address')
  return `[${others.map((m) => `${name(m.nodeId)} ${m.state} ${String(m.role)}${addresses(m)}, seen ${String(m.lastSeenMsAgo)} ms ago`).join('; ')}]`
}

type Role = 'leader' | 'voters' | 'workers'
type ByRole = Record<Role, number | null>

interface PeersResult {
  formation_s: number | null
  /**
   * CPU seconds the founder spent from its start until its /status answered, before any other peer
   * starts: the host's speed on the day, since this machine's varies twice over between days (0.32
   * on a fast evening, 0.46-0.59 on the night of 2026-12-01), so that runs of different days compare.
   */
  founder_start_cpu_s: number | null
  /** CPU seconds a peer spent from its start until formation (boot, handshakes, joining): N of them share the host's cores. */
  formation_cpu_s_per_peer: number | null
  /**
   * The share of wall time (%) a peer's main thread spent waiting for a CPU from its start until
   * formation (or the timeout), mean over the peers: how oversubscribed the host was (2026-12-01, 2
   * cores: 61.7% in a run that formed in 149 s; the founder's own 89-106% of each window in one that
   * never formed).
   */
  formation_runqueue_wait_pct: number | null
  /** SWIM suspicions all peers saw until formation (dx_swim_events_total{type="suspect"}, summed): a member held suspect is not up, so each one can hold formation up. */
  suspicions_at_formation: number | null
  /** Records each peer sent (by path) and took in until formation, or until the timeout: where a record storm comes from. */
  records_at_formation: RecordCensus | null
  idle_cpu_pct_per_peer: number | null
  rss_mb_per_peer: number | null
  /**
   * Seconds after the first idle window until no peer opened a connection for SETTLED_QUIET_MS (the
   * mesh beyond the links formation needs is dialled after it, src/cluster/dials.ts), at most
   * SETTLE_MAX_MS; then CPU and RSS over another idle window: the cost of a peer in steady state.
   */
  settle_s: number | null
  settled_idle_cpu_pct_per_peer: number | null
  settled_idle_cpu_pct_by_role: ByRole | null
  settled_rss_mb_per_peer: number | null
  /**
   * Over the same window, by role: the CPU (% of a core) of threads other than the main one, and
   * V8's scavenges (young-generation collections) per second with the wall time they took (ms/s;
   * a crowded host stretches it by preempting the collector, so it shows the host as much as the work).
   */
  settled_helper_threads_cpu_pct_by_role: ByRole | null
  settled_scavenges_per_s_by_role: ByRole | null
  settled_scavenge_ms_per_s_by_role: ByRole | null
  settled_pings_per_s_by_role: { in: ByRole; out: ByRole; indirect_out: ByRole } | null
  /**
   * CPU and RSS over another idle window that starts `--steady-after-s` after formation, by role:
   * a peer's cost once lazy compilation and tier-up are done (an idle worker's CPU falls for about
   * two minutes after it starts) and its heap has grown to its idle size (its RSS rises meanwhile).
   */
  steady: { after_s: number; idle_cpu_pct_per_peer: number; rss_mb_per_peer: number; idle_cpu_pct_by_role: ByRole; rss_mb_by_role: ByRole; links_by_role: ByRole } | null
  /** Mean proportional set size: shared pages divided among the processes that map them (see memoryMb). */
  pss_mb_per_peer: number | null
  /** Mean unique set size: the pages no other process maps. */
  uss_mb_per_peer: number | null
  /** RSS split into anonymous memory (heaps, stacks) and file-backed pages (mostly the node binary). */
  rss_anon_mb_per_peer: number | null
  rss_file_mb_per_peer: number | null
  /** Mean RSS of the leader, its voters and the workers (the leader and voters carry the replication traffic). */
  rss_mb_by_role: ByRole | null
  /** Whether the leader the cluster agreed on just before the kill was another (or in another epoch) than at formation; null when it agreed on none within REFORM_TIMEOUT_MS, and no failover was measured. */
  leader_changed_before_kill: boolean | null
  /** The lease each voter waited out after the leader's last sequence, read just before the kill (null where unread). */
  voters_lease_ms_before_kill: Array<number | null> | null
  failover_ms: number | null
  /** CPU seconds per survivor in the AFTER_KILL_S seconds after the kill (or until the failover was measured, if later): what a death costs every other peer. */
  after_kill_cpu_s_per_peer: number | null
  gossip_bytes_per_peer_s: number | null
  records_per_peer_s: number | null
  swim_messages_per_peer_s: number | null
}

/** Counters read from a peer's /metrics around an idle window (`counters` in realPeers). */
interface Counted {
  scavenges: number
  scavengeMs: number
  pingsIn: number
  pingsOut: number
  pingReqsOut: number
}

async function realPeers(n: number): Promise<PeersResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-bench-scale-'))
  await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  const peers: Peer[] = []
  const result: PeersResult = {
    formation_s: null,
    founder_start_cpu_s: null,
    formation_cpu_s_per_peer: null,
    formation_runqueue_wait_pct: null,
    suspicions_at_formation: null,
    records_at_formation: null,
    idle_cpu_pct_per_peer: null,
    rss_mb_per_peer: null,
    settle_s: null,
    settled_idle_cpu_pct_per_peer: null,
    settled_idle_cpu_pct_by_role: null,
    settled_rss_mb_per_peer: null,
    settled_helper_threads_cpu_pct_by_role: null,
    settled_scavenges_per_s_by_role: null,
    settled_scavenge_ms_per_s_by_role: null,
    settled_pings_per_s_by_role: null,
    steady: null,
    pss_mb_per_peer: null,
    uss_mb_per_peer: null,
    rss_anon_mb_per_peer: null,
    rss_file_mb_per_peer: null,
    rss_mb_by_role: null,
    leader_changed_before_kill: null,
    voters_lease_ms_before_kill: null,
    failover_ms: null,
    after_kill_cpu_s_per_peer: null,
    gossip_bytes_per_peer_s: null,
    records_per_peer_s: null,
    swim_messages_per_peer_s: null,
  }
  try {
    const spec = async (i: number, bootstrap: string[]) => ({
      ...(await clusterPeerSpec(dir, i, bootstrap)),
      extraArgs: ['--membership', MEMBERSHIP, ...values['peer-args'].split(' ').filter((a) => a !== '')],
      ...(PROFILED.has(i) ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', values['profile-dir'], '--cpu-prof-interval', values['profile-interval-us']] } : {}),
      ...(PEER_BIN === undefined ? {} : { bin: PEER_BIN }),
    })
    const started = performance.now()
    const startedAt: number[] = []
    const first = new Peer(await spec(0, []))
    peers.push(first)
    first.start()
    startedAt.push(started)
    const seed = await first.address()
    result.founder_start_cpu_s = round(cpuTicks(first.pid!) / TICKS, 2)
    console.error(`the founder took ${result.founder_start_cpu_s} CPU s to serve /status (the host's speed today)`)
    for (let i = 1; i < n; i++) {
      const p = new Peer(await spec(i, [seed]))
      peers.push(p)
      p.start()
      startedAt.push(performance.now())
    }
    let leader: { nodeId: string; epoch: number } | undefined
    let formedAt = NaN
    const benchCpu = process.cpuUsage()
    const progress = setInterval(() => void census(peers).then((c) => console.error(`${Math.round((performance.now() - started) / 1000)} s: ${c}`)), 10_000)
    try {
      leader = await poll(
        () => formed(peers, n),
        (l) => l !== undefined,
        FORMATION_TIMEOUT_MS,
        FORMATION_POLL_MS,
        `${n} peers to form`,
      )
    } catch {
      console.error(`not formed after ${FORMATION_TIMEOUT_MS / 1000} s: ${await census(peers)}`)
    }
    clearInterval(progress)
    const { user, system } = process.cpuUsage(benchCpu)
    console.error(`the bench itself took ${round((user + system) / 1e6, 2)} CPU s while the peers formed`)
    const waited = peers.flatMap((p, i) => (p.running ? [(100 * runqueueWaitMs(p.pid!)) / (performance.now() - startedAt[i]!)] : [])).filter(Number.isFinite)
    result.formation_runqueue_wait_pct = round(mean(waited), 1)
    console.error(`until then each peer's main thread waited for a CPU ${result.formation_runqueue_wait_pct}% of the time (mean)`)
    result.records_at_formation = await recordCensus(peers)
    console.error(`records sent and taken in until formation, mean per peer by its own role: ${JSON.stringify(result.records_at_formation)}`)
    if (leader !== undefined) {
      formedAt = performance.now()
      result.formation_s = round((formedAt - started) / 1000, 1)
      result.formation_cpu_s_per_peer = round(mean(peers.filter((p) => p.running).map((p) => cpuTicks(p.pid!) / TICKS)), 2)
      result.suspicions_at_formation = (await Promise.all(peers.map((p) => counter(p, 'dx_swim_events_total', 'type="suspect"')))).reduce<number>((a, c) => a + (c ?? 0), 0)
    }
    console.error(`formation: ${result.formation_s ?? 'never'} s, ${result.formation_cpu_s_per_peer ?? '-'} CPU s per peer, ${result.suspicions_at_formation ?? '-'} suspicions`)
    // Idle: let the join traffic settle, then measure CPU, RSS and gossip over a window.
    await new Promise((r) => setTimeout(r, 5000))
    for (const [i, p] of peers.entries()) if (!p.running) console.error(`p${i} exited: ${p.output.slice(-8).join(' | ')}`)
    const pids = peers.filter((p) => p.running).map((p) => p.pid!)
    const gossipBytes = (p: Peer): Promise<number> =>
      Promise.all([counter(p, 'dx_net_gossip_rpc_bytes_sent_total'), counter(p, 'dx_net_gossip_rpc_bytes_received_total')]).then(([a, b]) => (a ?? NaN) + (b ?? NaN))
    const records = (p: Peer): Promise<number> => counter(p, 'dx_cluster_records_total').then((r) => r ?? NaN)
    const probes = (p: Peer): Promise<number> => counter(p, 'dx_swim_messages_total').then((r) => r ?? 0)
    const records0 = await Promise.all(peers.map(records))
    const probes0 = await Promise.all(peers.map(probes))
    const gossip0 = await Promise.all(peers.map(gossipBytes))
    const cpu0 = pids.map(cpuTicks)
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, IDLE_S * 1000))
    const cpu1 = pids.map(cpuTicks)
    const seconds = (performance.now() - t0) / 1000
    const gossip1 = await Promise.all(peers.map(gossipBytes))
    const records1 = await Promise.all(peers.map(records))
    const probes1 = await Promise.all(peers.map(probes))
    const perS = (a: number[], b: number[]): number | null => {
      const xs = b.map((x, i) => (x - a[i]!) / seconds).filter(Number.isFinite)
      return xs.length === 0 ? null : round(mean(xs), 1)
    }
    // Records sent and received; SWIM messages sent and received.
    result.records_per_peer_s = perS(records0, records1)
    result.swim_messages_per_peer_s = perS(probes0, probes1)
    const cpuPct = cpu1.map((c, i) => ((c - cpu0[i]!) / TICKS / seconds) * 100)
    result.idle_cpu_pct_per_peer = round(mean(cpuPct), 2)
    const rss = pids.map(rssMb)
    result.rss_mb_per_peer = round(mean(rss), 0)
    const memory = pids.map(memoryMb)
    result.pss_mb_per_peer = round(mean(memory.map((m) => m.pss)), 1)
    result.uss_mb_per_peer = round(mean(memory.map((m) => m.uss)), 1)
    result.rss_anon_mb_per_peer = round(mean(memory.map((m) => m.anon)), 1)
    result.rss_file_mb_per_peer = round(mean(memory.map((m) => m.file)), 1)
    let roleOf: ((i: number) => Role) | undefined
    const running = peers.filter((p) => p.running)
    if (leader !== undefined) {
      const statuses = await Promise.all(running.map((p) => p.status()))
      const voterIds = new Set(
        statuses
          .find((s) => s?.nodeId === leader!.nodeId)
          ?.members.filter((m) => m.voter === true)
          .map((m) => m.nodeId),
      )
      roleOf = (i: number): Role => {
        const id = statuses[i]?.nodeId
        return id === leader!.nodeId ? 'leader' : id !== undefined && voterIds.has(id) ? 'voters' : 'workers'
      }
      result.rss_mb_by_role = meanByRole(rss, roleOf, 0)
    }
    // Peers whose /metrics did not answer in time (a loaded machine) are left out of the mean.
    const gossip = gossip1.map((g, i) => (g - gossip0[i]!) / seconds).filter(Number.isFinite)
    result.gossip_bytes_per_peer_s = gossip.length === 0 ? null : round(mean(gossip), 0)
    console.error(
      `idle: cpu ${result.idle_cpu_pct_per_peer}% of a core per peer (max ${round(Math.max(...cpuPct), 1)}%), rss ${result.rss_mb_per_peer} MB per peer (anon ${result.rss_anon_mb_per_peer}, file ${result.rss_file_mb_per_peer}; leader ${result.rss_mb_by_role?.leader ?? '-'}, voters ${result.rss_mb_by_role?.voters ?? '-'}, workers ${result.rss_mb_by_role?.workers ?? '-'}), pss ${result.pss_mb_per_peer} MB, uss ${result.uss_mb_per_peer} MB, gossip ${result.gossip_bytes_per_peer_s} B/s per peer, records ${result.records_per_peer_s}/s and SWIM messages ${result.swim_messages_per_peer_s}/s per peer (in and out)`,
    )
    if (roleOf !== undefined) {
      const settleStart = performance.now()
      let opened = -1
      let quietSince = settleStart
      while (performance.now() - quietSince < SETTLED_QUIET_MS && performance.now() - settleStart < SETTLE_MAX_MS) {
        const now = (await Promise.all(running.map((p) => counter(p, 'dx_net_channels_opened_total')))).reduce<number>((a, c) => a + (c ?? NaN), 0)
        if (now !== opened || !Number.isFinite(now)) [opened, quietSince] = [now, performance.now()]
        await new Promise((r) => setTimeout(r, 2000))
      }
      result.settle_s = round((performance.now() - settleStart) / 1000, 1)
      const idlePids = running.map((p) => p.pid!)
      /**
       * What a peer's /metrics counts (NaN when it did not answer): its minor collections and their
       * wall time in ms, the SWIM pings it sent and took in (the voters and the leader are linked to
       * every member; "Hubs" in src/cluster/swim/core.ts) and the indirect probes it asked for (each
       * a missed ack, and up to 3 pings more to the target).
       */
      const counters = async (p: Peer): Promise<Counted> => {
        const text = await scrape(p)
        const of = (name: string, label: string): number => (text === undefined ? NaN : (sumOf(text, name, label) ?? NaN))
        return {
          scavenges: of('dx_nodejs_gc_duration_seconds_count', 'kind="minor"'),
          scavengeMs: of('dx_nodejs_gc_duration_seconds_sum', 'kind="minor"') * 1000,
          pingsIn: of('dx_swim_messages_total', 'direction="received",type="ping"'),
          pingsOut: of('dx_swim_messages_total', 'direction="sent",type="ping"'),
          pingReqsOut: of('dx_swim_messages_total', 'direction="sent",type="ping-req"'),
        }
      }
      /**
       * Of every running peer over one idle window: CPU (% of a core), that of its helper threads,
       * RSS (MB), and per second what `counters` counts. The scrapes of /metrics fall outside the
       * CPU samples.
       */
      const idleWindow = async (): Promise<{ cpu: number[]; helpers: number[]; rss: number[] } & { [K in keyof Counted]: number[] }> => {
        const c0 = await Promise.all(running.map(counters))
        const before = idlePids.map(cpuTicks)
        const helpersBefore = idlePids.map(helperTicks)
        const t0 = performance.now()
        await new Promise((r) => setTimeout(r, IDLE_S * 1000))
        const seconds = (performance.now() - t0) / 1000
        const pct = (ticks: number): number => (ticks / TICKS / seconds) * 100
        const cpu = idlePids.map((pid, i) => pct(cpuTicks(pid) - before[i]!))
        const helpers = idlePids.map((pid, i) => pct(helperTicks(pid) - helpersBefore[i]!))
        const rss = idlePids.map(rssMb)
        const c1 = await Promise.all(running.map(counters))
        const rate = (key: keyof Counted): number[] => c1.map((c, i) => (c[key] - c0[i]![key]) / seconds)
        return {
          cpu,
          helpers,
          rss,
          scavenges: rate('scavenges'),
          scavengeMs: rate('scavengeMs'),
          pingsIn: rate('pingsIn'),
          pingsOut: rate('pingsOut'),
          pingReqsOut: rate('pingReqsOut'),
        }
      }
      const settled = await idleWindow()
      result.settled_idle_cpu_pct_per_peer = round(mean(settled.cpu), 2)
      result.settled_idle_cpu_pct_by_role = meanByRole(settled.cpu, roleOf, 2)
      result.settled_rss_mb_per_peer = round(mean(settled.rss), 0)
      result.settled_helper_threads_cpu_pct_by_role = meanByRole(settled.helpers, roleOf, 2)
      result.settled_scavenges_per_s_by_role = meanByRole(settled.scavenges, roleOf, 2)
      result.settled_scavenge_ms_per_s_by_role = meanByRole(settled.scavengeMs, roleOf, 1)
      result.settled_pings_per_s_by_role = {
        in: meanByRole(settled.pingsIn, roleOf, 2),
        out: meanByRole(settled.pingsOut, roleOf, 2),
        indirect_out: meanByRole(settled.pingReqsOut, roleOf, 2),
      }
      const cpuRoles = result.settled_idle_cpu_pct_by_role
      console.error(
        `settled after ${result.settle_s} s more: cpu ${result.settled_idle_cpu_pct_per_peer}% per peer (leader ${cpuRoles.leader}, voters ${cpuRoles.voters}, workers ${cpuRoles.workers}; helper threads ${JSON.stringify(result.settled_helper_threads_cpu_pct_by_role)}), scavenges/s ${JSON.stringify(result.settled_scavenges_per_s_by_role)} taking ms/s ${JSON.stringify(result.settled_scavenge_ms_per_s_by_role)}, SWIM pings/s ${JSON.stringify(result.settled_pings_per_s_by_role)}, rss ${result.settled_rss_mb_per_peer} MB`,
      )
      if (STEADY_AFTER_MS > 0) {
        const wait = formedAt + STEADY_AFTER_MS - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        const steady = await idleWindow()
        const links = await Promise.all(running.map((p) => counter(p, 'dx_net_peers').then((c) => c ?? NaN)))
        result.steady = {
          after_s: round((performance.now() - formedAt) / 1000 - IDLE_S, 0),
          idle_cpu_pct_per_peer: round(mean(steady.cpu), 2),
          rss_mb_per_peer: round(mean(steady.rss), 1),
          idle_cpu_pct_by_role: meanByRole(steady.cpu, roleOf, 2),
          rss_mb_by_role: meanByRole(steady.rss, roleOf, 1),
          links_by_role: meanByRole(links, roleOf, 1),
        }
        console.error(`steady, ${result.steady.after_s} s after formation: ${JSON.stringify(result.steady)}`)
      }
    }
    // The leader now, which is not always the one at formation: an overloaded host can make it step
    // down while idle (killing the one found at formation killed a voter, and timed the election
    // that followed as a failover). The cluster must agree on it with all up, as at formation.
    const current =
      leader === undefined
        ? undefined
        : await poll(
            () => formed(peers, n),
            (l) => l !== undefined,
            REFORM_TIMEOUT_MS,
            FORMATION_POLL_MS,
            'one leader and all up again',
          ).catch(() => undefined)
    if (leader !== undefined) {
      result.leader_changed_before_kill = current === undefined ? null : current.nodeId !== leader.nodeId || current.epoch !== leader.epoch
      if (current === undefined) console.error(`not formed at the kill (${REFORM_TIMEOUT_MS / 1000} s): ${await census(peers)}`)
      else if (result.leader_changed_before_kill) console.error(`the leader changed after formation: epoch ${leader.epoch} -> ${current.epoch}`)
    }
    if (current !== undefined) {
      const statuses = await Promise.all(peers.map((p) => p.status()))
      const victim = peers[statuses.findIndex((s) => s?.nodeId === current.nodeId)]!
      const survivors = peers.filter((p) => p !== victim)
      // The lag each voter adds to its election timeout (core.ts, "Lag"), and the lease it waits out
      // after the leader's last sequence ("Stretched leases"), just before the kill: no voter may
      // vote before that lease has ended, so it bounds the failover from below.
      const voters = statuses.find((s) => s?.nodeId === current.nodeId)?.members.filter((m) => m.voter === true && m.nodeId !== current.nodeId) ?? []
      const voterPeers = voters.map((v) => peers[statuses.findIndex((s) => s?.nodeId === v.nodeId)]!)
      const toMs = (seconds: Array<number | undefined>): Array<number | null> => seconds.map((l) => (l === undefined ? null : Math.round(l * 1000)))
      const lags = toMs(await Promise.all(voterPeers.map((p) => counter(p, 'dx_cluster_lag_seconds'))))
      result.voters_lease_ms_before_kill = toMs(await Promise.all(voterPeers.map((p) => counter(p, 'dx_cluster_lease_seconds'))))
      console.error(`voters' observed lag before the kill: ${lags.join(', ')} ms; the lease each waits out: ${result.voters_lease_ms_before_kill.join(', ')} ms`)
      const survivorsCpu = survivors.map((p) => cpuTicks(p.pid!))
      const killedAt = performance.now()
      if (values.logs !== undefined) console.error(`killing the leader at ${Date.now()} (wall ms, as in the peers' logs)`)
      if (PROFILED.size > 0) console.error(`killing the leader at ${process.hrtime.bigint() / 1000n} (monotonic µs, as in CPU profiles)`)
      await victim.kill()
      const timeline = values.timeline ? watchFailover(survivors, current.nodeId, killedAt) : undefined
      try {
        await poll(
          () => formed(survivors, n - 1),
          (l) => l !== undefined && l.nodeId !== current.nodeId,
          60_000,
          FAILOVER_POLL_MS,
          'a new leader',
        )
        result.failover_ms = Math.round(performance.now() - killedAt)
      } catch {
        console.error(`no failover within 60 s: ${await census(survivors)}`)
      }
      console.error(`failover: ${result.failover_ms ?? 'none'} ms`)
      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + AFTER_KILL_S * 1000 - performance.now())))
      const windowS = (performance.now() - killedAt) / 1000
      // A survivor that exited meanwhile has no /proc entry left: the mean is of those still running.
      const spent = survivors.flatMap((p, i) => (p.running ? [(cpuTicks(p.pid!) - survivorsCpu[i]!) / TICKS] : []))
      result.after_kill_cpu_s_per_peer = round(mean(spent), 3)
      console.error(`the survivors' CPU in the ${round(windowS, 1)} s after the kill: ${result.after_kill_cpu_s_per_peer} s per peer`)
      if (timeline !== undefined) console.error(await timeline.stop())
    }
  } finally {
    await Promise.all(peers.map((p, i) => (PROFILED.has(i) ? p.stop() : p.kill())))
    if (values.logs !== undefined) {
      await mkdir(values.logs, { recursive: true })
      await Promise.all(peers.map((p, i) => writeFile(join(values.logs!, `p${i}.log`), p.output.join('\n') + '\n')))
    }
    await rm(dir, { recursive: true, force: true })
  }
  return result
}

/** When each survivor first (and for good) named a leader other than `dead`, saw `dead` not up, and saw every survivor up. */
function watchFailover(survivors: Peer[], dead: string, killedAt: number): { stop: () => Promise<string> } {
  const n = survivors.length
  const phases = ['leader', 'deadNotUp', 'allUp'] as const
  const at = survivors.map(() => ({ leader: null, deadNotUp: null, allUp: null }) as Record<(typeof phases)[number], number | null>)
  const samples: string[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const t = performance.now() - killedAt
      const statuses = await Promise.all(survivors.map((p) => p.status()))
      for (const [i, s] of statuses.entries()) {
        if (s === undefined) continue
        const states = new Map(s.members.map((m) => [m.nodeId, m.state]))
        const now = {
          leader: s.leader !== null && s.leader.nodeId !== dead,
          deadNotUp: states.get(dead) !== 'up',
          allUp: statuses.every((o) => o === undefined || states.get(o.nodeId) === 'up'),
        }
        for (const phase of phases) at[i]![phase] = now[phase] ? (at[i]![phase] ?? Math.round(t)) : null
      }
      const count = (phase: (typeof phases)[number]): number => at.filter((a) => a[phase] !== null).length
      // Survivors seen not up, by the role the observer gives them and their state there.
      const notUp = new Map<string, number>()
      for (const s of statuses) {
        for (const m of s?.members ?? []) {
          if (m.nodeId === dead || m.state === 'up') continue
          const key = `${m.nodeId === s!.nodeId ? 'self' : String(m.role)}:${m.state}`
          notUp.set(key, (notUp.get(key) ?? 0) + 1)
        }
      }
      // Whom each survivor names as leader, by its own role there.
      const named = new Map<string, number>()
      for (const s of statuses) {
        if (s === undefined) continue
        const role = s.members.find((m) => m.nodeId === s.nodeId)?.role
        const key = `${String(role)}->${s.leader === null ? 'none' : s.leader.nodeId === dead ? 'dead' : `${s.leader.nodeId.slice(-4)}@${s.leader.epoch}`}`
        named.set(key, (named.get(key) ?? 0) + 1)
      }
      const seen = [...notUp, ...[...named].map(([k, v]) => [`leader ${k}`, v] as const)].map(([k, v]) => `${k} ${v}`).join(', ')
      samples.push(
        `${Math.round(t)} ms: new leader ${count('leader')}/${n}, dead not up ${count('deadNotUp')}/${n}, all up ${count('allUp')}/${n}${seen === '' ? '' : ` (${seen})`}`,
      )
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  const summary = (phase: (typeof phases)[number]): string => {
    const xs = at.map((a) => a[phase]).filter((x): x is number => x !== null)
    xs.sort((a, b) => a - b)
    return xs.length === 0 ? `${phase}: none` : `${phase}: first ${xs[0]} ms, median ${xs[xs.length >> 1]} ms, last ${xs.at(-1)} ms (${xs.length}/${n})`
  }
  return {
    /** Keeps watching, for at most 10 s, until every survivor reached every phase. */
    async stop() {
      const until = performance.now() + 10_000
      while (performance.now() < until && at.some((a) => phases.some((p) => a[p] === null))) await new Promise((r) => setTimeout(r, 100))
      running = false
      await loop
      return [...samples, ...phases.map(summary)].join('\n')
    },
  }
}

/**
 * The mean of `xs` (one figure per peer, in the order `roleOf` indexes) for each role, of the finite
 * figures only (a peer whose /metrics did not answer has NaN); null for a role with none.
 */
function meanByRole(xs: number[], roleOf: (i: number) => Role, digits: number): ByRole {
  const of = (role: Role): number | null => {
    const ys = xs.filter((x, i) => roleOf(i) === role && Number.isFinite(x))
    return ys.length === 0 ? null : round(mean(ys), digits)
  }
  return { leader: of('leader'), voters: of('voters'), workers: of('workers') }
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

const peersResult = values['no-peers'] ? undefined : await realPeers(N)
const sims: SimScaleResult[] = []
if (!values['no-sim']) {
  for (const nodes of SIM_NODES) {
    const r = await simScale(nodes)
    console.error(JSON.stringify(r))
    sims.push(r)
  }
}
const swimSims: ClusterScaleResult[] = []
if (!values['no-sim']) {
  for (const nodes of SWIM_SIM_NODES) {
    const r = runClusterScale({ nodes, seed: 1, membership: 'swim' })
    console.error(JSON.stringify(r))
    swimSims.push(r)
  }
}
const biggest = swimSims.at(-1)
console.log(
  JSON.stringify({
    bench: 'scale',
    peers: values['no-peers'] ? null : N,
    membership: MEMBERSHIP,
    ...(peersResult ?? {
      formation_s: null,
      founder_start_cpu_s: null,
      formation_cpu_s_per_peer: null,
      formation_runqueue_wait_pct: null,
      records_at_formation: null,
      idle_cpu_pct_per_peer: null,
      rss_mb_per_peer: null,
      settle_s: null,
      settled_idle_cpu_pct_per_peer: null,
      settled_idle_cpu_pct_by_role: null,
      settled_rss_mb_per_peer: null,
      pss_mb_per_peer: null,
      uss_mb_per_peer: null,
      rss_anon_mb_per_peer: null,
      rss_file_mb_per_peer: null,
      rss_mb_by_role: null,
      leader_changed_before_kill: null,
      voters_lease_ms_before_kill: null,
      failover_ms: null,
      after_kill_cpu_s_per_peer: null,
      gossip_bytes_per_peer_s: null,
      records_per_peer_s: null,
      swim_messages_per_peer_s: null,
    }),
    sim_nodes: biggest?.nodes ?? null,
    sim_convergence_s: biggest?.convergenceMs === null || biggest === undefined ? null : round(biggest.convergenceMs / 1000, 2),
    sim: sims,
    swim_sim: swimSims.map((r) => ({
      nodes: r.nodes,
      formation_s: r.formationMs === null ? null : round(r.formationMs / 1000, 1),
      settled_s: r.settledMs === null ? null : round(r.settledMs / 1000, 1),
      convergence_s: r.convergenceMs === null ? null : round(r.convergenceMs / 1000, 1),
      death_spread_s: r.death === null ? null : round(r.death.spreadMs / 1000, 2),
      death_largest_age_s: r.death === null ? null : round(r.death.largestAgeMs / 1000, 2),
      leaders: r.leaders,
      records_per_node_s: round(r.recordsPerNodeS, 1),
      bytes_per_node_s: round(r.bytesPerNodeS, 0),
      leader_inputs_per_s: round(r.leaderInputsPerS, 0),
      pings_per_worker_s: round(r.pingsPerWorkerS, 2),
      pings_per_voter_s: round(r.pingsPerVoterS, 2),
      false_not_up: r.falseNotUp,
      false_down: r.falseDown,
      cpu_s_per_virtual_s: round(r.cpuMs / r.virtualMs, 2),
    })),
  }),
)
