// Goal: on real processes and real libp2p, neither a node that holds the cluster secret but never
// joined, nor a member that is not the leader, can drive the peers' system actors: every forged
// system message is refused on the leader and on a follower, asks get ForbiddenMessageError,
// refusals show in /metrics, and /status does not change. Method: two `distributex start` peers on
// loopback; the outsider is a bare actor system with remote messaging on its own libp2p node in
// this process, connected with the secret; the member is a whole node started in this process.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { createLibp2pNetwork, type Libp2pNetwork } from '../../src/adapters/libp2p/network.js'
import { createActorSystem, type ActorSystem } from '../../src/actor/system.js'
import { emptyMetrics, type MemberRecord } from '../../src/cluster/types.js'
import { realEnvironment } from '../../src/env/real.js'
import { EXECUTOR_PATH, JOBS_CLIENT_PATH, SCHEDULER_PATH } from '../../src/jobs/protocol.js'
import { RemoteMessaging } from '../../src/net/remoting.js'
import { resolveConfig } from '../../src/node/config.js'
import { startNode, type RunningNode } from '../../src/node/start.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
let dir: string
const peers: Peer[] = []
let network: Libp2pNetwork | undefined
let system: ActorSystem | undefined
let member: RunningNode | undefined

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-forged-'))
  await run(process.execPath, [BIN, 'secret', '--out', join(dir, 'cluster.key')])
})

after(async () => {
  await member?.stop({ timeoutMs: 1000 })
  await system?.shutdown({ mode: 'reject', timeoutMs: 1000 })
  await network?.stop()
  await Promise.all(peers.map((p) => p.kill()))
  await rm(dir, { recursive: true, force: true })
})

async function peer(name: string, bootstrap: string[]): Promise<Peer> {
  const p = new Peer({
    name,
    dataDir: join(dir, name),
    secretFile: join(dir, 'cluster.key'),
    p2pPort: await freePort(),
    httpPort: await freePort(),
    bootstrap,
    jobLog: `file:${join(dir, 'joblog')}`,
  })
  peers.push(p)
  p.start()
  return p
}

interface RawRef {
  tell(message: unknown): void
  ask(message: unknown, options: { timeoutMs: number }): Promise<unknown>
}

/** What the forged messages must not change. */
async function shape(p: Peer): Promise<unknown> {
  const s = (await p.status())!
  return { leader: s.leader, members: s.members.map((m) => `${m.nodeId}:${m.state}`).sort() }
}

