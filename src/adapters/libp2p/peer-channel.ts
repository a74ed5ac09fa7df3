/**
 * One peer's channel: the single long-lived mesh stream to that peer, carrying every logical
 * protocol in both directions.
 *
 * Sending: `send` writes the frame straight into the outbound queue (bounded in bytes) and
 * schedules one flush for the next turn of the event loop, so every frame queued during a tick goes
 * out in one stream write. A flush writes pending control frames (credit, keepalive) and then as
 * many whole queued frames as the peer's credit allows; the rest waits for more credit.
 * Receiving: one loop decodes each chunk in a tight synchronous pass, hands each message to its
 * handler, and grants credit back for what the handlers consumed.
 *
 * Invariants: bytes written and not yet credited back never exceed the peer's window; memory held
 * for one peer is bounded by the queue bound plus the peer's window on the way out, and by our
 * window plus one partial frame on the way in; the channel closes exactly once and reports the
 * reason to its owner (undefined for an orderly close by either side).
 */
import type { Pushable } from 'it-pushable'
import type { AbortOptions, Environment, TimerHandle } from '../../env/types.js'
import { toError } from '../../errors.js'
import type { NodeId } from '../../net/types.js'
import { MAX_PROTOCOLS_PER_CHANNEL } from './constants.js'
import { ChannelIdleError, ProtocolViolationError } from './errors.js'
import { ReceiveWindow, SendCredit } from './flow-control.js'
import {
  DATA_HEADER_BYTES,
  encodeByeFrame,
  encodeCreditFrame,
  encodeKeepaliveFrame,
  encodeProtocolName,
  FrameDecoder,
  writeBindFrame,
  writeDataHeader,
  type FrameVisitor,
} from './framing.js'
import { OutboundQueue } from './outbound-queue.js'
import type { MeshStats } from './stats.js'
import { pushable, Uint8ArrayList } from './vendor.js'

/** The duplex stream a channel runs on (a libp2p 2.x stream satisfies it). */
export interface ChannelStream {
  readonly source: AsyncIterable<Uint8ArrayList | Uint8Array>
  sink(source: AsyncIterable<Uint8ArrayList | Uint8Array>): Promise<void>
  abort(error: Error): void
  close(options?: AbortOptions): Promise<void>
}

/** Size limits of a channel. */
export interface ChannelLimits {
  readonly maxPayloadBytes: number
  /** Largest frame accepted from the peer, header included. */
  readonly frameMaxBytes: number
  readonly outboundQueueMaxBytes: number
  readonly receiveWindowBytes: number
  readonly slabBytes: number
}

/** What a channel reports to the network that owns it. */
export interface ChannelOwner {
  /** Delivers one message to its protocol's handler; must not throw. */
  deliver(from: NodeId, protocol: string, payload: Uint8Array): void
  /** Called once, when the channel has closed. */
  closed(channel: PeerChannel, reason: Error | undefined): void
}

type ChannelState = 'open' | 'closing' | 'closed'

export class PeerChannel implements FrameVisitor {
  private lastReadMs: number
  private lastWriteMs: number
  private state: ChannelState = 'open'
  private readonly out: Pushable<Uint8Array | Uint8ArrayList>
  private byeSeen = false
  /** Settles once the channel is closed. */
  readonly ended: Promise<void>
  private markEnded!: () => void
  private readonly queue: OutboundQueue
  private readonly sendCredit = new SendCredit()
  private readonly window: ReceiveWindow
  private readonly decoder: FrameDecoder
  private readonly outboundIndexes = new Map<string, number>()
  private readonly inboundProtocols: string[] = []
  private pendingGrantBytes = 0
  private keepaliveDue = false
  private flushTimer: TimerHandle | undefined = undefined
  private consumedBytes = 0

  constructor(
    readonly peer: NodeId,
    private readonly stream: ChannelStream,
    private readonly env: Environment,
    private readonly limits: ChannelLimits,
    private readonly stats: MeshStats,
    private readonly owner: ChannelOwner,
  ) {
    this.lastReadMs = env.clock.monotonicMs()
    this.lastWriteMs = this.lastReadMs
    this.out = pushable<Uint8Array | Uint8ArrayList>({ objectMode: true })
    this.queue = new OutboundQueue(limits.slabBytes)
    this.window = new ReceiveWindow(limits.receiveWindowBytes)
    this.decoder = new FrameDecoder(limits.frameMaxBytes)
    this.ended = new Promise((resolve) => (this.markEnded = resolve))
  }

