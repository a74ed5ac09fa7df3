/**
 * The compliance suite of the Network port (src/net/types.ts): what every correct implementation
 * does in a fault-free setting. It runs against the libp2p binding on real sockets and against the
 * simulator's network on virtual time, so it never reads time itself: the cluster under test lets
 * time pass (`waitFor`, `idle`) in whatever time it runs on.
 *
 * Assumptions beyond the port's text, which any sane implementation meets: a peer's outbound queue
 * holds a burst of BURST small messages; a broadcast published after a subscriber has received an
 * earlier one on the same topic reaches it (subscriptions have propagated by then).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Network, NodeId } from '../../src/net/types.js'

/** Connected Network instances under test, and control over the time they run on. */
export interface NetworkCluster {
  /** The nodes, each connected to every other one. */
  readonly nodes: readonly Network[]
  /** Starts one more node that the others can reach by dialling one of its `addresses()`. */
  addNode(): Promise<Network>
  /** Stops `node` gracefully, as a node leaving the cluster does. */
  removeNode(node: Network): Promise<void>
  /** Lets time pass until `condition` holds; rejects, naming `what`, once `timeoutMs` of that time has passed. */
  waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void>
  /** Lets `ms` of time pass (to check that something does not happen). */
  idle(ms: number): Promise<void>
  /** Stops every node and releases everything the cluster holds. */
  close(): Promise<void>
}

/** Creates a cluster of `size` connected nodes. */
export type NetworkClusterFactory = (size: number) => Promise<NetworkCluster>

export interface NetworkSuiteOptions {
  /** How long to wait for something that must happen, in the cluster's time. */
  waitMs?: number
  /** How long to watch for something that must not happen. */
  quietMs?: number
  /** The node:test timeout of each test, in real milliseconds. */
  testTimeoutMs?: number
}

/** Messages sent back to back before waiting for them. */
const BURST = 200
const BURSTS = 5

/** Pause between probe broadcasts while subscriptions propagate. */
const PROBE_MS = 50

