/**
 * Yamux with window updates sent the way the Go implementation (and the spec's reference) sends
 * them: once the reader has consumed half of the stream's receive window, not after every read.
 *
 * Why: @chainsafe/libp2p-yamux sends a window-update frame each time the stream's reader takes a
 * chunk, so every data frame a peer receives costs a frame back: a yamux header, a noise message
 * (cipher set-up, seal, length prefix), its async-iterator hops on both sides and the other peer's
 * decrypt and dispatch. On the entities bench half of all noise messages were these 12-byte
 * updates. Our mesh channel has its own credit (flow-control.ts), so yamux's window only bounds
 * what sits inside libp2p; granting it in halves keeps that bound.
 *
 * Invariants: a stream that still owes its SYN or ACK flag, or has consumed half its window or more,
 * updates at once (the package's own method runs unchanged); the sender may block only with at
 * least half a window unread or ungranted at the receiver, whose next read grants it, so this
 * cannot deadlock. A yamux version whose stream lacks the fields read here keeps its behaviour.
 */
import type { Stream, StreamMuxer, StreamMuxerFactory, StreamMuxerInit } from '@libp2p/interface'

/** The fields of a yamux stream this reads (@chainsafe/libp2p-yamux 7.x, YamuxStream). */
interface WindowedStream {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate(): void
}

/** YamuxStream's StreamState.Established: no flag left to send, so an update carries only credit. */
const ESTABLISHED = 3

/** `muxers` (yamux()'s factory) with lazy window updates on every stream it opens or accepts. */
export function lazyWindowMuxer<C>(muxers: (components: C) => StreamMuxerFactory): (components: C) => StreamMuxerFactory {
  return (components) => {
    const factory = muxers(components)
    return {
      protocol: factory.protocol,
      createStreamMuxer(init?: StreamMuxerInit): StreamMuxer {
        const onIncomingStream = init?.onIncomingStream
        const muxer = factory.createStreamMuxer({
          ...init,
          onIncomingStream: (stream) => onIncomingStream?.(lazyWindow(stream)),
        })
        const newStream = muxer.newStream.bind(muxer)
        muxer.newStream = (name) => {
          const opened = newStream(name)
          return opened instanceof Promise ? opened.then(lazyWindow) : lazyWindow(opened)
        }
        return muxer
      },
    }
  }
}

/** Replaces `stream`'s eager window update by the half-window rule; returns the stream. */
export function lazyWindow(stream: Stream): Stream {
  const s = stream as unknown as Partial<WindowedStream>
  if (typeof s.sendWindowUpdate !== 'function' || typeof s.recvWindow !== 'number' || typeof s.recvWindowCapacity !== 'number' || typeof s.state !== 'number') return stream
  const eager = s.sendWindowUpdate
  ;(s as WindowedStream).sendWindowUpdate = function (this: WindowedStream): void {
    if (this.state === ESTABLISHED && (this.recvWindow - this.recvWindowCapacity) * 2 < this.recvWindow) return
    eager.call(this)
  }
  return stream
}
