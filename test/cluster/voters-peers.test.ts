// Goal: the bounded voter set on real processes: 7 peers settle on 5 voters and 2 workers; kill -9 of
// a voter gives a replacement voter within voter-down-ms + one election; `distributex members` shows
// roles, and `members remove` drops the dead member. Method: `distributex start` child processes
// with --voter-down-ms 3000, observed through /status and the CLI. Seven processes share the test
// machine's cores, so gossip and leases run at twice and three times their default periods.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import type { StatusDocument } from '../../src/node/http-api.js'
import { Peer, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const VOTER_DOWN_MS = 3000
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
    jobLog: `file:${join(dir, 'joblog')}`,
    extraArgs: ['--voter-down-ms', String(VOTER_DOWN_MS), '--gossip-interval-ms', '500', '--lease-ms', '3000'],
  })
  peers.push(p)
  p.start()
  return p
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-voters-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
})

after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

const voters = (s: StatusDocument | undefined): string[] => (s?.members ?? []).filter((m) => m.voter === true).map((m) => m.nodeId)
const liveVoters = (s: StatusDocument | undefined): string[] => (s?.members ?? []).filter((m) => m.voter === true && m.state === 'up').map((m) => m.nodeId)

test('7 peers: 5 voters; kill -9 of a voter is followed by a replacement voter, and the dead one can be removed by hand', { timeout: 240_000 }, async (t) => {
  const first = await peer('p0', [])
  const seed = await first.address()
  for (let i = 1; i < 7; i++) await peer(`p${i}`, [seed])
  const settled = await waitFor(
    () => first.status(),
    (s) => s !== undefined && s.leader !== null && liveVoters(s).length === 5 && s.members.filter((m) => m.state === 'up').length === 7,
    120_000,
    '5 live voters and 2 workers',
  )
  assert.equal(settled!.members.filter((m) => m.role === 'worker').length, 2)
  assert.equal(settled!.members.filter((m) => m.role === 'leader').length, 1)
  assert.match(settled!.clusterId ?? '', /^[0-9a-f]{32}$/)

  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const victimId = voters(settled).find((v) => v !== settled!.leader!.nodeId)!
  const victim = peers[ids.indexOf(victimId)]!
  const observer = peers.find((p) => p !== victim)!
  const killedAt = Date.now()
  await victim.kill()
  const replaced = await waitFor(
    () => observer.status(),
    (s) => s !== undefined && liveVoters(s).length === 5 && !voters(s).includes(victimId),
    30_000,
    'a replacement voter',
  )
  const tookMs = Date.now() - killedAt
  t.diagnostic(`replacement voter ${tookMs} ms after kill -9 (voter-down-ms ${VOTER_DOWN_MS})`)
  // Down after suspicion (about 3 s) and silent for voter-down-ms, then two configuration changes.
  assert.ok(tookMs < VOTER_DOWN_MS + 10_000, `replaced after ${tookMs} ms`)
  assert.equal(replaced!.members.find((m) => m.nodeId === victimId)?.role, 'worker')
  // A worker's state is SWIM's (the default membership): its suspicion of the dead one ends in
  // 'down' within SWIM's convergence bound (10 s), which may come after the replacement.
  const seenDown = await waitFor(
    () => observer.status(),
    (s) => s !== undefined && s.members.find((m) => m.nodeId === victimId)?.state === 'down',
    15_000,
    'the demoted dead voter seen down',
  )
  assert.equal(seenDown!.members.find((m) => m.nodeId === victimId)?.role, 'worker')

  const http = `127.0.0.1:${observer.spec.httpPort}`
  const { stdout } = await run(process.execPath, [BIN, 'members', '--http', http])
  assert.match(stdout, /^cluster [0-9a-f]{32} +leader \S+ \(epoch \d+\) +5 voters, 2 workers$/m)
  assert.match(stdout, new RegExp(`^${victimId} +worker +down `, 'm'))
  const refused = await run(process.execPath, [BIN, 'members', 'remove', replaced!.leader!.nodeId, '--http', http]).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  )
  assert.equal(refused?.code, 2)
  assert.match(refused!.stderr, /is (not down|the leader)/)
  const removed = await run(process.execPath, [BIN, 'members', 'remove', victimId, '--http', http])
  assert.match(removed.stdout, /^removed /)
  const again = await run(process.execPath, [BIN, 'members', 'remove', victimId, '--http', http]).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  )
  assert.match(again?.stderr ?? '', /is not a member/, 'the configuration no longer lists it')
  const after = await observer.status()
  assert.equal(liveVoters(after).length, 5)
})
