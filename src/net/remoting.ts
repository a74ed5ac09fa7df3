/**
 * Remote actor messaging: carries tells, asks and their replies between actor systems over the
 * network port, so `ref.tell` and `ref.ask` work the same for actors on other nodes.
 *
 * Each message is one envelope (protocols/envelope) sent on ACTOR_PROTOCOL. An ask gets a request id
 * that is unique on this node; the reply or failure carries it back. Guarantees and failure modes:
 * - a tell is at most once: undeliverable tells become dead letters (`unreachable`) here, or
 *   dead letters on the receiving node;
 * - an ask settles exactly once: with the reply, the remote handler's error (a RemoteError with the
 *   original name and code), NodeUnreachableError when the message cannot be sent or the connection
 *   to the node closes while waiting, or AskTimeoutError;
 * - input from peers is never trusted: undecodable frames and replies from the wrong node are
 *   dropped and counted, and a reply is not sent after the asker's deadline has passed;
 * - every tell and ask carries the sending node as the network port authenticated it (never a field
 *   of the envelope), and the target actor's remote policy decides whether it may enter the mailbox;
 * - watches cross nodes as watch, unwatch and terminated envelopes (src/actor/remote-watch.ts); a
 *   closed connection ends every watch of that node's actors with `unreachable`. A watch reveals
 *   only when an actor ends, so any peer may hold one, up to a bound per peer.
 */
import { formatAddress, type ActorAddress } from '../actor/address.js'
import { PendingAsk, type ReplyTarget } from '../actor/reply.js'
import { deliverFromNode, nodeDownFor, watchesWithNode, watchFromNode, type ActorSystem, type RemoteDelivery } from '../actor/system.js'
import type { WatchControl } from '../actor/remote-watch.js'
import { fromWireError, NodeUnreachableError, toError, toWireError } from '../errors.js'
import { EnvelopeCodec, type Envelope } from '../../protocols/envelope/index.js'
import { ProtocolError, WIRE_ERROR_MESSAGE_MAX_CHARS } from '../../protocols/errors.js'
import type { Network, NodeId } from './types.js'

/** The network protocol id of actor envelopes, in the style of every protocol id: `/dx/<name>/<semver>`. */
export const ACTOR_PROTOCOL = '/dx/actor/1.0.0'

/** Options of remote messaging. */
export interface RemoteMessagingInit {
  codec?: EnvelopeCodec
  /**
   * Called when a message found no connection to `node`: while a cluster forms, its members dial
   * the rest of the mesh slowly (src/cluster/dials.ts), so the node's cluster actor dials it now,
   * and a retry of the message (an unsent NodeUnreachableError is retriable) goes through once it is up.
   */
  connect?: (node: NodeId) => void
  /**
   * Paths of actors whose messages go to whichever peers are connected (the receptionist's
   * digests): they follow the links rather than need them, so they do not count as use (`takeActive`).
   */
  ambientPaths?: readonly string[]
}

interface Outstanding {
  readonly node: NodeId
  readonly pending: PendingAsk
}

export class RemoteMessaging implements RemoteDelivery {
  private readonly codec: EnvelopeCodec
  private readonly connect: ((node: NodeId) => void) | undefined
  private readonly outstanding = new Map<number, Outstanding>()
  private nextId = 1
  private invalidFrames = 0
  private misrouted = 0
  private lateReplies = 0
  private unsubscribePeers: (() => void) | undefined = undefined
  /** Nodes an envelope went to or came from since the last `takeActive` (ambientPaths aside). */
  private active = new Set<NodeId>()
  private readonly ambient: ReadonlySet<string>

  constructor(
    readonly system: ActorSystem,
    readonly network: Network,
    init: RemoteMessagingInit = {},
  ) {
    this.codec = init.codec ?? new EnvelopeCodec()
    this.connect = init.connect
    this.ambient = new Set(init.ambientPaths)
    const metrics = system.env.metrics
    metrics.counter('dx_remote_invalid_frames_total', 'Actor frames from peers that failed to decode', [], (set) => set(this.invalidFrames))
    metrics.counter('dx_remote_misrouted_total', 'Actor frames for another node or an unknown request', [], (set) => set(this.misrouted))
    metrics.counter('dx_remote_late_replies_total', 'Replies not sent because the asker had given up', [], (set) => set(this.lateReplies))
    metrics.gauge('dx_remote_outstanding_asks', 'Asks waiting for a reply from another node', [], (set) => set(this.outstanding.size))
  }

  /** Starts receiving envelopes and routing remote sends of the system through the network. */
  start(): void {
    this.network.handle(ACTOR_PROTOCOL, (from, payload) => this.receive(from, payload))
    this.unsubscribePeers = this.network.onPeerChange((peer, connected) => {
      if (connected) return
      this.failOutstanding(peer, 'connection closed')
      nodeDownFor(this.system, peer)
    })
    this.system.attachRemote(this)
  }

  /** Stops receiving; asks still waiting for another node fail with NodeUnreachableError. */
  stop(): void {
    this.network.unhandle(ACTOR_PROTOCOL)
    this.unsubscribePeers?.()
    for (const { node } of [...this.outstanding.values()]) this.failOutstanding(node, 'remote messaging stopped')
  }