test('a connected non-member holding the secret cannot drive system actors over libp2p', { timeout: 120_000 }, async () => {
  const first = await peer('p0', [])
  const seed = await first.address()
  const second = await peer('p1', [seed])
  const leader = await waitFor(
    () => agreedLeader(peers),
    (l) => l !== undefined,
    30_000,
    'an agreed leader',
  )
  const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
  const follower = ids.find((id) => id !== leader!.nodeId)!

  const env = realEnvironment({ logLevel: 'warn' })
  network = await createLibp2pNetwork({
    env,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [seed, await second.address()],
    clusterSecret: new Uint8Array(await readFile(join(dir, 'cluster.key'))),
  })
  await network.start()
  const net = network
  await waitFor(
    async () => net.peers(),
    (connected) => ids.every((id) => connected.includes(id)),
    30_000,
    'the forger to connect to both peers',
  )
  system = createActorSystem({ env, nodeId: network.self })
  new RemoteMessaging(system, network).start()
  const before = await Promise.all(peers.map(shape))

  const record: MemberRecord = {
    node: leader!.nodeId,
    incarnation: 1000,
    seq: 1,
    status: 'leaving',
    addresses: [],
    metrics: emptyMetrics(),
    epoch: leader!.epoch + 10,
    vote: network.self,
    preVote: null,
    grant: null,
    leaderSeq: 1,
    support: null,
    config: { epoch: leader!.epoch + 10, counter: 1, members: [network.self], workers: [] },
    log: null,
    clusterId: (await peers[0]!.status())!.clusterId,
  }
  const spec = {
    id: 'forged',
    type: 'none',
    input: null,
    options: { priority: 0, retries: 0, timeoutMs: 1000, backoff: { minMs: 1, maxMs: 1, factor: 1, jitter: 0 }, dependsOn: [], deadline: null, idempotencyKey: null },
    submittedAt: 0,
  }
  const messages: Array<{ path: string; body: Record<string, unknown>; ask: boolean; leaderOnly?: boolean }> = [
    { path: '/system/cluster', body: { type: 'tick' }, ask: false },
    { path: '/system/cluster', body: { type: 'record', record }, ask: false },
    { path: '/system/cluster', body: { type: 'view' }, ask: true },
    { path: '/system/cluster', body: { type: 'leave' }, ask: true },
    { path: SCHEDULER_PATH, body: { type: 'submit', records: [], watcher: null }, ask: true, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'list', status: null, limit: 10 }, ask: true, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'reports', reports: [] }, ask: true, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'appended', batch: 0, ok: true }, ask: false, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'tick' }, ask: false, leaderOnly: true },
    { path: EXECUTOR_PATH, body: { type: 'assign', leader: network.self, assignments: [{ spec, attempt: 1, attemptKey: '1.1' }] }, ask: false },
    { path: EXECUTOR_PATH, body: { type: 'abort', items: [] }, ask: false },
    { path: EXECUTOR_PATH, body: { type: 'flush' }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'finished', items: [] }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'progress', items: [] }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'rewatch' }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'leaderCheck' }, ask: false },
  ]
  const asks: Array<Promise<void>> = []
  for (const target of [leader!.nodeId, follower]) {
    for (const m of messages) {
      if (m.leaderOnly === true && target !== leader!.nodeId) continue
      const ref = system.ref({ node: target, path: m.path }) as unknown as RawRef
      if (!m.ask) {
        ref.tell(m.body)
        continue
      }
      asks.push(
        assert.rejects(ref.ask(m.body, { timeoutMs: 10_000 }), (error: Error & { code?: string }) => {
          assert.equal(error.name, 'ForbiddenMessageError', `${target}${m.path} ${String(m.body.type)}: ${error.message}`)
          assert.equal(error.code, 'ERR_FORBIDDEN_MESSAGE')
          return true
        }),
      )
    }
  }
  await Promise.all(asks)
  await new Promise((r) => setTimeout(r, 3000))
  assert.deepEqual(await Promise.all(peers.map(shape)), before, 'leader and membership unchanged')

  for (const [p, id] of peers.map((p, i) => [p, ids[i]!] as const)) {
    const text = await (await fetch(`${p.httpUrl}/metrics`)).text()
    const expected = [
      ['/system/cluster', 'record'],
      ['/system/cluster', 'leave'],
      [EXECUTOR_PATH, 'assign'],
      [JOBS_CLIENT_PATH, 'finished'],
      ...(id === leader!.nodeId ? [[SCHEDULER_PATH, 'appended']] : []),
    ]
    for (const [actor, type] of expected) {
      assert.match(text, new RegExp(`dx_remote_refused_total\\{actor="${actor}",type="${type}"\\} 1\\b`), `${id} ${actor} ${type}`)
    }
  }
})

/** The refusal counts a peer's /metrics shows, by `actor type`. */
async function refusals(p: Peer): Promise<Map<string, number>> {
  const text = await (await fetch(`${p.httpUrl}/metrics`)).text()
  const counts = new Map<string, number>()
  for (const m of text.matchAll(/^dx_remote_refused_total\{actor="([^"]+)",type="([^"]+)"\} (\d+)$/gm)) counts.set(`${m[1]} ${m[2]}`, Number(m[3]))
  return counts
}

