// Goal: noise's crypto with cached X25519 key objects agrees with the package's own on every
// Diffie-Hellman, whichever side generated which key, for raw arrays and lists, and never answers
// with a stale key when a buffer is reused for other bytes; bad keys fail as the package's do; and
// a node using it completes handshakes with a node using the package's crypto, both ways.
// Method: the package's defaultCrypto as the oracle over random keys; real libp2p nodes on 127.0.0.1.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { generateClusterSecret, generateIdentity, identityKey } from '../../../src/adapters/libp2p/identity.js'
import { createMeshNode, type MeshNode } from '../../../src/adapters/libp2p/node.js'
import { fastNoiseCrypto } from '../../../src/adapters/libp2p/noise-crypto.js'
import { defaultNoiseCrypto, Uint8ArrayList, type NoiseCrypto } from '../../../src/adapters/libp2p/vendor.js'
import { LOOPBACK } from './helpers.js'

const hex = (b: Uint8Array | Uint8ArrayList): string => Buffer.from(b.subarray()).toString('hex')

test('shared keys equal the package crypto’s, whichever side made which key', () => {
  const fast = fastNoiseCrypto()
  for (let i = 0; i < 50; i++) {
    const ours = fast.generateX25519KeyPair()
    const theirs = defaultNoiseCrypto.generateX25519KeyPair()
    const expected = hex(defaultNoiseCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey))
    // Twice each: the second time from the cached key objects.
    for (let round = 0; round < 2; round++) {
      assert.equal(hex(fast.generateX25519SharedKey(ours.privateKey, theirs.publicKey)), expected)
      assert.equal(hex(defaultNoiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)), expected, 'our raw private key is the one the object holds')
      assert.equal(hex(fast.generateX25519SharedKey(theirs.privateKey, ours.publicKey)), expected, 'a private key it did not make')
    }
    const asLists = fast.generateX25519SharedKey(new Uint8ArrayList(ours.privateKey), new Uint8ArrayList(theirs.publicKey.subarray(0, 7), theirs.publicKey.subarray(7)))
    assert.equal(hex(asLists), expected, 'keys given as lists')
  }
})

test('a key pair from a seed is the package’s', () => {
  const fast = fastNoiseCrypto()
  const seed = randomBytes(32)
  const ours = fast.generateX25519KeyPairFromSeed(seed)
  const theirs = defaultNoiseCrypto.generateX25519KeyPairFromSeed(seed)
  assert.equal(hex(ours.publicKey), hex(theirs.publicKey))
  const peer = defaultNoiseCrypto.generateX25519KeyPair()
  assert.equal(hex(fast.generateX25519SharedKey(ours.privateKey, peer.publicKey)), hex(defaultNoiseCrypto.generateX25519SharedKey(peer.privateKey, theirs.publicKey)))
})

test('a buffer reused for another public key yields the DH with the new key, never a cached one', () => {
  const fast = fastNoiseCrypto()
  const ours = fast.generateX25519KeyPair()
  const buffer = new Uint8Array(32)
  for (let i = 0; i < 5; i++) {
    const peer = defaultNoiseCrypto.generateX25519KeyPair()
    buffer.set(peer.publicKey)
    assert.equal(hex(fast.generateX25519SharedKey(ours.privateKey, buffer)), hex(defaultNoiseCrypto.generateX25519SharedKey(peer.privateKey, ours.publicKey)))
  }
  // More remote keys than the cache holds: still right after it is cleared.
  for (let i = 0; i < 300; i++) fast.generateX25519SharedKey(ours.privateKey, defaultNoiseCrypto.generateX25519KeyPair().publicKey)
  const last = defaultNoiseCrypto.generateX25519KeyPair()
  assert.equal(hex(fast.generateX25519SharedKey(ours.privateKey, last.publicKey)), hex(defaultNoiseCrypto.generateX25519SharedKey(last.privateKey, ours.publicKey)))
})

test('bad keys fail as they do with the package crypto', () => {
  const fast = fastNoiseCrypto()
  const ours = fast.generateX25519KeyPair()
  assert.throws(() => fast.generateX25519SharedKey(ours.privateKey, new Uint8Array(31)))
  assert.throws(() => defaultNoiseCrypto.generateX25519SharedKey(ours.privateKey, new Uint8Array(31)))
  assert.throws(() => fast.generateX25519SharedKey(new Uint8Array(16), ours.publicKey), { name: 'AssertionFailure', message: /an X25519 private key of 16 bytes/ })
})

test('a node with this crypto and a node with the package’s complete handshakes both ways', async (t) => {
  const secret = generateClusterSecret()
  const nodes: MeshNode[] = []
  t.after(() => Promise.all(nodes.map(async (n) => n.stop())))
  const start = async (noiseCrypto?: NoiseCrypto): Promise<MeshNode> => {
    const init = { privateKey: identityKey(await generateIdentity()), listen: [LOOPBACK], dialTimeoutMs: 5000, topicMessageMaxBytes: 1 << 20, clusterSecret: secret }
    const node = await createMeshNode(noiseCrypto === undefined ? init : { ...init, noiseCrypto })
    await node.start()
    nodes.push(node)
    return node
  }
  const ours = await start()
  const theirs = await start(defaultNoiseCrypto)
  const inbound = await theirs.dial(ours.getMultiaddrs()[0]!)
  assert.equal(inbound.status, 'open')
  await theirs.hangUp(ours.peerId)
  const outbound = await ours.dial(theirs.getMultiaddrs()[0]!)
  assert.equal(outbound.status, 'open')
  assert.equal(outbound.remotePeer.toString(), theirs.peerId.toString())
})
