// Goal: replication messages round-trip exactly; any other bytes (random, truncated, mutated, oversized) decode to a ProtocolError, never a crash or a wrong message.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { pack, Packr } from 'msgpackr'
import {
  decodeReplication,
  encodeReplication,
  REPLICATION_FRAME_MAX_BYTES,
  REPLICATION_VERSION,
  ReplicationEncoder,
  type ReplicationMessage,
  type WireEntry,
} from '../../protocols/replication/codec.js'
import { EnvelopeTooLargeError, ProtocolError, UnsupportedVersionError } from '../../protocols/errors.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

const idx = fc.integer({ min: 0, max: 1_000_000 })
const append: fc.Arbitrary<ReplicationMessage> = fc
  .record({
    epoch: fc.integer({ min: 5, max: 100 }),
    leaderCommit: idx,
    prevIndex: fc.integer({ min: -1, max: 1_000_000 }),
    prevEpoch: fc.integer({ min: 0, max: 4 }),
    // Each entry's records, and whether it continues the append of the entry before it.
    batches: fc.array(fc.tuple(fc.array(fc.uint8Array({ maxLength: 16 }), { minLength: 1, maxLength: 3 }), fc.boolean()), { maxLength: 5 }),
    compactBelow: fc.option(idx, { nil: undefined }),
  })
  .map(({ epoch, leaderCommit, prevIndex, prevEpoch, batches, compactBelow }) => ({
    kind: 'append' as const,
    epoch,
    leaderCommit,
    prevIndex,
    prevEpoch,
    entries: batches.reduce<WireEntry[]>((out, [payloads, continues], i) => {
      const before = out[i - 1]
      const offset = continues && before !== undefined && before.epoch === (i < 2 ? prevEpoch : epoch) ? before.offset + before.payloads.length : appendOffset(prevIndex + 1 + i)
      out.push({ index: prevIndex + 1 + i, epoch: i < 2 ? prevEpoch : epoch, offset, payloads })
      return out
    }, []),
    ...(compactBelow === undefined ? {} : { compactBelow }),
  }))
const reply: fc.Arbitrary<ReplicationMessage> = fc
  .record({ epoch: idx, ok: fc.boolean(), end: idx, hint: fc.option(idx, { nil: undefined }) })
  .map(({ hint, ...r }) => ({ kind: 'reply' as const, ...r, ...(hint === undefined ? {} : { hint }) }))
const reset: fc.Arbitrary<ReplicationMessage> = fc
  .record({ epoch: fc.integer({ min: 3, max: 9 }), leaderCommit: idx, start: idx, prevEpoch: fc.integer({ min: 0, max: 3 }) })
  .map((r) => ({ kind: 'reset' as const, ...r }))
const message = fc.oneof(append, reply, reset)

/** Byte arrays compare by content whatever their class (msgpackr decodes to Buffer). */
function plain(m: ReplicationMessage): unknown {
  const walk = (v: unknown): unknown =>
    v instanceof Uint8Array
      ? { bytes: [...v] }
      : Array.isArray(v)
        ? v.map(walk)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
          : v
  return walk(m)
}

test('every valid message round-trips', () => {
  fc.assert(
    fc.property(message, (m) => assert.deepEqual(plain(decodeReplication(encodeReplication(m))), plain(m))),
    { numRuns: 500 },
  )
})

test('the encoder writes what encodeReplication writes, also when it reuses a run packed for another follower', () => {
  const encoder = new ReplicationEncoder()
  fc.assert(
    fc.property(message, (m) => assert.deepEqual(encoder.encode(m), encodeReplication(m))),
    { numRuns: 500 },
  )
  // Two followers sent the same run with different headers, then an overlapping and a later run.
  const entries: WireEntry[] = Array.from({ length: 40 }, (_, i) => ({ index: i + 10, epoch: 2, offset: appendOffset(i + 10), payloads: [new Uint8Array(i % 7).fill(i)] }))
  const sends: ReplicationMessage[] = [
    { kind: 'append', epoch: 3, leaderCommit: 5, prevIndex: 9, prevEpoch: 1, entries: entries.slice(0, 20) },
    { kind: 'append', epoch: 3, leaderCommit: 9, prevIndex: 9, prevEpoch: 1, entries: entries.slice(0, 20), compactBelow: 4 },
    { kind: 'append', epoch: 3, leaderCommit: 9, prevIndex: 9, prevEpoch: 1, entries: entries.slice(0, 30) },
    { kind: 'append', epoch: 3, leaderCommit: 30, prevIndex: 29, prevEpoch: 2, entries: entries.slice(20) },
    { kind: 'append', epoch: 3, leaderCommit: 30, prevIndex: 29, prevEpoch: 2, entries: entries.slice(20, 40) },
  ]
  for (const m of sends) {
    const bytes = encoder.encode(m)
    assert.deepEqual(bytes, encodeReplication(m))
    assert.deepEqual(plain(decodeReplication(bytes)), plain(m))
  }
  // Same positions, other content (new entry objects): never the cached bytes.
  const other = entries.slice(0, 20).map((e) => ({ ...e, payloads: [new Uint8Array([255])] }))
  const m: ReplicationMessage = { kind: 'append', epoch: 3, leaderCommit: 9, prevIndex: 9, prevEpoch: 1, entries: other }
  assert.deepEqual(plain(decodeReplication(encoder.encode(m))), plain(m))
})

