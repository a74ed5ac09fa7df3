/**
 * The message envelope: how a tell, an ask, a reply or a failure crosses the wire.
 *
 * Wire format (msgpack array, version first so any future format can be told apart):
 *   tell    [1, 0, toNode, toPath, body]
 *   ask     [1, 1, toNode, toPath, body, requestId, timeoutMs]
 *   reply   [1, 2, requestId, body]
 *   failure [1, 3, requestId, errorName, errorCode, errorMessage]
 *   watch      [1, 4, targetPath, watcherPath]
 *   unwatch    [1, 5, targetPath, watcherPath]
 *   terminated [1, 6, targetPath, watcherPath, reason, error | null]  (error: [name, code, message])
 *
 * Watch messages name paths only: the target lives on the receiver of a watch and on the sender of
 * a terminated, the watcher on the other side, so the authenticated sender supplies the node and a
 * peer cannot speak for actors on a third node.
 *
 * Decoding is total: it returns a well-formed Envelope or throws a ProtocolError subclass, whatever
 * the input bytes. Bodies are plain data (null, booleans, numbers, bigints, strings, byte arrays,
 * dates, arrays and plain or null-prototype objects) nested at most BODY_MAX_DEPTH deep; encode checks the same rules,
 * so a bad message fails at its sender with a typed error instead of at the receiver.
 */
import { Packr } from 'msgpackr'
import { addressProblem, type ActorAddress } from '../address.js'
import {
  EnvelopeTooLargeError,
  InvalidEnvelopeError,
  showValue,
  UnsupportedVersionError,
  WIRE_ERROR_MESSAGE_MAX_CHARS,
  WIRE_ERROR_NAME_MAX_CHARS,
  type WireError,
} from '../errors.js'
import { checkBody } from './body.js'
import { ENVELOPE_MAX_BYTES, ENVELOPE_VERSION } from './constants.js'

/** An error as it travels in a failure envelope. */
export type WireFailure = WireError

/** One decoded envelope. */
export type Envelope =
  | { readonly kind: 'tell'; readonly to: ActorAddress; readonly body: unknown }
  | { readonly kind: 'ask'; readonly to: ActorAddress; readonly body: unknown; readonly id: number; readonly timeoutMs: number }
  | { readonly kind: 'reply'; readonly id: number; readonly body: unknown }
  | { readonly kind: 'failure'; readonly id: number; readonly error: WireFailure }
  | { readonly kind: 'watch' | 'unwatch'; readonly target: string; readonly watcher: string }
  | { readonly kind: 'terminated'; readonly target: string; readonly watcher: string; readonly reason: WatchEndReason; readonly error: WireFailure | null }

/** Why a watched actor on another node ended, as the wire carries it. */
export type WatchEndReason = 'stopped' | 'failed' | 'not-found'
const WATCH_END_REASONS: readonly string[] = ['stopped', 'failed', 'not-found'] satisfies WatchEndReason[]

const TELL = 0
const ASK = 1
const REPLY = 2
const FAILURE = 3
const WATCH = 4
const UNWATCH = 5
const TERMINATED = 6

/** Options of the codec. */
export interface EnvelopeCodecInit {
  /** Largest encoded envelope accepted in either direction. Default 1 MiB. */
  maxBytes?: number
}

/** An encoded `[version, kind, node, path]` prefix and the address it names. */
interface Header {
  readonly bytes: Uint8Array
  readonly address: ActorAddress
}

/** Headers kept per codec; a node talks to a few hundred actors at most at a time. */
const MAX_HEADERS = 1024

/**
 * Encodes and decodes envelopes; one instance per node is fine.
 *
 * Fast path: tells and asks to the same actor share their `[version, kind, node, path]` prefix, so
 * the codec keeps the encoded prefixes it has seen and reuses them in both directions: encoding
 * packs only the body, and decoding recognises a known prefix byte for byte instead of decoding
 * and validating the address again. Replies are written and read the same way around their fixed
 * `[1, 2, id]` prefix. The fast paths write the bytes msgpack writes for the wire array, so either
 * side may use the general path. Anything unusual falls back to the general path.
 */