  /** Whether a BYE ended this channel, sent (`hangUp`) or received: neither side redials. */
  get parted(): boolean {
    return this.byeSeen
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.queue.bytes
  }

  /** True until the channel starts closing. */
  get isOpen(): boolean {
    return this.state === 'open'
  }

  /** Starts the read and write loops and grants the peer its initial window. */
  start(): void {
    this.pendingGrantBytes = this.window.open()
    this.scheduleFlush()
    void this.stream.sink(this.out).then(
      () => undefined,
      (error: unknown) => this.abort(toError(error)),
    )
    void this.read().then(
      () => this.finish(undefined),
      (error: unknown) => this.abort(toError(error)),
    )
  }

  /**
   * Queues one message. Returns false, queueing nothing, when the channel is closing, the protocol
   * name cannot be bound, or the frame would take the queue past its bound.
   */
  send(protocol: string, payload: Uint8Array): boolean {
    if (this.state !== 'open') {
      this.stats.refused.unreachable++
      return false
    }
    const payloadBytes = payload.length
    const index = this.outboundIndexes.get(protocol)
    if (index === undefined) return this.bindAndSend(protocol, payload)
    if (this.queue.bytes + payloadBytes + DATA_HEADER_BYTES > this.limits.outboundQueueMaxBytes) {
      this.stats.refused.queue_full++
      return false
    }
    const offset = this.queue.reserve(payloadBytes + DATA_HEADER_BYTES)
    const buffer = this.queue.buffer
    writeDataHeader(buffer, offset, index, payloadBytes)
    buffer.set(payload, offset + DATA_HEADER_BYTES)
    this.stats.messagesSent++
    if (this.flushTimer === undefined) this.scheduleFlush()
    return true
  }

  /** Checks whether the peer has gone silent or we owe it a keepalive. */
  checkLiveness(nowMs: number, keepaliveIntervalMs: number, idleTimeoutMs: number): void {
    if (this.state !== 'open') return
    const silentMs = nowMs - this.lastReadMs
    if (silentMs >= idleTimeoutMs) {
      this.abort(new ChannelIdleError(silentMs))
      return
    }
    if (nowMs - this.lastWriteMs >= keepaliveIntervalMs) {
      this.keepaliveDue = true
      this.scheduleFlush()
    }
  }

  /** Writes what credit allows, then BYE, and closes in order (`close`): the peer closes its side, and neither redials. */
  hangUp(): void {
    if (this.state !== 'open') return
    this.byeSeen = true
    this.cancelFlush()
    this.flush()
    this.out.push(encodeByeFrame())
    this.close()
  }

  /** Writes what credit allows now, then ends the stream in order; the rest of the queue is dropped. */
  close(): void {
    if (this.state !== 'open') return
    this.cancelFlush()
    this.flush()
    this.state = 'closing'
    this.stats.discardedBytes += this.queue.clear()
    this.out.end()
  }

  /** Closes at once, resetting the stream; `reason` goes to the owner. */
  abort(reason: Error): void {
    if (this.state === 'closed') return
    this.stream.abort(reason)
    this.finish(reason)
  }

  /** Decoder callback: one message. Its payload is copied, so handlers may keep it. */
  data(index: number, source: Uint8Array, start: number, end: number): void {
    const frameBytes = end - start + DATA_HEADER_BYTES
    this.window.received(frameBytes)
    const protocol = this.inboundProtocols[index]
    if (protocol === undefined) throw new ProtocolViolationError(`DATA frame for unbound protocol index ${index}`)
    this.stats.messagesReceived++
    if (this.state !== 'closed') this.owner.deliver(this.peer, protocol, source.slice(start, end))
    this.consumedBytes += frameBytes
  }

