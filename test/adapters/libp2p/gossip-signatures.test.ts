// Goal: gossipsub's duplicate shortcut (a relayed copy of a verified message is dropped without
// verifying its signature again) keeps authentication by sender: a record whose content was altered
// under a genuine signature, or signed by another key than its claimed author's, is refused whether
// it arrives before or after the genuine one, and never keeps the genuine one out.
// Method: a real mesh node (createMeshNode, our gossipsub options) subscribed to a topic is handed
// signed RPC messages built here, through gossipsub's own receive path, as a relaying peer's would.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RPC } from '@chainsafe/libp2p-gossipsub/message'
import type { Message, PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { generateIdentity, identityKey } from '../../../src/adapters/libp2p/identity.js'
import { createMeshNode, signatureId } from '../../../src/adapters/libp2p/node.js'
import { LOOPBACK } from './helpers.js'

const TOPIC = 'records'

/** The part of gossipsub used here; handleReceivedMessage is its entry for every message a peer relays (private in its types). */
interface Receiver {
  subscribe(topic: string): void
  addEventListener(type: 'message', listener: (e: CustomEvent<Message>) => void): void
  handleReceivedMessage(from: PeerId, message: RPC.Message): Promise<void>
}

/** A message signed as gossipsub signs it ("libp2p-pubsub:" + the protobuf without signature and key). */
async function signed(key: PrivateKey, author: PeerId, data: string, seq: number): Promise<RPC.Message> {
  const seqno = new Uint8Array(8)
  new DataView(seqno.buffer).setBigUint64(0, BigInt(seq))
  const unsigned = { from: author.toMultihash().bytes, data: new TextEncoder().encode(data), seqno, topic: TOPIC }
  const bytes = new Uint8Array([...new TextEncoder().encode('libp2p-pubsub:'), ...RPC.Message.encode(unsigned)])
  return { ...unsigned, signature: await key.sign(bytes), key: publicKeyToProtobuf(key.publicKey) }
}

test('copies of a verified message are dropped unverified, while altered and wrongly signed ones are refused in any order', async () => {
  const node = await createMeshNode({ privateKey: identityKey(await generateIdentity()), listen: [LOOPBACK], dialTimeoutMs: 2_000, topicMessageMaxBytes: 65_536 })
  await node.start()
  try {
    const pubsub = node.services.pubsub as unknown as Receiver
    const delivered: string[] = []
    pubsub.addEventListener('message', (e: CustomEvent<Message>) => delivered.push(new TextDecoder().decode(e.detail.data)))
    pubsub.subscribe(TOPIC)
    const authorKey = identityKey(await generateIdentity())
    const author = peerIdFromPrivateKey(authorKey)
    const otherKey = identityKey(await generateIdentity())
    const receive = (m: RPC.Message): Promise<void> => pubsub.handleReceivedMessage(author, m)

    const first = await signed(authorKey, author, 'first', 1)
    await receive(first)
    // Relayed copies (same bytes) and an altered copy under the genuine signature: none delivered.
    await receive({ ...first })
    await receive({ ...first, data: new TextEncoder().encode('altered after') })
    assert.deepEqual(delivered, ['first'])

    // An altered copy arriving before the genuine message is refused and does not shadow it.
    const second = await signed(authorKey, author, 'second', 2)
    await receive({ ...second, data: new TextEncoder().encode('altered before') })
    await receive(second)
    await receive(second)
    assert.deepEqual(delivered, ['first', 'second'])

    // Signed by another key than the claimed author's (with or without that key attached): refused.
    const forged = await signed(otherKey, author, 'forged', 3)
    await receive(forged)
    await receive({ ...forged, key: publicKeyToProtobuf(authorKey.publicKey) })
    assert.deepEqual(delivered, ['first', 'second'])
    // The genuine message of that sequence number still gets through.
    await receive(await signed(authorKey, author, 'third', 3))
    assert.deepEqual(delivered, ['first', 'second', 'third'])
  } finally {
    await node.stop()
  }
})

test('the fast message id is the signature: equal for copies, different for other signatures, empty without one', () => {
  const a = new Uint8Array(64).fill(1)
  const b = new Uint8Array(64).fill(1)
  b[63] = 2
  assert.equal(signatureId({ signature: a }), signatureId({ signature: new Uint8Array(a) }))
  assert.notEqual(signatureId({ signature: a }), signatureId({ signature: b }))
  // A view into a larger buffer identifies only its own bytes.
  const big = new Uint8Array(200).fill(9)
  big.set(a, 50)
  assert.equal(signatureId({ signature: big.subarray(50, 114) }), signatureId({ signature: a }))
  assert.equal(signatureId({}), '')
})