export class EnvelopeCodec {
  readonly maxBytes: number
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
  private readonly headersOut = new Map<string, Map<string, Uint8Array>>()
  private readonly headersIn: Header[] = []
  private scratch = new Uint8Array(4096)

  constructor(init: EnvelopeCodecInit = {}) {
    this.maxBytes = init.maxBytes ?? ENVELOPE_MAX_BYTES
  }

  /**
   * Like `encode`, but the bytes live in a buffer the codec reuses: they are valid only until the
   * next call. For a caller that hands them straight to something that copies them (Network.send).
   */
  encodeTransient(envelope: Envelope): Uint8Array {
    return this.encodeInto(envelope, true)
  }

  /** Encodes an envelope; throws InvalidEnvelopeError for a bad field or body, EnvelopeTooLargeError past the limit. */
  encode(envelope: Envelope): Uint8Array {
    return this.encodeInto(envelope, false)
  }

  private encodeInto(envelope: Envelope, transient: boolean): Uint8Array {
    let wire: unknown[]
    switch (envelope.kind) {
      case 'tell':
        checkBody(envelope.body)
        return this.withHeader(this.headerOut(envelope.to, TELL), envelope.body, undefined, undefined, transient)
      case 'ask':
        checkBody(envelope.body)
        checkRequestId(envelope.id)
        checkTimeout(envelope.timeoutMs)
        return this.withHeader(this.headerOut(envelope.to, ASK), envelope.body, envelope.id, envelope.timeoutMs, transient)
      case 'reply':
        checkRequestId(envelope.id)
        checkBody(envelope.body)
        return this.withHeader(REPLY_HEADER, envelope.body, envelope.id, undefined, transient)
      case 'failure':
        checkRequestId(envelope.id)
        checkFailure(envelope.error)
        wire = [ENVELOPE_VERSION, FAILURE, envelope.id, envelope.error.name, envelope.error.code, envelope.error.message]
        break
      case 'watch':
      case 'unwatch':
        checkPath(envelope.target)
        checkPath(envelope.watcher)
        wire = [ENVELOPE_VERSION, envelope.kind === 'watch' ? WATCH : UNWATCH, envelope.target, envelope.watcher]
        break
      case 'terminated':
        checkPath(envelope.target)
        checkPath(envelope.watcher)
        checkReason(envelope.reason)
        if (envelope.error !== null) checkFailure(envelope.error)
        wire = [
          ENVELOPE_VERSION,
          TERMINATED,
          envelope.target,
          envelope.watcher,
          envelope.reason,
          envelope.error === null ? null : [envelope.error.name, envelope.error.code, envelope.error.message],
        ]
        break
      default:
        throw new InvalidEnvelopeError(`unknown envelope kind ${showValue((envelope as { kind?: unknown }).kind)}`)
    }
    let bytes: Uint8Array
    try {
      bytes = this.packr.pack(wire)
    } catch (error) {
      throw new InvalidEnvelopeError(`message body cannot be encoded: ${(error as Error).message}`)
    }
    if (bytes.length > this.maxBytes) throw new EnvelopeTooLargeError(bytes.length, this.maxBytes)
    return bytes
  }

  private headerOut(to: ActorAddress, kind: number): Uint8Array {
    const key = kind === TELL ? to.path : `?${to.path}`
    let byPath = this.headersOut.get(to.node)
    const known = byPath?.get(key)
    if (known !== undefined) return known
    checkAddress(to)
    if (byPath === undefined || this.headersOut.size > MAX_HEADERS) {
      if (this.headersOut.size > MAX_HEADERS) this.headersOut.clear()
      byPath = new Map()
      this.headersOut.set(to.node, byPath)
    }
    if (byPath.size > MAX_HEADERS) byPath.clear()
    const header = encodeHeader(this.packr, to, kind)
    byPath.set(key, header)
    return header
  }

