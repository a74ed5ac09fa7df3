/**
 * The production binding of the Network port on libp2p 2.x.
 *
 * Direct messages: one long-lived stream per peer pair on MESH_PROTOCOL carries every logical
 * protocol (see peer-channel.ts and framing.ts). The peer with the smaller id opens it when a
 * connection comes up; the other side accepts it, and a newer stream from a peer replaces the
 * older one. A peer counts as connected (`peers()`, `onPeerChange`) while that stream is open.
 *
 * `send` returns false, queueing nothing, when:
 * - the peer has no open channel (never connected, disconnected, or reconnecting): messages are
 *   not held across disconnections, so a caller never gets stale messages delivered late;
 * - the payload exceeds `maxPayloadBytes` (also logged; a caller bug, but one the simulator would
 *   not catch, so it is refused like any undeliverable message rather than thrown);
 * - the peer's outbound queue would exceed `outboundQueueMaxBytes`. The queue holds what the peer
 *   has not yet granted credit for; credit comes back as the peer's handlers consume messages, so a
 *   slow peer fills its queue and `send` refuses until it catches up.
 * Every refusal is counted by reason in `dx_net_send_refused_total`.
 *
 * Input from peers is never trusted: a malformed frame, a frame beyond the credit granted, or an
 * unbound protocol index closes that peer's stream and counts a protocol violation; a peer silent
 * past `idleTimeoutMs` is closed too. Handler exceptions are caught, logged and counted.
 *
 * Reconnection: bootstrap peers and peers a channel was open to are redialed with exponential
 * backoff and jitter when their channel closes (reconnect.ts); a peer that is not a bootstrap peer
 * is forgotten after redial.maxAttempts failures, or redial.maxRefused refusals, in a row. Topic
 * broadcasts map onto gossipsub topics (node.ts has the settings and why).
 */
import './polyfill.js'
import type { Message, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AbortedError, NodeUnreachableError, describe, toError } from '../../errors.js'
import { abortable, timeoutSignal } from '../../env/abort.js'
import type { AbortOptions, Environment, Logger, TimerHandle } from '../../env/types.js'
import type { MessageHandler, Network, NodeId, PeerListener } from '../../net/types.js'
import * as C from './constants.js'
import { ChannelIdleError, ChannelReplacedError, DialFailedError, DialTimeoutError, MalformedFrameError, NetworkStateError, ProtocolViolationError, refusedDial } from './errors.js'
import { checkClusterSecret, generateIdentity, identityKey } from './identity.js'
import { createMeshNode, type MeshNode } from './node.js'
import { PeerChannel, type ChannelOwner } from './peer-channel.js'
import { Redialer } from './reconnect.js'
import { parseAddress, parseBootstrap, settingsOf, type Libp2pNetworkInit, type Settings } from './settings.js'
import { MeshStats, registerMeshMetrics } from './stats.js'

/** The Network port on libp2p, with its lifecycle. */
export interface Libp2pNetwork extends Network {
  /** Starts listening, then dials the bootstrap peers in the background. */
  start(): Promise<void>
  /** Flushes what credit allows, closes every stream and connection, and cancels every timer. */
  stop(): Promise<void>
}

type RedialTarget = Multiaddr | PeerId
type NetworkState = 'created' | 'running' | 'stopping' | 'stopped'

/** Creates a stopped libp2p network; call `start()` to join the mesh. */
export async function createLibp2pNetwork(init: Libp2pNetworkInit): Promise<Libp2pNetwork> {
  const settings = settingsOf(init)
  if (init.clusterSecret !== undefined) checkClusterSecret(init.clusterSecret)
  const bootstrap = (init.bootstrap ?? []).map(parseBootstrap)
  const privateKey = identityKey(init.identity ?? (await generateIdentity()))
  const stats = new MeshStats()
  const node = await createMeshNode({
    privateKey,
    listen: init.listen,
    ...(init.clusterSecret === undefined ? {} : { clusterSecret: init.clusterSecret }),
    dialTimeoutMs: settings.dialTimeoutMs,
    topicMessageMaxBytes: settings.limits.maxPayloadBytes + TOPIC_RPC_OVERHEAD_BYTES,
    gossipStats: stats.gossipRpc,
  })
  return new MeshNetwork(init.env, node, settings, bootstrap, init.clusterSecret !== undefined, stats)
}

