// Goal: member records and the persisted election state round-trip with every field, records and
// states of the previous format versions still decode (rolling upgrades, old disks), and bad input
// is a typed ProtocolError. Method: encode/decode pairs and hand-built msgpack arrays.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { decodeRecord, decodeState, encodeRecord, encodeState } from '../../protocols/cluster/codec.js'
import { InvalidEnvelopeError, UnsupportedVersionError } from '../../protocols/errors.js'
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

test('a record without a lease is written in version 2, which the previous release reads; one with a lease in version 3', () => {
  const v2 = packr.unpack(encodeRecord(RECORD)) as unknown[]
  assert.deepEqual([v2[0], v2.length], [2, 16])
  const v3 = packr.unpack(encodeRecord({ ...RECORD, leaseMs: 2400 })) as unknown[]
  assert.deepEqual([v3[0], v3.length], [3, 17])
  assert.deepEqual(decodeRecord(packr.pack([2, ...v3.slice(1, 16)])), RECORD)
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

test('the persisted state round-trips, and a version 1 state still decodes', () => {
  const state = { incarnation: 2, epoch: 7, vote: 'n2', config: { epoch: 7, counter: 1, members: ['n0', 'n2'], workers: ['n1'] }, clusterId: 'c1' }
  assert.deepEqual(decodeState(encodeState(state)), state)
  const v1 = packr.pack([1, 2, 7, 'n2', [7, 1, ['n0', 'n2']]])
  assert.deepEqual(decodeState(v1), { ...state, config: { ...state.config, workers: [] }, clusterId: null })
})
