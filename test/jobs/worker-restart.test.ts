// Goal: a worker killed and started again before the failure detector calls it down loses the
// attempts it held (attempts are not logged), and the leader runs them again as soon as it hears
// the worker's new incarnation, not after their timeout (a minute here). Three real CLI peers on
// loopback; sleep jobs fill the leader's 64 slots and spill onto the others.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { agreedLeader, startCluster, waitFor, type Peer } from '../helpers/peers.js'

const peers: Peer[] = []
let dir: string | undefined
after(async () => {
  await Promise.all(peers.map((p) => p.kill()))
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const SLEEP_MS = 4000
const TIMEOUT_MS = 60_000

type Info = { id: string; status: string; attempts: number; assignedTo: string | null }

test('the attempts of a worker killed and back before it is found down run again within seconds, not after their timeout', { timeout: 180_000 }, async (t) => {
  dir = await mkdtemp(join(tmpdir(), 'dx-worker-restart-'))
  await startCluster(dir, 3, peers)
  const leader = (await agreedLeader(peers))!
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const entry = peers[ids.indexOf(leader.nodeId)]!

  const batch = await entry.call<{ results: Array<{ id?: string }> }>('POST', '/jobs/batch', {
    jobs: Array.from({ length: 200 }, () => ({ type: 'sleep', input: { ms: SLEEP_MS }, options: { timeoutMs: TIMEOUT_MS, retries: 3 } })),
  })
  const jobIds = batch.json.results.map((r) => r.id!)
  assert.equal(jobIds.length, 200)
  const infos = await waitFor(
    () => Promise.all(jobIds.map(async (id) => (await entry.call<Info>('GET', `/jobs/${id}`)).json)),
    (all) => all.some((i) => i.status === 'running' && i.assignedTo !== null && i.assignedTo !== leader.nodeId),
    20_000,
    'an attempt on a worker',
  )
  const victimId = infos.find((i) => i.status === 'running' && i.assignedTo !== leader.nodeId)!.assignedTo!
  const held = infos.filter((i) => i.status === 'running' && i.assignedTo === victimId).map((i) => i.id)
  const victim = peers[ids.indexOf(victimId)]!

  const killedAt = Date.now()
  await victim.kill()
  victim.start()
  const done = await waitFor(
    () => Promise.all(held.map(async (id) => (await entry.call<Info>('GET', `/jobs/${id}`)).json)),
    (all) => all.every((i) => i.status === 'completed'),
    TIMEOUT_MS - 10_000,
    `the ${held.length} jobs ${victimId} held`,
  )
  const elapsedMs = Date.now() - killedAt
  t.diagnostic(`${held.length} attempts on the killed worker, all done ${elapsedMs} ms after the kill`)
  assert.ok(
    done.every((i) => i.attempts >= 2),
    JSON.stringify(done.slice(0, 5)),
  )
  // The new attempt's sleep plus the restart and a few gossip rounds; the timeout would be a minute.
  assert.ok(elapsedMs < SLEEP_MS + 15_000, `took ${elapsedMs} ms`)
})
