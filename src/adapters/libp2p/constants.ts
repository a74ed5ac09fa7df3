/**
 * Protocol ids and the defaults of the libp2p network binding. Every limit of the adapter has a
 * named default here; `Libp2pNetworkInit` can override each of them. Sizes are in bytes, durations
 * in milliseconds, and units come last in the names.
 */

/** The one libp2p protocol of direct messages; the port's logical protocols travel inside its frames. */
export const MESH_PROTOCOL = '/dx/mesh/1.0.0'

/** Prefix of the gossipsub topic that carries a port topic, so our topics never collide with others. */
export const TOPIC_PREFIX = '/dx/topic/1/'

/** Largest payload `send` and `publish` accept; equals the envelope codec's default limit. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

/** Bytes a peer may have queued for it beyond its credit before `send` refuses. */
export const DEFAULT_OUTBOUND_QUEUE_MAX_BYTES = 4 * 1024 * 1024

/**
 * Bytes a peer may write to us before we grant more credit. It bounds what a slow receiver lets
 * pile up inside libp2p for one peer, and must cover two maximum frames so credit never deadlocks.
 */
export const DEFAULT_RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * How long `dial`, a redial attempt, or opening the mesh stream may take. A dial abandoned in its
 * handshake is redone from the start, so on a slow host a short timeout multiplies the load that
 * made it slow: 49 peers joining one founder on two cores took 174 handshakes from it at 5 s (and
 * the founder lost its lead), 49 at 30. Longer than libp2p's inbound upgrade timeout (10 s), after
 * which the answering side gives up anyway; an unreachable host costs a dial this long.
 */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000

/**
 * A channel that has written nothing for this long sends a keepalive frame. Members' liveness is
 * SWIM's and the election's to judge; this only finds connections that died without a close (a
 * host gone, a cut), so it can be slow: at 5 s the keepalives of its 49 channels woke each of 50
 * peers 10 times a second.
 */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000

/** A channel that has read nothing (not even a keepalive) for this long is considered dead and closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 45_000

/** How long a hang-up waits for the peer to close its mesh stream after BYE before it closes the connection anyway. */
export const HANG_UP_WAIT_MS = 2_000

/** Redial backoff: first retry delay, cap, growth factor and jitter fraction. */
export const DEFAULT_REDIAL_MIN_MS = 200
export const DEFAULT_REDIAL_MAX_MS = 30_000
export const DEFAULT_REDIAL_FACTOR = 2
export const DEFAULT_REDIAL_JITTER = 0.2

/** Longest wait between redials of a bootstrap peer while no peer is connected (RedialPolicy.aloneMaxMs). */
export const REDIAL_ALONE_MAX_MS = 5_000

/** Failed redials after which a peer that is not a bootstrap peer is forgotten. */
export const DEFAULT_REDIAL_MAX_ATTEMPTS = 10

/** A channel that stayed open this long resets its peer's backoff, so old failures are forgiven. */
export const CHANNEL_STABLE_MS = 10_000

/** Peers remembered for redialing; bootstrap peers always fit, others are evicted oldest first. */
export const MAX_KNOWN_PEERS = 1024

/** Distinct logical protocols one side may bind on one mesh stream. */
export const MAX_PROTOCOLS_PER_CHANNEL = 1024

/** Size of the buffers outbound frames are written into (larger frames get their own buffer). */
export const OUTBOUND_SLAB_BYTES = 64 * 1024

/**
 * Gossipsub heartbeat. Publishing floods to every subscribed peer and subscriptions propagate at
 * once, so the heartbeat only repairs the mesh and emits gossip; 500 ms halves the default repair
 * delay at a cost that is negligible for the tens of peers and low-rate topics we run.
 */
export const GOSSIP_HEARTBEAT_MS = 500

/**
 * Gossipsub mesh degree. Publishing floods to every connected peer and the mesh relays on from
 * there, so a message reaches a node about once per mesh neighbour: the degree sets the duplicate
 * cost, and 3 keeps it low. The relays matter while members are not yet connected to each other
 * (joiners know only their bootstrap peer until the cluster actor has dialed the members it hears
 * of). The defaults (6/4/12) also exceed the peer count of small clusters, so nodes would keep
 * trying to graft peers that do not exist.
 */
export const GOSSIP_D = 3
export const GOSSIP_D_LOW = 2
export const GOSSIP_D_HIGH = 5
export const GOSSIP_D_LAZY = 3
export const GOSSIP_D_OUT = 1
export const GOSSIP_D_SCORE = 2

/**
 * Score thresholds far below anything the neutral score weights (node.ts) can produce: in a private,
 * authenticated cluster no admitted peer is ever cut off from gossip, publishing or the mesh. Peer
 * exchange and opportunistic grafting keep gossipsub's thresholds (10, 20), which a zero score never
 * reaches: the cluster actor chooses whom to dial, not prune messages.
 */
export const GOSSIP_SCORE_THRESHOLDS = { gossipThreshold: -1e9, publishThreshold: -2e9, graylistThreshold: -3e9, acceptPXThreshold: 10, opportunisticGraftThreshold: 20 }

/** Messages below this size are not announced with IDONTWANT: our records are far smaller. */
export const GOSSIP_IDONTWANT_MIN_BYTES = 64 * 1024

/** Inbound connections accepted per second from one IP: every peer on one host shares one. */
export const INBOUND_CONNECTIONS_PER_HOST_S = 1000

/** Inbound connections allowed to be in their handshake at once. */
export const MAX_INBOUND_PENDING = 256
