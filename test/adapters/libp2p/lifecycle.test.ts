// Goal: the libp2p binding's lifecycle: bootstrap peers are dialed at start and redialed after
// they restart on the same identity and port, as are peers seen before; a hang-up closes a
// connection for good on both sides (a bootstrap peer is still redialed); node ids are stable for a
// given identity; stop closes everything and refuses later use; bad settings fail at creation; the
// node's own addresses (cached) follow a listener opened while it runs.
// Method: real libp2p nodes on 127.0.0.1 that are stopped and started again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLibp2pNetwork, generateIdentity, nodeIdOf } from '../../../src/adapters/libp2p/index.js'
import { multiaddr } from '../../../src/adapters/libp2p/vendor.js'
import { LOOPBACK, metric, startNode, stopAll, testEnvironment, waitFor, type TestNode } from './helpers.js'

const FAST_REDIAL = { redial: { minMs: 30, maxMs: 300 } }

function portOf(address: string): number {
  const match = /\/tcp\/(\d+)\//.exec(address)
  assert.ok(match !== null, `no tcp port in ${address}`)
  return Number(match[1])
}

/** Stops `node` and starts it again with the same identity on the same port. */
async function restart(node: TestNode, identity: Uint8Array): Promise<TestNode> {
  const port = portOf(node.net.addresses()[0]!)
  await node.net.stop()
  return startNode({ identity, listen: [`/ip4/127.0.0.1/tcp/${port}`], ...FAST_REDIAL })
}

test('bootstrap peers are dialed at start and redialed after they restart on the same identity and port', async () => {
  const identity = await generateIdentity()
  let b = await startNode({ identity, ...FAST_REDIAL })
  const a = await startNode({ bootstrap: [b.net.addresses()[0]!], ...FAST_REDIAL })
  try {
    const events: string[] = []
    a.net.onPeerChange((peer, connected) => void events.push(`${peer === b.net.self ? 'b' : peer}:${connected ? 'up' : 'down'}`))
    await waitFor(() => a.net.peers().includes(b.net.self) && b.net.peers().includes(a.net.self), 'the bootstrap connection')

    const port = portOf(b.net.addresses()[0]!)
    await b.net.stop()
    await waitFor(() => !a.net.peers().includes(b.net.self), 'a to notice b is gone')
    assert.equal(a.net.send(b.net.self, '/t/x', new Uint8Array(1)), false, 'send to a disconnected peer')
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.ok(metric(a, 'dx_net_redial_attempts_total') >= 2, 'a stopped redialing while b was down')

    b = await startNode({ identity, listen: [`/ip4/127.0.0.1/tcp/${port}`], ...FAST_REDIAL })
    await waitFor(() => a.net.peers().includes(b.net.self) && b.net.peers().includes(a.net.self), 'a to reconnect to the restarted b')
    assert.deepEqual(events.slice(0, 3), ['b:up', 'b:down', 'b:up'])
    assert.ok(metric(a, 'dx_net_reconnects_total') >= 1)

    const received: string[] = []
    b.net.handle('/t/after', (_from, payload) => void received.push(new TextDecoder().decode(payload)))
    a.net.handle('/t/after', (_from, payload) => void received.push(new TextDecoder().decode(payload)))
    assert.equal(a.net.send(b.net.self, '/t/after', new TextEncoder().encode('a->b')), true)
    assert.equal(b.net.send(a.net.self, '/t/after', new TextEncoder().encode('b->a')), true)
    await waitFor(() => received.length === 2, 'traffic both ways after reconnecting')
  } finally {
    await stopAll([a, b])
  }
})

test('a bootstrap list that names the node itself is not dialed for that entry', async () => {
  const identity = await generateIdentity()
  const a = await startNode({ identity, bootstrap: [`/ip4/127.0.0.1/tcp/9/p2p/${nodeIdOf(identity)}`], ...FAST_REDIAL })
  try {
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(metric(a, 'dx_net_redial_attempts_total'), 0)
  } finally {
    await a.net.stop()
  }
})

