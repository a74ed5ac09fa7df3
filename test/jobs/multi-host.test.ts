// Goal: the README's multi-host recipe, as written, on separate hosts (network namespaces, each
// peer with its own working and data directory, no --job-log, no Kafka): with the replicated
// default, 10,000 jobs with a kill -9 of the leader midway lose nothing, and a follower whose disk
// fills during the run costs nothing either. Every acknowledged job completes and has one recorded
// result, read back from a survivor's own copy of the log.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { promisify } from 'node:util'
import { canUseNetns, setupHosts, teardownHosts, type HostNet } from '../helpers/netns.js'
import { checkLog, checkResults, openReplicaCopy, submitAndKillLeader, WORKLOAD_JOBS } from '../helpers/job-workload.js'
import { Peer, agreedLeader, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const NET: HostNet = { prefix: 'dxr', octet: 87 }
const available = canUseNetns()
const skip = available ? false : 'needs root and iproute2 to create network namespaces'
const cleanups: Array<() => Promise<void> | void> = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

/** Three hosts, each peer started as the README says; `prepare` may set up a host's directory first. */
async function readmeCluster(prepare?: (index: number, home: string) => void): Promise<{ peers: Peer[]; homes: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-multihost-'))
  const hosts = setupHosts(3, NET)
  const peers: Peer[] = []
  cleanups.push(async () => {
    await Promise.all(peers.map((p) => p.kill()))
    teardownHosts(3, NET)
    for (const h of homes) spawnQuiet('umount', [join(h, '.distributex')])
    await rm(dir, { recursive: true, force: true })
  })
  const homes: string[] = []
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  await run(process.execPath, [BIN, 'token', '--out', join(dir, 'http.token')])
  for (const host of hosts) {
    const home = join(dir, host.ns)
    await mkdir(home)
    homes.push(home)
    prepare?.(host.index, home)
    // The recipe: `distributex start --listen /ip4/0.0.0.0/tcp/7400 --secret-file cluster.key [--bootstrap <first>]`,
    // with the HTTP API on the host's management address (so with a token) so that the test can read /status.
    const seed = peers.length === 0 ? [] : [await peers[0]!.address()]
    const p = new Peer({
      name: host.ns,
      netns: host.ns,
      cwd: home,
      host: host.dataIp,
      httpBind: host.mgmtIp,
      httpReach: host.mgmtIp,
      p2pPort: 7400,
      httpPort: 7401,
      dataDir: join(home, '.distributex', '7400'),
      secretFile: join(dir, 'cluster.key'),
      httpTokenFile: join(dir, 'http.token'),
      bootstrap: seed,
    })
    peers.push(p)
    p.start()
    await p.address()
  }
  await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    60_000,
    'a leader across three hosts',
  )
  return { peers, homes }
}

function spawnQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' })
  } catch {
    // nothing mounted
  }
}

test('separate hosts, replicated default: 10,000 jobs, the leader killed midway, every acknowledged job recorded exactly once', { timeout: 600_000, skip }, async () => {
  const { peers } = await readmeCluster()
  const acked = await submitAndKillLeader(peers)
  assert.ok(acked.size >= WORKLOAD_JOBS * 0.95, `${acked.size} of ${WORKLOAD_JOBS} acknowledged`)
  const results = await checkResults(peers, acked)
  await checkLeaderCopy(peers, acked, results)
})

test('separate hosts, replicated default: a follower whose disk fills during the run loses nothing', { timeout: 600_000, skip }, async () => {
  // The last host's data directory is a small tmpfs that fills with the log partway through.
  const { peers, homes } = await readmeCluster((index, home) => {
    if (index !== 2) return
    execFileSync('mkdir', ['-p', join(home, '.distributex')])
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1200k', 'tmpfs', join(home, '.distributex')])
  })
  assert.equal(homes.length, 3)
  const leader = (await agreedLeader(peers))!
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  assert.notEqual(ids[2], leader.nodeId, 'the small disk is a follower (the founder leads)')
  // A snapshot can compact the follower's copy and free space again, so the fullest moment is
  // sampled throughout rather than read once at the end.
  const disk = join(homes[2]!, '.distributex')
  let leastFree = Infinity
  const sample = async (): Promise<void> => {
    const s = await statfs(disk)
    leastFree = Math.min(leastFree, s.bavail * s.bsize)
  }
  const sampler = setInterval(() => void sample().catch(() => undefined), 50)
  let acked: Map<string, number>
  let results: Map<string, unknown>
  try {
    acked = await submitAndKillLeader(peers, { kill: false })
    assert.ok(acked.size >= WORKLOAD_JOBS * 0.95, `${acked.size} of ${WORKLOAD_JOBS} acknowledged`)
    results = await checkResults(peers, acked)
  } finally {
    clearInterval(sampler)
  }
  await sample()
  assert.ok(leastFree < 128 * 1024, `the follower's disk filled during the run (at least ${leastFree} bytes always left)`)
  await checkLeaderCopy(peers, acked, results)
})

/** Stops the cluster and checks the last leader's own copy of the log: every acknowledged job recorded once. */
async function checkLeaderCopy(peers: Peer[], acked: Map<string, number>, results: Map<string, unknown>): Promise<void> {
  const leader = (await agreedLeader(peers.filter((p) => p.running)))!
  const statuses = await Promise.all(peers.map((p) => p.status()))
  const holder = peers[statuses.findIndex((s) => s?.nodeId === leader.nodeId)]!
  await Promise.all(peers.map((p) => p.stop()))
  const copy = await openReplicaCopy(holder.spec.dataDir)
  try {
    await checkLog(copy.log, acked, results)
  } finally {
    await copy.close()
  }
}
