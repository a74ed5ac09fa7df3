/**
 * Wire codec of SWIM failure detection (src/membership/swim.ts), carried as direct messages on
 * SWIM_PROTOCOL: msgpack arrays with the format version first. Decoding validates every field and
 * bound and throws a ProtocolError subclass for anything else, so a bad peer costs one dropped
 * message, never a crash. The sender is the transport's authenticated peer, never a field.
 */
import { Packr } from 'msgpackr'
import { showValue } from '../../src/errors.js'
import type { SwimMessage, SwimState, SwimUpdate } from '../../src/membership/swim.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, UnsupportedVersionError } from '../errors.js'

/** The direct-message protocol of SWIM probes. */
export const SWIM_PROTOCOL = '/dx/swim/1.0.0'

/** The direct-message protocol of a worker's member record sent to its leader (encoded by codec.ts). */
export const REPORT_PROTOCOL = '/dx/cluster-report/1.0.0'

export const SWIM_CODEC_VERSION = 1

/** Largest encoded message accepted. */
export const SWIM_MESSAGE_MAX_BYTES = 16 * 1024

const UPDATES_MAX = 32
const ADDRESSES_MAX = 4
const ADDRESS_MAX = 512
const ID_MAX = 128
const KINDS = ['ping', 'ack', 'ping-req'] as const
const STATES: readonly SwimState[] = ['alive', 'suspect', 'dead']

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

export function encodeSwim(m: SwimMessage): Uint8Array {
  const updates = m.updates.map((u) => [u.node, STATES.indexOf(u.state), u.incarnation, u.addresses])
  const bytes = packr.pack([SWIM_CODEC_VERSION, KINDS.indexOf(m.kind), m.seq, m.kind === 'ping-req' ? m.target : null, updates])
  if (bytes.length > SWIM_MESSAGE_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SWIM_MESSAGE_MAX_BYTES)
  return bytes
}

export function decodeSwim(bytes: Uint8Array): SwimMessage {
  if (bytes.length > SWIM_MESSAGE_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SWIM_MESSAGE_MAX_BYTES)
  let w: unknown
  try {
    w = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
  }
  if (!Array.isArray(w) || w.length === 0) throw invalid('shape')
  if (w[0] !== SWIM_CODEC_VERSION) throw new UnsupportedVersionError(w[0])
  if (w.length !== 5) throw invalid(`field count ${w.length}`)
  const kind = KINDS[count(w[1], 'kind')] ?? fail('kind')
  const seq = count(w[2], 'seq')
  if (!Array.isArray(w[4]) || w[4].length > UPDATES_MAX) throw invalid('updates')
  const updates = w[4].map(update)
  if (kind === 'ping-req') return { kind, seq, target: id(w[3], 'target'), updates }
  if (w[3] !== null) throw invalid('target')
  return { kind, seq, updates }
}

function update(x: unknown): SwimUpdate {
  if (!Array.isArray(x) || x.length !== 4) throw invalid('update')
  if (!Array.isArray(x[3]) || x[3].length > ADDRESSES_MAX) throw invalid('addresses')
  return { node: id(x[0], 'node'), state: STATES[count(x[1], 'state')] ?? fail('state'), incarnation: count(x[2], 'incarnation'), addresses: x[3].map((a) => text(a, ADDRESS_MAX, 'address')) }
}

function invalid(what: string): InvalidEnvelopeError {
  return new InvalidEnvelopeError(`invalid swim message: ${what}`)
}

function fail(what: string): never {
  throw invalid(what)
}

function count(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw invalid(`${what} ${showValue(x)}`)
  return x
}

function text(x: unknown, max: number, what: string): string {
  if (typeof x !== 'string' || x.length === 0 || x.length > max) throw invalid(`${what} ${showValue(x)}`)
  return x
}

function id(x: unknown, what: string): string {
  return text(x, ID_MAX, what)
}