test('a peer seen before (not a bootstrap peer) is redialed when it comes back', async () => {
  const identity = await generateIdentity()
  const a = await startNode(FAST_REDIAL)
  let b = await startNode({ identity, ...FAST_REDIAL })
  try {
    assert.equal(await a.net.dial(b.net.addresses()[0]!), b.net.self)
    await waitFor(() => b.net.peers().includes(a.net.self), 'b to see a')
    b = await restart(b, identity)
    await waitFor(() => a.net.peers().includes(b.net.self) && b.net.peers().includes(a.net.self), 'a to redial the restarted b', 8_000)
  } finally {
    await stopAll([a, b])
  }
})

test('a hang-up closes the connection on both sides and neither redials it, while a bootstrap peer still is; either may dial again', async () => {
  const a = await startNode(FAST_REDIAL)
  const b = await startNode(FAST_REDIAL)
  const c = await startNode(FAST_REDIAL)
  const d = await startNode({ bootstrap: [c.net.addresses()[0]!], ...FAST_REDIAL })
  try {
    assert.equal(await a.net.dial(b.net.addresses()[0]!), b.net.self)
    await waitFor(() => b.net.peers().includes(a.net.self), 'b to see a')
    const events: string[] = []
    a.net.onPeerChange((peer, up) => void events.push(`a:${peer === b.net.self ? 'b' : peer}:${up ? 'up' : 'down'}`))
    b.net.onPeerChange((peer, up) => void events.push(`b:${peer === a.net.self ? 'a' : peer}:${up ? 'up' : 'down'}`))
    await b.net.hangUp(a.net.self)
    await waitFor(() => !a.net.peers().includes(b.net.self) && !b.net.peers().includes(a.net.self), 'both to see the link gone')
    // Either side would redial a lost peer within 30-300 ms (FAST_REDIAL) without the BYE.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    assert.deepEqual(events.sort(), ['a:b:down', 'b:a:down'], 'down once on each side, and not back')
    assert.equal((a.net as unknown as { node: { getConnections(): unknown[] } }).node.getConnections().length, 0, 'the connection itself is closed, not only the mesh stream')
    assert.equal(await a.net.dial(b.net.addresses()[0]!), b.net.self, 'a may dial b again')
    await waitFor(() => b.net.peers().includes(a.net.self), 'b to see a again')

    await waitFor(() => d.net.peers().includes(c.net.self), 'd to reach its bootstrap peer c')
    await c.net.hangUp(d.net.self)
    await waitFor(() => d.net.peers().includes(c.net.self), 'd to redial c, its bootstrap peer, after c hung up', 8_000)
  } finally {
    await stopAll([a, b, c, d])
  }
})

test('handlers and subscriptions registered before start work once started', async () => {
  const { env } = testEnvironment()
  const late = await createLibp2pNetwork({ env, listen: [LOOPBACK] })
  const early = await startNode()
  try {
    const received: string[] = []
    late.handle('/t/early', (_from, payload) => void received.push(`direct ${new TextDecoder().decode(payload)}`))
    late.subscribe('early.topic', (_from, payload) => void received.push(`topic ${new TextDecoder().decode(payload)}`))
    assert.deepEqual(late.addresses(), [])
    await assert.rejects(late.dial(early.net.addresses()[0]!), { name: 'NetworkStateError' })
    await late.start()
    await assert.rejects(late.start(), { name: 'NetworkStateError' })
    await early.net.dial(late.addresses()[0]!)
    await waitFor(() => late.peers().includes(early.net.self), 'the connection')
    assert.equal(early.net.send(late.self, '/t/early', new TextEncoder().encode('hi')), true)
    await waitFor(() => {
      early.net.publish('early.topic', new TextEncoder().encode('hi'))
      return received.includes('direct hi') && received.includes('topic hi')
    }, 'both deliveries')
  } finally {
    await stopAll([late, early])
  }
})