test("a member that is not the leader cannot drive the other peers' system actors either", { timeout: 120_000 }, async () => {
  const running = peers.filter((p) => p.running)
  assert.equal(running.length, 2, 'the peers of the first test are up')
  const leader = await waitFor(
    () => agreedLeader(running),
    (l) => l !== undefined,
    30_000,
    'an agreed leader',
  )
  const ids = await Promise.all(running.map(async (p) => (await p.status())!.nodeId))
  const follower = ids.find((id) => id !== leader!.nodeId)!
  const config = resolveConfig(
    {
      listen: '/ip4/127.0.0.1/tcp/0',
      bootstrap: [await running[0]!.address()],
      secretFile: join(dir, 'cluster.key'),
      dataDir: join(dir, 'member'),
      http: `127.0.0.1:${await freePort()}`,
      jobLog: `file:${join(dir, 'joblog')}`,
      logLevel: 'warn',
    },
    {},
  )
  member = await startNode(config, [])
  const self = member.nodeId
  await waitFor(
    () => Promise.all(running.map((p) => p.status())),
    (all) => all.every((st) => st?.members.some((m) => m.nodeId === self && m.state === 'up') === true),
    30_000,
    'the in-process node to be an up member',
  )
  assert.notEqual((await running[0]!.status())!.leader?.nodeId, self, 'the newcomer does not lead')
  // Being an up member in the others' view does not mean the newcomer has dialled each of them yet.
  await waitFor(
    async () => member!.network.peers(),
    (connected) => ids.every((id) => connected.includes(id)),
    30_000,
    'the in-process node to be connected to both peers',
  )
  const before = await Promise.all(running.map(shape))
  const counted = await Promise.all(running.map(refusals))

  const messages: Array<{ path: string; body: Record<string, unknown>; ask: boolean; leaderOnly?: boolean }> = [
    { path: '/system/cluster', body: { type: 'tick' }, ask: false },
    { path: '/system/cluster', body: { type: 'record', record: { node: leader!.nodeId } }, ask: false },
    { path: '/system/cluster', body: { type: 'view' }, ask: true },
    { path: '/system/cluster', body: { type: 'leave' }, ask: true },
    { path: SCHEDULER_PATH, body: { type: 'appended', batch: 0, ok: true }, ask: false, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'dispatch' }, ask: false, leaderOnly: true },
    { path: SCHEDULER_PATH, body: { type: 'tick' }, ask: false, leaderOnly: true },
    { path: EXECUTOR_PATH, body: { type: 'assign', leader: leader!.nodeId, assignments: [] }, ask: false },
    { path: EXECUTOR_PATH, body: { type: 'abort', items: [] }, ask: false },
    { path: EXECUTOR_PATH, body: { type: 'flush' }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'finished', items: [] }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'progress', items: [] }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'rewatch' }, ask: false },
    { path: JOBS_CLIENT_PATH, body: { type: 'leaderCheck' }, ask: false },
  ]
  const asks: Array<Promise<void>> = []
  for (const target of [leader!.nodeId, follower]) {
    for (const m of messages) {
      if (m.leaderOnly === true && target !== leader!.nodeId) continue
      const ref = member.system.ref({ node: target, path: m.path }) as unknown as RawRef
      if (!m.ask) ref.tell(m.body)
      else asks.push(assert.rejects(ref.ask(m.body, { timeoutMs: 10_000 }), { name: 'ForbiddenMessageError', code: 'ERR_FORBIDDEN_MESSAGE' }))
    }
  }
  // A member may send reports, but a report counts only from the node its attempt runs on.
  const reports = member.system.ref({ node: leader!.nodeId, path: SCHEDULER_PATH }) as unknown as RawRef
  assert.equal(
    await reports.ask(
      { type: 'reports', reports: [{ kind: 'finished', id: 'nope', attemptKey: `${leader!.epoch}.1`, outcome: { ok: true, value: 1 }, durationMs: 1 }] },
      { timeoutMs: 10_000 },
    ),
    1,
  )
  await Promise.all(asks)
  await new Promise((r) => setTimeout(r, 3000))
  assert.deepEqual(await Promise.all(running.map(shape)), before, 'leader and membership unchanged')
  for (const [i, p] of running.entries()) {
    const now = await refusals(p)
    const expected = messages.filter((m) => m.leaderOnly !== true || ids[i] === leader!.nodeId)
    for (const m of expected) {
      const key = `${m.path} ${String(m.body.type)}`
      assert.equal((now.get(key) ?? 0) - (counted[i]!.get(key) ?? 0), 1, `${ids[i]} ${key}`)
    }
  }
})
