/**
 * The frame codec of the mesh stream: pure functions over bytes, no stream or libp2p types, so it
 * can be tested and fuzzed on its own.
 *
 * Every frame is a 4-byte big-endian length of the rest of the frame, then a kind byte, then the
 * kind's body:
 *
 * | kind | body | meaning |
 * |---|---|---|
 * | 1 DATA | u16 protocol index, payload | one message of the protocol bound to the index |
 * | 2 BIND | u16 protocol index, protocol name (UTF-8, 1-256 bytes) | binds the next index to a protocol name |
 * | 3 CREDIT | u32 bytes (> 0) | the sender of this frame may receive that many more bytes |
 * | 4 KEEPALIVE | (empty) | liveness only |
 * | 5 BYE | (empty) | the sender hangs up by choice (Network.hangUp): no redial, either side |
 *
 * Indexes are bound in order from 0 per stream and direction, so a message carries two bytes
 * instead of its protocol name. Invariants the decoder enforces: the length is at least 1 and the
 * whole frame at most `frameMaxBytes`; each kind's body has its exact shape. Anything else throws
 * MalformedFrameError; the decoder never allocates more than one frame's worth for a partial frame.
 */
import { MalformedFrameError } from './errors.js'

/** Frame kinds. */
export const FrameKind = { Data: 1, Bind: 2, Credit: 3, Keepalive: 4, Bye: 5 } as const

/** Bytes of the length prefix. */
export const LENGTH_BYTES = 4

/** Bytes before a DATA frame's payload: length, kind, protocol index. */
export const DATA_HEADER_BYTES = 7

/** Size of a whole CREDIT frame. */
export const CREDIT_FRAME_BYTES = 9

/** Size of a whole KEEPALIVE frame. */
export const KEEPALIVE_FRAME_BYTES = 5

/** Longest protocol name a BIND frame carries, in UTF-8 bytes. */
export const PROTOCOL_NAME_MAX_BYTES = 256

/** Largest protocol index the u16 field holds. */
export const MAX_PROTOCOL_INDEX = 0xffff

/** Largest credit one CREDIT frame grants. */
export const CREDIT_MAX_BYTES = 0xffffffff

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder('utf-8', { fatal: true })

/** The UTF-8 bytes of a protocol name, or undefined when the name cannot be bound (empty or too long). */
export function encodeProtocolName(name: string): Uint8Array | undefined {
  if (name.length === 0 || name.length > PROTOCOL_NAME_MAX_BYTES) return undefined
  const bytes = encoder.encode(name)
  return bytes.length <= PROTOCOL_NAME_MAX_BYTES ? bytes : undefined
}

/** Writes a DATA frame's header at `offset`; the payload goes right after it. */
export function writeDataHeader(target: Uint8Array, offset: number, index: number, payloadBytes: number): void {
  const length = payloadBytes + 3
  target[offset] = length >>> 24
  target[offset + 1] = (length >>> 16) & 0xff
  target[offset + 2] = (length >>> 8) & 0xff
  target[offset + 3] = length & 0xff
  target[offset + 4] = FrameKind.Data
  target[offset + 5] = index >>> 8
  target[offset + 6] = index & 0xff
}

/** Writes a BIND frame for `index` and the encoded protocol `name` at `offset`; its size is DATA_HEADER_BYTES + name.length. */
export function writeBindFrame(target: Uint8Array, offset: number, index: number, name: Uint8Array): void {
  writeDataHeader(target, offset, index, name.length)
  target[offset + 4] = FrameKind.Bind
  target.set(name, offset + DATA_HEADER_BYTES)
}

/** A CREDIT frame granting `bytes`. */
export function encodeCreditFrame(bytes: number): Uint8Array {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > CREDIT_MAX_BYTES) throw new RangeError(`credit out of range: ${bytes}`)
  const frame = new Uint8Array(CREDIT_FRAME_BYTES)
  const view = new DataView(frame.buffer)
  view.setUint32(0, CREDIT_FRAME_BYTES - LENGTH_BYTES)
  frame[4] = FrameKind.Credit
  view.setUint32(5, bytes)
  return frame
}

/** A BYE frame. */
export function encodeByeFrame(): Uint8Array {
  return Uint8Array.of(0, 0, 0, 1, FrameKind.Bye)
}

/** A KEEPALIVE frame. */
export function encodeKeepaliveFrame(): Uint8Array {
  return Uint8Array.of(0, 0, 0, 1, FrameKind.Keepalive)
}

/** The length of the frame starting at `offset` of `source` (which must hold its prefix), prefix included. */
export function frameBytesAt(source: Uint8Array, offset: number): number {
  return readU32(source, offset) + LENGTH_BYTES
}

/**
 * Receives decoded frames. `data` gets a view of its payload as `source[start, end)`: the view is
 * valid only during the call (copy with `source.slice(start, end)` to keep it); the DATA frame's
 * size on the wire is `end - start + DATA_HEADER_BYTES`.
 */
export interface FrameVisitor {
  data(index: number, source: Uint8Array, start: number, end: number): void
  bind(index: number, name: string, frameBytes: number): void
  credit(bytes: number): void
  keepalive(): void
  bye(): void
}

/** Decodes a byte stream into frames, keeping the tail of a frame split across chunks. */
export class FrameDecoder {
  /** The bytes of an incomplete frame, sized to the whole frame once its prefix is known. */
  private partial: Uint8Array | undefined = undefined
  private partialFilled = 0

