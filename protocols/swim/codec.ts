/**
 * Wire codec of SWIM membership messages (types.ts). msgpack arrays with the format version first and
 * a type code second; updates and loads are nested arrays without keys, so a probe carrying a dozen
 * updates stays a few hundred bytes. Decoding validates every field and bound and throws a
 * ProtocolError subclass for anything else, so a bad peer costs one dropped message, never a crash.
 *
 * Limits: a probe-path message (ping, ping-req, ack, nack) is at most SWIM_PROBE_MAX_BYTES (the core
 * keeps them far below, see SwimConfig.maxPiggybackBytes); a sync, which carries the whole member
 * list once per join, and a `live` (the alive members) at most SWIM_SYNC_MAX_BYTES.
 *
 * Type codes 5 (digest) and 6 (live) were added within version 1 (2026-11-30): a node of the previous
 * release drops them as invalid (counted in dx_swim_invalid_total) and misses only the repair they
 * bring. Version 2 (2026-12-03) gives every update its age (`SwimUpdate.ageMs`), which changes the
 * probes themselves: nodes of versions 1 and 2 drop each other's messages (UnsupportedVersionError),
 * so a cluster is upgraded all at once, as for the replica log's format 2.
 */
import { Packr } from 'msgpackr'
import { EnvelopeTooLargeError, InvalidEnvelopeError, showValue, UnsupportedVersionError } from '../errors.js'
import { fieldChecks } from '../fields.js'
import type { SwimLoad, SwimMemberState, SwimMessage, SwimUpdate, SwimUpdateKind } from './types.js'

const { invalid, fail, count, real, list, tuple } = fieldChecks('swim message')

/**
 * The direct-message protocol SWIM travels on (Network.send/handle). The network authenticates the
 * sender (libp2p's noise handshake binds it to its peer id), so `from` is the node that sent it.
 */
export const SWIM_PROTOCOL = '/dx/swim/1.0.0'

/** Current message format version. */
export const SWIM_CODEC_VERSION = 2

/** Largest encoded ping, ping-req, ack or nack accepted. */
export const SWIM_PROBE_MAX_BYTES = 16 * 1024
/** Largest encoded sync accepted (about 4,096 members with 64-character ids). */
export const SWIM_SYNC_MAX_BYTES = 512 * 1024
/** Longest member id. */
export const SWIM_ID_MAX = 128
/** Most updates, or loads, on one probe-path message. */
export const SWIM_PIGGYBACK_MAX = 64
/** Most members in one sync. */
export const SWIM_MEMBERS_MAX = 4096
/** Most values in one load. */
export const SWIM_LOAD_VALUES_MAX = 8
/** Largest age an update carries (a day): older news is no older for the metric, and a peer cannot send a huge number. */
export const SWIM_AGE_MAX_MS = 86_400_000

const TYPES = ['ping', 'ping-req', 'ack', 'nack', 'sync', 'digest', 'live'] as const
/** Field counts by type code (version and type included). */
const FIELDS = [7, 7, 6, 3, 5, 5, 4]
const KINDS: readonly SwimUpdateKind[] = ['join', 'alive', 'suspect', 'dead', 'left']
const STATUSES: readonly SwimMemberState['status'][] = ['alive', 'suspect', 'dead', 'left']

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/** Encodes a message; throws EnvelopeTooLargeError past the limit of its type. */
export function encodeSwim(m: SwimMessage): Uint8Array {
  let fields: unknown[]
  switch (m.type) {
    case 'ping':
    case 'ping-req':
      fields = [m.seq, m.incarnation, m.target, m.updates.map(packUpdate), m.loads.map(packLoad)]
      break
    case 'ack':
      fields = [m.seq, m.incarnation, m.updates.map(packUpdate), m.loads.map(packLoad)]
      break
    case 'nack':
      fields = [m.seq]
      break
    case 'sync':
      fields = [m.reply, m.members.map((s) => [s.member, s.incarnation, STATUSES.indexOf(s.status)]), m.loads.map(packLoad)]
      break
    case 'digest':
      fields = [m.incarnation, m.digest, m.count]
      break
    case 'live':
      fields = [m.incarnation, m.members.map((s) => [s.member, s.incarnation])]
      break
  }
  const bytes = packr.pack([SWIM_CODEC_VERSION, TYPES.indexOf(m.type), ...fields])
  const max = m.type === 'sync' || m.type === 'live' ? SWIM_SYNC_MAX_BYTES : SWIM_PROBE_MAX_BYTES
  if (bytes.length > max) throw new EnvelopeTooLargeError(bytes.length, max)
  return bytes
}