  /**
   * `header`, then `id` for a reply (`timeoutMs` undefined); `header`, the body, then `id` and
   * `timeoutMs` for an ask; `header` and the body for a tell. The numbers are written in place, so
   * an envelope costs the packed body and the output, nothing per field.
   */
  private withHeader(header: Uint8Array, body: unknown, id: number | undefined, timeoutMs: number | undefined, transient: boolean): Uint8Array {
    let packed: Uint8Array
    try {
      packed = this.packr.pack(body)
    } catch (error) {
      throw new InvalidEnvelopeError(`message body cannot be encoded: ${(error as Error).message}`)
    }
    const numbers = (id === undefined ? 0 : numberSize(id)) + (id === undefined || timeoutMs === undefined ? 0 : numberSize(timeoutMs))
    const length = header.length + packed.length + numbers
    if (length > this.maxBytes) throw new EnvelopeTooLargeError(length, this.maxBytes)
    if (transient && length > this.scratch.length) this.scratch = new Uint8Array(Math.max(length, this.scratch.length * 2))
    const out = transient ? this.scratch.subarray(0, length) : new Uint8Array(length)
    out.set(header, 0)
    let at = header.length
    if (timeoutMs === undefined && id !== undefined) at = writeNumber(out, at, id)
    out.set(packed, at)
    at += packed.length
    if (timeoutMs !== undefined && id !== undefined) writeNumber(out, writeNumber(out, at, id), timeoutMs)
    return out
  }

  /** The fast path of decode for a reply: `[1, 2, id, body]` with an unsigned integer id, else undefined. */
  private decodeReply(bytes: Uint8Array): Envelope | undefined {
    const id = uintAt(bytes, REPLY_HEADER.length)
    if (id === undefined) return undefined
    let body: unknown
    try {
      body = this.packr.unpack(bytes.subarray(id.end))
    } catch (error) {
      throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
    }
    checkBody(body)
    return { kind: 'reply', id: id.value, body }
  }

  /** The fast path of decode: a tell or ask whose prefix this codec has seen before, else undefined. */
  private decodeKnownHeader(bytes: Uint8Array): Envelope | undefined {
    const ask = bytes[0] === 0x97 && bytes[2] === ASK
    if (!(ask || (bytes[0] === 0x95 && bytes[2] === TELL)) || bytes[1] !== ENVELOPE_VERSION) return undefined
    const node = stringAt(bytes, 3)
    const path = node === undefined ? undefined : stringAt(bytes, node.end)
    if (path === undefined) return undefined
    const end = path.end
    let header = this.headersIn.find((h) => h.bytes.length === end && sameBytes(h.bytes, bytes, end))
    if (header === undefined) {
      const decoder = new TextDecoder('utf-8', { fatal: true })
      let address: ActorAddress
      try {
        address = readAddress(decoder.decode(bytes.subarray(node!.start, node!.end)), decoder.decode(bytes.subarray(path.start, path.end)))
      } catch {
        return undefined
      }
      header = { bytes: bytes.slice(0, end), address }
      if (this.headersIn.length >= MAX_HEADERS / 8) this.headersIn.shift()
      this.headersIn.push(header)
    }
    let values: unknown[]
    try {
      values = ask ? (this.packr.unpackMultiple(bytes.subarray(end)) as unknown[]) : [this.packr.unpack(bytes.subarray(end))]
    } catch (error) {
      throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
    }
    checkBody(values[0])
    if (!ask) return { kind: 'tell', to: header.address, body: values[0] }
    if (values.length !== 3) throw new InvalidEnvelopeError(`envelope kind 1 needs 7 fields, got ${values.length + 4}`)
    checkRequestId(values[1])
    checkTimeout(values[2])
    return { kind: 'ask', to: header.address, body: values[0], id: values[1], timeoutMs: values[2] }
  }