  constructor(readonly frameMaxBytes: number) {
    if (!Number.isInteger(frameMaxBytes) || frameMaxBytes < DATA_HEADER_BYTES || frameMaxBytes > CREDIT_MAX_BYTES) {
      throw new RangeError(`frameMaxBytes out of range: ${frameMaxBytes}`)
    }
  }

  /** Bytes held for a frame that has not fully arrived. */
  get bufferedBytes(): number {
    return this.partialFilled
  }

  /** Decodes every complete frame in `chunk` in order, keeping the remainder; throws MalformedFrameError. */
  push(chunk: Uint8Array, visitor: FrameVisitor): void {
    // A plain view: Buffer#slice would alias instead of copying in the visitor.
    const bytes = chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let offset = this.partial === undefined ? 0 : this.completePartial(bytes, visitor)
    const end = bytes.length
    while (end - offset >= LENGTH_BYTES) {
      const frameEnd = offset + this.checkedFrameBytes(bytes, offset)
      if (frameEnd > end) break
      decodeFrame(bytes, offset, frameEnd, visitor)
      offset = frameEnd
    }
    if (offset < end) this.keep(bytes, offset)
  }

  /** Feeds the start of `bytes` into the pending partial frame; returns the offset where unread bytes begin. */
  private completePartial(bytes: Uint8Array, visitor: FrameVisitor): number {
    let partial = this.partial!
    let offset = 0
    if (this.partialFilled < LENGTH_BYTES) {
      const take = Math.min(LENGTH_BYTES - this.partialFilled, bytes.length)
      partial.set(bytes.subarray(0, take), this.partialFilled)
      this.partialFilled += take
      offset = take
      if (this.partialFilled < LENGTH_BYTES) return offset
      const whole = new Uint8Array(this.checkedFrameBytes(partial, 0))
      whole.set(partial.subarray(0, LENGTH_BYTES))
      partial = whole
      this.partial = whole
    }
    const take = Math.min(partial.length - this.partialFilled, bytes.length - offset)
    partial.set(bytes.subarray(offset, offset + take), this.partialFilled)
    this.partialFilled += take
    offset += take
    if (this.partialFilled === partial.length) {
      this.partial = undefined
      this.partialFilled = 0
      decodeFrame(partial, 0, partial.length, visitor)
    }
    return offset
  }

  /** Copies the incomplete frame at `bytes[offset..]` aside until the rest arrives. */
  private keep(bytes: Uint8Array, offset: number): void {
    const rest = bytes.length - offset
    const size = rest >= LENGTH_BYTES ? this.checkedFrameBytes(bytes, offset) : LENGTH_BYTES
    this.partial = new Uint8Array(size)
    this.partial.set(bytes.subarray(offset))
    this.partialFilled = rest
  }

  private checkedFrameBytes(bytes: Uint8Array, offset: number): number {
    const length = readU32(bytes, offset)
    if (length === 0) throw new MalformedFrameError('frame with zero length')
    if (length > this.frameMaxBytes - LENGTH_BYTES) throw new MalformedFrameError(`frame of ${length + LENGTH_BYTES} bytes exceeds the limit of ${this.frameMaxBytes}`)
    return length + LENGTH_BYTES
  }
}

/** Decodes the one complete frame in `bytes[start, end)` and hands it to `visitor`. */
function decodeFrame(bytes: Uint8Array, start: number, end: number, visitor: FrameVisitor): void {
  const kind = bytes[start + LENGTH_BYTES]
  const bodyStart = start + LENGTH_BYTES + 1
  const bodyBytes = end - bodyStart
  switch (kind) {
    case FrameKind.Data: {
      if (bodyBytes < 2) throw new MalformedFrameError('DATA frame without a protocol index')
      visitor.data((bytes[bodyStart]! << 8) | bytes[bodyStart + 1]!, bytes, bodyStart + 2, end)
      return
    }
    case FrameKind.Bind: {
      const nameBytes = bodyBytes - 2
      if (nameBytes < 1 || nameBytes > PROTOCOL_NAME_MAX_BYTES) throw new MalformedFrameError(`BIND frame with a ${nameBytes}-byte protocol name`)
      let name: string
      try {
        name = strictDecoder.decode(bytes.subarray(bodyStart + 2, end))
      } catch {
        throw new MalformedFrameError('BIND frame with a protocol name that is not UTF-8')
      }
      visitor.bind((bytes[bodyStart]! << 8) | bytes[bodyStart + 1]!, name, end - start)
      return
    }
    case FrameKind.Credit: {
      if (bodyBytes !== 4) throw new MalformedFrameError(`CREDIT frame with a ${bodyBytes}-byte body`)
      const credit = readU32(bytes, bodyStart)
      if (credit === 0) throw new MalformedFrameError('CREDIT frame granting 0 bytes')
      visitor.credit(credit)
      return
    }
    case FrameKind.Keepalive: {
      if (bodyBytes !== 0) throw new MalformedFrameError(`KEEPALIVE frame with a ${bodyBytes}-byte body`)
      visitor.keepalive()
      return
    }
    case FrameKind.Bye: {
      if (bodyBytes !== 0) throw new MalformedFrameError(`BYE frame with a ${bodyBytes}-byte body`)
      visitor.bye()
      return
    }
    default:
      throw new MalformedFrameError(`unknown frame kind ${kind}`)
  }
}

function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
}