  send(to: ActorAddress, message: unknown, reply: ReplyTarget | undefined): void {
    if (reply !== undefined && !(reply instanceof PendingAsk)) {
      reply.reject(new NodeUnreachableError(to.node, 'only asks created on this node can travel', true))
      return
    }
    const id = reply === undefined ? 0 : this.nextId++
    const envelope: Envelope = reply === undefined ? { kind: 'tell', to, body: message } : { kind: 'ask', to, body: message, id, timeoutMs: reply.timeoutMs }
    let bytes: Uint8Array
    try {
      // Network.send copies the bytes, so the codec's reusable buffer is enough.
      bytes = this.codec.encodeTransient(envelope)
    } catch (error) {
      this.system.deadLetters.publish(formatAddress(to), message, 'unreachable')
      reply?.reject(toError(error))
      return
    }
    if (!this.network.send(to.node, ACTOR_PROTOCOL, bytes)) {
      if (this.connect !== undefined && !this.network.peers().includes(to.node)) this.connect(to.node)
      this.system.deadLetters.publish(formatAddress(to), message, 'unreachable')
      reply?.reject(new NodeUnreachableError(to.node, 'not connected, or its outbound queue is full', true))
      return
    }
    if (!this.ambient.has(to.path)) this.active.add(to.node)
    if (reply === undefined) return
    this.outstanding.set(id, { node: to.node, pending: reply })
    reply.onSettle = () => this.outstanding.delete(id)
  }

  /**
   * The nodes whose connection actor traffic needs now: an envelope went to or came from them since
   * the last call, or an ask waits for their reply (with `watches`, what the cluster actor keeps
   * open: src/cluster/dials.ts, `prune`).
   */
  takeActive(): Set<NodeId> {
    const active = this.active
    this.active = new Set()
    for (const { node } of this.outstanding.values()) active.add(node)
    return active
  }

  /** Whether a watch crosses between this node and `node`: closing the connection would end it. */
  watches(node: NodeId): boolean {
    return watchesWithNode(this.system, node)
  }

  /** Sends a watch message; false when it could not leave (see src/actor/remote-watch.ts). */
  control(node: NodeId, message: WatchControl): boolean {
    const envelope: Envelope =
      message.kind === 'terminated'
        ? { ...message, error: message.error === undefined ? null : toWireError(message.error, 'ERR_REMOTE') }
        : { kind: message.kind, target: message.target, watcher: message.watcher }
    let bytes: Uint8Array
    try {
      bytes = this.codec.encodeTransient(envelope)
    } catch (error) {
      this.system.log.warn('watch message not sent', { node, error })
      return false
    }
    return this.network.send(node, ACTOR_PROTOCOL, bytes)
  }

  private receive(from: NodeId, payload: Uint8Array): void {
    let envelope: Envelope
    try {
      envelope = this.codec.decode(payload)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.invalidFrames++
      this.system.log.warn('dropped an invalid actor frame', { from, error })
      return
    }
    if (!((envelope.kind === 'tell' || envelope.kind === 'ask') && this.ambient.has(envelope.to.path))) this.active.add(from)
    switch (envelope.kind) {
      case 'tell':
      case 'ask':
        if (envelope.to.node !== this.system.nodeId) {
          this.misrouted++
          return
        }
        deliverFromNode(this.system, envelope.to, envelope.body, envelope.kind === 'ask' ? new RemoteReply(this, from, envelope.id, envelope.timeoutMs) : undefined, from)
        return
      case 'reply':
      case 'failure': {
        const entry = this.outstanding.get(envelope.id)
        if (entry === undefined || entry.node !== from) {
          this.misrouted++
          return
        }
        if (envelope.kind === 'reply') entry.pending.resolve(envelope.body)
        else entry.pending.reject(fromWireError(envelope.error))
        return
      }
      case 'watch':
      case 'unwatch':
        watchFromNode(this.system, from, envelope)
        return
      case 'terminated':
        watchFromNode(this.system, from, { ...envelope, error: envelope.error === null ? undefined : fromWireError(envelope.error) })
    }
  }

  /** @internal sends the answer to a remote ask, unless its asker has already given up. */
  answer(to: NodeId, envelope: Envelope, deadlineMs: number): void {
    if (this.system.env.clock.monotonicMs() > deadlineMs) {
      this.lateReplies++
      return
    }
    let bytes: Uint8Array
    try {
      // Network.send copies the bytes, as for a send.
      bytes = this.codec.encodeTransient(envelope)
    } catch (error) {
      if (envelope.kind !== 'reply') throw error
      const wire = toWireError(error, 'ERR_REMOTE')
      bytes = this.codec.encodeTransient({
        kind: 'failure',
        id: envelope.id,
        error: { ...wire, message: `reply could not be encoded: ${wire.message}`.slice(0, WIRE_ERROR_MESSAGE_MAX_CHARS) },
      })
    }
    if (!this.network.send(to, ACTOR_PROTOCOL, bytes)) this.system.log.debug('reply dropped: peer unreachable', { to })
  }

  private failOutstanding(node: NodeId, reason: string): void {
    for (const entry of [...this.outstanding.values()]) {
      if (entry.node === node) entry.pending.reject(new NodeUnreachableError(node, reason))
    }
  }
}

/** The reply target of an ask that came from another node. */
class RemoteReply implements ReplyTarget {
  private readonly deadlineMs: number
  private answered = false

  constructor(
    private readonly remoting: RemoteMessaging,
    private readonly from: NodeId,
    private readonly id: number,
    timeoutMs: number,
  ) {
    this.deadlineMs = remoting.system.env.clock.monotonicMs() + timeoutMs
  }

  resolve(value: unknown): void {
    if (this.answered) return
    this.answered = true
    this.remoting.answer(this.from, { kind: 'reply', id: this.id, body: value }, this.deadlineMs)
  }

  reject(error: Error): void {
    if (this.answered) return
    this.answered = true
    this.remoting.answer(this.from, { kind: 'failure', id: this.id, error: toWireError(error, 'ERR_REMOTE') }, this.deadlineMs)
  }
}