interface Received {
  from: NodeId
  text: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const bytes = (text: string): Uint8Array => encoder.encode(text)

/** A payload whose size varies with `i` (0 to ~300 bytes) and whose content names its sequence number. */
function sequenced(tag: string, i: number): string {
  return i % 50 === 0 ? '' : `${tag}:${i}:${'x'.repeat((i * 37) % 300)}`
}

function recorder(into: Received[]): (from: NodeId, payload: Uint8Array) => void {
  return (from, payload) => void into.push({ from, text: decoder.decode(payload) })
}

/** Registers the port's compliance tests under `describe(name)`. */
export function networkComplianceSuite(name: string, factory: NetworkClusterFactory, options: NetworkSuiteOptions = {}): void {
  const waitMs = options.waitMs ?? 5_000
  const quietMs = options.quietMs ?? 200
  const testOptions = { timeout: options.testTimeoutMs ?? 30_000 }

  /** Runs `body` on a fresh cluster of `size` nodes, fully connected, and always closes it. */
  async function withCluster(size: number, body: (cluster: NetworkCluster, nodes: readonly Network[]) => Promise<void>): Promise<void> {
    const cluster = await factory(size)
    try {
      const { nodes } = cluster
      assert.equal(nodes.length, size)
      await cluster.waitFor(() => nodes.every((n) => nodes.every((m) => m === n || n.peers().includes(m.self))), 'a fully connected cluster', waitMs)
      await body(cluster, nodes)
    } finally {
      await cluster.close()
    }
  }

  describe(`Network port compliance: ${name}`, () => {
    test('every node has its own id and addresses, and lists the others as peers', testOptions, () =>
      withCluster(3, async (_cluster, nodes) => {
        assert.equal(new Set(nodes.map((n) => n.self)).size, 3)
        for (const node of nodes) {
          assert.ok(node.addresses().length > 0, `${node.self} has no address`)
          assert.deepEqual(new Set(node.peers()), new Set(nodes.filter((m) => m !== node).map((m) => m.self)))
        }
      }),
    )

    test('messages to one peer on one protocol arrive intact and in order', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        const received: Received[] = []
        b!.handle('/test/order', recorder(received))
        const expected: string[] = []
        for (let burst = 0; burst < BURSTS; burst++) {
          const reused = new Uint8Array(400)
          for (let i = burst * BURST; i < (burst + 1) * BURST; i++) {
            const text = sequenced('m', i)
            // One buffer for the whole burst: what counts is the content at the time of `send`.
            const encoded = encoder.encodeInto(text, reused)
            assert.equal(a!.send(b!.self, '/test/order', reused.subarray(0, encoded.written)), true, `send ${i}`)
            reused.fill(0)
            expected.push(text)
          }
          await cluster.waitFor(() => received.length >= expected.length, `burst ${burst}`, waitMs)
        }
        assert.deepEqual(
          received.map((r) => r.text),
          expected,
        )
        assert.ok(received.every((r) => r.from === a!.self))
      }),
    )

    test('protocols sharing a peer are delivered to their own handlers, each in order', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        const protocols = ['/test/p1', '/test/p2', '/test/p3']
        const received = new Map(protocols.map((p) => [p, [] as Received[]]))
        for (const p of protocols) b!.handle(p, recorder(received.get(p)!))
        const expected = new Map(protocols.map((p) => [p, [] as string[]]))
        for (let i = 0; i < BURST; i++) {
          const p = protocols[(i * 7) % protocols.length]!
          const text = `${p}#${i}`
          assert.equal(a!.send(b!.self, p, bytes(text)), true)
          expected.get(p)!.push(text)
        }
        await cluster.waitFor(() => protocols.every((p) => received.get(p)!.length >= expected.get(p)!.length), 'every protocol', waitMs)
        for (const p of protocols) {
          assert.deepEqual(
            received.get(p)!.map((r) => r.text),
            expected.get(p),
          )
          assert.ok(received.get(p)!.every((r) => r.from === a!.self))
        }
      }),
    )

    test('messages from several senders are attributed to their sender and ordered per sender', testOptions, () =>
      withCluster(3, async (cluster, [a, b, c]) => {
        const received: Received[] = []
        c!.handle('/test/fan-in', recorder(received))
        for (let i = 0; i < BURST; i++) {
          assert.equal(a!.send(c!.self, '/test/fan-in', bytes(`a${i}`)), true)
          assert.equal(b!.send(c!.self, '/test/fan-in', bytes(`b${i}`)), true)
        }
        await cluster.waitFor(() => received.length >= 2 * BURST, 'both senders', waitMs)
        for (const [sender, tag] of [
          [a!, 'a'],
          [b!, 'b'],
        ] as const) {
          const mine = received.filter((r) => r.from === sender.self).map((r) => r.text)
          assert.deepEqual(
            mine,
            Array.from({ length: BURST }, (_, i) => `${tag}${i}`),
          )
        }
      }),
    )

    test('messages replying from inside a handler flow both ways', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        b!.handle('/test/ping', (from, payload) => void b!.send(from, '/test/pong', payload))
        const pongs: Received[] = []
        a!.handle('/test/pong', recorder(pongs))
        for (let i = 0; i < 50; i++) assert.equal(a!.send(b!.self, '/test/ping', bytes(`${i}`)), true)
        await cluster.waitFor(() => pongs.length >= 50, 'every pong', waitMs)
        assert.deepEqual(
          pongs.map((r) => r.text),
          Array.from({ length: 50 }, (_, i) => `${i}`),
        )
        assert.ok(pongs.every((r) => r.from === b!.self))
      }),
    )

    test('messages for a protocol without a handler are dropped and later traffic still flows', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        const received: Received[] = []
        assert.equal(a!.send(b!.self, '/test/nobody', bytes('lost')), true)
        b!.handle('/test/later', recorder(received))
        assert.equal(a!.send(b!.self, '/test/later', bytes('one')), true)
        await cluster.waitFor(() => received.length === 1, 'the handled message', waitMs)

        b!.unhandle('/test/later')
        assert.equal(a!.send(b!.self, '/test/later', bytes('unhandled')), true)
        await cluster.idle(quietMs)
        b!.handle('/test/later', recorder(received))
        assert.equal(a!.send(b!.self, '/test/later', bytes('two')), true)
        await cluster.waitFor(() => received.length === 2, 'the message after handling again', waitMs)
        await cluster.idle(quietMs)
        assert.deepEqual(
          received.map((r) => r.text),
          ['one', 'two'],
        )
      }),
    )

    test('send to a node that is not a peer returns false', testOptions, () =>
      withCluster(2, async (_cluster, [a, b]) => {
        assert.equal(a!.send('not-a-node', '/test/x', bytes('x')), false)
        assert.equal(a!.send(a!.self, '/test/x', bytes('x')), false)
        assert.equal(b!.send(b!.self, '/test/x', bytes('x')), false)
      }),
    )

    test('broadcasts reach every subscriber, no one else, and stop after unsubscribe', testOptions, () =>
      withCluster(4, async (cluster, [publisher, s1, s2, outsider]) => {
        const got = new Map<Network, Received[]>([
          [s1!, []],
          [s2!, []],
          [outsider!, []],
        ])
        s1!.subscribe('test.topic', recorder(got.get(s1!)!))
        s2!.subscribe('test.topic', recorder(got.get(s2!)!))
        outsider!.subscribe('test.other', recorder(got.get(outsider!)!))
        const texts = (n: Network): string[] => got.get(n)!.map((r) => r.text)

        for (let probe = 0; texts(s1!).length === 0 || texts(s2!).length === 0; probe++) {
          assert.ok(probe * PROBE_MS < waitMs, 'subscriptions did not propagate')
          publisher!.publish('test.topic', bytes(`probe ${probe}`))
          await cluster.idle(PROBE_MS)
        }
        const wave = Array.from({ length: 20 }, (_, i) => `wave ${i}`)
        for (const text of wave) publisher!.publish('test.topic', bytes(text))
        await cluster.waitFor(() => [s1!, s2!].every((s) => wave.every((t) => texts(s).includes(t))), 'the whole wave at both subscribers', waitMs)
        for (const s of [s1!, s2!]) {
          assert.ok(got.get(s)!.every((r) => r.from === publisher!.self))
          assert.equal(new Set(texts(s)).size, texts(s).length, 'a broadcast delivered twice')
        }
        assert.deepEqual(texts(outsider!), [])

        s1!.unsubscribe('test.topic')
        const after = Array.from({ length: 10 }, (_, i) => `after ${i}`)
        for (const text of after) publisher!.publish('test.topic', bytes(text))
        await cluster.waitFor(() => after.every((t) => texts(s2!).includes(t)), 'the later wave at the remaining subscriber', waitMs)
        await cluster.idle(quietMs)
        assert.ok(
          after.every((t) => !texts(s1!).includes(t)),
          'an unsubscribed node received a broadcast',
        )
        assert.deepEqual(texts(outsider!), [])
      }),
    )

    test('dial connects a new node; both sides see it come and go', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        const events: string[] = []
        const stopListening = a!.onPeerChange((peer, connected) => void events.push(`${peer}:${connected ? 'up' : 'down'}`))
        const c = await cluster.addNode()
        const seenByC: string[] = []
        c.onPeerChange((peer, connected) => void seenByC.push(`${peer}:${connected ? 'up' : 'down'}`))
        const address = c.addresses()[0]
        assert.ok(address !== undefined, 'the new node has no address')
        assert.equal(await a!.dial(address), c.self)
        await cluster.waitFor(() => a!.peers().includes(c.self) && c.peers().includes(a!.self), 'a and c connected', waitMs)
        await cluster.waitFor(() => events.includes(`${c.self}:up`), "a's up event for c", waitMs)

        const received: Received[] = []
        c.handle('/test/new', recorder(received))
        assert.equal(a!.send(c.self, '/test/new', bytes('welcome')), true)
        await cluster.waitFor(() => received.length === 1, 'a message to the new node', waitMs)
        assert.deepEqual(received, [{ from: a!.self, text: 'welcome' }])

        await cluster.removeNode(c)
        await cluster.waitFor(() => events.includes(`${c.self}:down`) && !a!.peers().includes(c.self), "a's down event for c", waitMs)
        assert.equal(a!.send(c.self, '/test/new', bytes('gone')), false)
        assert.ok(b!.peers().includes(a!.self), 'the other peers stay connected')
        assert.ok(
          events.every((e) => e.startsWith(`${c.self}:`)),
          `unexpected events ${events.join(', ')}`,
        )

        stopListening()
        const before = events.length
        const d = await cluster.addNode()
        await a!.dial(d.addresses()[0]!)
        await cluster.waitFor(() => a!.peers().includes(d.self), 'a and d connected', waitMs)
        assert.equal(events.length, before, 'a removed listener was called')
      }),
    )

    test('hangUp closes a connection on both sides until one dials again', testOptions, () =>
      withCluster(2, async (cluster, [a, b]) => {
        const c = await cluster.addNode()
        assert.equal(await a!.dial(c.addresses()[0]!), c.self)
        await cluster.waitFor(() => a!.peers().includes(c.self) && c.peers().includes(a!.self), 'a and c connected', waitMs)
        const events: string[] = []
        a!.onPeerChange((peer, connected) => void events.push(`a:${peer === c.self ? 'c' : peer}:${connected ? 'up' : 'down'}`))
        c.onPeerChange((peer, connected) => void events.push(`c:${peer === a!.self ? 'a' : peer}:${connected ? 'up' : 'down'}`))
        await c.hangUp(a!.self)
        await cluster.waitFor(() => !a!.peers().includes(c.self) && !c.peers().includes(a!.self), 'both to see the connection closed', waitMs)
        assert.equal(c.send(a!.self, '/test/bye', bytes('after')), false)
        await cluster.idle(quietMs)
        assert.deepEqual(events.sort(), ['a:c:down', 'c:a:down'])
        assert.ok(b!.peers().includes(a!.self), 'the other peers stay connected')
        await c.hangUp(a!.self)
        assert.equal(await a!.dial(c.addresses()[0]!), c.self)
        await cluster.waitFor(() => a!.peers().includes(c.self) && c.peers().includes(a!.self), 'a and c connected again', waitMs)
      }),
    )
  })
}
