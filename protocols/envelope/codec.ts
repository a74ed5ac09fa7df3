/**
 * The message envelope: how a tell, an ask, a reply or a failure crosses the wire.
 *
 * Wire format (msgpack array, version first so any future format can be told apart):
 *   tell    [1, 0, toNode, toPath, body]
 *   ask     [1, 1, toNode, toPath, body, requestId, timeoutMs]
 *   reply   [1, 2, requestId, body]
 *   failure [1, 3, requestId, errorName, errorCode, errorMessage]
 *
 * Decoding is total: it returns a well-formed Envelope or throws a ProtocolError subclass, whatever
 * the input bytes. Bodies are plain data (null, booleans, numbers, bigints, strings, byte arrays,
 * dates, arrays and plain or null-prototype objects) nested at most BODY_DEPTH_MAX deep; encode checks the same rules,
 * so a bad message fails at its sender with a typed error instead of at the receiver.
 */
import { Packr } from 'msgpackr'
import { type ActorAddress, assertValidAddress } from '../../src/actor/address.js'
import { showValue } from '../../src/errors.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, UnsupportedVersionError } from '../errors.js'
import { checkBody } from './body.js'
import { ENVELOPE_MAX_BYTES, ENVELOPE_VERSION } from './constants.js'

/** An error as it travels in a failure envelope. */
export interface WireFailure {
  readonly name: string
  readonly code: string
  readonly message: string
}

/** One decoded envelope. */
export type Envelope =
  | { readonly kind: 'tell'; readonly to: ActorAddress; readonly body: unknown }
  | { readonly kind: 'ask'; readonly to: ActorAddress; readonly body: unknown; readonly id: number; readonly timeoutMs: number }
  | { readonly kind: 'reply'; readonly id: number; readonly body: unknown }
  | { readonly kind: 'failure'; readonly id: number; readonly error: WireFailure }

const TELL = 0
const ASK = 1
const REPLY = 2
const FAILURE = 3

const NAME_MAX = 256
const FAILURE_MESSAGE_MAX = 4096

/** Options of the codec. */
export interface EnvelopeCodecInit {
  /** Largest encoded envelope accepted in either direction. Default 1 MiB. */
  maxBytes?: number
}

/** Encodes and decodes envelopes; one instance per connection or node is fine. */
export class EnvelopeCodec {
  readonly maxBytes: number
  private readonly packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

  constructor(init: EnvelopeCodecInit = {}) {
    this.maxBytes = init.maxBytes ?? ENVELOPE_MAX_BYTES
  }

  /** Encodes an envelope; throws InvalidEnvelopeError for a bad field or body, EnvelopeTooLargeError past the limit. */
  encode(envelope: Envelope): Uint8Array {
    let wire: unknown[]
    switch (envelope.kind) {
      case 'tell':
        checkAddress(envelope.to)
        checkBody(envelope.body)
        wire = [ENVELOPE_VERSION, TELL, envelope.to.node, envelope.to.path, envelope.body]
        break
      case 'ask':
        checkAddress(envelope.to)
        checkBody(envelope.body)
        checkRequestId(envelope.id)
        checkTimeout(envelope.timeoutMs)
        wire = [ENVELOPE_VERSION, ASK, envelope.to.node, envelope.to.path, envelope.body, envelope.id, envelope.timeoutMs]
        break
      case 'reply':
        checkRequestId(envelope.id)
        checkBody(envelope.body)
        wire = [ENVELOPE_VERSION, REPLY, envelope.id, envelope.body]
        break
      case 'failure':
        checkRequestId(envelope.id)
        checkFailure(envelope.error)
        wire = [ENVELOPE_VERSION, FAILURE, envelope.id, envelope.error.name, envelope.error.code, envelope.error.message]
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

  /** Decodes one envelope; throws a ProtocolError subclass for anything that is not a valid one. */
  decode(bytes: Uint8Array): Envelope {
    if (bytes.length > this.maxBytes) throw new EnvelopeTooLargeError(bytes.length, this.maxBytes)
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
      default:
        throw new InvalidEnvelopeError(`unknown envelope kind ${showValue(wire[1])}`)
    }
  }
}

function expectLength(wire: unknown[], n: number): void {
  if (wire.length !== n) throw new InvalidEnvelopeError(`envelope kind ${showValue(wire[1])} needs ${n} fields, got ${wire.length}`)
}

function readAddress(node: unknown, path: unknown): ActorAddress {
  const address = { node, path }
  checkAddress(address)
  return address
}

function checkAddress(address: unknown): asserts address is ActorAddress {
  try {
    assertValidAddress(address)
  } catch (error) {
    throw new InvalidEnvelopeError((error as Error).message)
  }
}

function checkRequestId(id: unknown): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new InvalidEnvelopeError(`invalid request id ${showValue(id)}`)
}

function checkTimeout(ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new InvalidEnvelopeError(`invalid timeout ${showValue(ms)}`)
}

function checkFailure(error: { name: unknown; code: unknown; message: unknown }): asserts error is WireFailure {
  if (typeof error !== 'object' || error === null) throw new InvalidEnvelopeError('failure must carry an error')
  if (typeof error.name !== 'string' || error.name.length === 0 || error.name.length > NAME_MAX) throw new InvalidEnvelopeError('invalid error name')
  if (typeof error.code !== 'string' || error.code.length > NAME_MAX) throw new InvalidEnvelopeError('invalid error code')
  if (typeof error.message !== 'string' || error.message.length > FAILURE_MESSAGE_MAX) throw new InvalidEnvelopeError('invalid error message')
}
