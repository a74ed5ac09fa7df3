// Goal: real CLI peers with `--membership swim` form one cluster and their workers stop gossiping:
// every peer sees every other up, SWIM probes flow on every peer, and the records a peer takes in
// per second stay near the voters' rate instead of growing with the peers (as with 'gossip'); a
// killed worker's death reaches every survivor, which times its age (dx_swim_convergence_seconds).
// Method: `distributex start --membership swim` child processes on loopback, all bootstrapping from
// the first, observed through /status and /metrics. DX_SWIM_PEERS sets the count (default 16: more
// than the 14 that never formed before the gossip settings, and what CI holds; the bench runs 50).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const N = Number(process.env['DX_SWIM_PEERS'] ?? 16)
let dir: string
const peers: Peer[] = []

async function peer(name: string, bootstrap: string[]): Promise<Peer> {
  const p = new Peer({
    name,
    dataDir: join(dir, name),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    bootstrap,
    extraArgs: ['--membership', 'swim'],
  })
  peers.push(p)
  p.start()
  return p
}

/** The value of an unlabelled metric, or the sum over a labelled one's series holding every one of `labels`. */
async function metric(p: Peer, name: string, ...labels: string[]): Promise<number> {
  const text = await (await fetch(`${p.httpUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && labels.every((x) => l.includes(x)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/** Prints, per peer, its leader and the members it does not see up (or why it has no status). */
async function census(all: Peer[]): Promise<void> {
  const statuses = await Promise.all(all.map((p) => p.status()))
  for (const [i, s] of statuses.entries()) {
    const p = all[i]!
    if (s === undefined) console.log(`${p.spec.name} ${p.running ? 'no status' : `exited: ${p.output.slice(-5).join(' | ')}`}`)
    else
      console.log(
        `${p.spec.name} leader ${s.leader?.nodeId.slice(-4)}@${s.leader?.epoch}: ${s.members
          .filter((m) => m.state !== 'up')
          .map((m) => `${m.nodeId.slice(-4)}:${m.state}:${m.role}`)
          .join(' ')}`,
      )
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-swim-'))
  await promisify(execFile)(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
})

after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

test(`${N} peers with --membership swim form one cluster, probe each other, and take in few records`, { timeout: 300_000 }, async () => {
  const started = performance.now()
  const first = await peer('p0', [])
  const seed = await first.address()
  const all = [first]
  for (let i = 1; i < N; i++) all.push(await peer(`p${i}`, [seed]))
  const leader = await waitFor(
    () => agreedLeader(all),
    (l) => l !== undefined,
    240_000,
    `${N} peers to agree on a leader with all up`,
  ).catch(async (error: unknown) => {
    await census(all)
    throw error
  })
  assert.ok(leader !== undefined)
  for (const p of all) assert.ok(p.running, `${p.spec.name} exited: ${p.output.slice(-10).join(' | ')}`)
  const formationS = (performance.now() - started) / 1000
  for (const s of await Promise.all(all.map((p) => p.status()))) assert.equal(s!.members.length, N)
  const records = async (): Promise<number[]> => Promise.all(all.map((p) => metric(p, 'dx_cluster_records_total', 'direction="received"')))
  const before = await records()
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 10_000))
  const afterRecords = await records()
  const seconds = (performance.now() - t0) / 1000
  const perPeerS = afterRecords.map((r, i) => (r - before[i]!) / seconds)
  const mean = perPeerS.reduce((a, b) => a + b, 0) / N
  // At most 5 voters at 4 records a second, plus the workers' refreshes (10 s, at most 5 a second
  // together) and a little slack: flat in N. With 'gossip' every peer would take in 4·(N-1).
  const bound = 4 * 5 + 5 + 5
  assert.ok(mean < bound, `records received per peer per second: ${mean.toFixed(1)}, bound ${bound} (gossip: ~${4 * (N - 1)})`)
  for (const p of all) assert.ok((await metric(p, 'dx_swim_messages_total', 'type="ping"')) > 0, `${p.spec.name} sends and receives SWIM probes`)
  // A loaded host stalls event loops, and SWIM may suspect a member for a moment: it refutes at once.
  console.log(JSON.stringify({ peers: N, formation_s: Math.round(formationS), records_received_per_peer_s: Math.round(mean * 10) / 10 }))
  await waitFor(
    () => agreedLeader(all),
    (l) => l !== undefined,
    60_000,
    'one leader with every member up, after the idle window',
  ).catch(async (error: unknown) => {
    await census(all)
    throw error
  })

  // A worker killed: every survivor times how old its death was when it took it in (0 where it was declared).
  const statuses = await Promise.all(all.map((p) => p.status()))
  const workerIds = new Set(statuses[0]!.members.filter((m) => m.role === 'worker').map((m) => m.nodeId))
  const victimAt = statuses.findIndex((s) => workerIds.has(s!.nodeId))
  assert.ok(victimAt >= 0, 'a worker to kill')
  const victimId = statuses[victimAt]!.nodeId
  const survivors = all.filter((_, i) => i !== victimAt)
  const deaths = async (): Promise<number[]> => Promise.all(survivors.map((p) => metric(p, 'dx_swim_convergence_seconds_count', 'type="dead"')))
  const deathsBefore = await deaths()
  await all[victimAt]!.kill()
  await waitFor(
    async () => Promise.all(survivors.map(async (p) => (await p.status())?.members.find((m) => m.nodeId === victimId)?.state)),
    (states) => states.every((state) => state === 'down'),
    60_000,
    'every survivor to see the killed worker down',
  )
  const deathsAfter = await deaths()
  for (const [i, p] of survivors.entries()) assert.ok(deathsAfter[i]! > deathsBefore[i]!, `${p.spec.name} timed the death it took in`)
  const ages = await Promise.all(survivors.map((p) => metric(p, 'dx_swim_convergence_seconds_sum', 'type="dead"')))
  const within = await Promise.all(survivors.map((p) => metric(p, 'dx_swim_convergence_seconds_bucket', 'type="dead"', 'le="16"')))
  // Each survivor's deaths all came within 16 s of being declared (the crash goal is 10 s).
  for (const [i, p] of survivors.entries()) assert.equal(within[i], deathsAfter[i], `${p.spec.name}: a death took over 16 s to reach it`)
  console.log(JSON.stringify({ death_age_s_mean_per_survivor: Math.round((ages.reduce((a, b) => a + b, 0) / survivors.length) * 1000) / 1000 }))
})