/** Room for gossipsub's envelope (signature, key, ids) around a maximal payload. */
const TOPIC_RPC_OVERHEAD_BYTES = 64 * 1024

/**
 * How long our own multiaddrs are reused before being read again: only a backstop, since libp2p
 * reports every change of them ('self:peer:update', within its 1 s debounce), which clears them at
 * once. At 5 s every sample of the dashboard hub (one each 5 s on every peer, src/dashboard/hub.ts)
 * found them expired and built them afresh.
 */
const ADDRESSES_TTL_MS = 60_000
/** Unhandled messages of one protocol before the warning, and protocols counted (see warnUnhandled). */
const UNHANDLED_WARN_AFTER = 20
const MAX_UNHANDLED_NAMED = 16

class MeshNetwork implements Libp2pNetwork, ChannelOwner {
  readonly self: NodeId
  private state: NetworkState = 'created'
  private readonly log: Logger
  private readonly channels = new Map<NodeId, PeerChannel>()
  private readonly opening = new Map<NodeId, Promise<void>>()
  private readonly channelWaiters = new Map<NodeId, Set<() => void>>()
  private readonly handlers = new Map<string, MessageHandler>()
  private readonly topics = new Map<string, MessageHandler>()
  private readonly listeners = new Set<PeerListener>()
  private readonly redialer: Redialer<RedialTarget>
  private readonly shutdown = new AbortController()
  private livenessTimer: TimerHandle | undefined = undefined
  private stopped: Promise<void> | undefined = undefined
  private secretWarned = false

  constructor(
    private readonly env: Environment,
    private readonly node: MeshNode,
    private readonly settings: Settings,
    private readonly bootstrap: ReadonlyArray<{ peer: NodeId; address: Multiaddr }>,
    private readonly privateNetwork: boolean,
    private readonly stats: MeshStats,
  ) {
    this.self = node.peerId.toString()
    this.log = env.logger.child({ component: 'libp2p-network', node: this.self })
    this.redialer = new Redialer(env, settings.redial, (peer, target, signal) => this.redial(peer, target, signal), refusedDial)
    registerMeshMetrics(env.metrics, this.stats, {
      queuedBytes: () => {
        let bytes = 0
        for (const channel of this.channels.values()) bytes += channel.queuedBytes
        return bytes
      },
      peers: () => this.channels.size,
    })
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new NetworkStateError('start', this.state)
    await this.node.handle(C.MESH_PROTOCOL, ({ stream, connection }) => this.accept(connection.remotePeer, stream), { maxInboundStreams: 2, maxOutboundStreams: 2 })
    this.node.addEventListener('peer:connect', this.onPeerConnect)
    this.node.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.node.addEventListener('self:peer:update', this.onSelfUpdate)
    this.node.services.pubsub.addEventListener('message', this.onTopicMessage)
    await this.node.start()
    this.state = 'running'
    for (const topic of this.topics.keys()) this.node.services.pubsub.subscribe(C.TOPIC_PREFIX + topic)
    this.scheduleLivenessCheck()
    for (const { peer, address } of this.bootstrap) {
      // Clusters often hand every node the same list, which includes the node itself.
      if (peer === this.self) continue
      this.redialer.remember(peer, address, true)
      this.redialer.dialSoon(peer)
    }
    this.log.info('network started', { addresses: this.addresses() })
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopOnce()
    return this.stopped
  }

  handle(protocol: string, handler: MessageHandler): void {
    this.handlers.set(protocol, handler)
  }

