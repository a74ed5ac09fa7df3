/**
 * The libp2p binding of the Network port: the only part of DistributeX that imports libp2p, so a
 * move to another libp2p major touches this folder alone.
 *
 * @example
 * ```ts
 * const identity = await generateIdentity()          // store it: the node id stays the same across restarts
 * const clusterSecret = generateClusterSecret()      // share it: only holders can connect
 * const network = await createLibp2pNetwork({ env, identity, clusterSecret, listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap })
 * await network.start()
 * network.handle('/app/1', (from, payload) => console.log(from, payload.length))
 * const peer = await network.dial('/ip4/10.0.0.2/tcp/4001/p2p/12D3Koo...')
 * network.send(peer, '/app/1', new Uint8Array([1, 2, 3]))   // false: unreachable, queue full or too large
 * await network.stop()
 * ```
 */
import './polyfill.js'
export { createLibp2pNetwork, type Libp2pNetwork } from './network.js'
export type { Libp2pNetworkInit } from './settings.js'
export { generateClusterSecret, generateIdentity, nodeIdOf, CLUSTER_SECRET_BYTES } from './identity.js'
export {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_OUTBOUND_QUEUE_MAX_BYTES,
  DEFAULT_RECEIVE_WINDOW_BYTES,
  MESH_PROTOCOL,
} from './constants.js'
export { ChannelIdleError, ChannelReplacedError, DialFailedError, DialTimeoutError, MalformedFrameError, NetworkStateError, ProtocolViolationError } from './errors.js'
export type { RedialPolicy } from './reconnect.js'
