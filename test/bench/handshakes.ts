/**
 * CPU per connection, both sides in one process: a listener and DIALERS mesh nodes built as a peer
 * builds them (src/adapters/libp2p/node.ts: noise with the cluster prologue, yamux, identify,
 * gossipsub subscribed to one topic); each dialer connects once, and the process's CPU from the
 * first dial until the streams settle, less the same nodes' idle CPU over as long, is divided by
 * the connections. Rounds alternate noise's crypto: the package's own (A) and ours, with key
 * objects imported once (B, src/adapters/libp2p/noise-crypto.ts), after one uncounted warm-up round
 * of each; the ratio is the median of the rounds' B/A. Options (environment): DIALERS (30), ROUNDS
 * (5 of each), SETTLE_MS (1500).
 */
import { generateClusterSecret, generateIdentity, identityKey } from '../../src/adapters/libp2p/identity.js'
import { createMeshNode, type MeshNode } from '../../src/adapters/libp2p/node.js'
import { defaultNoiseCrypto, type NoiseCrypto } from '../../src/adapters/libp2p/vendor.js'
import { fastNoiseCrypto } from '../../src/adapters/libp2p/noise-crypto.js'

const DIALERS = Number(process.env.DIALERS ?? 30)
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 1500)
const secret = generateClusterSecret()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

async function node(crypto: NoiseCrypto): Promise<MeshNode> {
  const n = await createMeshNode({
    privateKey: identityKey(await generateIdentity()),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    clusterSecret: secret,
    dialTimeoutMs: 10_000,
    topicMessageMaxBytes: 1 << 16,
    noiseCrypto: crypto,
  })
  await n.start()
  n.services.pubsub.subscribe('records')
  return n
}

/** Milliseconds of CPU per connection with `crypto` on every node. */
async function round(crypto: NoiseCrypto): Promise<number> {
  const listener = await node(crypto)
  const dialers: MeshNode[] = []
  for (let i = 0; i < DIALERS; i++) dialers.push(await node(crypto))
  try {
    await sleep(SETTLE_MS)
    const idleFrom = process.cpuUsage()
    await sleep(SETTLE_MS)
    const idle = cpuMs(idleFrom)
    const from = process.cpuUsage()
    for (const d of dialers) await d.dial(listener.getMultiaddrs()[0]!)
    await sleep(SETTLE_MS)
    return (cpuMs(from) - idle) / DIALERS
  } finally {
    await Promise.all([listener, ...dialers].map(async (n) => n.stop()))
  }
}

// A round of each first, not counted: the first rounds also compile what every handshake runs.
await round(defaultNoiseCrypto)
await round(fastNoiseCrypto())
const a: number[] = []
const b: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  a.push(await round(defaultNoiseCrypto))
  b.push(await round(fastNoiseCrypto()))
  console.error(`round ${r + 1}: package ${a.at(-1)!.toFixed(1)} ms, ours ${b.at(-1)!.toFixed(1)} ms per connection`)
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
const round1 = (x: number): number => Math.round(x * 10) / 10
console.log(
  JSON.stringify({
    bench: 'handshakes',
    connections: DIALERS,
    rounds: ROUNDS,
    package_ms_per_connection: round1(median(a)),
    ours_ms_per_connection: round1(median(b)),
    ratio: Math.round(median(b.map((x, i) => x / a[i]!)) * 1000) / 1000,
  }),
)
