// Goal: every network fault of the simulator has its documented effect: partitions of each shape,
// loss, duplication, reordering, clogging, and connection events; heal restores everything.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { partitionLinks, PARTITION_SHAPES } from '../../sim/faults/schedule.js'
import { PEER_DETECT_MS } from '../../sim/net/network.js'
import { PROTOCOL, TOPIC, app, bytes, probeWorld, runUntil } from './helpers.js'

test('a blocked link drops messages one way only; heal restores it', async () => {
  const world = probeWorld(2)
  await runUntil(world, 1)
  world.network.block([['n0', 'n1']])
  app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes('lost'))
  app(world, 'n1').ctx.network.send('n0', PROTOCOL, bytes('arrives'))
  await runUntil(world, 100)
  world.network.heal()
  app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes('after heal'))
  await runUntil(world, 200)
  assert.deepEqual(
    app(world, 'n1').received.map((r) => r.text),
    ['after heal'],
  )
  assert.deepEqual(
    app(world, 'n0').received.map((r) => r.text),
    ['arrives'],
  )
})

test('a message in flight when its link is cut is lost', async () => {
  const world = probeWorld(2)
  await runUntil(world, 1)
  world.network.faults = { ...world.network.faults, latencyMinMs: 50, latencyMeanMs: 0.001 }
  app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes('in flight'))
  await runUntil(world, 10)
  world.network.block([['n0', 'n1']])
  await runUntil(world, 100)
  assert.equal(app(world, 'n1').received.length, 0)
  assert.equal(world.network.stats.dropped, 1)
})

test('partition shapes block the documented links', () => {
  const positions = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
  const random = new SeededRandom(3)
  const reach = (blocked: Array<[string, string]>, x: string, y: string): boolean => !blocked.some(([f, t]) => f === x && t === y)
  for (const shape of PARTITION_SHAPES) {
    const blocked = partitionLinks(shape, positions, random)
    assert.ok(blocked.length > 0, shape)
    const sees = (x: string): string[] => positions.filter((y) => y !== x && reach(blocked, x, y))
    switch (shape) {
      case 'halves': {
        const sizes = positions.map((x) => sees(x).length + 1).sort()
        assert.deepEqual([...new Set(sizes)], [3, 4], 'two sides of 3 and 4')
        break
      }
      case 'isolate':
        assert.equal(positions.filter((x) => sees(x).length === 0).length, 1)
        break
      case 'one-way':
        assert.ok(
          blocked.every(([f, t]) => reach(blocked, t, f)),
          'every cut link still works the other way',
        )
        break
      case 'bridge': {
        const bridge = positions.filter((x) => sees(x).length === positions.length - 1)
        assert.equal(bridge.length, 1, 'exactly one node sees everyone')
        break
      }
      case 'ring':
        for (const x of positions) {
          assert.ok(sees(x).length + 1 > positions.length / 2, `${x} sees a majority`)
          assert.ok(sees(x).length < positions.length - 1, `${x} does not see everyone`)
        }
        assert.equal(new Set(positions.map((x) => [x, ...sees(x)].sort().join())).size, positions.length, 'no two nodes see the same majority')
    }
  }
})

test('gossip crosses a partition through a bridge node, direct messages do not', async () => {
  const world = probeWorld(3)
  await runUntil(world, 1)
  world.network.block([
    ['n0', 'n2'],
    ['n2', 'n0'],
  ])
  await runUntil(world, 1 + PEER_DETECT_MS + 1)
  app(world, 'n0').ctx.network.publish(TOPIC, bytes('gossip'))
  assert.equal(app(world, 'n0').ctx.network.send('n2', PROTOCOL, bytes('direct')), false, 'no direct connection across the cut')
  await runUntil(world, 2000)
  assert.deepEqual(
    app(world, 'n2').received.map((r) => `${r.from}:${r.text}`),
    ['n0:gossip'],
  )
  assert.deepEqual(
    app(world, 'n1').received.map((r) => r.text),
    ['gossip'],
  )
})

test('loss drops about the configured share; duplication delivers copies', async () => {
  const world = probeWorld(2)
  await runUntil(world, 1)
  world.network.faults = { ...world.network.faults, lossRate: 0.3 }
  for (let i = 0; i < 2000; i++) app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes(String(i)))
  await runUntil(world, 500)
  const got = app(world, 'n1').received.length
  assert.ok(got > 1200 && got < 1600, `received ${got} of 2000 at 30% loss`)
  world.network.faults = { ...world.network.faults, lossRate: 0, duplicateRate: 0.5 }
  app(world, 'n1').received.length = 0
  for (let i = 0; i < 1000; i++) app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes(String(i)))
  await runUntil(world, 1000)
  const dup = app(world, 'n1').received.length
  assert.ok(dup > 1350 && dup < 1650, `received ${dup} copies of 1000 at 50% duplication`)
})

test('links are FIFO unless reordering is on', async () => {
  const world = probeWorld(2)
  await runUntil(world, 1)
  const order = (): number[] => app(world, 'n1').received.map((r) => Number(r.text))
  for (let i = 0; i < 500; i++) app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes(String(i)))
  await runUntil(world, 500)
  assert.deepEqual(
    order(),
    Array.from({ length: 500 }, (_, i) => i),
  )
  app(world, 'n1').received.length = 0
  world.network.faults = { ...world.network.faults, reorderRate: 0.3 }
  for (let i = 0; i < 500; i++) app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes(String(i)))
  await runUntil(world, 1000)
  const got = order()
  assert.equal(got.length, 500)
  assert.ok(
    got.some((v, i) => i > 0 && v < got[i - 1]!),
    'some messages overtake others',
  )
})

test('a clog holds messages until it ends, then delivers them in order', async () => {
  const world = probeWorld(2)
  await runUntil(world, 10)
  world.network.clog('n0', 'n1', world.kernel.now + 500_000)
  for (let i = 0; i < 3; i++) app(world, 'n0').ctx.network.send('n1', PROTOCOL, bytes(String(i)))
  await runUntil(world, 400)
  assert.equal(app(world, 'n1').received.length, 0)
  await runUntil(world, 600)
  const got = app(world, 'n1').received
  assert.deepEqual(
    got.map((r) => r.text),
    ['0', '1', '2'],
  )
  assert.ok(got.every((r) => r.atMs >= 510))
})

test('endpoints learn of partitions and heals after the detection delay; short flaps go unnoticed', async () => {
  const world = probeWorld(3)
  await runUntil(world, 1)
  assert.deepEqual(app(world, 'n0').peerEvents, ['n1:up', 'n2:up'], 'connections open as nodes boot')
  for (const id of ['n0', 'n1']) app(world, id).peerEvents.length = 0
  world.network.block([
    ['n0', 'n1'],
    ['n1', 'n0'],
  ])
  await runUntil(world, PEER_DETECT_MS / 2)
  world.network.heal()
  await runUntil(world, 3 * PEER_DETECT_MS)
  assert.deepEqual(app(world, 'n0').peerEvents, [])
  world.network.block([['n0', 'n1']])
  await runUntil(world, 5 * PEER_DETECT_MS)
  assert.deepEqual(app(world, 'n0').peerEvents, ['n1:down'])
  assert.deepEqual(app(world, 'n1').peerEvents, ['n0:down'], 'a one-way cut breaks the connection for both')
  assert.deepEqual(app(world, 'n0').ctx.network.peers(), ['n2'])
  world.network.heal()
  await runUntil(world, 7 * PEER_DETECT_MS)
  assert.deepEqual(app(world, 'n0').peerEvents, ['n1:down', 'n1:up'])
})
