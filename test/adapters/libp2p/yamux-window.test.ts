// Goal: yamux, as the mesh builds it, grants a stream's receive window back in halves (as Go's yamux
// does) instead of sending a window-update frame after every read, and a sender that runs the
// window dry is granted again once half of it was read, so large transfers still complete. Two
// real muxers joined in memory; the frames each side writes are counted by their yamux header.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ComponentLogger, Logger, Stream, StreamMuxer } from '@libp2p/interface'
import { yamux, pushable, Uint8ArrayList } from '../../../src/adapters/libp2p/vendor.js'
import { lazyWindowMuxer } from '../../../src/adapters/libp2p/yamux-window.js'

const WINDOW_UPDATE = 1
const DATA = 0

const silent: Logger = Object.assign(() => {}, { enabled: false, trace: () => {}, error: () => {}, newScope: () => silent }) as unknown as Logger
const components: { logger: ComponentLogger } = { logger: { forComponent: () => silent } }

/** Counts the frames in `bytes` (whole yamux frames: 12-byte header, then `length` bytes for data). */
class FrameCounter {
  private buffer = new Uint8ArrayList()
  readonly count = new Map<number, number>()
  add(chunk: Uint8Array | Uint8ArrayList): void {
    this.buffer.append(chunk)
    for (;;) {
      if (this.buffer.byteLength < 12) return
      const header = this.buffer.subarray(0, 12)
      const type = header[1]!
      const length = new DataView(header.buffer, header.byteOffset, 12).getUint32(8)
      const size = 12 + (type === DATA ? length : 0)
      if (this.buffer.byteLength < size) return
      this.buffer.consume(size)
      this.count.set(type, (this.count.get(type) ?? 0) + 1)
    }
  }
}

/** Two muxers wired to each other; `accepted` resolves with the first stream the second one accepts. */
function joined(lazy: boolean): { opener: StreamMuxer; accepted: Promise<Stream>; fromAcceptor: FrameCounter; fromOpener: FrameCounter } {
  const factory = lazy ? lazyWindowMuxer(yamux())(components) : yamux()(components)
  let accept!: (s: Stream) => void
  const accepted = new Promise<Stream>((resolve) => (accept = resolve))
  const opener = factory.createStreamMuxer({ direction: 'outbound' })
  const acceptor = factory.createStreamMuxer({ direction: 'inbound', onIncomingStream: (s) => accept(s) })
  const fromAcceptor = new FrameCounter()
  const fromOpener = new FrameCounter()
  const tap = (source: AsyncIterable<Uint8Array | Uint8ArrayList>, counter: FrameCounter) =>
    (async function* () {
      for await (const chunk of source) {
        counter.add(chunk)
        yield chunk
      }
    })()
  void opener.sink(tap(acceptor.source, fromAcceptor))
  void acceptor.sink(tap(opener.source, fromOpener))
  return { opener, accepted, fromAcceptor, fromOpener }
}

/** Sends `chunks` chunks of `size` bytes from opener to acceptor and reads them all; returns the frame counts. */
async function transfer(lazy: boolean, chunks: number, size: number): Promise<{ updates: number; data: number; received: number }> {
  const { opener, accepted, fromAcceptor, fromOpener } = joined(lazy)
  const stream = await opener.newStream()
  const out = pushable<Uint8Array>()
  const sent = stream.sink(out)
  for (let i = 0; i < chunks; i++) out.push(new Uint8Array(size).fill(i & 0xff))
  out.end()
  const inbound = await accepted
  let received = 0
  for await (const chunk of inbound.source) {
    received += chunk.byteLength
    if (received === chunks * size) break
  }
  await sent
  opener.abort(new Error('done'))
  return { updates: fromAcceptor.count.get(WINDOW_UPDATE) ?? 0, data: fromOpener.count.get(DATA) ?? 0, received }
}

test('the receiver of many small data frames sends a window update per half window, not per frame', async () => {
  const eager = await transfer(false, 200, 1000)
  const lazy = await transfer(true, 200, 1000)
  assert.equal(lazy.received, 200 * 1000)
  assert.ok(eager.updates >= 20, `yamux as packaged sent ${eager.updates} updates for ${eager.data} data frames`)
  // 200 kB against a 256 KiB window: the stream's ACK, then nothing until half the window is read.
  assert.ok(lazy.updates <= 2, `${lazy.updates} window updates for ${lazy.data} data frames`)
})

test('a transfer many windows long completes: the sender is granted each time half the window was read', async () => {
  const lazy = await transfer(true, 64, 64 * 1024)
  assert.equal(lazy.received, 64 * 64 * 1024)
  assert.ok(lazy.updates >= 4 && lazy.updates < lazy.data, `${lazy.updates} window updates for ${lazy.data} data frames`)
})