/** Decodes a message; throws a ProtocolError subclass for anything invalid. */
export function decodeSwim(bytes: Uint8Array): SwimMessage {
  if (bytes.length > SWIM_SYNC_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SWIM_SYNC_MAX_BYTES)
  let w: unknown
  try {
    w = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
  }
  if (!Array.isArray(w) || w.length < 2) throw invalid('shape')
  if (w[0] !== SWIM_CODEC_VERSION) throw new UnsupportedVersionError(w[0])
  const type = TYPES[count(w[1], 'type')] ?? fail('type')
  if (w.length !== FIELDS[TYPES.indexOf(type)]) throw invalid(`field count ${w.length}`)
  if (type !== 'sync' && type !== 'live' && bytes.length > SWIM_PROBE_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SWIM_PROBE_MAX_BYTES)
  switch (type) {
    case 'ping':
    case 'ping-req':
      return { type, seq: count(w[2], 'seq'), incarnation: count(w[3], 'incarnation'), target: id(w[4], 'target'), updates: updates(w[5]), loads: loads(w[6]) }
    case 'ack':
      return { type, seq: count(w[2], 'seq'), incarnation: count(w[3], 'incarnation'), updates: updates(w[4]), loads: loads(w[5]) }
    case 'nack':
      return { type, seq: count(w[2], 'seq') }
    case 'sync': {
      if (typeof w[2] !== 'boolean') throw invalid(`reply ${showValue(w[2])}`)
      const members = list(w[3], SWIM_MEMBERS_MAX, 'members').map((x) =>
        tuple(x, 3, (t) => ({ member: id(t[0], 'member'), incarnation: count(t[1], 'incarnation'), status: STATUSES[count(t[2], 'status')] ?? fail('status') })),
      )
      return { type, reply: w[2], members, loads: list(w[4], SWIM_MEMBERS_MAX, 'loads').map(unpackLoad) }
    }
    case 'digest': {
      const digest = count(w[3], 'digest')
      if (digest > 0xffffffff) throw invalid(`digest ${showValue(w[3])}`)
      return { type, incarnation: count(w[2], 'incarnation'), digest, count: count(w[4], 'count') }
    }
    case 'live':
      return {
        type,
        incarnation: count(w[2], 'incarnation'),
        members: list(w[3], SWIM_MEMBERS_MAX, 'members').map((x) => tuple(x, 2, (t) => ({ member: id(t[0], 'member'), incarnation: count(t[1], 'incarnation') }))),
      }
  }
}

/** An update on the wire: [kind, member, incarnation, age in ms] or, with an originator, [kind, member, incarnation, age, from]. */
function packUpdate(u: SwimUpdate): unknown[] {
  const kind = KINDS.indexOf(u.kind)
  const ageMs = Math.min(SWIM_AGE_MAX_MS, Math.max(0, Math.round(u.ageMs ?? 0)))
  return u.from === undefined ? [kind, u.member, u.incarnation, ageMs] : [kind, u.member, u.incarnation, ageMs, u.from]
}

function unpackUpdate(x: unknown): SwimUpdate {
  if (!Array.isArray(x) || (x.length !== 4 && x.length !== 5)) throw invalid('update')
  const kind = KINDS[count(x[0], 'update kind')] ?? fail('update kind')
  const ageMs = count(x[3], 'update age')
  if (ageMs > SWIM_AGE_MAX_MS) throw invalid(`update age ${showValue(x[3])}`)
  const base = { kind, member: id(x[1], 'member'), incarnation: count(x[2], 'incarnation'), ageMs }
  return x.length === 5 ? { ...base, from: id(x[4], 'from') } : base
}

function updates(x: unknown): SwimUpdate[] {
  return list(x, SWIM_PIGGYBACK_MAX, 'updates').map(unpackUpdate)
}

function packLoad(l: SwimLoad): unknown[] {
  return [l.member, l.version, l.values]
}

function loads(x: unknown): SwimLoad[] {
  return list(x, SWIM_PIGGYBACK_MAX, 'loads').map(unpackLoad)
}

function unpackLoad(x: unknown): SwimLoad {
  return tuple(x, 3, (t) => ({
    member: id(t[0], 'load member'),
    version: count(t[1], 'load version'),
    values: list(t[2], SWIM_LOAD_VALUES_MAX, 'load values').map((v) => real(v, 'load value')),
  }))
}

function id(x: unknown, what: string): string {
  if (typeof x !== 'string' || x.length === 0 || x.length > SWIM_ID_MAX) throw invalid(`${what} ${showValue(x)}`)
  return x
}
