/**
 * The network port: how a node talks to other nodes. Production binds it to libp2p
 * (src/adapters/libp2p); the simulator binds it to a simulated network with faults. Everything
 * above it (remote actor messaging, membership, election) is our own code and runs in both.
 */
import type { NodeId } from '../../protocols/address.js'
import type { AbortOptions } from '../env/types.js'

export type { NodeId }

/** Receives one message: the sender and the payload bytes. */
export type MessageHandler = (from: NodeId, payload: Uint8Array) => void

/** Receives connection changes. */
export type PeerListener = (peer: NodeId, connected: boolean) => void

export interface Network {
  /** This node's id. */
  readonly self: NodeId

  /** Registers the handler of direct messages for `protocol` (one handler per protocol). */
  handle(protocol: string, handler: MessageHandler): void

  /** Removes the handler of `protocol`. */
  unhandle(protocol: string): void

  /**
   * Queues one message for `to` on `protocol`. While a connection lasts, messages to one peer on one
   * protocol arrive in order; when it breaks, messages in flight are lost. Returns false, sending
   * nothing, when the peer's outbound queue is full (flow control) or the peer cannot be reached.
   * The payload is copied before this returns: callers may reuse its buffer (remoting does).
   */
  send(to: NodeId, protocol: string, payload: Uint8Array): boolean

  /** Broadcasts `payload` to every node subscribed to `topic`: at most once, in no particular order. */
  publish(topic: string, payload: Uint8Array): void

  /** Delivers `topic` broadcasts from other nodes to `handler` (one handler per topic). */
  subscribe(topic: string, handler: MessageHandler): void

  /** Stops delivering `topic`. */
  unsubscribe(topic: string): void

  /** Nodes with a live connection to this one. */
  peers(): NodeId[]

  /** Calls `listener` when a connection to a peer opens or closes; returns an unsubscribe function. */
  onPeerChange(listener: PeerListener): () => void

  /** Connects to a node by address (a libp2p multiaddr in production) and resolves with its id. */
  dial(address: string, options?: AbortOptions): Promise<NodeId>

  /**
   * Closes every connection to `peer`, as a crash of either side would: both sides hear it lost
   * (onPeerChange) and either may dial again. Resolves once closed; nothing happens if none is open.
   */
  hangUp(peer: NodeId): Promise<void>

  /** Addresses other nodes can dial to reach this one. */
  addresses(): string[]
}