  unhandle(protocol: string): void {
    this.handlers.delete(protocol)
  }

  send(to: NodeId, protocol: string, payload: Uint8Array): boolean {
    if (payload.length > this.settings.limits.maxPayloadBytes) {
      this.stats.refused.too_large++
      this.log.warn('refused an oversized message', { peer: to, protocol, bytes: payload.length, maxPayloadBytes: this.settings.limits.maxPayloadBytes })
      return false
    }
    const channel = this.channels.get(to)
    if (channel === undefined) {
      this.stats.refused.unreachable++
      return false
    }
    return channel.send(protocol, payload)
  }

  publish(topic: string, payload: Uint8Array): void {
    if (this.state !== 'running' || payload.length > this.settings.limits.maxPayloadBytes) {
      this.stats.publishFailures++
      this.log.warn('refused a broadcast', { topic, bytes: payload.length, state: this.state })
      return
    }
    this.stats.published++
    const counts = this.stats.topic(topic)
    counts.sent++
    counts.sentBytes += payload.length
    // No peer subscribes (a founder alone, a topic no other member reads): gossipsub would sign and
    // cache a message it sends to nobody, about a tenth of a lone founder's idle CPU. Skipping
    // it loses nothing the port promises: a broadcast is at most once, to the peers there now.
    if (this.node.services.pubsub.getSubscribers(C.TOPIC_PREFIX + topic).length === 0) return
    // A copy (a Buffer's slice() would be a view): gossipsub keeps the message for gossip after
    // publish returns, and an encoder's output is a view of its shared buffer of up to several MB.
    void this.node.services.pubsub.publish(C.TOPIC_PREFIX + topic, new Uint8Array(payload)).catch((error: unknown) => {
      this.stats.publishFailures++
      this.log.warn('broadcast failed', { topic, error: toError(error) })
    })
  }

