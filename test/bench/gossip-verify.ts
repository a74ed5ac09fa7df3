/**
 * Ed25519 verifications per gossip message delivered (issue 15): NODES real libp2p nodes on loopback,
 * all connected to each other and subscribed to one topic, each publishing MESSAGES records (as
 * members gossip theirs). Gossipsub verifies a message before its seen-cache check unless it has a
 * fast message id, so without one every relayed copy costs a verification (about NODES-1 per
 * delivery); with the signature as fast id (src/adapters/libp2p/node.ts) it should be 1.
 * Verifications are counted by wrapping node:crypto's verify in this process. Options
 * (environment): NODES (4), MESSAGES (50 per node).
 */
import crypto from 'node:crypto'
import { connect, sleep, startNode, stopAll, type TestNode } from '../adapters/libp2p/helpers.js'

const NODES = Number(process.env.NODES ?? 4)
const MESSAGES = Number(process.env.MESSAGES ?? 50)

let verifies = 0
const verify = crypto.verify.bind(crypto)
// Counting only: every call goes through to the real verification.
;(crypto as { verify: typeof crypto.verify }).verify = ((...args: Parameters<typeof crypto.verify>) => {
  verifies++
  return verify(...args)
}) as typeof crypto.verify

const nodes: TestNode[] = []
try {
  for (let i = 0; i < NODES; i++) nodes.push(await startNode())
  for (let i = 0; i < NODES; i++) for (let j = i + 1; j < NODES; j++) await connect(nodes[i]!.net, nodes[j]!.net)
  let delivered = 0
  for (const n of nodes) n.net.subscribe('records', () => delivered++)
  await sleep(3000)
  verifies = 0
  delivered = 0
  for (let r = 0; r < MESSAGES; r++) {
    for (const n of nodes) n.net.publish('records', new TextEncoder().encode(`record ${r}`))
    await sleep(50)
  }
  await sleep(2000)
  const expected = NODES * MESSAGES * (NODES - 1)
  console.error(`${verifies} verifications for ${delivered} deliveries (expected ${expected} deliveries)`)
  console.log(
    JSON.stringify({
      bench: 'gossip-verify',
      nodes: NODES,
      published: NODES * MESSAGES,
      delivered,
      verifications: verifies,
      per_delivery: Math.round((verifies / delivered) * 100) / 100,
    }),
  )
} finally {
  await stopAll(nodes)
}
