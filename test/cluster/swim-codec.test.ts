// Goal: every SWIM message type round-trips through the codec, and oversize, malformed, wrongly
// typed or unknown-version input is rejected with a typed ProtocolError, never a crash or a
// half-decoded message. Method: encode/decode pairs and hand-built msgpack arrays.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { decodeSwim, encodeSwim, SWIM_CODEC_VERSION, SWIM_PIGGYBACK_MAX, SWIM_PROBE_MAX_BYTES, SWIM_SYNC_MAX_BYTES } from '../../protocols/swim/codec.js'
import type { SwimMessage } from '../../protocols/swim/types.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, ProtocolError, UnsupportedVersionError } from '../../protocols/errors.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

const MESSAGES: SwimMessage[] = [
  {
    type: 'ping',
    seq: 7,
    incarnation: 2,
    target: 'n2',
    updates: [
      { kind: 'join', member: 'n9', incarnation: 0, ageMs: 0 },
      { kind: 'suspect', member: 'n3', incarnation: 4, ageMs: 1_250, from: 'n1' },
      { kind: 'dead', member: 'n4', incarnation: 1, ageMs: 86_400_000, from: 'n5' },
    ],
    loads: [{ member: 'n1', version: 3, values: [8, 2, 0, 1.5] }],
  },
  { type: 'ping-req', seq: 8, incarnation: 0, target: 'n3', updates: [{ kind: 'left', member: 'n6', incarnation: 2, ageMs: 7 }], loads: [] },
  { type: 'ack', seq: 9, incarnation: 5, updates: [{ kind: 'alive', member: 'n3', incarnation: 5, ageMs: 40 }], loads: [{ member: 'n3', version: 1, values: [] }] },
  { type: 'nack', seq: 10 },
  {
    type: 'sync',
    reply: true,
    members: [
      { member: 'n1', incarnation: 0, status: 'alive' },
      { member: 'n2', incarnation: 3, status: 'suspect' },
      { member: 'n3', incarnation: 1, status: 'dead' },
      { member: 'n4', incarnation: 0, status: 'left' },
    ],
    loads: [{ member: 'n1', version: 9, values: [1, 2, 3] }],
  },
  { type: 'digest', incarnation: 3, digest: 0xffffffff, count: 50 },
  {
    type: 'live',
    incarnation: 1,
    members: [
      { member: 'n1', incarnation: 1 },
      { member: 'n2', incarnation: 0 },
    ],
  },
]

test('every message type round-trips', () => {
  for (const m of MESSAGES) assert.deepEqual(decodeSwim(encodeSwim(m)), m)
})

test('an age is sent as whole milliseconds from 0 to a day, so a receiver never refuses what a sender wrote', () => {
  const ages = (ageMs: number | undefined): number | undefined => {
    const update = ageMs === undefined ? { kind: 'join' as const, member: 'n1', incarnation: 0 } : { kind: 'join' as const, member: 'n1', incarnation: 0, ageMs }
    const decoded = decodeSwim(encodeSwim({ type: 'ack', seq: 1, incarnation: 0, updates: [update], loads: [] }))
    return decoded.type === 'ack' ? decoded.updates[0]!.ageMs : undefined
  }
  assert.deepEqual([ages(undefined), ages(-3), ages(12.6), ages(2 * 86_400_000)], [0, 0, 13, 86_400_000])
})

test('oversize messages are refused with EnvelopeTooLargeError on both sides', () => {
  const long = 'x'.repeat(128)
  const updates = Array.from({ length: SWIM_PIGGYBACK_MAX }, (_, i) => ({
    kind: 'suspect' as const,
    member: `${long.slice(3)}${String(i).padStart(3, '0')}`,
    incarnation: 1,
    from: long,
  }))
  const big: SwimMessage = { type: 'ping', seq: 1, incarnation: 0, target: 'n1', updates, loads: [] }
  assert.throws(() => encodeSwim(big), EnvelopeTooLargeError)
  // The same bytes built by hand are refused before any field is looked at.
  const bytes = packr.pack([SWIM_CODEC_VERSION, 0, 1, 0, 'n1', updates.map((u) => [2, u.member, u.incarnation, 0, u.from]), []])
  assert.ok(bytes.length > SWIM_PROBE_MAX_BYTES)
  assert.throws(() => decodeSwim(bytes), EnvelopeTooLargeError)
  assert.throws(
    () => decodeSwim(new Uint8Array(SWIM_SYNC_MAX_BYTES + 1)),
    (e: unknown) => e instanceof EnvelopeTooLargeError && e.code === 'ERR_ENVELOPE_TOO_LARGE',
  )
  // A sync of thousands of members is fine up to its own, larger limit.
  const members = Array.from({ length: 3_000 }, (_, i) => ({ member: `member-${i}`, incarnation: i, status: 'alive' as const }))
  assert.equal((decodeSwim(encodeSwim({ type: 'sync', reply: false, members, loads: [] })) as { members: readonly unknown[] }).members.length, 3_000)
})

