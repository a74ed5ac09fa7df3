/**
 * Builds the libp2p node under the network binding: TCP, noise, yamux, identify and gossipsub,
 * with the cluster secret bound into noise. The node is created stopped.
 *
 * Choices and why:
 * - The cluster secret is noise's prologue (identity.ts: clusterPrologue), not a private-network
 *   (pnet) protector under noise. pnet encrypted every byte a second time (xsalsa20 under noise's
 *   chacha20-poly1305) for a guarantee the prologue gives alone: a peer without the secret fails the
 *   handshake (its second or third message does not authenticate), so it never gets a connection,
 *   a stream or a byte to our protocols. What an active stranger still sees is what any noise peer
 *   sees before authentication: the multistream-select exchange and, when it dials us, our public
 *   key (peer id) in the second handshake message; pnet hid those too. Peers of the pnet era and
 *   peers of this version cannot connect to each other (each reads the other's first bytes as
 *   garbage; DialFailedError, and the network warns once about the secret): a cluster moves to this
 *   version all at once, like a change of secret.
 * - Noise imports each X25519 key once (noise-crypto.ts): the package imported both keys at every
 *   Diffie-Hellman, 10-23% of a connection's CPU.
 * - Yamux grants its receive window in halves (yamux-window.ts), as Go's yamux does, instead of
 *   after every read: each data frame received cost a window-update frame back, half of all noise
 *   messages under load.
 * - No connection monitor. Its ping shares the connection with our data and can sit behind megabytes
 *   of it, so a busy connection could be judged dead; liveness is judged by the mesh channels
 *   instead, on any byte received. Nothing reads its RTT estimates, and each ping (a new stream,
 *   protocol negotiation, close, both ways on every connection every 10 s) was 1% of an idle peer's
 *   busy time. Nor a ping service: nothing here pings, and loading it cost start-up CPU. A peer of
 *   an older version whose connection monitor pings this one takes "protocol not supported" as
 *   alive (libp2p's monitor does), so mixed versions keep their connections.
 * - No yamux keep-alive, for the same reason: its ping every 30 s on every connection (a frame each
 *   way, and a timer re-armed per connection) woke idle peers for nothing the mesh channels'
 *   keepalives do not already do, and it never closed a connection (yamux pings have no timeout).
 *   An older peer's pings are still answered.
 * - Gossipsub signs every message (StrictSign). Topics carry low-rate control traffic (membership,
 *   heartbeats, elections), where a verified origin matters more than the ~0.1 ms sign/verify cost:
 *   messages are relayed, so without signatures any member could claim to be any other. Signed
 *   messages also get unique ids (origin + sequence number), so equal payloads are not deduplicated.
 *   Gossipsub verifies a message before looking it up among those seen, so every relayed copy was
 *   verified again; `fastMsgIdFn` (signatureId) lets it drop copies of a verified message unverified.
 * - Publishing to a topic without peers is allowed (and lost), matching the port's at-most-once
 *   broadcast; the mesh degree suits small clusters (see constants.ts).
 * - Peer scoring is neutral. Gossipsub's defaults are for open networks: more than 10 connections
 *   from one IP (every peer of a cluster on one host, or behind one NAT) cost each peer -5 per extra
 *   peer squared, which drives them below the graylist threshold, and their messages are then
 *   ignored: clusters of 14 or more peers on one host never formed. Here every peer was admitted by
 *   the cluster secret and authenticated by noise, so colocation and behaviour are not evidence of
 *   an attack, and a score could only silence members the election needs to hear. The weights are
 *   zero and the thresholds far below any score a zero weight can produce, so no admitted peer is
 *   ever kept from gossip, publishing or the mesh.
 * - IDONTWANT only for large messages: our records are a few hundred bytes, so announcing "do not
 *   send me this" to every mesh peer on each one would cost as much as the duplicate it saves.
 * - The connection manager admits a burst of inbound connections from one host: its defaults (5 a
 *   second per IP, 10 handshakes pending) are for open networks, and refused peers back off
 *   exponentially, so 20 or 50 peers on one host (or behind one NAT) bootstrapping from one peer
 *   took minutes to connect.
 */
