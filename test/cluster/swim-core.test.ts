// Goal: the SWIM core's protocol rules hold on small clusters: probes are acked, one bad link is
// routed around by indirect probes, a silent member goes suspect then dead within the Lifeguard
// timeout bounds, refutation by incarnation wins, confirmations shorten a suspicion, each update is
// piggybacked exactly ceil(λ·log10(N+1)) times, a node with bad links raises its health score,
// load figures travel, a member heard on another path is not accused by those that hear it, a
// probe waits as long as this node's recent probes took to be answered, and an update's age is the
// time since it was made. Method: cores wired by a
// synchronous in-test network with per-link drops and a manual clock; messages go through the codec
// so every one of them is also a valid wire message.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeSwim, encodeSwim } from '../../protocols/swim/codec.js'
import type { SwimMessage } from '../../protocols/swim/types.js'
import { SwimCore, swimPeriodMs, type SwimConfig, type SwimEvent } from '../../src/cluster/swim/core.js'
import { SeededRandom } from '../../src/env/prng.js'

interface Sent {
  readonly at: number
  readonly from: string
  readonly to: string
  readonly message: SwimMessage
}

/** Cores on a network that delivers at once unless a link is blocked; `down` nodes neither send nor receive. */
class Net {
  readonly cores = new Map<string, SwimCore>()
  readonly events = new Map<string, (SwimEvent & { at: number })[]>()
  readonly sent: Sent[] = []
  readonly blocked = new Set<string>()
  readonly down = new Set<string>()
  now = 0

  constructor(ids: string[], config: Partial<Omit<SwimConfig, 'self' | 'random'>> = {}, seed = 1) {
    const rng = new SeededRandom(seed)
    for (const id of ids) {
      this.cores.set(id, new SwimCore({ ...config, self: id, random: rng.fork(id) }))
      this.events.set(id, [])
    }
  }

  core(id: string): SwimCore {
    return this.cores.get(id)!
  }

  block(a: string, b: string): void {
    this.blocked.add(`${a}>${b}`)
    this.blocked.add(`${b}>${a}`)
  }

  unblock(a: string, b: string): void {
    this.blocked.delete(`${a}>${b}`)
    this.blocked.delete(`${b}>${a}`)
  }

  /** Everyone joins through the first node, then the network settles. */
  form(): void {
    const [first, ...rest] = [...this.cores.keys()]
    this.core(first!).join([], this.now)
    for (const id of rest) this.core(id).join([first!], this.now)
    this.flush()
  }

  flush(): void {
    for (let rounds = 0; rounds < 100; rounds++) {
      let moved = false
      for (const [id, core] of this.cores) {
        const ready = core.ready()
        for (const e of ready.events) this.events.get(id)!.push({ ...e, at: this.now })
        for (const { to, message } of ready.messages) {
          moved = true
          const bytes = encodeSwim(message)
          this.sent.push({ at: this.now, from: id, to, message })
          if (this.down.has(id) || this.down.has(to) || this.blocked.has(`${id}>${to}`)) continue
          this.cores.get(to)?.receive(id, decodeSwim(bytes), this.now)
        }
      }
      if (!moved) return
    }
    throw new Error('the network did not settle')
  }

  /** Runs the clock in 10 ms steps until `untilMs`. */
  run(untilMs: number): void {
    while (this.now < untilMs) {
      this.now += 10
      for (const [id, core] of this.cores) if (!this.down.has(id) && core.nextDeadlineMs() <= this.now) core.tick(this.now)
      this.flush()
    }
  }

  eventsAbout(observer: string, member: string, type: SwimEvent['type']): (SwimEvent & { at: number })[] {
    return this.events.get(observer)!.filter((e) => e.member === member && e.type === type)
  }
}

test('probes are acked and nobody is suspected on a healthy network', () => {
  const net = new Net(['a', 'b', 'c'], { probeIntervalMs: 500 })
  net.form()
  net.run(10_000)
  for (const id of ['a', 'b', 'c']) {
    assert.equal(net.core(id).size, 3)
    assert.equal(net.core(id).healthScore, 0)
    assert.deepEqual(
      net.events.get(id)!.filter((e) => e.type !== 'joined'),
      [],
    )
  }
  const pings = net.sent.filter((s) => s.message.type === 'ping')
  const acks = net.sent.filter((s) => s.message.type === 'ack')
  // About one probe per node per 500 ms period, each acked.
  assert.ok(pings.length >= 50 && pings.length <= 70, `pings ${pings.length}`)
  assert.equal(acks.length, pings.length)
  assert.equal(net.sent.filter((s) => s.message.type === 'ping-req').length, 0)
})

test('an indirect probe saves a member behind one bad link', () => {
  const net = new Net(['a', 'b', 'c', 'd'])
  net.form()
  net.run(3_000)
  net.block('a', 'b')
  net.run(30_000)
  for (const id of ['a', 'b', 'c', 'd']) {
    assert.deepEqual(
      net.events.get(id)!.filter((e) => e.type === 'suspect' || e.type === 'dead'),
      [],
      `${id} suspected someone`,
    )
  }
  const pingReqs = net.sent.filter((s) => s.message.type === 'ping-req')
  assert.ok(pingReqs.some((s) => s.from === 'a' && s.message.type === 'ping-req' && s.message.target === 'b'))
  assert.ok(pingReqs.some((s) => s.from === 'b' && s.message.type === 'ping-req' && s.message.target === 'a'))
  assert.equal(net.core('a').member('b')?.status, 'alive')
})

