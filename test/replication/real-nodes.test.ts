// Goal: three real nodes in one process (libp2p on loopback, file-backed replica logs, the real election) with `jobLog: replicated` commit jobs through the mesh, and when the leader stops the next leader still knows every acknowledged job.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { META_FILE, decodeMeta } from '../../src/adapters/replica-log/format.js'
import { defineJob } from '../../src/jobs/define.js'
import { resolveConfig } from '../../src/node/config.js'
import { startNode, type RunningNode } from '../../src/node/start.js'

const double = defineJob('double', (n: number) => n * 2)

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = fn()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

async function untilAsync<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

test('a replicated 3-node cluster keeps acknowledged jobs across the loss of its leader', { timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-real-replicated-'))
  const nodes: RunningNode[] = []
  t.after(async () => {
    for (const n of nodes) await n.stop({ timeoutMs: 2000 }).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  const settings = (i: number, bootstrap: string[]) =>
    resolveConfig(
      {
        listen: '/ip4/127.0.0.1/tcp/0',
        http: 'off',
        dataDir: join(dir, `n${i}`),
        jobLog: 'replicated',
        logLevel: 'error',
        secretFile: join(dir, 'n0', 'cluster.key'),
        bootstrap,
        gossipIntervalMs: 100,
        leaseMs: 600,
      },
      {},
    )
  const first = await startNode(
    resolveConfig({ listen: '/ip4/127.0.0.1/tcp/0', http: 'off', dataDir: join(dir, 'n0'), jobLog: 'replicated', logLevel: 'error', gossipIntervalMs: 100, leaseMs: 600 }, {}),
    [double],
  )
  nodes.push(first)
  const boot = first.addresses.filter((a) => a.includes('/p2p/'))
  for (const i of [1, 2]) nodes.push(await startNode(settings(i, boot.length > 0 ? boot : first.addresses.map((a) => `${a}/p2p/${first.nodeId}`)), [double]))
  await until('three voters', () => (first.cluster.view()?.config?.members.length === 3 ? true : undefined))
  // Joiners opened their copies before they knew the cluster: each records the identity once known.
  const clusterId = first.cluster.clusterId()
  assert.ok(clusterId !== undefined)
  for (const i of [0, 1, 2]) {
    await untilAsync(`n${i}'s replica to record the cluster`, async () => {
      const meta = decodeMeta(await readFile(join(dir, `n${i}`, 'replica', META_FILE)).catch(() => Buffer.alloc(0)))
      return typeof meta !== 'string' && meta.clusterId === clusterId ? true : undefined
    })
  }

  const ids: string[] = []
  for (let i = 0; i < 20; i++) {
    const handle = await first.jobs.submit(double, i, { timeoutMs: 5000 })
    ids.push(handle.id)
    assert.equal(await handle.result(), i * 2)
  }
  const leader = await until('a leader', () => nodes.find((n) => n.cluster.leaderEpoch() !== undefined))
  const committed = leader.replication!.status()!.commitEnd
  assert.ok(committed >= 40, `submissions and results are committed (${committed})`)
  for (const n of nodes) await until(`${n.nodeId} to hold the log`, () => ((n.replication?.status()?.durableEnd ?? 0) >= committed ? true : undefined))

  await leader.stop({ timeoutMs: 2000 })
  nodes.splice(nodes.indexOf(leader), 1)
  const next = await until('a new leader', () => nodes.find((n) => n.cluster.leaderEpoch() !== undefined))
  for (const id of ids) {
    const info = await next.jobs.inspect(id)
    assert.equal(info?.status, 'completed', `job ${id} survived the leader's loss`)
  }
})

test('a member that runs no jobs gets no copy of the log while the voters are up, and catches up and is promoted when one is down for good', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-real-submitter-'))
  const nodes: RunningNode[] = []
  t.after(async () => {
    for (const n of nodes) await n.stop({ timeoutMs: 2000 }).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  const settings = (name: string, bootstrap: string[]) =>
    resolveConfig(
      {
        listen: '/ip4/127.0.0.1/tcp/0',
        http: 'off',
        dataDir: join(dir, name),
        jobLog: 'replicated',
        logLevel: 'error',
        ...(bootstrap.length === 0 ? {} : { secretFile: join(dir, 'n0', 'cluster.key'), bootstrap }),
        gossipIntervalMs: 100,
        leaseMs: 600,
        voterDownMs: 2000,
      },
      {},
    )
  const first = await startNode(settings('n0', []), [double])
  nodes.push(first)
  const boot = first.addresses.filter((a) => a.includes('/p2p/'))
  const bootstrap = boot.length > 0 ? boot : first.addresses.map((a) => `${a}/p2p/${first.nodeId}`)
  for (const i of [1, 2]) nodes.push(await startNode(settings(`n${i}`, bootstrap), [double]))
  await until('three voters', () => (first.cluster.view()?.config?.members.length === 3 ? true : undefined))
  const submitter = await startNode(settings('submitter', bootstrap), [])
  nodes.push(submitter)
  await until('the submitter admitted as a worker', () => (first.cluster.view()?.config?.workers.includes(submitter.nodeId) === true ? true : undefined))

  for (let i = 0; i < 20; i++) assert.equal(await (await submitter.jobs.submit(double, i, { timeoutMs: 5000 })).result(), i * 2)
  const leader = await until('a leader', () => nodes.find((n) => n.cluster.leaderEpoch() !== undefined))
  const committed = leader.replication!.status()!.commitEnd
  assert.ok(committed >= 40, `submissions and results are committed (${committed})`)
  const idle = submitter.replication!.status()!
  assert.equal(idle.counts.writes, 0, 'the submitter wrote no entry')
  assert.ok(idle.durableEnd < committed, `the submitter holds no copy (${idle.durableEnd} of ${committed})`)

  // A voter other than the leader goes for good: the submitter is the only live worker, so it must
  // learn the log to replace it (the core promotes only members holding every committed entry).
  const gone = nodes.find((n) => n !== leader && n !== submitter)!
  await gone.stop({ timeoutMs: 2000 })
  nodes.splice(nodes.indexOf(gone), 1)
  await until('the submitter promoted to voter', () => (leader.cluster.view()?.config?.members.includes(submitter.nodeId) === true ? true : undefined), 60_000)
  assert.ok(submitter.replication!.status()!.durableEnd >= committed, 'the new voter holds every entry committed before')
  assert.equal(await (await submitter.jobs.submit(double, 21, { timeoutMs: 5000 })).result(), 42, 'the cluster still commits')
})
