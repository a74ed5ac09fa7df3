/**
 * Helpers for the libp2p binding's tests: real nodes on 127.0.0.1 with in-memory logs and metrics,
 * polling waits on real time, and a cluster for the Network port's compliance suite.
 */
import { MESH_PROTOCOL } from '../../../src/adapters/libp2p/constants.js'
import { generateIdentity, identityKey } from '../../../src/adapters/libp2p/identity.js'
import { createLibp2pNetwork, type Libp2pNetwork, type Libp2pNetworkInit } from '../../../src/adapters/libp2p/index.js'
import { createMeshNode, type MeshNode } from '../../../src/adapters/libp2p/node.js'
import { MemoryLogger } from '../../../src/env/logger.js'
import { MemoryMetrics } from '../../../src/env/metrics.js'
import { realEnvironment } from '../../../src/env/real.js'
import type { Environment } from '../../../src/env/types.js'
import type { Network } from '../../../src/net/types.js'
import type { NetworkCluster } from '../../net/network.suite.js'

export const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

/** A libp2p stream, named through the node type so tests import no libp2p package. */
type MeshStream = Awaited<ReturnType<MeshNode['dialProtocol']>>

/** A started network with the environment it runs on. */
export interface TestNode {
  readonly net: Libp2pNetwork
  readonly metrics: MemoryMetrics
  readonly logger: MemoryLogger
  readonly env: Environment
}

/** A real environment whose logs and metrics stay in memory. */
export function testEnvironment(): { env: Environment; metrics: MemoryMetrics; logger: MemoryLogger } {
  const metrics = new MemoryMetrics()
  const logger = new MemoryLogger()
  return { env: { ...realEnvironment({ metrics }), logger }, metrics, logger }
}

/** Creates and starts a network on loopback; `init` overrides the defaults. */
export async function startNode(init: Partial<Libp2pNetworkInit> = {}): Promise<TestNode> {
  const { env, metrics, logger } = testEnvironment()
  const net = await createLibp2pNetwork({ env, listen: [LOOPBACK], dialTimeoutMs: 2_000, ...init })
  await net.start()
  return { net, metrics, logger, env }
}

/** Polls `condition` every few milliseconds; rejects naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Dials b from a and waits until both sides list each other. */
export async function connect(a: Network, b: Network): Promise<void> {
  await a.dial(b.addresses()[0]!)
  await waitFor(() => a.peers().includes(b.self) && b.peers().includes(a.self), `${a.self} <-> ${b.self}`)
}

/** Stops every node given, even when some stops fail. */
export async function stopAll(nodes: Iterable<{ net: Libp2pNetwork } | Libp2pNetwork>): Promise<void> {
  const results = await Promise.allSettled([...nodes].map((n) => ('net' in n ? n.net : n).stop()))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
}

/** A fully connected cluster of libp2p networks for the compliance suite. */
export async function libp2pCluster(size: number): Promise<NetworkCluster> {
  const all: Libp2pNetwork[] = []
  const nodes: Libp2pNetwork[] = []
  const add = async (): Promise<Libp2pNetwork> => {
    const { net } = await startNode()
    all.push(net)
    return net
  }
  try {
    for (let i = 0; i < size; i++) nodes.push(await add())
    for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) await connect(nodes[i]!, nodes[j]!)
  } catch (error) {
    await stopAll(all)
    throw error
  }
  return {
    nodes,
    addNode: add,
    removeNode: (node) => (node as Libp2pNetwork).stop(),
    waitFor,
    idle: sleep,
    close: () => stopAll(all),
  }
}

/** The current value of a metric of `node` (0 when never set). */
export function metric(node: TestNode, name: string, labels?: Record<string, string>): number {
  return node.metrics.read(name, labels) ?? 0
}

/** A bare libp2p node of the mesh's configuration, without the network binding on top. */
export async function startRawNode(init: { clusterSecret?: Uint8Array } = {}): Promise<MeshNode> {
  const node = await createMeshNode({
    privateKey: identityKey(await generateIdentity()),
    listen: [LOOPBACK],
    dialTimeoutMs: 2_000,
    topicMessageMaxBytes: 1 << 20,
    ...init,
  })
  await node.start()
  return node
}

/** Counts the mesh streams a raw node ran, and those the other side closed. */
export interface StreamLog {
  opened: number
  closed: number
}

/**
 * Makes a raw node speak the mesh protocol badly: on every mesh stream, whichever side opened it,
 * it writes `bytes` (or nothing, to stay silent) and then reads until the other side closes.
 */
export function misbehave(raw: MeshNode, bytes: Uint8Array | undefined): StreamLog {
  const log: StreamLog = { opened: 0, closed: 0 }
  const run = async (stream: MeshStream): Promise<void> => {
    log.opened++
    if (bytes !== undefined) stream.sink([bytes]).catch(() => undefined)
    try {
      for await (const _chunk of stream.source) {
        // Whatever the binding sends is irrelevant here; only the end of the stream matters.
      }
    } catch {
      // A reset is one way the binding closes the stream.
    }
    log.closed++
  }
  const fail = (): void => undefined
  void raw.handle(MESH_PROTOCOL, ({ stream }) => void run(stream)).catch(fail)
  raw.addEventListener('peer:connect', (event) => {
    void raw.dialProtocol(event.detail, MESH_PROTOCOL).then(run, fail)
  })
  return log
}
