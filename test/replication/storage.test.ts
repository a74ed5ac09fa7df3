// Goal: `jobLog: replicated` is a valid setting that gives the node a file-backed copy of the replicated log in its data directory, while file: and kafka:// keep their meaning.
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, resolveConfig } from '../../src/node/config.js'
import { ClusterMismatchError, JobLogNotSharedError } from '../../src/storage/errors.js'
import { dropMemoryCacheUnlessLeading, memoryCacheEntries, openStorage } from '../../src/node/storage.js'
import { ManualEnvironment } from '../../src/env/manual.js'
import { MemoryResultCache } from '../../src/adapters/memory/memory-cache.js'
import { realEnvironment } from '../../src/env/real.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

test('jobLog: replicated is the default; file: and kafka:// parse as before', () => {
  assert.deepEqual(resolveConfig({ jobLog: 'replicated' }, {}).jobLog, { kind: 'replicated' })
  assert.deepEqual(resolveConfig({}, { DX_JOB_LOG: 'replicated' }).jobLog, { kind: 'replicated' })
  assert.deepEqual(resolveConfig({}, {}).jobLog, { kind: 'replicated' }, 'the default')
  assert.deepEqual(resolveConfig({ jobLog: 'file:.distributex/joblog' }, {}).jobLog, { kind: 'file', dir: '.distributex/joblog' })
  assert.deepEqual(resolveConfig({ jobLog: 'kafka://k:9092/t' }, {}).jobLog, { kind: 'kafka', brokers: ['k:9092'], topic: 't' })
  assert.throws(() => resolveConfig({ jobLog: 'replicated:x' }, {}), ConfigError)
})

test('a replicated node opens its copy under <dataDir>/replica, durable across reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-replicated-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const config = resolveConfig({ jobLog: 'replicated', dataDir: dir }, {})
  const storage = await openStorage(config, realEnvironment(), 'node-a', { voters: () => [], clusterId: () => undefined })
  assert.equal(storage.jobLog, 'replicated')
  assert.ok(storage.replicaLog !== undefined)
  const log = await storage.replicaLog.open()
  await log.write(0, [
    { index: 0, epoch: 1, offset: appendOffset(0), payloads: [new Uint8Array(0)] },
    { index: 1, epoch: 1, offset: appendOffset(1), payloads: [new Uint8Array([7])] },
  ])
  await log.close()
  assert.ok((await stat(join(dir, 'replica'))).isDirectory())
  const again = await storage.replicaLog.open()
  assert.deepEqual(again.state(), { clusterId: undefined, start: 0, end: 2, lastEpoch: 1 })
  await again.close()
  await storage.close()
  let voters = ['node-a', 'node-b']
  let clusterId: string | undefined = 'cluster-1'
  const cluster = { voters: () => voters, clusterId: () => clusterId }
  const file = await openStorage(resolveConfig({ dataDir: dir, jobLog: `file:${join(dir, 'joblog')}` }, {}), realEnvironment(), 'node-a', cluster)
  assert.equal(file.replicaLog, undefined)
  assert.equal(typeof file.jobLog, 'object')
  // A voter that never used this directory (another host) stops this node from leading on it.
  const factory = file.jobLog as Exclude<typeof file.jobLog, 'replicated'>
  await assert.rejects(factory.open(), (e: unknown) => e instanceof JobLogNotSharedError && e.voters.join() === 'node-b' && /replicated default/.test(e.message))
  const other = await openStorage(resolveConfig({ dataDir: join(dir, 'b'), jobLog: `file:${join(dir, 'joblog')}` }, {}), realEnvironment(), 'node-b', cluster)
  await other.close()
  const session = await factory.open()
  await session.close()
  voters = ['node-a', 'node-c']
  await assert.rejects(factory.open(), JobLogNotSharedError)
  // The first cluster to lead on the directory owns it: another cluster started there is refused.
  voters = ['node-a']
  clusterId = 'cluster-2'
  await assert.rejects(factory.open(), (e: unknown) => e instanceof ClusterMismatchError && e.recorded === 'cluster-1' && /another cluster/.test(e.message))
  clusterId = 'cluster-1'
  await (await factory.open()).close()
  await file.close()
})

test("the memory cache holds twice the leader's retention of results (at least 1024), not a fixed 100,000", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-cache-bound-'))
  const storage = await openStorage(resolveConfig({ dataDir: dir, retainJobs: 600 }, {}), realEnvironment(), 'node-a', { voters: () => [], clusterId: () => undefined })
  // One hook, in order: a hook that throws skips the hooks after it.
  t.after(async () => {
    await storage.close()
    await rm(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 1500; i++) await storage.cache.set(`job:${i}`, new Uint8Array([1]))
  assert.ok(storage.cache instanceof MemoryResultCache)
  assert.equal(storage.cache.size, 1200)
  assert.deepEqual([memoryCacheEntries(10_000), memoryCacheEntries(100)], [20_000, 1024])
})

test('a node that stops leading drops its memory cache; while it leads, or under another leader it never was, the cache stays', async () => {
  const env = new ManualEnvironment()
  const cache = new MemoryResultCache({ clock: env.clock })
  let leading: number | undefined = 3
  let listener: () => void = () => {}
  dropMemoryCacheUnlessLeading(cache, {
    leadingEpoch: () => leading,
    onLeaderChange: (l) => {
      listener = () => l(null)
      return () => {}
    },
  })
  await cache.set('job:a', new Uint8Array([1]))
  listener()
  assert.equal(cache.size, 1, 'still leading (a lapse that may come back)')
  leading = undefined
  listener()
  assert.equal(cache.size, 0)
  const redisLike = { get: async () => undefined, set: async () => {}, setIfAbsent: async () => true }
  dropMemoryCacheUnlessLeading(redisLike, { leadingEpoch: () => undefined, onLeaderChange: () => assert.fail('a shared cache is not watched') })
})