  /** Decodes one envelope; throws a ProtocolError subclass for anything that is not a valid one. */
  decode(bytes: Uint8Array): Envelope {
    if (bytes.length > this.maxBytes) throw new EnvelopeTooLargeError(bytes.length, this.maxBytes)
    const fast = bytes[0] === REPLY_HEADER[0] && bytes[1] === REPLY_HEADER[1] && bytes[2] === REPLY_HEADER[2] ? this.decodeReply(bytes) : this.decodeKnownHeader(bytes)
    if (fast !== undefined) return fast
    let wire: unknown
    try {
      wire = this.packr.unpack(bytes)
    } catch (error) {
      throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
    }
    if (!Array.isArray(wire) || wire.length < 2) throw new InvalidEnvelopeError('envelope must be an array of at least two fields')
    if (wire[0] !== ENVELOPE_VERSION) throw new UnsupportedVersionError(wire[0])
    switch (wire[1]) {
      case TELL:
        expectLength(wire, 5)
        checkBody(wire[4])
        return { kind: 'tell', to: readAddress(wire[2], wire[3]), body: wire[4] }
      case ASK:
        expectLength(wire, 7)
        checkBody(wire[4])
        checkRequestId(wire[5])
        checkTimeout(wire[6])
        return { kind: 'ask', to: readAddress(wire[2], wire[3]), body: wire[4], id: wire[5] as number, timeoutMs: wire[6] as number }
      case REPLY:
        expectLength(wire, 4)
        checkRequestId(wire[2])
        checkBody(wire[3])
        return { kind: 'reply', id: wire[2] as number, body: wire[3] }
      case FAILURE: {
        expectLength(wire, 6)
        checkRequestId(wire[2])
        const error = { name: wire[3], code: wire[4], message: wire[5] }
        checkFailure(error)
        return { kind: 'failure', id: wire[2] as number, error }
      }
      case WATCH:
      case UNWATCH:
        expectLength(wire, 4)
        checkPath(wire[2])
        checkPath(wire[3])
        return { kind: wire[1] === WATCH ? 'watch' : 'unwatch', target: wire[2], watcher: wire[3] }
      case TERMINATED: {
        expectLength(wire, 6)
        checkPath(wire[2])
        checkPath(wire[3])
        checkReason(wire[4])
        let error: WireFailure | null = null
        if (wire[5] !== null) {
          if (!Array.isArray(wire[5]) || wire[5].length !== 3) throw new InvalidEnvelopeError('invalid termination error')
          const e = { name: wire[5][0] as unknown, code: wire[5][1] as unknown, message: wire[5][2] as unknown }
          checkFailure(e)
          error = e
        }
        return { kind: 'terminated', target: wire[2], watcher: wire[3], reason: wire[4], error }
      }
      default:
        throw new InvalidEnvelopeError(`unknown envelope kind ${showValue(wire[1])}`)
    }
  }
}

/** The encoded prefix of tells (kind 0, 5 fields) or asks (kind 1, 7 fields) to `to`. */
function encodeHeader(packr: Packr, to: ActorAddress, kind: number): Uint8Array {
  const strings = packr.pack([to.node, to.path])
  const out = new Uint8Array(strings.length + 2)
  out[0] = kind === TELL ? 0x95 : 0x97
  out[1] = ENVELOPE_VERSION
  out[2] = kind
  // `strings` starts with its own array header (0x92); the two strings follow it.
  out.set(strings.subarray(1), 3)
  return out
}

/** The `[version, kind]` prefix of a reply, a 4-element array: the id and the body follow. */
const REPLY_HEADER = Uint8Array.of(0x94, ENVELOPE_VERSION, REPLY)

/**
 * Bytes of `n` as writeNumber writes it: a non-negative integer below 2^32 as msgpack's smallest
 * unsigned form, anything else (a larger id, a fractional timeout) as a float64, which msgpack
 * decoders read back as the same number.
 */
function numberSize(n: number): number {
  if (!Number.isInteger(n) || n > 0xffffffff) return 9
  return n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5
}

/** Writes `n` at `at` (see numberSize) and returns the offset after it. */
function writeNumber(out: Uint8Array, at: number, n: number): number {
  switch (numberSize(n)) {
    case 1:
      out[at] = n
      return at + 1
    case 2:
      out[at] = 0xcc
      out[at + 1] = n
      return at + 2
    case 3:
      out[at] = 0xcd
      out[at + 1] = n >>> 8
      out[at + 2] = n & 0xff
      return at + 3
    case 5:
      out[at] = 0xce
      out[at + 1] = n >>> 24
      out[at + 2] = (n >>> 16) & 0xff
      out[at + 3] = (n >>> 8) & 0xff
      out[at + 4] = n & 0xff
      return at + 5
    default:
      out[at] = 0xcb
      new DataView(out.buffer, out.byteOffset + at + 1, 8).setFloat64(0, n)
      return at + 9
  }
}

