/**
 * What an idle cluster costs (issues 15 and 16): `--peers` (default 3) real CLI peers on loopback,
 * the others bootstrapping from the first; once they agree on a leader and see each other up, and
 * after `--settle-s` more, each peer's CPU (utime + stime from /proc/PID/stat) is read over
 * `--seconds` (default 30), then its RSS, and the gossip bytes it sent and received in the window
 * (`dx_net_gossip_rpc_bytes_*`). Nothing polls the peers inside the window.
 *
 * A/B in one run, because this machine's speed moves by 2x from hour to hour: with `--base REF`
 * (default `main`) the same measurement alternates between this checkout and REF checked out in
 * /tmp/idle/base-<sha> (a detached worktree sharing this checkout's node_modules), `--rounds`
 * times A B. `--base none` measures this checkout only. `--profile DIR` runs every peer under
 * `--cpu-prof` and stops them with SIGTERM so the profiles are written. `--built` runs both sides from
 * a fresh build (dist/) instead of the sources through tsx, which alone costs RSS. Prints one JSON
 * line last.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, symlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs, promisify } from 'node:util'
import { Peer, freePort, waitFor } from '../helpers/peers.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..')
const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '30' },
    'settle-s': { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    base: { type: 'string', default: 'main' },
    profile: { type: 'string' },
    /** Both sides run a fresh `npm run build` (dist/), as an installed package does: no tsx compiling sources in the peers. */
    built: { type: 'boolean', default: false },
    /** Flags for node in every peer of both sides, space-separated (e.g. `--node-args=--max-semi-space-size=1`), to see what they do to RSS. */
    'node-args': { type: 'string', default: '' },
  },
})
const N = Number(values.peers)
const SECONDS = Number(values.seconds)
const SETTLE_MS = Number(values['settle-s']) * 1000
const ROUNDS = Number(values.rounds)
const NODE_ARGS = values['node-args'].split(' ').filter((a) => a !== '')
const TICKS = 100 // clock ticks per second (USER_HZ)

interface PeerSample {
  role: 'leader' | 'follower'
  cpu_pct: number
  rss_mb: number
  gossip_bytes_s: number | null
}

interface SideResult {
  side: string
  formation_s: number | null
  peers: PeerSample[]
}

/** Checks out `ref` once under /tmp/idle and returns its CLI entry point. */
async function baseBin(ref: string): Promise<{ bin: string; sha: string }> {
  const sha = (await run('git', ['rev-parse', '--short', ref], { cwd: ROOT })).stdout.trim()
  const dir = `/tmp/idle/base-${sha}`
  if (!existsSync(dir)) {
    await run('git', ['worktree', 'add', '--detach', dir, sha], { cwd: ROOT })
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  }
  if (values.built) await run('npm', ['run', 'build'], { cwd: dir })
  return { bin: join(dir, values.built ? 'dist' : '', 'src', 'cli', 'bin.mjs'), sha }
}