test('invalid input is a typed ProtocolError', () => {
  const cases: [string, Uint8Array, new (...args: never[]) => ProtocolError][] = [
    ['not msgpack', new Uint8Array([0xc1]), InvalidEnvelopeError],
    ['not an array', packr.pack({ v: 1 }), InvalidEnvelopeError],
    ['unknown version', packr.pack([99, 0, 1, 0, 'n1', [], []]), UnsupportedVersionError],
    ['unknown type', packr.pack([SWIM_CODEC_VERSION, 9, 1]), InvalidEnvelopeError],
    ['field count', packr.pack([SWIM_CODEC_VERSION, 0, 1, 0, 'n1', []]), InvalidEnvelopeError],
    ['negative seq', packr.pack([SWIM_CODEC_VERSION, 3, -1]), InvalidEnvelopeError],
    ['fractional incarnation', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0.5, [], []]), InvalidEnvelopeError],
    ['empty target', packr.pack([SWIM_CODEC_VERSION, 0, 1, 0, '', [], []]), InvalidEnvelopeError],
    ['long id', packr.pack([SWIM_CODEC_VERSION, 0, 1, 0, 'x'.repeat(129), [], []]), InvalidEnvelopeError],
    ['unknown update kind', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[7, 'n1', 0, 0]], []]), InvalidEnvelopeError],
    ['a message of version 1', packr.pack([1, 2, 1, 0, [[0, 'n1', 0]], []]), UnsupportedVersionError],
    ['update without an age', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[0, 'n1', 0]], []]), InvalidEnvelopeError],
    ['negative age', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[0, 'n1', 0, -1]], []]), InvalidEnvelopeError],
    ['fractional age', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[0, 'n1', 0, 1.5]], []]), InvalidEnvelopeError],
    ['age past a day', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[0, 'n1', 0, 86_400_001]], []]), InvalidEnvelopeError],
    ['short update', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [[0, 'n1']], []]), InvalidEnvelopeError],
    ['too many updates', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, Array.from({ length: SWIM_PIGGYBACK_MAX + 1 }, () => [0, 'n1', 0, 0]), []]), InvalidEnvelopeError],
    ['non-finite load', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [], [['n1', 1, [Infinity]]]]), InvalidEnvelopeError],
    ['too many load values', packr.pack([SWIM_CODEC_VERSION, 2, 1, 0, [], [['n1', 1, [1, 2, 3, 4, 5, 6, 7, 8, 9]]]]), InvalidEnvelopeError],
    ['sync reply not boolean', packr.pack([SWIM_CODEC_VERSION, 4, 1, [], []]), InvalidEnvelopeError],
    ['sync unknown status', packr.pack([SWIM_CODEC_VERSION, 4, true, [['n1', 0, 9]], []]), InvalidEnvelopeError],
    ['digest past 32 bits', packr.pack([SWIM_CODEC_VERSION, 5, 0, 2 ** 32, 3]), InvalidEnvelopeError],
    ['digest count negative', packr.pack([SWIM_CODEC_VERSION, 5, 0, 7, -1]), InvalidEnvelopeError],
    ['live member with a status', packr.pack([SWIM_CODEC_VERSION, 6, 0, [['n1', 0, 0]]]), InvalidEnvelopeError],
    ['live member without an id', packr.pack([SWIM_CODEC_VERSION, 6, 0, [['', 0]]]), InvalidEnvelopeError],
    ['live members not a list', packr.pack([SWIM_CODEC_VERSION, 6, 0, 'n1']), InvalidEnvelopeError],
  ]
  for (const [what, bytes, type] of cases) {
    assert.throws(
      () => decodeSwim(bytes),
      (e: unknown) => e instanceof type && e instanceof ProtocolError && typeof e.code === 'string',
      what,
    )
  }
})
