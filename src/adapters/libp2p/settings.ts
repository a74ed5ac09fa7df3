/**
 * The options of the libp2p network binding: defaults from constants.ts, and the checks that make a
 * bad setting fail at creation (InvalidArgumentError naming it) rather than as a stalled or
 * deadlocked channel later.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Environment } from '../../env/types.js'
import { InvalidArgumentError } from '../../errors.js'
import type { NodeId } from '../../net/types.js'
import { validBackoff } from '../../util/backoff.js'
import * as C from './constants.js'
import { DATA_HEADER_BYTES, PROTOCOL_NAME_MAX_BYTES } from './framing.js'
import type { ChannelLimits } from './peer-channel.js'
import type { RedialPolicy } from './reconnect.js'
import { multiaddr } from './vendor.js'

/** Options of the libp2p network; every limit defaults to a constant in constants.ts. */
export interface Libp2pNetworkInit {
  env: Environment
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001` or `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /** Multiaddrs with `/p2p/<id>` dialed at start and redialed forever while disconnected. */
  bootstrap?: string[]
  /** Cluster secret (swarm.key v1 bytes, see generateClusterSecret), bound into noise; peers without it cannot connect. */
  clusterSecret?: Uint8Array
  /** Serialized private key (see generateIdentity) so the node id survives restarts; random when absent. */
  identity?: Uint8Array
  /** Largest message `send` and `publish` accept, and (plus a header) the largest frame accepted from a peer. */
  maxPayloadBytes?: number
  /** Bytes queued per peer beyond its credit before `send` refuses; at least two maximal frames. */
  outboundQueueMaxBytes?: number
  /** Bytes each peer may send us ahead of our handlers; at least two maximal frames. */
  receiveWindowBytes?: number
  /** Bound on `dial`, each redial attempt and opening a mesh stream. */
  dialTimeoutMs?: number
  /** Idle time after which a channel sends a keepalive frame. */
  keepaliveIntervalMs?: number
  /** Silence after which a peer is judged dead and its channel closed; at least twice the keepalive interval. */
  idleTimeoutMs?: number
  /** Redial backoff of lost peers. */
  redial?: Partial<Omit<RedialPolicy, 'maxKnownPeers' | 'aloneMaxMs'>>
}

/** Every setting, defaults applied and checked. */
export interface Settings {
  readonly limits: ChannelLimits
  readonly dialTimeoutMs: number
  readonly keepaliveIntervalMs: number
  readonly idleTimeoutMs: number
  readonly redial: RedialPolicy
}

/** Applies defaults and checks every setting; throws InvalidArgumentError naming the bad one. */
export function settingsOf(init: Libp2pNetworkInit): Settings {
  const maxPayloadBytes = init.maxPayloadBytes ?? C.DEFAULT_MAX_PAYLOAD_BYTES
  // The largest frame is a DATA frame at the payload limit or a BIND frame with the longest name.
  const frameMaxBytes = DATA_HEADER_BYTES + Math.max(maxPayloadBytes, PROTOCOL_NAME_MAX_BYTES)
  const settings: Settings = {
    limits: {
      maxPayloadBytes,
      frameMaxBytes,
      outboundQueueMaxBytes: init.outboundQueueMaxBytes ?? C.DEFAULT_OUTBOUND_QUEUE_MAX_BYTES,
      receiveWindowBytes: init.receiveWindowBytes ?? C.DEFAULT_RECEIVE_WINDOW_BYTES,
      slabBytes: C.OUTBOUND_SLAB_BYTES,
    },
    dialTimeoutMs: init.dialTimeoutMs ?? C.DEFAULT_DIAL_TIMEOUT_MS,
    keepaliveIntervalMs: init.keepaliveIntervalMs ?? C.DEFAULT_KEEPALIVE_INTERVAL_MS,
    idleTimeoutMs: init.idleTimeoutMs ?? C.DEFAULT_IDLE_TIMEOUT_MS,
    redial: {
      minMs: init.redial?.minMs ?? C.DEFAULT_REDIAL_MIN_MS,
      maxMs: init.redial?.maxMs ?? C.DEFAULT_REDIAL_MAX_MS,
      factor: init.redial?.factor ?? C.DEFAULT_REDIAL_FACTOR,
      jitter: init.redial?.jitter ?? C.DEFAULT_REDIAL_JITTER,
      maxAttempts: init.redial?.maxAttempts ?? C.DEFAULT_REDIAL_MAX_ATTEMPTS,
      maxRefused: init.redial?.maxRefused ?? C.DEFAULT_REDIAL_MAX_ATTEMPTS,
      stableMs: init.redial?.stableMs ?? C.CHANNEL_STABLE_MS,
      maxKnownPeers: C.MAX_KNOWN_PEERS,
      aloneMaxMs: C.REDIAL_ALONE_MAX_MS,
    },
  }
  const { limits } = settings
  check(init.listen.length > 0, 'listen needs at least one multiaddr')
  check(Number.isInteger(maxPayloadBytes) && maxPayloadBytes >= 0 && frameMaxBytes <= 0xffffffff, `maxPayloadBytes out of range: ${maxPayloadBytes}`)
  check(Number.isInteger(limits.outboundQueueMaxBytes) && limits.outboundQueueMaxBytes >= frameMaxBytes * 2, 'outboundQueueMaxBytes must hold two maximal frames')
  check(
    Number.isInteger(limits.receiveWindowBytes) && limits.receiveWindowBytes >= frameMaxBytes * 2 && limits.receiveWindowBytes <= 0xffffffff,
    'receiveWindowBytes must hold two maximal frames',
  )
  check(settings.dialTimeoutMs > 0, 'dialTimeoutMs must be positive')
  check(settings.keepaliveIntervalMs > 0 && settings.idleTimeoutMs >= 2 * settings.keepaliveIntervalMs, 'idleTimeoutMs must be at least twice keepaliveIntervalMs')
  check(validBackoff(settings.redial) && settings.redial.maxAttempts >= 1 && settings.redial.maxRefused >= 1, 'redial backoff settings are invalid')
  return settings
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new InvalidArgumentError(message)
}

export function parseAddress(address: string): Multiaddr {
  try {
    return multiaddr(address)
  } catch (error) {
    throw new InvalidArgumentError(`not a multiaddr: ${JSON.stringify(address)}`, { cause: error })
  }
}

export function parseBootstrap(address: string): { peer: NodeId; address: Multiaddr } {
  const parsed = parseAddress(address)
  const peer = parsed.getPeerId()
  if (peer === null) throw new InvalidArgumentError(`bootstrap address without /p2p/<id>: ${address}`)
  return { peer, address: parsed }
}