  subscribe(topic: string, handler: MessageHandler): void {
    this.topics.set(topic, handler)
    // A subscribed topic's counters exist from the start, so its series show (at 0) before any traffic.
    this.stats.topic(topic)
    if (this.state === 'running') this.node.services.pubsub.subscribe(C.TOPIC_PREFIX + topic)
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic)) return
    if (this.state === 'running') this.node.services.pubsub.unsubscribe(C.TOPIC_PREFIX + topic)
  }

  peers(): NodeId[] {
    return [...this.channels.keys()]
  }

  onPeerChange(listener: PeerListener): () => void {
    // A wrapper, so one listener registered twice is called twice and removed once per call.
    const entry: PeerListener = (peer, connected) => listener(peer, connected)
    this.listeners.add(entry)
    return () => void this.listeners.delete(entry)
  }

  async dial(address: string, options: AbortOptions = {}): Promise<NodeId> {
    if (this.state !== 'running') throw new NetworkStateError('dial', this.state)
    const target = parseAddress(address)
    const deadline = this.deadline(options.signal, address)
    try {
      const connection = await this.node.dial(target, { signal: deadline.signal })
      const peer = connection.remotePeer
      await this.channelReady(peer, deadline.signal)
      return peer.toString()
    } catch (error) {
      this.warnIfSecretDiffers(address, error)
      throw this.dialError(address, error, deadline.timedOut(), options.signal)
    } finally {
      deadline.dispose()
    }
  }

  /**
   * Says BYE on the mesh stream (the peer closes its side, and neither redials: a node hangs up
   * the links its cluster no longer wants), waits up to HANG_UP_WAIT_MS for the stream to close,
   * then closes the connection, gossipsub's and identify's streams with it.
   */
  async hangUp(peer: NodeId): Promise<void> {
    if (this.state !== 'running') return
    const channel = this.channels.get(peer)
    if (channel !== undefined) {
      channel.hangUp()
      const wait = timeoutSignal(this.env.timers, C.HANG_UP_WAIT_MS)
      await abortable<void>(wait.signal, (resolve) => {
        void channel.ended.then(resolve)
        return () => undefined
      })
        .catch(() => this.log.debug('a peer did not close its mesh stream after BYE', { peer }))
        .finally(wait.clear)
    }
    const connections = this.node.getConnections().filter((connection) => connection.remotePeer.toString() === peer)
    await Promise.all(connections.map((connection) => connection.close().catch((error: unknown) => connection.abort(toError(error)))))
  }

  /**
   * Our multiaddrs, kept until libp2p reports that they changed (or ADDRESSES_TTL_MS): every
   * member record carries them (4 a second), and building them afresh each time was 4% of an idle
   * peer's CPU.
   */
  addresses(): string[] {
    const nowMs = this.env.clock.monotonicMs()
    if (this.addressCache === undefined || nowMs - this.addressCache.atMs >= ADDRESSES_TTL_MS)
      this.addressCache = { atMs: nowMs, addresses: this.node.getMultiaddrs().map((address) => address.toString()) }
    return [...this.addressCache.addresses]
  }

  private addressCache: { readonly atMs: number; readonly addresses: readonly string[] } | undefined
  private readonly onSelfUpdate = (): void => {
    this.addressCache = undefined
  }

  deliver(from: NodeId, protocol: string, payload: Uint8Array): void {
    const handler = this.handlers.get(protocol)
    if (handler === undefined) {
      this.stats.unhandled++
      this.warnUnhandled(from, protocol)
      return
    }
    try {
      handler(from, payload)
    } catch (error) {
      this.stats.handlerErrors++
      this.log.error('message handler threw', { peer: from, protocol, error: toError(error) })
    }
  }

  /**
   * Says once per protocol that peers speak one this node does not serve: the sign of peers of
   * another version or started with another `--membership` (SWIM's probes to a `gossip` peer), which
   * otherwise only shows as members seen down. Only after UNHANDLED_WARN_AFTER messages, so the few
   * that arrive before an actor registers its protocol at start say nothing; bounded, because the
   * protocol names come from peers.
   */
  private warnUnhandled(from: NodeId, protocol: string): void {
    const count = this.unhandledCounts.get(protocol)
    if (count === undefined && this.unhandledCounts.size >= MAX_UNHANDLED_NAMED) return
    this.unhandledCounts.set(protocol, (count ?? 0) + 1)
    if (count === UNHANDLED_WARN_AFTER - 1 && this.state === 'running')
      this.log.warn('peers send messages of a protocol this node does not serve (peers of another version, or another --membership?)', { peer: from, protocol })
  }

  private readonly unhandledCounts = new Map<string, number>()

  closed(channel: PeerChannel, reason: Error | undefined): void {
    if (this.channels.get(channel.peer) !== channel) return
    this.channels.delete(channel.peer)
    if (this.state === 'running') this.recordClose(channel.peer, reason)
    this.emit(channel.peer, false)
    if (this.state !== 'running') return
    if (channel.parted) this.redialer.parted(channel.peer)
    else this.redialer.closed(channel.peer)
  }

  private recordClose(peer: NodeId, reason: Error | undefined): void {
    if (reason instanceof MalformedFrameError || reason instanceof ProtocolViolationError) {
      this.stats.protocolViolations++
      this.log.warn('closed the stream of a peer that broke the mesh protocol', { peer, error: reason })
    } else if (reason instanceof ChannelIdleError) {
      this.stats.idleTimeouts++
      this.log.warn('closed the stream of a silent peer', { peer, idleMs: reason.idleMs })
    } else {
      this.log.info('peer channel closed', { peer, ...(reason === undefined ? {} : { reason: describe(reason) }) })
    }
  }

  private async stopOnce(): Promise<void> {
    const wasRunning = this.state === 'running'
    this.state = 'stopping'
    this.shutdown.abort(new NetworkStateError('continue', 'stopping'))
    this.redialer.stop()
    if (this.livenessTimer !== undefined) this.env.timers.cancel(this.livenessTimer)
    this.livenessTimer = undefined
    for (const channel of this.channels.values()) channel.close()
    try {
      await this.node.stop()
    } finally {
      for (const channel of [...this.channels.values()]) channel.abort(new NetworkStateError('keep a channel open', 'stopping'))
      this.node.removeEventListener('peer:connect', this.onPeerConnect)
      this.node.removeEventListener('peer:disconnect', this.onPeerDisconnect)
      this.node.removeEventListener('self:peer:update', this.onSelfUpdate)
      this.node.services.pubsub.removeEventListener('message', this.onTopicMessage)
      this.state = 'stopped'
      if (wasRunning) this.log.info('network stopped')
    }
  }

  private accept(remote: PeerId, stream: Stream): void {
    if (this.state !== 'running') {
      stream.abort(new NetworkStateError('accept a stream', this.state))
      return
    }
    this.attach(remote, stream)
  }

  private attach(remote: PeerId, stream: Stream): void {
    const peer = remote.toString()
    this.channels.get(peer)?.abort(new ChannelReplacedError())
    const channel = new PeerChannel(peer, stream, this.env, this.settings.limits, this.stats, this)
    this.channels.set(peer, channel)
    this.stats.channelsOpened++
    this.redialer.remember(peer, remote, false)
    if (this.redialer.opened(peer)) this.stats.reconnects++
    channel.start()
    this.emit(peer, true)
    const waiters = this.channelWaiters.get(peer)
    if (waiters !== undefined) for (const wake of [...waiters]) wake()
  }

  private emit(peer: NodeId, connected: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(peer, connected)
      } catch (error) {
        this.log.error('peer listener threw', { peer, connected, error: toError(error) })
      }
    }
  }

  private readonly onPeerConnect = (event: CustomEvent<PeerId>): void => {
    const remote = event.detail
    if (this.state !== 'running' || !this.isOpener(remote.toString())) return
    const deadline = this.deadline(undefined, `open a mesh stream to ${remote.toString()}`)
    void this.openChannel(remote, deadline.signal)
      .catch((error: unknown) => this.log.info('could not open a mesh stream', { peer: remote.toString(), error: toError(error) }))
      .finally(() => deadline.dispose())
  }

  private readonly onPeerDisconnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail.toString()
    this.channels.get(peer)?.abort(new NodeUnreachableError(peer, 'connection closed'))
  }

  private readonly onTopicMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.type !== 'signed' || !message.topic.startsWith(C.TOPIC_PREFIX)) return
    const topic = message.topic.slice(C.TOPIC_PREFIX.length)
    const handler = this.topics.get(topic)
    if (handler === undefined) return
    this.stats.topicMessagesReceived++
    const counts = this.stats.topic(topic)
    counts.received++
    counts.receivedBytes += message.data.length
    const from = message.from.toString()
    try {
      handler(from, new Uint8Array(message.data))
    } catch (error) {
      this.stats.handlerErrors++
      this.log.error('topic handler threw', { peer: from, topic, error: toError(error) })
    }
  }

  /** The smaller id opens the stream, so two peers never open one each. */
  private isOpener(peer: NodeId): boolean {
    return this.self < peer
  }

  /** Resolves once a channel to `remote` is open: opens it ourselves, or waits for the peer to open it. */
  private channelReady(remote: PeerId, signal: AbortSignal): Promise<void> {
    const peer = remote.toString()
    if (this.channels.get(peer)?.isOpen === true) return Promise.resolve()
    return this.isOpener(peer) ? this.openChannel(remote, signal) : this.waitForChannel(peer, signal)
  }

  private openChannel(remote: PeerId, signal: AbortSignal): Promise<void> {
    const peer = remote.toString()
    const pending = this.opening.get(peer)
    if (pending !== undefined) return pending
    const opened = this.node.dialProtocol(remote, C.MESH_PROTOCOL, { signal }).then((stream) => {
      if (this.state !== 'running') {
        const error = new NetworkStateError('open a channel', this.state)
        stream.abort(error)
        throw error
      }
      this.attach(remote, stream)
    })
    const tracked = opened.finally(() => this.opening.delete(peer))
    this.opening.set(peer, tracked)
    return tracked
  }

  private waitForChannel(peer: NodeId, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiters = this.channelWaiters.get(peer) ?? new Set<() => void>()
      this.channelWaiters.set(peer, waiters)
      const done = (): void => {
        waiters.delete(wake)
        if (waiters.size === 0) this.channelWaiters.delete(peer)
        signal.removeEventListener('abort', onAbort)
      }
      const wake = (): void => {
        done()
        resolve()
      }
      const onAbort = (): void => {
        done()
        reject(signal.reason)
      }
      if (signal.aborted) {
        reject(signal.reason)
        return
      }
      waiters.add(wake)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private async redial(peer: NodeId, target: RedialTarget, signal: AbortSignal): Promise<void> {
    this.stats.redialAttempts++
    const deadline = this.deadline(signal, target.toString())
    try {
      const connection = await this.node.dial(target, { signal: deadline.signal })
      await this.channelReady(connection.remotePeer, deadline.signal)
    } catch (error) {
      this.log.debug('redial failed', { peer, error: toError(error) })
      this.warnIfSecretDiffers(target.toString(), error)
      throw error
    } finally {
      deadline.dispose()
    }
  }

  /** A signal that aborts on `signal`, at shutdown, or after the dial timeout of `what`, whichever comes first. */
  private deadline(signal: AbortSignal | undefined, what: string): { signal: AbortSignal; timedOut(): boolean; dispose(): void } {
    const timeout = new AbortController()
    let fired = false
    const timer = this.env.timers.schedule(this.settings.dialTimeoutMs, () => {
      fired = true
      timeout.abort(new DialTimeoutError(what, this.settings.dialTimeoutMs))
    })
    const signals = [timeout.signal, this.shutdown.signal, ...(signal === undefined ? [] : [signal])]
    return {
      signal: AbortSignal.any(signals),
      timedOut: () => fired,
      dispose: () => this.env.timers.cancel(timer),
    }
  }

  /**
   * With a cluster secret, a peer holding another one (or none, or of the pnet era) fails the
   * handshake as an encryption error (a noise message does not authenticate, or the pnet era's
   * ciphertext is not a negotiation); a joiner started with the wrong --secret-file would otherwise
   * retry quietly for ever. Said once.
   */
  private warnIfSecretDiffers(address: string, error: unknown): void {
    if (this.secretWarned || !this.privateNetwork || !describe(error).includes('EncryptionFailedError')) return
    this.secretWarned = true
    this.log.warn(
      "could not complete the encrypted handshake with a peer: its cluster secret most likely differs from this node's (--secret-file); every peer needs the same key file",
      { address },
    )
  }

  private dialError(address: string, error: unknown, timedOut: boolean, callerSignal: AbortSignal | undefined): Error {
    if (callerSignal?.aborted === true) return new AbortedError(`dial to ${address} aborted`, { cause: callerSignal.reason })
    if (this.state !== 'running') return new NetworkStateError('dial', this.state)
    if (timedOut) return new DialTimeoutError(address, this.settings.dialTimeoutMs)
    return new DialFailedError(address, describe(error), { cause: error })
  }

  private scheduleLivenessCheck(): void {
    const { keepaliveIntervalMs, idleTimeoutMs } = this.settings
    const periodMs = Math.max(1, Math.min(keepaliveIntervalMs, Math.floor(idleTimeoutMs / 4)))
    this.livenessTimer = this.env.timers.schedule(periodMs, () => {
      if (this.state !== 'running') return
      const nowMs = this.env.clock.monotonicMs()
      for (const channel of [...this.channels.values()]) channel.checkLiveness(nowMs, keepaliveIntervalMs, idleTimeoutMs)
      this.scheduleLivenessCheck()
    })
  }
}