test('random bytes and mutated frames decode to a message or a ProtocolError, nothing else', () => {
  const mutated = fc.tuple(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat()).map(([m, flips, cut]) => {
    const bytes = encodeReplication(m).slice()
    for (const [at, value] of flips) bytes[at % bytes.length] = value
    return bytes.subarray(0, Math.max(1, bytes.length - (cut % 3)))
  })
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
      try {
        const m = decodeReplication(bytes)
        // Whatever decodes must encode again to a frame that decodes to the same message.
        assert.deepEqual(plain(decodeReplication(encodeReplication(m))), plain(m))
      } catch (error) {
        assert.ok(error instanceof ProtocolError, `unexpected ${String(error)}`)
      }
    }),
    { numRuns: 3000 },
  )
})

test('well-formed msgpack that breaks the rules is refused', () => {
  const bad: unknown[] = [
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[6, 1, appendOffset(6), [new Uint8Array(1)]]], null], // gap after prevIndex
    [REPLICATION_VERSION, 0, 3, 0, 4, 2, [[5, 1, appendOffset(5), [new Uint8Array(1)]]], null], // epoch goes back
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 4, appendOffset(5), [new Uint8Array(1)]]], null], // entry newer than its leader
    [REPLICATION_VERSION, 0, 3, 0, -2, 0, [], null], // prevIndex below -1
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(5), ['text']]], null], // payload not bytes
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(5), new Uint8Array(1)]], null], // records not a list
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(5), []]], null], // an entry without records
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, new Uint8Array(1)]], null], // a version 1 entry (one record, no offset)
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(5) + 1, [new Uint8Array(1)]]], null], // neither an append's start nor a continuation
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(6), [new Uint8Array(1)]]], null], // offset of a later append
    [
      REPLICATION_VERSION,
      0,
      3,
      0,
      4,
      1,
      [
        [5, 1, appendOffset(5), [new Uint8Array(1)]],
        [6, 1, appendOffset(5) + 2, [new Uint8Array(1)]],
      ],
      null,
    ], // continuation with a gap
    [REPLICATION_VERSION, 0, 3, 0, 4, 1, [[5, 1, appendOffset(5) - 1, [new Uint8Array(1), new Uint8Array(1)]]], null], // records past their append's offsets
    [REPLICATION_VERSION, 1, 3, 'yes', 4, null], // ok not boolean
    [REPLICATION_VERSION, 2, 3, 0, 1.5, 0], // fractional index
    [REPLICATION_VERSION, 2, 3, 0, 10, 4], // prevEpoch above epoch
    [REPLICATION_VERSION, 9, 3],
    { kind: 'append' },
  ]
  for (const w of bad) assert.throws(() => decodeReplication(pack(w)), ProtocolError, JSON.stringify(w))
  assert.throws(() => decodeReplication(pack([3, 1, 0, true, 0, null])), UnsupportedVersionError)
  // Version 1 (one record per entry) is refused, not misread.
  assert.throws(() => decodeReplication(pack([1, 0, 3, 0, 4, 1, [[5, 1, new Uint8Array(1)]], null])), UnsupportedVersionError)
})

test('frames above the limit are refused on both sides', () => {
  const big = new Uint8Array(REPLICATION_FRAME_MAX_BYTES + 1)
  assert.throws(() => decodeReplication(big), EnvelopeTooLargeError)
  const payload = new Uint8Array(1024 * 1024)
  const entries = Array.from({ length: 17 }, (_, i) => ({ index: i, epoch: 1, offset: appendOffset(i), payloads: [payload] }))
  assert.throws(() => encodeReplication({ kind: 'append', epoch: 1, leaderCommit: 0, prevIndex: -1, prevEpoch: 0, entries }), EnvelopeTooLargeError)
})

test("an append's bytes are msgpackr's own encoding of the message, at every integer, binary and array size boundary", () => {
  const reference = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
  const ints = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER]
  const sizes = [0, 1, 0xff, 0x100, 0xffff, 0x10000]
  const entries: WireEntry[] = []
  const counts = [1, 2, 15, 16]
  for (const [k, index] of ints.entries())
    for (const epoch of [ints[k]!, ints[ints.length - 1 - k]!]) {
      const n = entries.length
      const payloads = Array.from({ length: counts[n % counts.length]! }, (_, r) => new Uint8Array(sizes[(n + r) % sizes.length]!).fill(n))
      entries.push({ index, epoch, offset: ints[(k + 3) % ints.length]!, payloads })
    }
  const lists = [
    entries,
    entries.slice(0, 15),
    entries.slice(0, 16),
    [],
    Array.from({ length: 0x10000 }, (_, i) => ({ index: i, epoch: 1, offset: i, payloads: [new Uint8Array(0)] })),
    [{ index: 1, epoch: 1, offset: 1, payloads: Array.from({ length: 0x10000 }, () => new Uint8Array(1)) }],
  ]
  for (const list of lists) {
    for (const compactBelow of [undefined, 0x1_0000_0000]) {
      const message: ReplicationMessage = {
        kind: 'append',
        epoch: 7,
        leaderCommit: 0x10000,
        prevIndex: -1,
        prevEpoch: 0x80,
        entries: list,
        ...(compactBelow === undefined ? {} : { compactBelow }),
      }
      const expected = reference.pack([REPLICATION_VERSION, 0, 7, 0x10000, -1, 0x80, list.map((e) => [e.index, e.epoch, e.offset, e.payloads]), compactBelow ?? null])
      assert.deepEqual(Buffer.from(encodeReplication(message)), Buffer.from(expected), `${list.length} entries, compactBelow ${compactBelow}`)
      assert.deepEqual(Buffer.from(new ReplicationEncoder().encode(message)), Buffer.from(expected))
    }
  }
})
