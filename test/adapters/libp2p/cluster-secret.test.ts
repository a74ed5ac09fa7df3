// Goal: the cluster secret, bound into noise as its prologue, admits exactly the peers holding it.
// A stranger (no secret, another secret, or a peer of the pnet era holding the right secret) fails
// the handshake both ways with a typed error, never opens a mesh stream and never gets a byte to a
// handler; peers holding the same key (in any spelling of the file) connect. Method: real network
// nodes and raw libp2p nodes on 127.0.0.1.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { preSharedKey } from '@libp2p/pnet'
import { MESH_PROTOCOL } from '../../../src/adapters/libp2p/constants.js'
import { clusterPrologue, generateClusterSecret, generateIdentity, identityKey } from '../../../src/adapters/libp2p/identity.js'
import { createMeshNode, type MeshNode } from '../../../src/adapters/libp2p/node.js'
import { createLibp2p, multiaddr, noise, tcp, yamux } from '../../../src/adapters/libp2p/vendor.js'
import { connect, LOOPBACK, startNode, stopAll, type TestNode } from './helpers.js'

const DIAL_TIMEOUT_MS = 1_000

/** A node configured as releases before the prologue were: pnet (xsalsa20) under plain noise. */
async function startPnetEraNode(secret: Uint8Array): Promise<MeshNode> {
  const node = await createLibp2p({
    privateKey: identityKey(await generateIdentity()),
    addresses: { listen: [LOOPBACK] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk: secret }),
    connectionMonitor: { enabled: false },
  })
  await node.start()
  return node as unknown as MeshNode
}

/** A raw mesh node holding `secret` (our version's handshake), or none. */
async function startRawMember(secret: Uint8Array | undefined): Promise<MeshNode> {
  const node = await createMeshNode({
    privateKey: identityKey(await generateIdentity()),
    listen: [LOOPBACK],
    dialTimeoutMs: DIAL_TIMEOUT_MS,
    topicMessageMaxBytes: 1 << 20,
    ...(secret === undefined ? {} : { clusterSecret: secret }),
  })
  await node.start()
  return node
}

test('the prologue depends on the key alone: case and line endings of the file do not matter, another key differs', () => {
  const secret = generateClusterSecret()
  const text = new TextDecoder().decode(secret)
  const respelled = new TextEncoder().encode(`${text.replace(/\n/g, '\r\n').replace(/[0-9a-f]{64}/, (hex) => hex.toUpperCase())}\n`)
  assert.deepEqual(clusterPrologue(respelled), clusterPrologue(secret))
  assert.equal(clusterPrologue(secret).length, 32)
  assert.notDeepEqual(clusterPrologue(generateClusterSecret()), clusterPrologue(secret))
  assert.ok(!Buffer.from(clusterPrologue(secret)).toString('hex').includes(text.slice(-64, -32)), 'the prologue is not the key')
})

test('strangers without the secret get no connection and no byte to a handler, whichever side dials', async () => {
  const secret = generateClusterSecret()
  const member = await startNode({ clusterSecret: secret, dialTimeoutMs: DIAL_TIMEOUT_MS })
  const friend = await startNode({ clusterSecret: secret, dialTimeoutMs: DIAL_TIMEOUT_MS })
  const received: string[] = []
  member.net.handle('/t/secret', (from) => void received.push(from))
  const strangers: Array<[string, MeshNode]> = [
    ['no secret', await startRawMember(undefined)],
    ['another secret', await startRawMember(generateClusterSecret())],
    ['pnet era, same secret', await startPnetEraNode(secret)],
  ]
  try {
    for (const [what, raw] of strangers) {
      await assert.rejects(raw.dialProtocol(multiaddr(member.net.addresses()[0]!), MESH_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }), (error: Error) => {
        // libp2p's handshake or negotiation failure, or the timeout; never a stream.
        assert.match(
          `${error.name}: ${error.message}`,
          /Encryption|handshake|Timeout|abort|multistream|Unexpected end|reset/i,
          `${what} -> member: ${error.name}: ${error.message}`,
        )
        return true
      })
      await assert.rejects(member.net.dial(raw.getMultiaddrs()[0]!.toString()), (error: Error) => {
        assert.ok(['DialFailedError', 'DialTimeoutError'].includes(error.name), `member -> ${what}: ${error.name}: ${error.message}`)
        return true
      })
      assert.equal(raw.getConnections().length, 0, `${what} kept a connection`)
    }
    await connect(friend.net, member.net)
    assert.ok(friend.net.send(member.net.self, '/t/secret', new Uint8Array([1])))
    const deadline = Date.now() + 5_000
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.deepEqual(received, [friend.net.self], 'only the member holding the secret reached the handler')
    assert.deepEqual(member.net.peers(), [friend.net.self])
  } finally {
    await Promise.allSettled(strangers.map(async ([, raw]) => raw.stop()))
    await stopAll([member, friend])
  }
})

test('a peer of the pnet era holding the same secret is refused with the secret warning, not in silence', async () => {
  const secret = generateClusterSecret()
  const member: TestNode = await startNode({ clusterSecret: secret, dialTimeoutMs: DIAL_TIMEOUT_MS })
  const old = await startPnetEraNode(secret)
  const warnings = (): number => member.logger.records.filter((r) => r.level === 'warn' && r.message.includes('cluster secret')).length
  try {
    for (let i = 0; i < 5 && warnings() === 0; i++) await member.net.dial(old.getMultiaddrs()[0]!.toString()).catch(() => undefined)
    assert.equal(warnings(), 1)
  } finally {
    await old.stop()
    await stopAll([member])
  }
})

test('a raw node of this version holding the secret connects (the prologue, not the binding, admits it)', async () => {
  const secret = generateClusterSecret()
  const member = await startNode({ clusterSecret: secret, dialTimeoutMs: DIAL_TIMEOUT_MS })
  const raw = await startRawMember(secret)
  try {
    const stream = await raw.dialProtocol(multiaddr(member.net.addresses()[0]!), MESH_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    assert.equal(stream.protocol, MESH_PROTOCOL)
  } finally {
    await raw.stop()
    await stopAll([member])
  }
})
