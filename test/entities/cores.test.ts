// Goal: the sans-I/O cores of cluster entities keep their stated invariants: the leader's table
// (leases outlast the owner's, new leaders wait, epochs grow, bounded handoffs), the owner's
// accept/hold/bounce rule (contiguous runs per epoch), and the router's order across bounces.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CoordinatorCore, coordinatorFor } from '../../src/entities/coordinator-core.js'
import { DEFAULT_ENTITY_OPTIONS } from '../../src/entities/options.js'
import { OwnerCore } from '../../src/entities/owner-core.js'
import { EntityRouter, type Delivery } from '../../src/entities/router.js'
import { shardOf, entityAddress, parseEntityAddress } from '../../src/entities/address.js'
import { LeastLoadedPlacement, type PeerLoad } from '../../src/jobs/placement.js'

const options = { ...DEFAULT_ENTITY_OPTIONS, shards: 8 }
const peers = (...nodes: string[]): PeerLoad[] => nodes.map((node) => ({ node, capacity: 1, outstanding: 0, eventLoopLagMs: 0, leader: false }))
const hold = options.leaseMs * (1 + options.drift) + options.marginMs

test('a new leader allocates nothing until earlier leases have surely ended, but adopts claims', () => {
  const c = new CoordinatorCore(3, 0, options, new LeastLoadedPlacement())
  assert.deepEqual(c.locate(1, 10, peers('a', 'b')), { wait: true })
  const reply = c.renew('a', [{ shard: 2, epoch: 2 * 2 ** 20 + 5 }], 20)
  assert.deepEqual(reply.owned, [{ shard: 2, epoch: 2 * 2 ** 20 + 5 }])
  assert.deepEqual(c.locate(2, 30, peers('a', 'b')), { owner: 'a', epoch: 2 * 2 ** 20 + 5 })
  const placed = c.locate(1, hold + 1, peers('a', 'b'))
  assert.ok('owner' in placed && placed.owner === 'b' && placed.epoch > 3 * 2 ** 20, JSON.stringify(placed))
  // A late claim from an earlier leadership, after this leader started allocating, is ignored.
  assert.deepEqual(c.renew('a', [{ shard: 6, epoch: 2 * 2 ** 20 + 9 }], hold + 2).owned, [{ shard: 2, epoch: 2 * 2 ** 20 + 5 }])
})

test('an allocation moves only after the owner lease ends, with a higher epoch', () => {
  const c = new CoordinatorCore(1, 0, options, new LeastLoadedPlacement())
  const t0 = hold + 1
  const first = c.locate(0, t0, peers('a'))
  assert.ok('owner' in first)
  c.renew('a', [], t0 + 100)
  assert.deepEqual(c.locate(0, t0 + 100 + hold - 1, peers('b')), first, 'still a until its lease surely ended')
  const second = c.locate(0, t0 + 100 + hold + 1, peers('b'))
  assert.ok('owner' in second && second.owner === 'b' && second.epoch > first.epoch)
  // The owner's own lease (from the time it sent the renewal) ends before the leader's record.
  assert.ok(options.leaseMs * (1 - 2 * options.drift) < hold)
})

test('a leader whose lease lapses and returns under the same epoch keeps its table; a new epoch starts afresh', () => {
  // Under CPU load the cluster lease lapses for a moment (late gossip echoes) without a new election.
  // Rebuilding the table then dropped every shard cluster-wide: its own grants are not adopted, every
  // locate waited `hold`, and the restarted counter reused epochs (a persistent key's store refuses those).
  const placement = new LeastLoadedPlacement()
  const first = coordinatorFor(undefined, 4, 0, options, placement)
  const t = hold + 1
  const granted = first.locate(3, t, peers('a', 'b'))
  assert.ok('owner' in granted)
  first.renew(granted.owner, [{ shard: 3, epoch: granted.epoch }], t + 10)
  const back = coordinatorFor(first, 4, t + 500, options, placement)
  assert.equal(back, first)
  assert.deepEqual(back.locate(3, t + 500, peers('a', 'b')), granted, 'the same owner and epoch, with no wait')
  const other = back.locate(5, t + 500, peers('a', 'b'))
  assert.ok('owner' in other && other.epoch > granted.epoch, 'epochs keep growing')
  // What rebuilding for the same epoch would do: refuse its own grant and reuse an epoch.
  const rebuilt = new CoordinatorCore(4, t + 500, options, placement)
  assert.deepEqual(rebuilt.renew(granted.owner, [{ shard: 3, epoch: granted.epoch }], t + 510).owned, [])
  const reused = rebuilt.locate(3, t + 500 + hold + 1, peers('a', 'b'))
  assert.ok('epoch' in reused && reused.epoch <= granted.epoch)
  const next = coordinatorFor(back, 5, t + 600, options, placement)
  assert.notEqual(next, back)
  assert.deepEqual(next.locate(6, t + 600, peers('a', 'b')), { wait: true }, 'a new leadership waits out earlier leases')
})

test('rebalancing hands off a bounded number of shards per interval, and only after release', () => {
  const c = new CoordinatorCore(1, 0, options, new LeastLoadedPlacement())
  const t = hold + 1
  for (let s = 0; s < 8; s++) c.locate(s, t, peers('a'))
  c.renew('a', [], t)
  const notify = c.tick(t + 1, peers('a', 'b'))
  assert.deepEqual(notify, ['a'])
  const reply = c.renew('a', [], t + 2)
  assert.equal(reply.release.length, options.maxHandoffs)
  assert.deepEqual(c.tick(t + 3, peers('a', 'b')), [], 'no new handoff while the interval has not passed')
  const [s0] = reply.release
  assert.deepEqual(c.locate(s0!, t + 4, peers('a', 'b')), { wait: true }, 'senders wait during the handoff')
  c.released('a', s0!, c.allocation(s0!)!.epoch)
  const moved = c.locate(s0!, t + 5, peers('a', 'b'))
  assert.ok('owner' in moved && moved.owner === 'b')
})

