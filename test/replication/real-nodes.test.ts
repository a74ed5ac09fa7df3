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
