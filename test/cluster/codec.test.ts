// Goal: member records and the persisted election state round-trip with every field, records and
// states of the previous format versions still decode (rolling upgrades, old disks), each record is
// written in the oldest version that holds it, and bad input is a typed ProtocolError. Method:
// encode/decode pairs and hand-built msgpack arrays.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { decodeRecord, decodeState, encodeRecord, encodeState } from '../../protocols/cluster/codec.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, UnsupportedVersionError } from '../../protocols/errors.js'
import { emptyMetrics, type MemberRecord } from '../../src/cluster/types.js'

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

const RECORD: MemberRecord = {
  node: 'n1',
  incarnation: 3,
  seq: 17,
  status: 'up',
  addresses: ['/ip4/127.0.0.1/tcp/7400'],
  metrics: { ...emptyMetrics(), capacity: 4, types: ['echo'], durations: { echo: { count: 2, p50Ms: 1.5, p90Ms: 3 } } },
  epoch: 5,
  vote: 'n0',
  preVote: null,
  grant: { candidate: 'n0', epoch: 5 },
  leaderSeq: null,
  support: { leader: 'n0', epoch: 5, seq: 99 },
  log: { epoch: 4, index: 1234 },
  clusterId: '0123456789abcdef0123456789abcdef',
  config: { epoch: 5, counter: 2, members: ['n0', 'n1', 'n2'], workers: ['n3'] },
}

test('a record round-trips with its log position, cluster and workers, and without them', () => {
  assert.deepEqual(decodeRecord(encodeRecord(RECORD)), RECORD)
  const versionOnly = { ...RECORD, config: { epoch: 5, counter: 2 } }
  assert.deepEqual(decodeRecord(encodeRecord(versionOnly)), versionOnly)
  const none = { ...RECORD, log: null, clusterId: null }
  assert.deepEqual(decodeRecord(encodeRecord(none)), none)
  const leased = { ...RECORD, leaseMs: 2400 }
  assert.deepEqual(decodeRecord(encodeRecord(leased)), leased)
})

const VOTERS = [
  { node: 'n0', addresses: ['/ip4/10.0.0.1/tcp/7400', '/ip4/10.0.0.1/udp/7400/quic-v1'] },
  { node: 'n2', addresses: [] },
]

test("a record with the voters' addresses round-trips in version 4, with a lease and without", () => {
  const leader = { ...RECORD, leaderSeq: 40, support: null, voters: VOTERS }
  const v4 = packr.unpack(encodeRecord(leader)) as unknown[]
  assert.deepEqual([v4[0], v4.length, v4[16]], [4, 18, null], 'no lease: its slot is null')
  assert.deepEqual(decodeRecord(encodeRecord(leader)), leader)
  const leased = { ...leader, leaseMs: 2400 }
  assert.deepEqual(decodeRecord(encodeRecord(leased)), leased)
  assert.deepEqual(decodeRecord(encodeRecord({ ...leader, voters: [] })), { ...leader, voters: [] })
})

test('a record without a lease or voters is written in version 2, which the releases before read; one with a lease alone in version 3; both still decode', () => {
  const v2 = packr.unpack(encodeRecord(RECORD)) as unknown[]
  assert.deepEqual([v2[0], v2.length], [2, 16])
  const v3 = packr.unpack(encodeRecord({ ...RECORD, leaseMs: 2400 })) as unknown[]
  assert.deepEqual([v3[0], v3.length], [3, 17])
  assert.deepEqual(decodeRecord(packr.pack([2, ...v3.slice(1, 16)])), RECORD)
  assert.deepEqual(decodeRecord(packr.pack(v3)), { ...RECORD, leaseMs: 2400 })
})

test('a version 1 record (no log position, no cluster) decodes with both null', () => {
  const v2 = packr.unpack(encodeRecord(RECORD)) as unknown[]
  const v1 = [1, ...v2.slice(1, 13), [5, 2, ['n0', 'n1', 'n2']]]
  assert.deepEqual(decodeRecord(packr.pack(v1)), { ...RECORD, log: null, clusterId: null, config: { epoch: 5, counter: 2, members: ['n0', 'n1', 'n2'] } })
})