/** The msgpack unsigned integer at `at` (fixint, uint8/16/32), and where it ends; undefined for anything else. */
function uintAt(bytes: Uint8Array, at: number): { value: number; end: number } | undefined {
  const h = bytes[at]
  if (h === undefined) return undefined
  if (h < 0x80) return { value: h, end: at + 1 }
  const width = h === 0xcc ? 1 : h === 0xcd ? 2 : h === 0xce ? 4 : 0
  if (width === 0 || at + 1 + width > bytes.length) return undefined
  let value = 0
  for (let i = 1; i <= width; i++) value = value * 256 + bytes[at + i]!
  return { value, end: at + 1 + width }
}

/** Length and start of the msgpack string at `at`, for fixstr and str8 only. */
function stringAt(bytes: Uint8Array, at: number): { start: number; end: number } | undefined {
  const h = bytes[at]
  if (h === undefined) return undefined
  let start: number
  let length: number
  if ((h & 0xe0) === 0xa0) {
    start = at + 1
    length = h & 0x1f
  } else if (h === 0xd9 && at + 1 < bytes.length) {
    start = at + 2
    length = bytes[at + 1]!
  } else {
    return undefined
  }
  return start + length <= bytes.length ? { start, end: start + length } : undefined
}

function sameBytes(a: Uint8Array, b: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}

function expectLength(wire: unknown[], n: number): void {
  if (wire.length !== n) throw new InvalidEnvelopeError(`envelope kind ${showValue(wire[1])} needs ${n} fields, got ${wire.length}`)
}

/** Addresses seen recently, already validated: a peer talks to the same few actors over and over. */
const knownAddresses = new Map<string, ActorAddress>()
const MAX_KNOWN_ADDRESSES = 4096

function readAddress(node: unknown, path: unknown): ActorAddress {
  if (typeof node === 'string' && typeof path === 'string') {
    const key = `${node} ${path}`
    const known = knownAddresses.get(key)
    if (known !== undefined) return known
    const address = { node, path }
    checkAddress(address)
    if (knownAddresses.size >= MAX_KNOWN_ADDRESSES) knownAddresses.clear()
    knownAddresses.set(key, address)
    return address
  }
  const address = { node, path }
  checkAddress(address)
  return address
}

function checkAddress(address: unknown): asserts address is ActorAddress {
  const problem = addressProblem(address)
  if (problem !== undefined) throw new InvalidEnvelopeError(problem)
}

/** An actor path, checked with the address grammar (the node is the sender's or the receiver's). */
function checkPath(path: unknown): asserts path is string {
  const problem = addressProblem({ node: 'n', path })
  if (problem !== undefined) throw new InvalidEnvelopeError(problem)
}

function checkReason(reason: unknown): asserts reason is WatchEndReason {
  if (typeof reason !== 'string' || !WATCH_END_REASONS.includes(reason)) throw new InvalidEnvelopeError(`invalid termination reason ${showValue(reason)}`)
}

function checkRequestId(id: unknown): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new InvalidEnvelopeError(`invalid request id ${showValue(id)}`)
}

function checkTimeout(ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new InvalidEnvelopeError(`invalid timeout ${showValue(ms)}`)
}

function checkFailure(error: { name: unknown; code: unknown; message: unknown }): asserts error is WireFailure {
  if (typeof error !== 'object' || error === null) throw new InvalidEnvelopeError('failure must carry an error')
  if (typeof error.name !== 'string' || error.name.length === 0 || error.name.length > WIRE_ERROR_NAME_MAX_CHARS) throw new InvalidEnvelopeError('invalid error name')
  if (typeof error.code !== 'string' || error.code.length > WIRE_ERROR_NAME_MAX_CHARS) throw new InvalidEnvelopeError('invalid error code')
  if (typeof error.message !== 'string' || error.message.length > WIRE_ERROR_MESSAGE_MAX_CHARS) throw new InvalidEnvelopeError('invalid error message')
}