test('a silent member goes suspect, then dead within the Lifeguard bounds', () => {
  const config = { probeIntervalMs: 500, suspicionMult: 4, suspicionMaxMult: 6 }
  const net = new Net(['a', 'b', 'c'], config)
  net.form()
  net.run(2_000)
  net.down.add('c')
  const crashAt = net.now
  net.run(60_000)
  const suspect = net.eventsAbout('a', 'c', 'suspect')[0]
  const dead = net.eventsAbout('a', 'c', 'dead')[0]
  assert.ok(suspect !== undefined && dead !== undefined, 'a never declared c dead')
  assert.ok(suspect.at - crashAt <= 3 * 500 + 10, `detected after ${suspect.at - crashAt} ms`)
  // N = 3: min = 4 · max(1, log10 3) · 500 = 2 s, max = 6 · min = 12 s; one possible confirmation (b).
  assert.ok(dead.at - suspect.at >= 2_000 - 10, `dead ${dead.at - suspect.at} ms after suspect`)
  assert.ok(dead.at - suspect.at <= 12_000 + 10, `dead ${dead.at - suspect.at} ms after suspect`)
  assert.equal(net.core('b').member('c')?.status, 'dead')
  assert.equal(net.core('a').size, 2)
})

test('a suspected member refutes with a higher incarnation, and the refutation wins', () => {
  const net = new Net(['a', 'b', 'c'])
  net.form()
  // c tells a (only) that b is suspect at incarnation 0.
  net.core('a').receive('c', { type: 'ping', seq: 99, incarnation: 0, target: 'a', updates: [{ kind: 'suspect', member: 'b', incarnation: 0, from: 'c' }], loads: [] }, net.now)
  assert.equal(net.core('a').member('b')?.status, 'suspect')
  net.run(10_000)
  assert.equal(net.core('b').incarnation, 1)
  assert.deepEqual(net.core('a').member('b'), { member: 'b', incarnation: 1, status: 'alive' })
  assert.deepEqual(
    net.eventsAbout('a', 'b', 'alive').map((e) => e.incarnation),
    [1],
  )
  assert.equal(net.eventsAbout('a', 'b', 'dead').length, 0)
  // A stale suspicion of the old incarnation changes nothing any more.
  net.core('a').receive('c', { type: 'ack', seq: 1, incarnation: 0, updates: [{ kind: 'suspect', member: 'b', incarnation: 0, from: 'c' }], loads: [] }, net.now)
  assert.equal(net.core('a').member('b')?.status, 'alive')
  // Refuting cost b some local health (Lifeguard: being suspected hints at a slow node).
  assert.ok(net.core('b').healthScore <= 1)
})

test('a refutation goes at once to every member the suspect can reach, at most once a period; gossip alone would take periods', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const net = new Net(ids, { probeIntervalMs: 500 })
  net.form()
  net.run(2_000)
  // Everyone but f holds b suspect (the suspicion has spread), then b hears it.
  const suspicion = { kind: 'suspect' as const, member: 'b', incarnation: 0, from: 'c' }
  for (const id of ['a', 'c', 'd', 'e']) net.core(id).receive('c', { type: 'ack', seq: 0, incarnation: 0, updates: [suspicion], loads: [] }, net.now)
  const heardAt = net.now
  net.core('b').receive('c', { type: 'ping', seq: 98, incarnation: 0, target: 'b', updates: [suspicion], loads: [] }, net.now)
  net.flush()
  const lives = net.sent.filter((s) => s.from === 'b' && s.at === heardAt && s.message.type === 'live')
  assert.deepEqual(lives.map((s) => s.to).sort(), ['a', 'c', 'd', 'e', 'f'])
  for (const id of ['a', 'c', 'd', 'e', 'f']) assert.deepEqual(net.core(id).member('b'), { member: 'b', incarnation: 1, status: 'alive' }, id)
  // A second accusation within the period is refuted by gossip only.
  net.core('b').receive('c', { type: 'ping', seq: 97, incarnation: 0, target: 'b', updates: [{ ...suspicion, incarnation: 1 }], loads: [] }, net.now + 100)
  net.flush()
  assert.equal(net.core('b').incarnation, 2)
  assert.equal(net.sent.filter((s) => s.from === 'b' && s.message.type === 'live').length, 5)
})