function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
}

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** Gossip bytes sent + received so far, or NaN when the peer does not export the counters. */
async function gossipBytes(peer: Peer): Promise<number> {
  try {
    const text = await (await fetch(`${peer.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    let sum = NaN
    for (const line of text.split('\n')) {
      if (/^dx_net_gossip_rpc_bytes_(sent|received)_total[ {]/.test(line)) sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1))
    }
    return sum
  } catch {
    return NaN
  }
}

async function measure(side: string, bin: string | undefined): Promise<SideResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-bench-idle-'))
  await run(process.execPath, [join(ROOT, 'src', 'cli', 'bin.mjs'), 'secret', '--out', join(dir, 'cluster.key')])
  const peers: Peer[] = []
  const result: SideResult = { side, formation_s: null, peers: [] }
  try {
    const spec = async (i: number, bootstrap: string[]) => ({
      name: `${side}-p${i}`,
      dataDir: join(dir, `p${i}`),
      secretFile: join(dir, 'cluster.key'),
      p2pPort: await freePort(),
      httpPort: await freePort(),
      bootstrap,
      ...(bin === undefined ? {} : { bin }),
      nodeArgs: [...NODE_ARGS, ...(values.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', join(values.profile, side, `p${i}`)])],
    })
    const started = performance.now()
    peers.push(new Peer(await spec(0, [])))
    peers[0]!.start()
    const seed = await peers[0]!.address()
    for (let i = 1; i < N; i++) {
      peers.push(new Peer(await spec(i, [seed])))
      peers[i]!.start()
    }
    const formed = async (): Promise<string | undefined> => {
      const statuses = await Promise.all(peers.map((p) => p.status()))
      if (statuses.some((s) => s?.leader === null || s === undefined)) return undefined
      if (new Set(statuses.map((s) => `${s!.leader!.nodeId}@${s!.leader!.epoch}`)).size !== 1) return undefined
      return statuses.every((s) => s!.members.filter((m) => m.state === 'up').length === N) ? statuses[0]!.leader!.nodeId : undefined
    }
    const leader = await waitFor(formed, (l) => l !== undefined, 120_000, `${side}: ${N} peers to form`)
    result.formation_s = Math.round((performance.now() - started) / 100) / 10
    const ids = await Promise.all(peers.map((p) => p.status().then((s) => s?.nodeId)))
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    const pids = peers.map((p) => p.pid!)
    const gossip0 = await Promise.all(peers.map(gossipBytes))
    const cpu0 = pids.map(cpuTicks)
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, SECONDS * 1000))
    const cpu1 = pids.map(cpuTicks)
    const seconds = (performance.now() - t0) / 1000
    const rss = pids.map(rssMb)
    const gossip1 = await Promise.all(peers.map(gossipBytes))
    result.peers = pids.map((_, i) => {
      const g = (gossip1[i]! - gossip0[i]!) / seconds
      return {
        role: ids[i] === leader ? 'leader' : 'follower',
        cpu_pct: round(((cpu1[i]! - cpu0[i]!) / TICKS / seconds) * 100, 2),
        rss_mb: round(rss[i]!, 1),
        gossip_bytes_s: Number.isFinite(g) ? Math.round(g) : null,
      }
    })
    // A peer that left during the window would make the figures meaningless.
    for (const [i, p] of peers.entries()) if (!p.running) throw new Error(`${side} p${i} exited: ${p.output.slice(-8).join(' | ')}`)
  } finally {
    // SIGTERM first so that --cpu-prof writes its profile; kill -9 whatever is left.
    await Promise.all(peers.map((p) => Promise.race([p.stop(), new Promise((r) => setTimeout(r, 10_000))])))
    await Promise.all(peers.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
  }
  return result
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Medians over every peer sample of every round of one side. */
function summary(results: SideResult[]): Record<string, number | null> {
  const all = results.flatMap((r) => r.peers)
  const gossip = all.map((p) => p.gossip_bytes_s).filter((g): g is number => g !== null)
  return {
    cpu_pct_per_peer: round(median(all.map((p) => p.cpu_pct)), 2),
    cpu_pct_max: round(Math.max(...all.map((p) => p.cpu_pct)), 2),
    leader_cpu_pct: round(median(all.filter((p) => p.role === 'leader').map((p) => p.cpu_pct)), 2),
    rss_mb_per_peer: round(median(all.map((p) => p.rss_mb)), 1),
    rss_mb_max: round(Math.max(...all.map((p) => p.rss_mb)), 1),
    gossip_bytes_per_peer_s: gossip.length === 0 ? null : Math.round(median(gossip)),
    formation_s: round(median(results.map((r) => r.formation_s ?? NaN)), 1),
  }
}

const base = values.base === 'none' ? undefined : await baseBin(values.base)
if (values.built) await run('npm', ['run', 'build'], { cwd: ROOT })
const newBin = values.built ? join(ROOT, 'dist', 'src', 'cli', 'bin.mjs') : undefined
const head = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })).stdout.trim()
const dirty = (await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT })).stdout.trim() !== ''
const load0 = loadavg()
const results: Record<'new' | 'base', SideResult[]> = { new: [], base: [] }
for (let round_ = 0; round_ < ROUNDS; round_++) {
  for (const side of base === undefined ? (['new'] as const) : (['new', 'base'] as const)) {
    const r = await measure(side, side === 'base' ? base!.bin : newBin)
    console.error(
      `round ${round_ + 1} ${side} (load ${loadavg()[0]!.toFixed(1)}): formed in ${r.formation_s} s; ${r.peers.map((p) => `${p.role} ${p.cpu_pct}% ${p.rss_mb} MB ${p.gossip_bytes_s ?? '-'} B/s`).join('; ')}`,
    )
    results[side].push(r)
  }
}
const a = summary(results.new)
const b = base === undefined ? undefined : summary(results.base)
console.log(
  JSON.stringify({
    bench: 'idle',
    peers: N,
    seconds: SECONDS,
    rounds: ROUNDS,
    built: values.built,
    node_args: values['node-args'],
    load_avg: [load0[0], loadavg()[0]].map((l) => round(l!, 1)),
    new: { commit: head + (dirty ? '+dirty' : ''), ...a },
    ...(b === undefined
      ? {}
      : { base: { commit: base!.sha, ...b }, cpu_ratio: round(a.cpu_pct_per_peer! / b.cpu_pct_per_peer!, 2), rss_ratio: round(a.rss_mb_per_peer! / b.rss_mb_per_peer!, 2) }),
  }),
)