test('the owner accepts one contiguous run per epoch: held until granted, dead once dropped', () => {
  const o = new OwnerCore<string>(options)
  assert.equal(o.offer(1, 7, 'm1', 0).verdict, 'hold')
  assert.equal(o.offer(1, 7, 'm2', 1).verdict, 'hold')
  const out = o.renewed({ owned: [{ shard: 1, epoch: 7 }], release: [] }, 2)
  assert.deepEqual(out.accepted, [{ shard: 1, epoch: 7, items: ['m1', 'm2'] }])
  assert.equal(o.offer(1, 7, 'm3', 3).verdict, 'accept')
  const expired = o.expire(2 + options.leaseMs)
  assert.deepEqual(expired.dropped, [1])
  assert.equal(o.offer(1, 7, 'm4', 2 + options.leaseMs).verdict, 'bounce')
  const refused = o.renewed({ owned: [{ shard: 1, epoch: 7 }], release: [] }, 3 + options.leaseMs)
  assert.deepEqual(refused.refused, [{ shard: 1, epoch: 7 }], 'a dead epoch is refused, never served again')
  assert.equal(o.offer(1, 5, 'old', 10).verdict, 'bounce')
  // A newer epoch evicts held messages of an older one.
  assert.equal(o.offer(2, 8, 'a', 0).verdict, 'hold')
  const evicting = o.offer(2, 9, 'b', 1)
  assert.deepEqual(evicting, { verdict: 'hold', evicted: { epoch: 8, items: ['a'] } })
  assert.equal(o.offer(2, 8, 'c', 2).verdict, 'bounce')
})

test('the router resends bounced messages in send order, after the old owner drained, before newer ones', () => {
  const log: string[] = []
  const router = new EntityRouter('me', {
    local: () => true,
    forward: (owner, _shard, epoch, d) => log.push(`fwd ${owner}@${epoch} ${String(d.body)}`),
    marker: (owner, _shard, epoch, token) => log.push(`marker ${owner}@${epoch} #${token}`),
    locate: (shard) => log.push(`locate ${shard}`),
  })
  const d = (body: string): Delivery => ({ entityType: 't', key: 'k', body, reply: undefined, deadlineMs: 1e9 })
  router.send(0, d('m1'))
  router.located(0, { owner: 'x', epoch: 1 }, 0)
  router.send(0, d('m2'))
  router.send(0, d('m3'))
  router.bounced('x', 0, 1, d('m2'))
  router.send(0, d('m4'))
  router.located(0, { owner: 'y', epoch: 2 }, 0)
  router.bounced('x', 0, 1, d('m3'))
  assert.ok(!log.some((l) => l.startsWith('fwd y')), 'nothing goes to the new owner before the old one drained')
  router.drained(0, 1)
  assert.deepEqual(log, ['locate 0', 'fwd x@1 m1', 'fwd x@1 m2', 'fwd x@1 m3', 'marker x@1 #1', 'locate 0', 'fwd y@2 m2', 'fwd y@2 m3', 'fwd y@2 m4'])
})

test('a locate answer naming the route that just bounced waits for the retry instead of looping', () => {
  // The leader's table can lag an owner that dropped its epoch (its lease ran out first). Routing
  // there again at once looped locate -> bounce -> locate; with a local owner, without time passing.
  let locates = 0
  let owns = false
  const delivered: string[] = []
  const router = new EntityRouter('me', {
    local: (_shard, epoch, d) => {
      if (!owns) return false
      delivered.push(`${epoch} ${String(d.body)}`)
      return true
    },
    forward: () => assert.fail('nothing is remote here'),
    marker: () => assert.fail('a local bounce needs no marker'),
    locate: () => locates++,
  })
  const d = (body: string): Delivery => ({ entityType: 't', key: 'k', body, reply: undefined, deadlineMs: 1e9 })
  router.send(0, d('m1'))
  router.located(0, { owner: 'me', epoch: 5 }, 100)
  assert.equal(locates, 2, 'the bounce asked again')
  router.located(0, { owner: 'me', epoch: 5 }, 100)
  assert.equal(locates, 2, 'the same stale answer is not followed at once')
  router.tick(50)
  assert.equal(locates, 2)
  router.tick(100)
  assert.equal(locates, 3, 'asked again at the retry time')
  owns = true
  router.located(0, { owner: 'me', epoch: 6 }, 200)
  assert.deepEqual(delivered, ['6 m1'])
  assert.equal(router.waiting(), 0)
})

test('entity addresses round-trip, reject bad keys, and shards are stable', () => {
  const address = entityAddress('account', 'alice@example.com')
  assert.deepEqual(parseEntityAddress(address), { type: 'account', key: 'alice@example.com' })
  assert.throws(() => entityAddress('account', 'a/b'), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => parseEntityAddress({ node: 'n1', path: '/user/x' }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.equal(shardOf('account', 'alice', 64), shardOf('account', 'alice', 64))
  const spread = new Set(Array.from({ length: 1000 }, (_, i) => shardOf('account', `k${i}`, 64)))
  assert.equal(spread.size, 64)
})