test('independent confirmations shorten a suspicion to its minimum', () => {
  const ids = Array.from({ length: 10 }, (_, i) => `n${i}`)
  const timeouts: number[] = []
  for (const confirmers of [0, 2]) {
    const core = new SwimCore({ self: 'x', random: new SeededRandom(7), probeIntervalMs: 1_000, suspicionMult: 4, suspicionMaxMult: 6 })
    core.receive('n0', { type: 'sync', reply: true, members: ids.map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
    core.receive('n1', { type: 'ack', seq: 1, incarnation: 0, updates: [{ kind: 'suspect', member: 'n9', incarnation: 0, from: 'n1' }], loads: [] }, 0)
    for (let i = 0; i < confirmers; i++) {
      core.receive(`n${2 + i}`, { type: 'ack', seq: 1, incarnation: 0, updates: [{ kind: 'suspect', member: 'n9', incarnation: 0, from: `n${2 + i}` }], loads: [] }, 0)
      // A repeated confirmation from the same member counts once.
      core.receive(`n${2 + i}`, { type: 'ack', seq: 1, incarnation: 0, updates: [{ kind: 'suspect', member: 'n9', incarnation: 0, from: `n${2 + i}` }], loads: [] }, 0)
    }
    let t = 0
    while (core.member('n9')?.status === 'suspect' && t < 100_000) {
      t += 50
      core.tick(t)
      // Every probe is answered (n9 too, though it never refutes), so x adds no suspicion of its own.
      for (const { to, message } of core.ready().messages)
        if (message.type === 'ping') core.receive(to, { type: 'ack', seq: message.seq, incarnation: 0, updates: [], loads: [] }, t)
    }
    timeouts.push(t)
  }
  // N = 11: min = 4 · log10(11) · 1 s ≈ 4.17 s, max ≈ 25 s, 2 confirmations expected.
  assert.ok(timeouts[0]! >= 24_000 && timeouts[0]! <= 25_500, `unconfirmed ${timeouts[0]}`)
  assert.ok(timeouts[1]! >= 4_100 && timeouts[1]! <= 4_300, `confirmed ${timeouts[1]}`)
})

test('each update is piggybacked exactly ceil(λ·log10(N+1)) times, then no more', () => {
  for (const [n, lambda] of [
    [10, 4],
    [99, 6],
  ] as const) {
    const ids = Array.from({ length: n }, (_, i) => `m${i}`)
    const core = new SwimCore({ self: 'x', random: new SeededRandom(3), retransmitMult: lambda })
    core.receive('m0', { type: 'sync', reply: true, members: ids.map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
    core.ready()
    core.receive('m1', { type: 'ack', seq: 5, incarnation: 0, updates: [{ kind: 'left', member: 'm2', incarnation: 0 }], loads: [] }, 0)
    let carried = 0
    for (let i = 0; i < 100; i++) {
      core.receive(`m${3 + (i % 5)}`, { type: 'ping', seq: i, incarnation: 0, target: 'x', updates: [], loads: [] }, 0)
      for (const { message } of core.ready().messages) if (message.type === 'ack' && message.updates.some((u) => u.member === 'm2')) carried++
    }
    // N counts live members: n - 1 (m2 left) + x.
    assert.equal(carried, Math.ceil(lambda * Math.log10(n + 1)), `N=${n} λ=${lambda}`)
  }
})

test('a node whose links fail raises its health score and slows its probing', () => {
  const net = new Net(['a', 'b', 'c', 'd'], { suspicionMaxMult: 30 })
  net.form()
  for (const peer of ['b', 'c', 'd']) net.blocked.add(`a>${peer}`)
  net.run(6_000)
  assert.ok(net.core('a').healthScore >= 3, `health ${net.core('a').healthScore}`)
  const probes = (from: number, to: number): number => net.sent.filter((s) => s.from === 'a' && s.message.type === 'ping' && s.at > from && s.at <= to).length
  const early = probes(0, 2_000)
  net.run(16_000)
  // Stretched periods: fewer probes per second now than at the start.
  assert.ok(probes(12_000, 16_000) / 2 < early, `early ${early}/2 s, late ${probes(12_000, 16_000)}/4 s`)
  for (const peer of ['b', 'c', 'd']) net.blocked.delete(`a>${peer}`)
  net.run(60_000)
  assert.equal(net.core('a').healthScore, 0)
})

test('load figures travel on probes, a bounded few per message, newest version wins', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
  const net = new Net(ids, { maxLoadsPerMessage: 2 })
  net.form()
  for (const [i, id] of ids.entries()) net.core(id).setLoad([i, 10 * i])
  net.run(10_000)
  for (const id of ids) for (const [i, other] of ids.entries()) if (other !== id) assert.deepEqual(net.core(id).load(other)?.values, [i, 10 * i], `${id} on ${other}`)
  assert.ok(net.sent.every((s) => !('updates' in s.message) || s.message.loads.length <= 2))
  net.core('c').setLoad([99, 1])
  net.core('c').setLoad([99, 1])
  net.run(20_000)
  assert.deepEqual(net.core('a').load('c'), { member: 'c', version: 2, values: [99, 1] })
})

test('`changes` moves whenever what `member` and `load` answer about another member moves, and stays still on a settled cluster', () => {
  const ids = ['a', 'b', 'c', 'd', 'e']
  const net = new Net(ids)
  const seen = (id: string): string => JSON.stringify(ids.filter((o) => o !== id).map((o) => [net.core(id).member(o)?.status, net.core(id).load(o)]))
  let last = ids.map((id) => ({ answers: seen(id), changes: net.core(id).changes }))
  let moves = 0
  const step = (untilMs: number): void => {
    while (net.now < untilMs) {
      net.run(net.now + 10)
      const now = ids.map((id) => ({ answers: seen(id), changes: net.core(id).changes }))
      now.forEach((n, i) => {
        if (n.answers !== last[i]!.answers) assert.notEqual(n.changes, last[i]!.changes, `${ids[i]} at ${net.now}: its answers moved, its changes did not`)
        if (n.changes !== last[i]!.changes) moves++
      })
      last = now
    }
  }
  net.form()
  step(5_000)
  const settled = net.core('a').changes
  step(15_000)
  assert.equal(net.core('a').changes, settled, 'probes and acks that bring nothing new move nothing')
  net.core('c').setLoad([3, 1])
  step(20_000)
  assert.deepEqual(net.core('a').load('c')?.values, [3, 1])
  net.down.add('d')
  step(60_000)
  assert.equal(net.core('a').member('d')?.status, 'dead')
  assert.ok(moves > 0)
})

test('a member that leaves is seen as left, not dead, and is no longer probed', () => {
  const net = new Net(['a', 'b', 'c', 'd'])
  net.form()
  net.run(3_000)
  net.core('d').leave(net.now)
  net.run(6_000)
  net.down.add('d')
  const leftAt = net.now
  net.run(20_000)
  for (const id of ['a', 'b', 'c']) {
    assert.equal(net.core(id).member('d')?.status, 'left', id)
    assert.equal(net.eventsAbout(id, 'd', 'dead').length, 0, id)
    assert.equal(net.core(id).size, 3)
  }
  assert.equal(net.sent.filter((s) => s.to === 'd' && s.at > leftAt && s.message.type === 'ping').length, 0)
})

test('a member admitted by the configuration is probed and corrected; a known one, even dead, is left as it is', () => {
  const net = new Net(['a', 'b', 'c'], { incarnation: 3 })
  net.core('a').join([], net.now)
  net.core('b').join(['a'], net.now)
  // c runs alone: a and b have not heard of it.
  net.core('c').join([], net.now)
  net.flush()
  assert.equal(net.core('a').member('c'), undefined)
  net.core('a').admit('c', net.now)
  assert.deepEqual(net.core('a').member('c'), { member: 'c', incarnation: 0, status: 'alive' })
  net.core('a').admit('c', net.now)
  net.run(2_000)
  // Probed within a walk (two members): the ack carries c's own incarnation.
  assert.deepEqual(net.core('a').member('c'), { member: 'c', incarnation: 3, status: 'alive' })
  assert.equal(net.eventsAbout('a', 'c', 'joined').length, 1)
  net.down.add('c')
  net.run(30_000)
  assert.equal(net.core('a').member('c')?.status, 'dead')
  net.core('a').admit('c', net.now)
  assert.equal(net.core('a').member('c')?.status, 'dead')
})

/** Crashes `victim` as kill -9 does (every peer's channel to it closes); asserts each peer suspects it within 510 ms; returns the crash time. */
function crashWithClosedChannels(net: Net, ids: readonly string[], victim: string): number {
  net.down.add(victim)
  const crashAt = net.now
  for (const id of ids) if (id !== victim) net.core(id).lost(victim, net.now)
  net.flush()
  net.run(crashAt + 600)
  for (const id of ids) {
    if (id === victim) continue
    const suspect = net.eventsAbout(id, victim, 'suspect')[0]
    assert.ok(suspect !== undefined && suspect.at - crashAt <= 510, `${id} suspected ${victim} ${suspect === undefined ? 'never' : `after ${suspect.at - crashAt} ms`}`)
  }
  return crashAt
}

test('a crashed member whose channels closed is suspected by each of its peers within one period, and confirmed', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`)
  const net = new Net(ids, { probeIntervalMs: 500, probeTimeoutMs: 200 })
  net.form()
  net.run(3_000)
  const victim = 'n05'
  const crashAt = crashWithClosedChannels(net, ids, victim)
  // Every peer's own suspicion confirms the others': dead at the minimum timeout, 4 · log10(12) · 500 ≈ 2.16 s after.
  net.run(crashAt + 3_200)
  for (const id of ids) if (id !== victim) assert.equal(net.core(id).member(victim)?.status, 'dead', `${id} sees ${victim} ${net.core(id).member(victim)?.status}`)
  // Without the closed channels (a silent host), the walk alone is slower.
  const silent = new Net(ids, { probeIntervalMs: 500, probeTimeoutMs: 200 })
  silent.form()
  silent.run(3_000)
  silent.down.add(victim)
  silent.run(3_000 + 600)
  assert.ok(ids.filter((id) => id !== victim && silent.core(id).member(victim)?.status === 'suspect').length < ids.length - 1)
})

test('a live member whose channel closed is not suspected: the helpers reach it', () => {
  const ids = ['a', 'b', 'c', 'd', 'e']
  const net = new Net(ids)
  net.form()
  net.run(3_000)
  // a's link to b is gone (its connection closed), b itself is fine.
  net.block('a', 'b')
  net.core('a').lost('b', net.now)
  net.flush()
  const pingReqs = net.sent.filter((s) => s.from === 'a' && s.message.type === 'ping-req' && s.message.target === 'b' && s.at === net.now)
  assert.ok(pingReqs.length >= 1, 'a asked no helper at once')
  net.run(10_000)
  for (const id of ids) assert.deepEqual(net.eventsAbout(id, 'b', 'suspect'), [], `${id} suspected b`)
  assert.equal(net.core('a').healthScore, 0)
  // Only members alive are probed out of turn; a second closed channel while a probe runs waits for it.
  net.core('a').lost('zz', net.now)
  net.core('a').lost('c', net.now)
  net.core('a').lost('d', net.now)
  net.flush()
  const probed = new Set(net.sent.filter((s) => s.from === 'a' && s.at === net.now && s.message.type === 'ping').map((s) => (s.message.type === 'ping' ? s.message.target : '')))
  assert.ok(!(probed.has('c') && probed.has('d')), 'a probed c and d at once')
  assert.ok(probed.has('c') || probed.has('d') || net.sent.some((s) => s.from === 'a' && s.at === net.now && s.message.type === 'ping'), 'a probed nobody out of turn')
  net.run(net.now + 1_500)
  assert.ok(
    net.sent.some((s) => s.from === 'a' && s.message.type === 'ping' && s.message.target === 'd'),
    'a never probed d',
  )
})

test('the period is the longest under which the convergence bound at the cluster size stays under its target', () => {
  const bounds = { targetMs: 10_000, minMs: 400, maxMs: 1_000, suspicionMult: 4 }
  const bound = (n: number, periodMs: number): number => periodMs * (4 + 4 * Math.max(1, Math.log10(n)) + Math.log(n) / Math.log(3))
  let previous = Infinity
  for (const n of [2, 5, 16, 30, 50, 200, 1_000, 5_000]) {
    const periodMs = swimPeriodMs(n, bounds)
    assert.ok(periodMs <= previous, `n=${n}: ${periodMs} ms after ${previous} ms`)
    previous = periodMs
    assert.ok(periodMs >= 400 && periodMs <= 1_000, `n=${n}: ${periodMs} ms`)
    // Under the target (unless at the shortest period), and no longer period would be (unless at the longest).
    if (periodMs > 400) assert.ok(bound(n, periodMs) <= 10_000 + periodMs / 2, `n=${n}: bound ${bound(n, periodMs)} ms at ${periodMs} ms`)
    if (periodMs < 1_000) assert.ok(bound(n, periodMs + 10) > 10_000, `n=${n}: ${periodMs} ms is not the longest`)
  }
  // Small clusters probe less often than the old fixed 500 ms, 1,000 members more often.
  assert.ok(swimPeriodMs(16, bounds) > 800)
  assert.ok(swimPeriodMs(1_000, bounds) < 500)
})

test('a core without a fixed period probes at the period of its cluster size', () => {
  const net = new Net(['a', 'b', 'c'])
  net.form()
  net.run(10_000)
  // Three members: one probe a second per node (the cap), half the pings of the old 500 ms.
  const pings = net.sent.filter((s) => s.message.type === 'ping').length
  assert.ok(pings >= 25 && pings <= 35, `pings ${pings}`)
  const big = new SwimCore({ self: 'x', random: new SeededRandom(5) })
  const ids = Array.from({ length: 999 }, (_, i) => `m${i}`)
  big.receive('m0', { type: 'sync', reply: true, members: ids.map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
  assert.equal(big.periodMs, swimPeriodMs(1_000, { targetMs: 10_000, minMs: 400, maxMs: 1_000, suspicionMult: 4 }))
  big.tick(0)
  const first = big.ready().messages.find((m) => m.message.type === 'ping')
  assert.ok(first !== undefined)
  big.tick(big.periodMs - 1)
  assert.equal(big.ready().messages.filter((m) => m.message.type === 'ping').length, 0)
  big.tick(big.periodMs)
  assert.equal(big.ready().messages.filter((m) => m.message.type === 'ping' && m.to !== first.to).length, 1, 'the next probe comes one period after the first')
})

test('a crashed member whose channels closed is suspected within lostProbeMs, also when the period is longer', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`)
  const net = new Net(ids)
  net.form()
  net.run(10_000)
  assert.ok(net.core('n00').periodMs > 800, `period ${net.core('n00').periodMs}`)
  const victim = 'n05'
  for (const id of ids) assert.equal(net.core(id).member(victim)?.status, 'alive', `${id} on ${victim}`)
  crashWithClosedChannels(net, ids, victim)
})

/** A core that knows a and b, with its first probe sent at 0: the probe's target and seq. */
function probing(): { core: SwimCore; target: string; seq: number } {
  const core = new SwimCore({ self: 'x', random: new SeededRandom(11), probeIntervalMs: 500, probeTimeoutMs: 200 })
  core.receive('a', { type: 'sync', reply: true, members: ['a', 'b'].map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
  core.tick(0)
  const ping = core.ready().messages.find((m) => m.message.type === 'ping')
  assert.ok(ping !== undefined && ping.message.type === 'ping')
  return { core, target: ping.to, seq: ping.message.seq }
}

const suspects = (core: SwimCore): string[] =>
  core
    .ready()
    .events.filter((e) => e.type === 'suspect')
    .map((e) => e.member)

test('a probe no helper could take (the target is the only member connected) suspects no one while other members live; with none, it does', () => {
  /** A core that knows `members` alive but can reach only `linked`, after its first probe went unanswered to the end of its period. */
  const unanswered = (members: string[], linked: string[]): string[] => {
    const core = new SwimCore({ self: 'x', random: new SeededRandom(11), probeIntervalMs: 500, probeTimeoutMs: 200, reachable: (id) => linked.includes(id) })
    core.receive(members[0]!, { type: 'sync', reply: true, members: members.map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
    core.tick(0)
    const sent = core.ready().messages
    assert.deepEqual(
      sent.filter((m) => m.message.type === 'ping').map((m) => m.to),
      linked,
    )
    core.tick(200)
    core.tick(520)
    const after = core.ready()
    assert.equal(after.messages.filter((m) => m.message.type === 'ping-req').length, 0)
    return after.events.filter((e) => e.type === 'suspect').map((e) => e.member)
  }
  // A joiner linked to its bootstrap peer alone, which answers late: one path's word.
  assert.deepEqual(unanswered(['a', 'b', 'c', 'd'], ['a']), [])
  // Two nodes: the one path is all there is.
  assert.deepEqual(unanswered(['a'], ['a']), ['a'])
})

test('a node whose own loop ran late reads the acks waiting behind its late tick before it suspects, and raises its health score', () => {
  // On time (the tick 20 ms after the probe's end): no ack, a suspicion.
  const onTime = probing()
  onTime.core.tick(200)
  onTime.core.tick(520)
  assert.deepEqual(suspects(onTime.core), [onTime.target])
  // 400 ms late (a starved process): the ack that came in meanwhile is read first.
  const late = probing()
  late.core.tick(900)
  assert.deepEqual(suspects(late.core), [])
  assert.equal(late.core.healthScore, 1)
  late.core.receive(late.target, { type: 'ack', seq: late.seq, incarnation: 0, updates: [], loads: [] }, 900)
  late.core.tick(1_200)
  assert.deepEqual(suspects(late.core), [])
  assert.equal(late.core.healthScore, 0)
  // Judged once more a probe timeout later, and only once put off: a member that does not answer is still suspected.
  const silent = probing()
  silent.core.tick(900)
  silent.core.tick(1_500)
  assert.deepEqual(suspects(silent.core), [silent.target])
})

/**
 * A core x among a and b whose n-th ping is acked `delays[n]` ms after it left (null: never; a
 * ping-req is never answered), run in 10 ms steps to `untilMs`, `lostAt` calling `lost('a')` then:
 * when x suspected whom.
 */
function slowAcks(delays: Array<number | null>, untilMs: number, lostAt?: number): Array<{ member: string; at: number }> {
  const core = new SwimCore({ self: 'x', random: new SeededRandom(11), probeIntervalMs: 500, probeTimeoutMs: 200 })
  core.receive('a', { type: 'sync', reply: true, members: ['a', 'b'].map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
  const acks: Array<{ at: number; from: string; seq: number }> = []
  const suspected: Array<{ member: string; at: number }> = []
  let pings = 0
  for (let now = 0; now <= untilMs; now += 10) {
    for (const a of acks.filter((a) => a.at === now)) core.receive(a.from, { type: 'ack', seq: a.seq, incarnation: 0, updates: [], loads: [] }, now)
    if (now === lostAt) core.lost('a', now)
    if (core.nextDeadlineMs() <= now) {
      core.tick(now)
      // A driver ticks again at once when the next deadline has passed: it must lie ahead, even while a probe outlasts its period.
      assert.ok(core.nextDeadlineMs() > now, `a tick at ${now} left the next deadline at ${core.nextDeadlineMs()}`)
    }
    const ready = core.ready()
    for (const e of ready.events) if (e.type === 'suspect') suspected.push({ member: e.member, at: now })
    for (const { to, message } of ready.messages) {
      if (message.type !== 'ping') continue
      const delay = delays[pings++]
      if (delay !== undefined && delay !== null) acks.push({ at: now + delay, from: to, seq: message.seq })
    }
  }
  return suspected
}

test('a probe waits longer for acks after this node timed slow round trips, forgets them, and a closed channel is judged in its fixed window', () => {
  // Probes at 0 and 500 ms; the second is acked 800 ms after it left, past its 500 ms window.
  assert.equal(slowAcks([10, 800], 2_000).length, 1, 'fast round trips before: the late ack comes after the suspicion')
  // The first ack took 450 ms: the second probe waits that much longer (less what is forgotten meanwhile).
  assert.deepEqual(slowAcks([450, 800], 2_000), [])
  // Forgotten at RTT_DECAY (450 ms after 1.8 s): the probe at 2,500 ms has its fixed window again.
  assert.equal(slowAcks([450, 10, 10, 10, 10, 800], 4_000).length, 1, 'the slow round trip was not forgotten')
  // A member whose channel closed is probed through the helpers with lostProbeMs (500), however slow acks were.
  const lost = slowAcks([450], 2_000, 460)
  assert.equal(lost[0]?.member, 'a')
  assert.ok(lost[0]!.at <= 460 + 500 + 10, `suspected at ${lost[0]!.at}`)
})

test('a member whose acks are lost but that is heard on another path (its records) is not suspected by those that hear it; a closed channel still suspects it', () => {
  /** a, b, c; nothing reaches c (so it acks no probe), c's own messages go out; a and b hear c every 250 ms if `heard`. */
  const run = (heard: boolean): Net => {
    const net = new Net(['a', 'b', 'c'], { probeIntervalMs: 500 })
    net.form()
    net.run(2_000)
    net.blocked.add('a>c')
    net.blocked.add('b>c')
    while (net.now < 12_000) {
      if (heard) for (const id of ['a', 'b']) net.core(id).heard('c', net.now)
      net.run(net.now + 250)
    }
    return net
  }
  const suspicionsOfC = (net: Net): string[] => ['a', 'b'].filter((id) => net.eventsAbout(id, 'c', 'suspect').length > 0)
  assert.deepEqual(suspicionsOfC(run(false)), ['a', 'b'], 'without the records both suspect c')
  const net = run(true)
  assert.deepEqual(suspicionsOfC(net), [])
  assert.equal(net.core('a').member('c')?.status, 'alive')
  // c's channel to a closes: that probe judges as before, whatever a heard.
  net.core('a').heard('c', net.now)
  net.core('a').lost('c', net.now)
  net.flush()
  net.run(net.now + 1_000)
  assert.ok(net.eventsAbout('a', 'c', 'suspect').length > 0, 'a did not suspect c after its channel closed')
})

test('a helper whose loop ran late forwards the ack waiting behind its late tick instead of a nack', () => {
  const helper = new SwimCore({ self: 'h', random: new SeededRandom(2), probeIntervalMs: 500, probeTimeoutMs: 200 })
  helper.receive('a', { type: 'sync', reply: true, members: ['a', 'b'].map((member) => ({ member, incarnation: 0, status: 'alive' as const })), loads: [] }, 0)
  helper.receive('a', { type: 'ping-req', seq: 7, incarnation: 0, target: 'b', updates: [], loads: [] }, 0)
  const relayed = helper.ready().messages.find((m) => m.to === 'b' && m.message.type === 'ping')
  assert.ok(relayed !== undefined && relayed.message.type === 'ping')
  helper.tick(600)
  helper.receive('b', { type: 'ack', seq: relayed.message.seq, incarnation: 0, updates: [], loads: [] }, 600)
  const toA = helper.ready().messages.filter((m) => m.to === 'a' && (m.message.type === 'ack' || m.message.type === 'nack'))
  assert.deepEqual(
    toA.map((m) => m.message.type),
    ['ack'],
  )
  assert.equal(toA[0]!.message.type === 'ack' && toA[0]!.message.seq, 7)
})

test('on a mesh still being dialled, members probe only those they are connected to: no suspicion, no ping to an unconnected member', () => {
  // A star: the hub is connected to everyone, the others only to the hub (and l1 to l2).
  const leaves = Array.from({ length: 11 }, (_, i) => `l${i}`)
  const ids = ['hub', ...leaves]
  const links = new Set([...leaves.map((l) => `hub-${l}`), 'l1-l2'])
  const linked = (x: string, y: string): boolean => links.has(`${x}-${y}`) || links.has(`${y}-${x}`)
  const probe = (reachableKnown: boolean): Net => {
    const net = new Net(ids, { probeIntervalMs: 300 })
    const rng = new SeededRandom(3)
    for (const id of ids)
      net.cores.set(id, new SwimCore({ probeIntervalMs: 300, self: id, random: rng.fork(id), ...(reachableKnown ? { reachable: (other) => linked(id, other) } : {}) }))
    for (const x of ids) for (const y of ids) if (x < y && !linked(x, y)) net.block(x, y)
    net.form()
    net.run(20_000)
    return net
  }
  const net = probe(true)
  for (const id of ids) {
    assert.deepEqual(
      net.events.get(id)!.filter((e) => e.type === 'suspect' || e.type === 'dead'),
      [],
      `${id} suspected someone`,
    )
    for (const other of ids) assert.equal(net.core(id).member(other)?.status, 'alive', `${id} sees ${other}`)
  }
  const unlinked = net.sent.filter((s) => (s.message.type === 'ping' || s.message.type === 'ping-req') && !linked(s.from, s.to))
  assert.deepEqual(unlinked, [], 'nothing was sent over a missing link')
  assert.ok(net.sent.filter((s) => s.message.type === 'ping' && s.to === 'l5').length >= 5, 'a leaf is still probed, by the hub')
  // The same star without `reachable`: the leaves probe each other through nothing and suspect one another.
  const blind = probe(false)
  assert.ok(
    ids.some((id) => blind.events.get(id)!.some((e) => e.type === 'suspect')),
    'without reachability the missing links raise suspicions',
  )
})

/** Cores that reach linked members only (the others' links blocked); with relays, a target's linked members are asked about it first. */
function linkedNet(ids: string[], linked: (x: string, y: string) => boolean, withRelays: boolean, seed: number, antiEntropyMs?: number): Net {
  const net = new Net(ids, { probeIntervalMs: 300 })
  const rng = new SeededRandom(seed)
  for (const id of ids)
    net.cores.set(
      id,
      new SwimCore({
        probeIntervalMs: 300,
        ...(antiEntropyMs === undefined ? {} : { antiEntropyMs }),
        self: id,
        random: rng.fork(id),
        reachable: (other) => linked(id, other),
        ...(withRelays ? { relays: (target: string) => new Set(ids.filter((x) => linked(x, target))) } : {}),
      }),
    )
  for (const x of ids) for (const y of ids) if (x < y && !linked(x, y)) net.block(x, y)
  return net
}

test('over a partial mesh, a probe whose direct path fails asks helpers linked to the target (`relays`) first, and suspects no one', () => {
  // a links to t and to ten helpers; t links to a and h0 alone; the direct path a-t drops everything.
  const helpers = Array.from({ length: 10 }, (_, i) => `h${i}`)
  const ids = ['a', 't', ...helpers]
  const links = new Set([...helpers.map((h) => `a-${h}`), 'a-t', 't-h0'])
  const linked = (x: string, y: string): boolean => links.has(`${x}-${y}`) || links.has(`${y}-${x}`)
  const probe = (withRelays: boolean): Net => {
    const net = linkedNet(ids, linked, withRelays, 5)
    net.form()
    net.run(2_000)
    net.block('a', 't')
    net.run(20_000)
    return net
  }
  const suspicions = (net: Net): number => net.events.get('a')!.filter((e) => e.member === 't' && (e.type === 'suspect' || e.type === 'dead')).length
  const net = probe(true)
  assert.equal(suspicions(net), 0, 'a never suspected t: h0 probed it for a')
  assert.ok(
    net.sent.some((s) => s.from === 'a' && s.to === 'h0' && s.message.type === 'ping-req'),
    'through h0',
  )
  assert.ok(suspicions(probe(false)) > 0, 'without relays, helpers with no link to t let a suspect it')
})

test('a hub every member links to is probed about once a period, as in a full mesh, not once per walk of each; the others as before; its silent crash is still found', () => {
  // 40 leaves on a ring, each linked to its 4 nearest and to the hub v (5 links), as workers are to
  // their neighbours and the voters; v is linked to all 40.
  const leaves = Array.from({ length: 40 }, (_, i) => `l${i}`)
  const ids = ['v', ...leaves]
  const ring = (x: string, y: string): boolean => {
    const d = Math.abs(Number(x.slice(1)) - Number(y.slice(1)))
    return Math.min(d, 40 - d) <= 2
  }
  const linked = (x: string, y: string): boolean => x !== y && (x === 'v' || y === 'v' || ring(x, y))
  const periodMs = 300
  const run = (hubs: boolean): { net: Net; periods: number } => {
    const net = linkedNet(ids, linked, true, 5)
    if (hubs) {
      const rng = new SeededRandom(5)
      for (const id of ids) net.cores.set(id, new SwimCore({ probeIntervalMs: periodMs, self: id, random: rng.fork(id), reachable: (o) => linked(id, o), hub: (o) => o === 'v' }))
    }
    net.form()
    net.run(10_000)
    net.sent.length = 0
    net.run(70_000)
    return { net, periods: 60_000 / periodMs }
  }
  const pingsTo = (net: Net, to: string): number => net.sent.filter((x) => x.message.type === 'ping' && x.to === to).length
  const leafPings = (net: Net): number => leaves.reduce((n, l) => n + pingsTo(net, l), 0) / leaves.length
  const before = run(false)
  const after = run(true)
  const hub = { before: pingsTo(before.net, 'v') / before.periods, after: pingsTo(after.net, 'v') / after.periods }
  const leaf = { before: leafPings(before.net) / before.periods, after: leafPings(after.net) / after.periods }
  const show = JSON.stringify({ hub, leaf })
  // Each leaf probes v once per walk of its 5 links: 8 pings a period; with hubs, 40 · 1/5 · 5/40 = 1.
  assert.ok(hub.before >= 6, show)
  assert.ok(hub.after >= 0.6 && hub.after <= 1.5, show)
  // A leaf is probed by its 4 neighbours (one turn in 5 each) and by v (one turn in 40): unchanged.
  assert.ok(Math.abs(leaf.after - leaf.before) <= 0.15 * leaf.before, show)
  for (const id of ids)
    assert.deepEqual(
      after.net.events.get(id)!.filter((e) => e.type === 'suspect' || e.type === 'dead'),
      [],
      `${id} suspected someone`,
    )
  // v's host goes silent (no connection closes): every leaf holds it suspect or dead soon, as a full mesh would.
  const net = after.net
  net.down.add('v')
  const crashAt = net.now
  net.run(crashAt + 15_000)
  const firstSeen = leaves.map((l) => net.events.get(l)!.find((e) => e.member === 'v' && (e.type === 'suspect' || e.type === 'dead'))?.at ?? Infinity)
  assert.ok(Math.max(...firstSeen) - crashAt <= 10 * periodMs, `v seen not alive by all after ${Math.max(...firstSeen) - crashAt} ms`)
})

test('a node that reaches hubs alone (a joiner linked to its bootstrap peer) still probes one every period: the acks are how it hears', () => {
  const ids = ['v', 'j1', 'j2', 'j3']
  const linked = (x: string, y: string): boolean => x !== y && (x === 'v' || y === 'v')
  const net = linkedNet(ids, linked, true, 7)
  const rng = new SeededRandom(7)
  for (const id of ids) net.cores.set(id, new SwimCore({ probeIntervalMs: 300, self: id, random: rng.fork(id), reachable: (o) => linked(id, o), hub: (o) => o === 'v' }))
  net.form()
  net.run(3_000)
  net.sent.length = 0
  net.run(33_000)
  for (const j of ['j1', 'j2', 'j3']) {
    const pings = net.sent.filter((x) => x.message.type === 'ping' && x.from === j).length
    assert.ok(pings >= 95, `${j} sent ${pings} pings in 100 periods`)
  }
})

test('a new connection to a member held dead exchanges full state: it hears so and refutes at once', () => {
  const net = new Net(['a', 'b', 'c'], { probeIntervalMs: 300 })
  net.form()
  net.run(2_000)
  net.block('a', 'b')
  net.block('c', 'b')
  net.run(30_000)
  assert.equal(net.core('a').member('b')?.status, 'dead')
  net.blocked.clear()
  // The connection opens (the mesh dialled it): no time passes, no reconnection ping is due.
  net.core('a').meet('b')
  net.flush()
  assert.equal(net.core('a').member('b')?.status, 'alive')
  assert.ok(net.core('a').member('b')!.incarnation > 0, 'refuted with a higher incarnation')
})

/** Every node links to r alone. */
const throughR = (x: string, y: string): boolean => x === 'r' || y === 'r'

/** After forming, b is cut from r until it is held dead, then comes back to r while a hears nothing from r. */
function deathMissedByA(net: Net): void {
  net.form()
  net.run(2_000)
  net.block('r', 'b')
  net.run(30_000)
  net.block('a', 'r')
  net.unblock('r', 'b')
}

test('a node that missed a refutation and has no link to the member asks one of its relays, and hears it alive', () => {
  // a and b share no link; r links to both. b drops out and comes back while a cannot hear r.
  const run = (relaysOn: boolean): { before: string | undefined; after: string | undefined; asked: boolean; asks: number } => {
    // r first: the others join through it. No anti-entropy: it would repair this too (tested below).
    const net = linkedNet(['r', 'a', 'b'], throughR, relaysOn, 3, 0)
    deathMissedByA(net)
    // r's news of b's return runs out before a hears r again.
    net.run(31_500)
    net.unblock('a', 'r')
    const before = net.core('a').member('b')?.status
    // Asks come 2, 6, 14 and 30 s after the death, so one falls after this.
    net.run(48_000)
    const after = net.core('a').member('b')?.status
    const asks = net.sent.filter((s) => s.from === 'a' && s.message.type === 'ping-req' && s.message.target === 'b')
    return { before, after, asked: asks.some((s) => s.at > 31_500), asks: asks.length }
  }
  const withRelays = run(true)
  assert.ok(withRelays.asks <= 5, `${withRelays.asks} asks about one death: at most 5`)
  assert.equal(withRelays.before, 'dead', 'a still holds b dead when it hears r again')
  assert.equal(withRelays.after, 'alive', `a hears b alive through r: ${JSON.stringify(withRelays)}`)
  assert.ok(withRelays.asked, 'by asking r to ping it')
  const without = run(false)
  assert.equal(without.before, 'dead')
  assert.equal(without.after, 'dead', 'without relays to ask, a keeps b dead')
})

test('anti-entropy: a node that missed a join and a refutation, with no relay to ask, hears both from a digest that differs', () => {
  // a and b share no link; r links to both. a is cut off from r while x joins and b dies and comes back.
  const run = (antiEntropyMs: number): { b: string | undefined; x: string | undefined; live: number } => {
    const net = linkedNet(['r', 'a', 'b', 'x'], throughR, false, 3, antiEntropyMs)
    net.down.add('x')
    deathMissedByA(net)
    net.down.delete('x')
    net.core('x').join(['r'], net.now)
    net.run(40_000)
    net.unblock('a', 'r')
    net.run(60_000)
    return { b: net.core('a').member('b')?.status, x: net.core('a').member('x')?.status, live: net.sent.filter((s) => s.to === 'a' && s.message.type === 'live').length }
  }
  const repaired = run(15_000)
  assert.deepEqual(repaired, { ...repaired, b: 'alive', x: 'alive' }, 'a holds b and x alive')
  assert.ok(repaired.live >= 1, 'through a `live` answer')
  const unrepaired = run(0)
  assert.equal(unrepaired.b, 'dead', 'without it, a keeps b dead')
  assert.equal(unrepaired.x, undefined, 'and never hears of x')
})

test('anti-entropy on a settled cluster: one digest per node per interval, no answer while views agree; a crash is still found', () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const net = new Net(ids, { probeIntervalMs: 300, antiEntropyMs: 5_000 })
  net.form()
  net.run(20_000)
  const from = net.sent.length
  net.run(70_000)
  const window = net.sent.slice(from)
  const digests = window.filter((s) => s.message.type === 'digest')
  for (const id of ids) {
    const n = digests.filter((s) => s.from === id).length
    assert.ok(n >= 9 && n <= 11, `${id} sent ${n} digests in 50 s`)
  }
  assert.equal(window.filter((s) => s.message.type === 'live').length, 0, 'views agree: nothing to answer')
  // c stops: answers to digests that differ while its death spreads do not bring it back.
  net.down.add('c')
  net.run(100_000)
  for (const id of ids) if (id !== 'c') assert.equal(net.core(id).member('c')?.status, 'dead', `${id} on c`)
})

test('a change gossip brings carries its age: the time since the member that made it made it, exact over any number of hops', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `n${i}`)
  const net = new Net(ids, { probeIntervalMs: 300 })
  net.form()
  net.run(5_000)
  net.down.add('n5')
  net.run(40_000)
  const about = ids.filter((id) => id !== 'n5').flatMap((id) => net.events.get(id)!.filter((e) => e.member === 'n5' && (e.type === 'suspect' || e.type === 'dead')))
  // Where a change was made (its age 0 there), by type: a suspicion and a death are each made by several members on their own.
  const made = (type: string): number[] => about.filter((e) => e.type === type && e.ageMs === 0).map((e) => e.at)
  const relayed = about.filter((e) => e.ageMs !== undefined && e.ageMs > 0)
  assert.ok(relayed.length >= 3, `changes taken in from gossip: ${relayed.length}`)
  // The network delivers at once, so every age is exactly the time since one of the changes was made.
  for (const e of relayed) assert.ok(made(e.type).includes(e.at - e.ageMs!), `${e.type} at ${e.at}, age ${e.ageMs}: made at ${made(e.type).join(', ')}`)
  for (const id of ids) {
    if (id === 'n5') continue
    const dead = net.eventsAbout(id, 'n5', 'dead')
    assert.equal(dead.length, 1, id)
    assert.ok(dead[0]!.ageMs !== undefined, `${id} knows how old the death it took in was`)
  }
})
