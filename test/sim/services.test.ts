// Goal: the simulated job log and cache show each of their faults: cut off by a partition, down,
// ambiguous acknowledgements, producer fencing, and a cache that loses its recent writes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { JOB_LOG_POSITION, JOB_LOG_TIMEOUT_MS } from '../../sim/services/job-log.js'
import { CACHE_POSITION } from '../../sim/services/cache.js'
import { World, type NodeContext } from '../../sim/world.js'
import { bytes, runUntil } from './helpers.js'

function servicesWorld(nodes = 2): World<NodeContext> {
  const world = new World<NodeContext>(5, nodes, (ctx) => ctx)
  for (const node of world.nodes) world.start(node)
  return world
}

function settle<T>(promise: Promise<T>): { value?: T; error?: Error } {
  const out: { value?: T; error?: Error } = {}
  promise.then(
    (v) => (out.value = v),
    (e: Error) => (out.error = e),
  )
  return out
}

test('appends land in order with offsets; reads and the end offset see them', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  const log = await world.node('n0').app!.jobLog.open()
  const first = settle(log.append(1, [bytes('a'), bytes('b')]))
  await runUntil(world, 100)
  const second = settle(log.append(1, [bytes('c')]))
  await runUntil(world, 200)
  assert.equal(first.value, 0)
  assert.equal(second.value, 2)
  const read = settle(log.read(1, 10))
  const end = settle(log.endOffset())
  await runUntil(world, 300)
  assert.deepEqual(
    read.value!.map((r) => [r.offset, r.epoch, new TextDecoder().decode(r.payload)]),
    [
      [1, 1, 'b'],
      [2, 1, 'c'],
    ],
  )
  assert.equal(end.value, 3)
})

test('a fence by a higher epoch rejects the deposed epoch’s appends with FencedError', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  const oldLeader = await world.node('n0').app!.jobLog.open()
  const newLeader = await world.node('n1').app!.jobLog.open()
  const fence = settle(newLeader.fence(2))
  await runUntil(world, 100)
  assert.equal(fence.error, undefined)
  const stale = settle(oldLeader.append(1, [bytes('late write')]))
  const staleFence = settle(oldLeader.fence(1))
  await runUntil(world, 200)
  assert.equal(stale.error?.name, 'FencedError')
  assert.equal(staleFence.error?.name, 'FencedError')
  assert.equal(world.jobLog.records.length, 0)
  assert.deepEqual(world.jobLog.accepted, [])
})

test('a node cut off from the log gets JobLogUnavailableError after the timeout, and nothing is written', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  world.network.block([['n0', JOB_LOG_POSITION]])
  const result = settle((await world.node('n0').app!.jobLog.open()).append(1, [bytes('x')]))
  await runUntil(world, JOB_LOG_TIMEOUT_MS - 10)
  assert.deepEqual(result, {}, 'still waiting')
  await runUntil(world, JOB_LOG_TIMEOUT_MS + 10)
  assert.equal(result.error?.name, 'JobLogUnavailableError')
  assert.equal(world.jobLog.records.length, 0)
})

test('an ambiguous acknowledgement: the append took effect but the caller sees an ambiguous error', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  world.jobLog.ambiguousAckRate = 1
  const result = settle((await world.node('n0').app!.jobLog.open()).append(3, [bytes('maybe')]))
  await runUntil(world, JOB_LOG_TIMEOUT_MS + 100)
  assert.equal(result.error?.name, 'JobLogUnavailableError')
  assert.equal((result.error as { ambiguous?: boolean }).ambiguous, true)
  assert.equal(world.jobLog.records.length, 1, 'the record is in the log all the same')
  assert.deepEqual(
    world.jobLog.accepted.map((a) => [a.node, a.epoch]),
    [['n0', 3]],
  )
})

test('a log outage refuses work until it ends', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  world.jobLog.down = true
  const during = settle((await world.node('n0').app!.jobLog.open()).append(1, [bytes('x')]))
  await runUntil(world, JOB_LOG_TIMEOUT_MS + 100)
  world.jobLog.down = false
  const after = settle((await world.node('n0').app!.jobLog.open()).append(1, [bytes('y')]))
  await runUntil(world, JOB_LOG_TIMEOUT_MS + 200)
  assert.equal(during.error?.name, 'JobLogUnavailableError')
  assert.equal(after.value, 0)
})

test('the cache stores with TTL and setIfAbsent, and a failover loses its recent writes', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  const cache = world.node('n0').app!.cache
  settle(cache.set('old', bytes('kept')))
  settle(cache.set('short', bytes('expires'), { ttlMs: 100 }))
  await runUntil(world, 50)
  const first = settle(cache.setIfAbsent('old', bytes('other')))
  await runUntil(world, 5000)
  assert.equal(first.value, false)
  settle(cache.set('recent', bytes('lost')))
  settle(cache.set('old', bytes('overwritten')))
  await runUntil(world, 5100)
  assert.equal(world.cache.loseRecentWrites(1000), 2)
  const reads = ['old', 'recent', 'short'].map((k) => settle(cache.get(k)))
  await runUntil(world, 5200)
  assert.deepEqual(
    reads.map((r) => (r.value === undefined ? undefined : new TextDecoder().decode(r.value))),
    ['kept', undefined, undefined],
  )
})

test('a node cut off from the cache gets CacheUnavailableError', async () => {
  const world = servicesWorld()
  await runUntil(world, 1)
  world.network.block([[CACHE_POSITION, 'n0']])
  const result = settle(world.node('n0').app!.cache.get('k'))
  await runUntil(world, 1000)
  assert.equal(result.error?.name, 'CacheUnavailableError')
})
