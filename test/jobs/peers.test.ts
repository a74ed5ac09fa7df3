// Goal: the leader places jobs only on members that are up, gossip metrics and have capacity; it
// gives up the attempts of members going down, leaving or restarted; it knows every type any member
// gossips; and it reads the cluster view again only when its reading is older than the refresh
// interval.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { emptyMetrics, type MemberState, type MemberView, type NodeMetrics } from '../../src/cluster/types.js'
import { PEERS_REFRESH_MS, PeerCache, readPeers, Restarts } from '../../src/jobs/peers.js'

const member = (nodeId: string, state: MemberState, metrics: Partial<NodeMetrics> | null, lastSeenMsAgo: number | null = 0, incarnation = 1): MemberView => ({
  nodeId,
  state,
  addresses: [],
  incarnation,
  voter: true,
  role: 'voter',
  phi: 0,
  lastSeenMsAgo,
  metrics: metrics === null ? null : { ...emptyMetrics(), ...metrics },
})

test('candidates are the members up with metrics and capacity; the gone are named; every gossiped type is known', () => {
  const peers = readPeers(
    [
      member('self', 'up', { capacity: 2, running: 1, queued: 3, types: ['a'], eventLoopLagMs: 4 }, 10),
      member('empty', 'up', { capacity: 0, types: ['b'] }),
      member('quiet', 'up', null),
      member('joining', 'joining', { capacity: 4, types: ['c'] }),
      member('down', 'down', { capacity: 4, types: ['d'] }),
      member('leaving', 'leaving', { capacity: 4 }),
      member('other', 'up', { capacity: 1, types: ['a', 'e'] }, null),
    ],
    1000,
    'self',
  )
  assert.deepEqual(
    peers.candidates.map((c) => [c.node, c.capacity, [...c.types], c.leader, c.eventLoopLagMs, c.gossip]),
    [
      ['self', 2, ['a'], true, 4, { atMs: 990, running: 1, queued: 3 }],
      ['other', 1, ['a', 'e'], false, 0, { atMs: 1000, running: 0, queued: 0 }],
    ],
  )
  assert.deepEqual(peers.gone, ['down', 'leaving'])
  assert.deepEqual([...peers.types].sort(), ['a', 'b', 'c', 'd', 'e'])
})

test('a reading is reused for the refresh interval, then read again', () => {
  const cache = new PeerCache()
  let reads = 0
  const read = () => {
    reads++
    return readPeers([], 0, 'self')
  }
  const first = cache.get(100, read)
  assert.equal(cache.get(100 + PEERS_REFRESH_MS - 1, read), first)
  assert.equal(reads, 1)
  assert.notEqual(cache.get(100 + PEERS_REFRESH_MS, read), first)
  assert.equal(reads, 2)
})

test('a member seen at a higher incarnation restarted, once; a first record heard is no restart, nor is a member forgotten and seen again', () => {
  const restarts = new Restarts()
  const at = (a: number, b: number) => [member('a', 'up', null, 0, a), member('b', 'up', null, 0, b)]
  assert.deepEqual(restarts.read(at(3, 0)), [])
  assert.deepEqual(restarts.read(at(3, 2)), [], 'b: its first record')
  assert.deepEqual(restarts.read(at(4, 2)), ['a'])
  assert.deepEqual(restarts.read(at(4, 2)), [], 'told once')
  assert.deepEqual(restarts.read(at(3, 5)), ['b'], 'a lower incarnation (an old record) is no restart')
  assert.deepEqual(restarts.read([member('a', 'up', null, 0, 4)]), [])
  assert.deepEqual(restarts.read(at(4, 9)), [], 'b left the view, so its reading went with it')
})