import './polyfill.js'
import type { GossipsubEvents, GossipsubOpts } from '@chainsafe/libp2p-gossipsub'
import type { ConnectionProtector, Libp2p, PrivateKey, PubSub } from '@libp2p/interface'
import { createLibp2p, gossipsub, identify, noise, StrictSign, tcp, yamux, type NoiseCrypto } from './vendor.js'
import { clusterPrologue } from './identity.js'
import { fastNoiseCrypto } from './noise-crypto.js'
import { coalescingConnection } from './coalesce.js'
import { lazyWindowMuxer } from './yamux-window.js'
import { gossipMetricsRegister, type GossipRpcStats } from './gossip-metrics.js'
import {
  GOSSIP_D,
  GOSSIP_D_HIGH,
  GOSSIP_D_LAZY,
  GOSSIP_D_LOW,
  GOSSIP_D_OUT,
  GOSSIP_D_SCORE,
  GOSSIP_HEARTBEAT_MS,
  GOSSIP_IDONTWANT_MIN_BYTES,
  GOSSIP_SCORE_THRESHOLDS,
  INBOUND_CONNECTIONS_PER_HOST_S,
  MAX_INBOUND_PENDING,
} from './constants.js'

/** The services every mesh node runs. */
export type MeshServices = {
  pubsub: PubSub<GossipsubEvents>
  identify: unknown
}

/** A libp2p node of the mesh. */
export type MeshNode = Libp2p<MeshServices>

/** What the node needs; validated by the caller. */
export interface MeshNodeInit {
  privateKey: PrivateKey
  listen: string[]
  /** swarm.key v1 bytes (checked); without it the node connects only to peers without one. */
  clusterSecret?: Uint8Array
  dialTimeoutMs: number
  /** Largest message gossipsub accepts from peers. */
  topicMessageMaxBytes: number
  /** Gossipsub's RPC traffic is added here, when given. */
  gossipStats?: GossipRpcStats
  /** Noise's crypto; default fastNoiseCrypto (the package's own for comparison: test/bench/handshakes.ts). */
  noiseCrypto?: NoiseCrypto
}

/**
 * The hook every raw connection passes through before encryption: write coalescing (coalesce.ts), so
 * that what noise and yamux write in one event-loop turn leaves in one socket write.
 */
function coalescingProtector(): ConnectionProtector {
  return { protect: async (connection) => coalescingConnection(connection) }
}

/**
 * Gossipsub's fast message id: the message's signature. A copy whose signature belongs to a message
 * already verified and delivered is dropped as a duplicate without verifying it again (with flood
 * publishing a member receives each record from several peers). Only verified messages enter that
 * cache, and a copy carrying a seen signature with other content is dropped, never delivered, so a
 * forged or altered message is refused as before and cannot keep the genuine one out.
 */
export function signatureId(message: { readonly signature?: Uint8Array }): string {
  const s = message.signature
  // Unsigned messages fail StrictSign validation, so they never enter the cache under this id.
  return s === undefined ? '' : Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('base64')
}

/** Creates a stopped libp2p node. */
export async function createMeshNode(init: MeshNodeInit): Promise<MeshNode> {
  const gossip: Partial<GossipsubOpts> = {
    globalSignaturePolicy: StrictSign,
    fastMsgIdFn: signatureId,
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    floodPublish: true,
    heartbeatInterval: GOSSIP_HEARTBEAT_MS,
    D: GOSSIP_D,
    Dlo: GOSSIP_D_LOW,
    Dhi: GOSSIP_D_HIGH,
    Dlazy: GOSSIP_D_LAZY,
    Dout: GOSSIP_D_OUT,
    Dscore: GOSSIP_D_SCORE,
    maxInboundDataLength: init.topicMessageMaxBytes,
    scoreParams: { IPColocationFactorWeight: 0, behaviourPenaltyWeight: 0, appSpecificWeight: 0 },
    scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
    idontwantMinDataSize: GOSSIP_IDONTWANT_MIN_BYTES,
    ...(init.gossipStats === undefined ? {} : { metricsRegister: gossipMetricsRegister(init.gossipStats), metricsTopicStrToLabel: new Map() }),
  }
  return createLibp2p<MeshServices>({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [
      noise({ crypto: init.noiseCrypto ?? fastNoiseCrypto(), ...(init.clusterSecret === undefined ? {} : { prologueBytes: clusterPrologue(init.clusterSecret) }) }),
    ],
    streamMuxers: [lazyWindowMuxer(yamux({ enableKeepAlive: false }))],
    connectionProtector: () => coalescingProtector(),
    connectionManager: { dialTimeout: init.dialTimeoutMs, inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_S, maxIncomingPendingConnections: MAX_INBOUND_PENDING },
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub(gossip),
    },
  })
}
