/**
 * Write coalescing for a raw connection: the chunks the layers above (noise, yamux) hand to
 * the socket within one event-loop turn leave in one socket write.
 *
 * Why: every yamux data frame a peer reads makes it send a window-update frame, and each frame
 * is encrypted and written on its own, so a request and its reply cost four socket writes and
 * four wake-ups of the other process (two of them for window updates alone). Gathering chunks
 * until the turn's check phase (setImmediate) merges a window update with the reply written in
 * the same turn, and a burst of messages into one write. The bytes on the wire are unchanged (noise
 * frames are whole), only how they are split into writes.
 *
 * Invariants: chunks leave in the order they came, none is dropped or split; at most
 * HIGH_WATER_BYTES wait here before the source is paused (the socket's own backpressure still
 * applies to what has left); a source error is passed on after the chunks before it have left;
 * when the consumer stops early, the source is ended.
 */
import type { MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Bytes gathered before the source is paused until the socket takes them. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024

/** Wraps a connection so that its writes are coalesced per event-loop turn. */
export function coalescingConnection(connection: MultiaddrConnection): MultiaddrConnection {
  const sink = connection.sink
  return { ...connection, sink: (source) => sink(coalesce(source)) }
}

/** The chunks of `source`, merged per event-loop turn. */
export async function* coalesce(source: AsyncIterable<Uint8Array | Uint8ArrayList>): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = source[Symbol.asyncIterator]()
  let chunks: Uint8Array[] = []
  let bytes = 0
  let ended = false
  let stopped = false
  let failure: { error: unknown } | undefined
  let ready = false
  let wake: (() => void) | undefined
  let resume: (() => void) | undefined
  const release = (): void => {
    ready = true
    const w = wake
    wake = undefined
    w?.()
  }
  const pump = async (): Promise<void> => {
    try {
      while (!stopped) {
        const next = await iterator.next()
        if (next.done === true) break
        const value = next.value
        const first = chunks.length === 0
        if (value instanceof Uint8Array) {
          if (value.length > 0) chunks.push(value)
          bytes += value.length
        } else {
          for (const part of value) chunks.push(part)
          bytes += value.byteLength
        }
        if (first && chunks.length > 0) setImmediate(release)
        if (bytes >= HIGH_WATER_BYTES) await new Promise<void>((r) => (resume = r))
      }
    } catch (error) {
      failure = { error }
    } finally {
      ended = true
      release()
    }
  }
  void pump()
  try {
    for (;;) {
      if (!ready && !ended) await new Promise<void>((r) => (wake = r))
      ready = false
      if (chunks.length > 0) {
        const taken = chunks
        const size = bytes
        chunks = []
        bytes = 0
        const r = resume
        resume = undefined
        r?.()
        yield taken.length === 1 ? taken[0]! : concat(taken, size)
        continue
      }
      if (ended) break
    }
    if (failure !== undefined) throw failure.error
  } finally {
    stopped = true
    resume?.()
    if (!ended) void Promise.resolve(iterator.return?.()).catch(() => {})
  }
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
