// Goal: identical peers as real processes on loopback form a private cluster and elect a leader;
// kill -9 of the leader gives a new leader with a higher epoch; the old peer restarts and rejoins as
// a follower; a peer with another secret is refused; SIGTERM leaves gracefully; /metrics and
// `distributex status` work. Method: `distributex start` child processes, observed through /status.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
let dir: string
const peers: Peer[] = []

async function peer(name: string, bootstrap: string[], secretFile = join(dir, 'cluster.key')): Promise<Peer> {
  const p = new Peer({ name, dataDir: join(dir, name), secretFile, p2pPort: await freePort(), httpPort: await freePort(), bootstrap, jobLog: `file:${join(dir, 'joblog')}` })
  peers.push(p)
  p.start()
  return p
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-peers-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'other.key')])
})

after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

test('three peers form a cluster, elect a leader, survive its kill -9, and take it back as a follower', { timeout: 120_000 }, async () => {
  const first = await peer('p0', [])
  const seed = await first.address()
  const others = [await peer('p1', [seed]), await peer('p2', [seed])]
  const all = [first, ...others]
  const leader = await waitFor(
    () => agreedLeader(all),
    (l) => l !== undefined,
    30_000,
    'an agreed leader with three members up',
  )
  const status = await first.status()
  assert.ok(status!.addresses.every((a) => a.includes('/p2p/')))
  assert.equal(status!.members.length, 3)

  const victim = (await Promise.all(all.map(async (p) => [p, (await p.status())!.nodeId] as const))).find(([, id]) => id === leader!.nodeId)![0]
  const killedAt = Date.now()
  await victim.kill()
  const survivors = all.filter((p) => p !== victim)
  const next = await waitFor(
    async () => {
      const statuses = await Promise.all(survivors.map((p) => p.status()))
      const l = statuses[0]?.leader
      return l !== null && l !== undefined && statuses.every((s) => s?.leader?.nodeId === l.nodeId && s.leader.epoch === l.epoch) ? l : undefined
    },
    (l) => l !== undefined && l.nodeId !== leader!.nodeId,
    30_000,
    'a new leader after kill -9',
  )
  assert.ok(next!.epoch > leader!.epoch, `epoch ${leader!.epoch} -> ${next!.epoch}`)
  assert.ok(Date.now() - killedAt < 10_000, `failover took ${Date.now() - killedAt} ms`)

  victim.start()
  const rejoined = await waitFor(
    () => agreedLeader(all),
    (l) => l !== undefined,
    30_000,
    'the old leader back, as a follower',
  )
  assert.equal(rejoined!.nodeId, next!.nodeId, 'the restarted peer does not take over')
  assert.equal(rejoined!.epoch, next!.epoch)
  const victimStatus = await victim.status()
  assert.equal(victimStatus!.leading, false)
})

test('a peer with a different cluster secret cannot join', { timeout: 60_000 }, async () => {
  const members = peers.filter((p) => p.running)
  const seed = await members[0]!.address()
  const stranger = await peer('stranger', [seed], join(dir, 'other.key'))
  const strangerStatus = await waitFor(
    () => stranger.status(),
    (s) => s !== undefined,
    30_000,
    'the stranger to start',
  )
  await new Promise((r) => setTimeout(r, 4000))
  const seen = await members[0]!.status()
  assert.ok(!seen!.members.some((m) => m.nodeId === strangerStatus!.nodeId), 'the cluster never sees the stranger')
  const own = await stranger.status()
  assert.equal(own!.leader, null)
  assert.deepEqual(
    own!.members.map((m) => m.nodeId),
    [strangerStatus!.nodeId],
  )
  await stranger.kill()
})

test('/metrics serves Prometheus text and `distributex status` prints the cluster', { timeout: 30_000 }, async () => {
  const p = peers.find((x) => x.running && x.spec.name !== 'stranger')!
  const text = await (await fetch(`${p.httpUrl}/metrics`)).text()
  assert.match(text, /^dx_actors \d+$/m)
  assert.match(text, /^dx_process_resident_memory_bytes \d+/m)
  const { stdout } = await run(process.execPath, [BIN, 'status', '--http', `127.0.0.1:${p.spec.httpPort}`])
  assert.match(stdout, /leader \S+ \(epoch \d+\)/)
  assert.equal(stdout.split('\n').filter((l) => / up /.test(l)).length, 3)
})

test('SIGTERM makes a peer leave gracefully: exit code 0, and the others drop it from the voters', { timeout: 60_000 }, async () => {
  const members = peers.filter((p) => p.running)
  const leaving = members[members.length - 1]!
  const leavingId = (await leaving.status())!.nodeId
  assert.equal(await leaving.stop(), 0)
  const rest = members.filter((p) => p !== leaving)
  await waitFor(
    () => rest[0]!.status(),
    (s) => s !== undefined && !s.members.some((m) => m.nodeId === leavingId && m.voter === true),
    20_000,
    'the leaver removed from the voters',
  )
  const leader = await waitFor(
    () => agreedLeader(rest),
    (l) => l !== undefined,
    20_000,
    'a leader among the remaining peers',
  )
  assert.notEqual(leader!.nodeId, leavingId)
})