test('a node id is stable for a given identity and differs between identities', async () => {
  const identity = await generateIdentity()
  const first = await startNode({ identity })
  const self = first.net.self
  await first.net.stop()
  const second = await startNode({ identity })
  const other = await startNode()
  try {
    assert.equal(second.net.self, self)
    assert.equal(nodeIdOf(identity), self)
    assert.ok(second.net.addresses().every((address) => address.endsWith(`/p2p/${self}`)))
    assert.notEqual(other.net.self, self)
    assert.notEqual(nodeIdOf(await generateIdentity()), self)
  } finally {
    await stopAll([second, other])
  }
})

test('stop reports every peer gone, cancels its timers, and refuses later use', async () => {
  const a = await startNode({ keepaliveIntervalMs: 50, idleTimeoutMs: 200, ...FAST_REDIAL })
  const b = await startNode(FAST_REDIAL)
  const c = await startNode(FAST_REDIAL)
  try {
    await a.net.dial(b.net.addresses()[0]!)
    await a.net.dial(c.net.addresses()[0]!)
    const downs: string[] = []
    a.net.onPeerChange((peer, connected) => void (!connected && downs.push(peer)))
    await a.net.stop()
    assert.deepEqual(new Set(downs), new Set([b.net.self, c.net.self]))
    assert.deepEqual(a.net.peers(), [])
    assert.equal(a.net.send(b.net.self, '/t/x', new Uint8Array(1)), false)
    await assert.rejects(a.net.dial(b.net.addresses()[0]!), { name: 'NetworkStateError' })
    await a.net.stop()
    await waitFor(() => !b.net.peers().includes(a.net.self) && !c.net.peers().includes(a.net.self), 'the peers to see a leave')
    assert.equal(metric(a, 'dx_net_peers'), 0)
  } finally {
    await stopAll([a, b, c])
  }
})

test('dial honours its AbortSignal and rejects bad addresses with typed errors', async () => {
  const a = await startNode()
  try {
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(a.net.dial('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGBN3EdFN1ufHWdCKsZ2cN4TAa8LkgUqjSNeNqi1EDCUH', { signal: controller.signal }), { name: 'AbortedError' })
    await assert.rejects(a.net.dial('not a multiaddr'), { name: 'InvalidArgumentError' })
    await assert.rejects(a.net.dial('/ip4/127.0.0.1/tcp/1'), (error: Error) => ['DialFailedError', 'DialTimeoutError'].includes(error.name))
  } finally {
    await a.net.stop()
  }
})

test('bad settings fail at creation with InvalidArgumentError', async () => {
  const { env } = testEnvironment()
  const bad = [
    { listen: [] },
    { listen: [LOOPBACK], identity: Uint8Array.of(1, 2, 3) },
    { listen: [LOOPBACK], clusterSecret: new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\nabc') },
    { listen: [LOOPBACK], bootstrap: ['/ip4/127.0.0.1/tcp/4001'] },
    { listen: [LOOPBACK], maxPayloadBytes: 1 << 20, receiveWindowBytes: 1 << 20 },
    { listen: [LOOPBACK], maxPayloadBytes: 1 << 20, outboundQueueMaxBytes: 1 << 20 },
    { listen: [LOOPBACK], keepaliveIntervalMs: 1000, idleTimeoutMs: 1500 },
    { listen: [LOOPBACK], redial: { minMs: 100, maxMs: 10 } },
  ]
  for (const init of bad) await assert.rejects(createLibp2pNetwork({ env, ...init }), { name: 'InvalidArgumentError' }, JSON.stringify(init))
})

test("the node's own addresses follow a listener it opens while it runs, long before the cache's backstop expires", async () => {
  const a = await startNode()
  try {
    assert.equal(a.net.addresses().length, 1)
    // What a transport that starts listening later does; libp2p reports it through 'self:peer:update'.
    const node = (a.net as unknown as { node: { components: { transportManager: { listen(addresses: unknown[]): Promise<void> } } } }).node
    await node.components.transportManager.listen([multiaddr(LOOPBACK)])
    await waitFor(() => a.net.addresses().length === 2, 'the second listener among addresses()', 5_000)
    assert.equal(new Set(a.net.addresses().map(portOf)).size, 2)
  } finally {
    await stopAll([a])
  }
})