test('bad log positions, leases and unknown versions are typed errors', () => {
  const v3 = packr.unpack(encodeRecord({ ...RECORD, leaseMs: 2400 })) as unknown[]
  assert.doesNotThrow(() => decodeRecord(packr.pack(v3)))
  for (const log of [[-1, 3], [1], [1, 2.5], 'x']) {
    assert.throws(() => decodeRecord(packr.pack([...v3.slice(0, 14), log, ...v3.slice(15)])), InvalidEnvelopeError, JSON.stringify(log))
  }
  for (const clusterId of ['', 7, 'x'.repeat(200)]) assert.throws(() => decodeRecord(packr.pack([...v3.slice(0, 15), clusterId, 2400])), InvalidEnvelopeError)
  for (const leaseMs of [0, -1, 1.5, 'x', null, 3_600_001]) assert.throws(() => decodeRecord(packr.pack([...v3.slice(0, 16), leaseMs])), InvalidEnvelopeError, String(leaseMs))
  assert.throws(() => decodeRecord(packr.pack([99, ...v3.slice(1)])), UnsupportedVersionError)
  assert.throws(() => decodeRecord(packr.pack(v3.slice(0, 13))), InvalidEnvelopeError)
})

test('bad voters fields, and a version 4 record of the wrong length, are typed errors', () => {
  const v4 = packr.unpack(encodeRecord({ ...RECORD, voters: VOTERS })) as unknown[]
  assert.doesNotThrow(() => decodeRecord(packr.pack(v4)))
  const address = (n: number): string => `/ip4/10.0.0.1/tcp/${n}`
  const bad: unknown[] = [
    null,
    'n0',
    [['n0']],
    [['n0', ['/a'], 'extra']],
    [['', ['/a']]],
    [[7, ['/a']]],
    [['x'.repeat(129), ['/a']]],
    [['n0', '/a']],
    [['n0', [7]]],
    [['n0', ['']]],
    [['n0', ['x'.repeat(513)]]],
    [['n0', Array.from({ length: 17 }, (_, i) => address(i))]],
    Array.from({ length: 1025 }, (_, i) => [`n${i}`, []]),
  ]
  for (const voters of bad) assert.throws(() => decodeRecord(packr.pack([...v4.slice(0, 17), voters])), InvalidEnvelopeError, JSON.stringify(voters).slice(0, 80))
  for (const leaseMs of [0, 'x', 3_600_001]) assert.throws(() => decodeRecord(packr.pack([...v4.slice(0, 16), leaseMs, v4[17]])), InvalidEnvelopeError, String(leaseMs))
  assert.throws(() => decodeRecord(packr.pack(v4.slice(0, 17))), InvalidEnvelopeError, 'version 4 without its voters')
  assert.throws(() => decodeRecord(packr.pack([...v4, []])), InvalidEnvelopeError, 'one field too many')
  assert.throws(() => decodeRecord(packr.pack([3, ...v4.slice(1)])), InvalidEnvelopeError, 'version 3 with a voters field')
})

test('voters whose addresses do not fit a record are refused on encoding', () => {
  const voters = Array.from({ length: 200 }, (_, i) => ({ node: `n${i}`, addresses: Array.from({ length: 16 }, () => 'x'.repeat(512)) }))
  assert.throws(() => encodeRecord({ ...RECORD, voters }), EnvelopeTooLargeError)
})

test('the persisted state round-trips in version 3 (version 4 changed records alone), and a version 1 state still decodes', () => {
  const state = { incarnation: 2, epoch: 7, vote: 'n2', config: { epoch: 7, counter: 1, members: ['n0', 'n2'], workers: ['n1'] }, clusterId: 'c1' }
  assert.deepEqual(decodeState(encodeState(state)), state)
  assert.equal((packr.unpack(encodeState(state)) as unknown[])[0], 3)
  const v1 = packr.pack([1, 2, 7, 'n2', [7, 1, ['n0', 'n2']]])
  assert.deepEqual(decodeState(v1), { ...state, config: { ...state.config, workers: [] }, clusterId: null })
})
