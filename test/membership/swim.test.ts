// Goal: SWIM failure detection (src/membership/swim.ts) detects a crash and spreads it to every
// member within its stated bound, refutes false suspicions, and costs each member a bounded number
// of messages per period whatever N. Method: Swim instances over an in-memory network with a
// manual clock (10 ms steps, 1-5 ms delivery), crashes and one-way message loss by hand; the codec
// round-trips and rejects bad input with typed errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Swim, type SwimMessage, type SwimOptions } from '../../src/membership/swim.js'
import { SeededRandom } from '../../src/env/prng.js'
import { decodeSwim, encodeSwim } from '../../protocols/cluster/swim-codec.js'
import { ProtocolError } from '../../protocols/errors.js'

const OPTIONS: Partial<SwimOptions> = { periodMs: 200, pingTimeoutMs: 60 }

class Net {
  nowMs = 0
  readonly crashed = new Set<string>()
  /** Messages from these members are lost. */
  readonly mute = new Set<string>()
  readonly swims: Swim[]
  private readonly random = new SeededRandom('net')
  private inFlight: Array<{ at: number; from: string; to: string; message: SwimMessage }> = []
  sent = 0

  constructor(n: number, options: Partial<SwimOptions> = OPTIONS) {
    const ids = Array.from({ length: n }, (_, i) => `m${i}`)
    this.swims = ids.map((id) => new Swim(id, 1, [`addr-${id}`], new SeededRandom(id), 0, options))
    for (const s of this.swims) s.setMembers(ids)
  }

  get(id: string): Swim {
    return this.swims.find((s) => s.self === id)!
  }

  run(ms: number): void {
    for (const end = this.nowMs + ms; this.nowMs < end; ) {
      this.nowMs += 10
      const due = this.inFlight.filter((m) => m.at <= this.nowMs)
      this.inFlight = this.inFlight.filter((m) => m.at > this.nowMs)
      for (const m of due) if (!this.crashed.has(m.to)) this.get(m.to).receive(m.from, decodeSwim(encodeSwim(m.message)), this.nowMs)
      for (const s of this.swims) {
        if (this.crashed.has(s.self)) continue
        s.tick(this.nowMs)
        for (const { to, message } of s.takeOutbox()) {
          this.sent++
          if (!this.mute.has(s.self)) this.inFlight.push({ at: this.nowMs + 1 + this.random.int(0, 4), from: s.self, to, message })
        }
      }
    }
  }

  /** Live members whose view of `id` is not `state`. */
  notYet(id: string, ok: (state: string | undefined) => boolean): string[] {
    return this.swims.filter((s) => !this.crashed.has(s.self) && s.self !== id && !ok(s.stateOf(id))).map((s) => s.self)
  }
}

test('a crashed member is suspected by every member within a few periods plus log N, then declared dead', () => {
  for (const n of [8, 64]) {
    const net = new Net(n)
    net.run(2000)
    assert.deepEqual(net.swims.flatMap((s) => net.swims.filter((o) => o !== s && s.stateOf(o.self) !== 'alive').map((o) => `${s.self}->${o.self}`)), [], 'no false suspicions while all are up')
    net.crashed.add('m3')
    const crashAt = net.nowMs
    let suspectedAt: number | undefined
    while (net.nowMs - crashAt < 20_000 && net.notYet('m3', (s) => s === 'dead').length > 0) {
      net.run(50)
      if (suspectedAt === undefined && net.notYet('m3', (s) => s !== 'alive').length === 0) suspectedAt = net.nowMs
    }
    assert.ok(suspectedAt !== undefined, `n=${n}: all suspect m3`)
    // Bound from the module doc: ~2.6 periods to the first suspicion, then O(log2 N) periods to spread.
    const boundMs = (3 + 3 * Math.log2(n)) * 200
    assert.ok(suspectedAt - crashAt <= boundMs, `n=${n}: all suspected m3 after ${suspectedAt - crashAt} ms, bound ${boundMs}`)
    assert.deepEqual(net.notYet('m3', (s) => s === 'dead'), [], `n=${n}: all hold m3 dead`)
  }
})

test('a member falsely suspected refutes it with a higher incarnation and ends alive everywhere', () => {
  const net = new Net(10)
  net.run(1000)
  net.mute.add('m5')
  net.run(500) // long enough for probes of m5 to fail, short of its death
  assert.ok(net.swims.some((s) => s.stateOf('m5') === 'suspect'), 'someone suspects m5')
  net.mute.delete('m5')
  net.run(5000)
  assert.deepEqual(net.notYet('m5', (s) => s === 'alive'), [])
  assert.ok(net.get('m5').counters.refutations >= 1)
})

test('a member declared dead that comes back is alive again everywhere', () => {
  const net = new Net(10)
  net.run(1000)
  net.mute.add('m2')
  net.run(8000)
  assert.deepEqual(net.notYet('m2', (s) => s === 'dead'), [])
  net.mute.delete('m2')
  net.run(8000)
  assert.deepEqual(net.notYet('m2', (s) => s === 'alive'), [])
})

test('messages per member per period stay bounded as N grows', () => {
  const perPeriod = (n: number): number => {
    const net = new Net(n)
    net.run(2000)
    const before = net.sent
    net.run(4000)
    return (net.sent - before) / n / (4000 / 200)
  }
  const small = perPeriod(8)
  const large = perPeriod(128)
  assert.ok(large <= 2.5, `at most about a ping and an ack per member per period: ${large}`)
  assert.ok(large <= small * 1.25, `no growth with N: ${small} at 8, ${large} at 128`)
})

test('every message carries at most piggybackMax updates, and members learn each other\'s addresses', () => {
  const net = new Net(40, { ...OPTIONS, piggybackMax: 3 })
  let most = 0
  const original = net.swims.map((s) => s.takeOutbox.bind(s))
  net.swims.forEach((s, i) => {
    s.takeOutbox = () => {
      const out = original[i]!()
      for (const o of out) most = Math.max(most, o.message.updates.length)
      return out
    }
  })
  net.run(10_000)
  assert.ok(most <= 3)
  assert.deepEqual(net.get('m0').addressesOf('m39'), ['addr-m39'])
})

test('the codec round-trips and rejects bad input with protocol errors', () => {
  const m: SwimMessage = { kind: 'ping-req', seq: 7, target: 'm1', updates: [{ node: 'm2', state: 'suspect', incarnation: 3, addresses: ['/ip4/127.0.0.1/tcp/1'] }] }
  assert.deepEqual(decodeSwim(encodeSwim(m)), m)
  for (const bad of [new Uint8Array([0xc1]), encodeSwim({ kind: 'ack', seq: 1, updates: [] }).slice(0, 3), new Uint8Array(20_000)]) {
    assert.throws(() => decodeSwim(bad), ProtocolError)
  }
})