  /** Decoder callback: the peer binds its next protocol index. */
  bind(index: number, name: string, frameBytes: number): void {
    this.window.received(frameBytes)
    if (index !== this.inboundProtocols.length) throw new ProtocolViolationError(`BIND of protocol index ${index}, expected ${this.inboundProtocols.length}`)
    if (index >= MAX_PROTOCOLS_PER_CHANNEL) throw new ProtocolViolationError(`more than ${MAX_PROTOCOLS_PER_CHANNEL} protocols bound`)
    this.inboundProtocols.push(name)
    this.consumedBytes += frameBytes
  }

  /** Decoder callback: the peer grants us credit. */
  credit(bytes: number): void {
    this.sendCredit.grant(bytes)
    if (this.queue.bytes > 0) this.scheduleFlush()
  }

  /** Decoder callback: the peer hangs up; this side closes in order. */
  bye(): void {
    this.byeSeen = true
    this.close()
  }

  /** Decoder callback: a keepalive. */
  keepalive(): void {
    // Liveness is recorded per chunk read; the frame itself carries nothing.
  }

  private bindAndSend(protocol: string, payload: Uint8Array): boolean {
    const name = encodeProtocolName(protocol)
    if (name === undefined || this.outboundIndexes.size >= MAX_PROTOCOLS_PER_CHANNEL) {
      this.stats.refused.bad_protocol++
      return false
    }
    if (this.queue.bytes + name.length + payload.length + 2 * DATA_HEADER_BYTES > this.limits.outboundQueueMaxBytes) {
      this.stats.refused.queue_full++
      return false
    }
    const index = this.outboundIndexes.size
    this.outboundIndexes.set(protocol, index)
    const offset = this.queue.reserve(name.length + DATA_HEADER_BYTES)
    writeBindFrame(this.queue.buffer, offset, index, name)
    return this.send(protocol, payload)
  }

  private async read(): Promise<void> {
    for await (const data of this.stream.source) {
      if (this.state === 'closed') return
      this.lastReadMs = this.env.clock.monotonicMs()
      this.stats.bytesRead += data.byteLength
      if (data instanceof Uint8Array) this.decoder.push(data, this)
      else for (const chunk of data) this.decoder.push(chunk, this)
      this.window.consumed(this.consumedBytes)
      this.consumedBytes = 0
      const grant = this.window.takeGrant()
      if (grant > 0) {
        this.pendingGrantBytes += grant
        this.scheduleFlush()
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer === undefined && this.state === 'open') this.flushTimer = this.env.timers.schedule(0, this.flushCallback)
  }

  private readonly flushCallback = (): void => {
    this.flushTimer = undefined
    if (this.state === 'open') this.flush()
  }

  private flush(): void {
    const pieces: Uint8Array[] = []
    if (this.pendingGrantBytes > 0) {
      pieces.push(encodeCreditFrame(this.pendingGrantBytes))
      this.pendingGrantBytes = 0
    }
    if (this.keepaliveDue) {
      pieces.push(encodeKeepaliveFrame())
      this.keepaliveDue = false
    }
    if (this.sendCredit.bytes > 0 && this.queue.bytes > 0) {
      for (const piece of this.queue.take(this.sendCredit.bytes)) {
        this.sendCredit.spend(piece.length)
        pieces.push(piece)
      }
    }
    if (pieces.length === 0) return
    let bytes = 0
    for (const piece of pieces) bytes += piece.length
    this.out.push(pieces.length === 1 ? pieces[0]! : new Uint8ArrayList(...pieces))
    this.stats.writes++
    this.stats.bytesWritten += bytes
    this.lastWriteMs = this.env.clock.monotonicMs()
  }

  private cancelFlush(): void {
    if (this.flushTimer === undefined) return
    this.env.timers.cancel(this.flushTimer)
    this.flushTimer = undefined
  }

  private finish(reason: Error | undefined): void {
    if (this.state === 'closed') return
    const wasOpen = this.state === 'open'
    this.state = 'closed'
    this.cancelFlush()
    this.stats.discardedBytes += this.queue.clear()
    this.out.end()
    this.markEnded()
    if (wasOpen && reason === undefined) {
      void this.stream.close().catch((error: unknown) => this.stream.abort(toError(error)))
    }
    this.owner.closed(this, reason)
  }
}
