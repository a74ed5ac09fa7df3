/**
 * Wire and disk codecs of cluster coordination: member records (gossiped on CLUSTER_TOPIC) and the
 * persisted election state. msgpack arrays with the format version first; decoding validates every
 * field and bound and throws a ProtocolError subclass for anything else, so a bad peer costs one
 * dropped record, never a crash.
 *
 * Versions: 2 adds the replicated log position and the cluster identity to records, the identity
 * to the state, and the non-voting members (workers) to both configurations; 3 adds the lease a
 * record's sequence carries (leases that stretch with the round trip, src/cluster/core.ts rule 5);
 * 4 adds to records the voters' addresses, which the leader sends with the member lists (a last
 * field of [node, addresses] pairs; the lease before it may then be null: none). Records and states
 * of earlier versions (from nodes and disks of previous releases) still decode, with the new fields
 * empty, so a rolling upgrade keeps electing; and a record is written in the oldest version that
 * holds it: without a lease and without voters (every record of a cluster whose round trips are
 * short, but the leader's few after a configuration change under 'swim') in version 2, which
 * nodes of the releases before read, with a lease alone in version 3. The state is unchanged by
 * version 4 and stays in version 3, so a previous release still reads the disk.
 */
import { Packr } from 'msgpackr'
import { EnvelopeTooLargeError, InvalidEnvelopeError, showValue, UnsupportedVersionError } from '../errors.js'
import { fieldChecks } from '../fields.js'
import type { LogPosition, MemberRecord, NodeMetrics, PersistedClusterState, SelfStatus } from './types.js'

const { invalid, fail, count, real, text, list, tuple } = fieldChecks('cluster record')

/** The gossip topic of member records. */
export const CLUSTER_TOPIC = 'dx/cluster/1'

/**
 * The direct-message protocol a voter sends its records to the other voters on (Network.send/handle;
 * "Election traffic" in src/cluster/core.ts). Same encoding as the topic; the network authenticates
 * the sender, so `from` is the node that sent it.
 */
export const CLUSTER_RECORD_PROTOCOL = '/dx/cluster/record/1.0.0'

/** Current record format version (a record without voters is written in version 3, without a lease either in 2). */
export const CLUSTER_CODEC_VERSION = 4

/** The persisted state's format version: version 4 changed records alone. */
const STATE_VERSION = 3

/** Field counts of a record, by format version. */
const RECORD_FIELDS: Record<number, number> = { 1: 14, 2: 16, 3: 17, 4: 18 }
/** Field counts of the persisted state, by format version. */
const STATE_FIELDS: Record<number, number> = { 1: 5, 2: 6, 3: 6 }

/** Largest encoded record accepted. */
export const RECORD_MAX_BYTES = 64 * 1024

/** Longest lease a record may carry (an hour): far beyond any a node grants, which the receiver caps again. */
const LEASE_MAX_MS = 3_600_000
const ID_MAX = 128
const ADDRESSES_MAX = 16
const ADDRESS_MAX = 512
const MEMBERS_MAX = 1024
const TASK_TYPES_MAX = 64
const STATUSES: readonly SelfStatus[] = ['joining', 'up', 'leaving']

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/** Encodes a member record. */
export function encodeRecord(r: MemberRecord): Uint8Array {
  const m = r.metrics
  const durations = Object.entries(m.durations)
    .slice(0, TASK_TYPES_MAX)
    .map(([type, d]) => [type, d.count, d.p50Ms, d.p90Ms])
  const version = r.voters !== undefined ? CLUSTER_CODEC_VERSION : r.leaseMs !== undefined ? 3 : 2
  const fields: unknown[] = [
    version,
    r.node,
    r.incarnation,
    r.seq,
    STATUSES.indexOf(r.status),
    r.addresses,
    [m.capacity, m.running, m.queued, m.eventLoopLagMs, m.cpu, m.memoryMb, durations, m.types.slice(0, TASK_TYPES_MAX)],
    r.epoch,
    r.vote,
    r.preVote,
    r.grant === null ? null : [r.grant.candidate, r.grant.epoch],
    r.leaderSeq,
    r.support === null ? null : [r.support.leader, r.support.epoch, r.support.seq],
    r.config === null ? null : [r.config.epoch, r.config.counter, r.config.members ?? null, r.config.members === undefined ? null : (r.config.workers ?? [])],
    r.log === null ? null : [r.log.epoch, r.log.index],
    r.clusterId,
  ]
  if (version >= 3) fields.push(r.leaseMs ?? null)
  if (r.voters !== undefined) fields.push(r.voters.map((v) => [v.node, v.addresses]))
  const bytes = packr.pack(fields)
  if (bytes.length > RECORD_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, RECORD_MAX_BYTES)
  return bytes
}

/** Decodes a member record; throws a ProtocolError subclass for anything invalid. */
export function decodeRecord(bytes: Uint8Array): MemberRecord {
  const w = unpackArray(bytes, RECORD_MAX_BYTES, RECORD_FIELDS)
  const metrics = w[6]
  if (!Array.isArray(metrics) || metrics.length !== 8) throw invalid('metrics')
  return {
    node: id(w[1], 'node'),
    incarnation: count(w[2], 'incarnation'),
    seq: count(w[3], 'seq'),
    status: STATUSES[count(w[4], 'status')] ?? fail('status'),
    addresses: addresses(w[5]),
    metrics: decodeMetrics(metrics),
    epoch: count(w[7], 'epoch'),
    vote: w[8] === null ? null : id(w[8], 'vote'),
    preVote: w[9] === null ? null : count(w[9], 'preVote'),
    grant: w[10] === null ? null : tuple(w[10], 2, (x) => ({ candidate: id(x[0], 'grant'), epoch: count(x[1], 'grant') })),
    leaderSeq: w[11] === null ? null : count(w[11], 'leaderSeq'),
    support: w[12] === null ? null : tuple(w[12], 3, (x) => ({ leader: id(x[0], 'support'), epoch: count(x[1], 'support'), seq: count(x[2], 'support') })),
    config:
      w[13] === null
        ? null
        : tuple(w[13], w[0] === 1 ? 3 : 4, (x) => ({
            epoch: count(x[0], 'config'),
            counter: count(x[1], 'config'),
            ...(x[2] === null ? {} : { members: ids(x[2], 'members') }),
            ...(x[2] === null || x[3] === undefined ? {} : { workers: ids(x[3], 'workers') }),
          })),
    log: w[14] === undefined || w[14] === null ? null : tuple(w[14], 2, (x): LogPosition => ({ epoch: count(x[0], 'log epoch'), index: count(x[1], 'log index') })),
    clusterId: w[15] === undefined || w[15] === null ? null : id(w[15], 'clusterId'),
    // Version 4 writes its lease slot even without a lease (null); version 3 only with one.
    ...(w[16] === undefined || (w[0] === 4 && w[16] === null) ? {} : { leaseMs: lease(w[16]) }),
    ...(w[17] === undefined ? {} : { voters: voters(w[17]) }),
  }
}

function addresses(x: unknown): string[] {
  return list(x, ADDRESSES_MAX, 'addresses').map((a) => text(a, ADDRESS_MAX, 'address'))
}

function voters(x: unknown): Array<{ node: string; addresses: string[] }> {
  return list(x, MEMBERS_MAX, 'voters').map((v) => tuple(v, 2, (t) => ({ node: id(t[0], 'voter'), addresses: addresses(t[1]) })))
}

function lease(x: unknown): number {
  const ms = count(x, 'leaseMs')
  return ms >= 1 && ms <= LEASE_MAX_MS ? ms : fail('leaseMs')
}

/** Encodes the persisted election state. */
export function encodeState(s: PersistedClusterState): Uint8Array {
  return packr.pack([STATE_VERSION, s.incarnation, s.epoch, s.vote, s.config === null ? null : [s.config.epoch, s.config.counter, s.config.members, s.config.workers], s.clusterId])
}

/** Decodes the persisted election state. */
export function decodeState(bytes: Uint8Array): PersistedClusterState {
  const w = unpackArray(bytes, RECORD_MAX_BYTES, STATE_FIELDS)
  return {
    incarnation: count(w[1], 'incarnation'),
    epoch: count(w[2], 'epoch'),
    vote: w[3] === null ? null : id(w[3], 'vote'),
    config:
      w[4] === null
        ? null
        : tuple(w[4], w[0] === 1 ? 3 : 4, (x) => ({
            epoch: count(x[0], 'config'),
            counter: count(x[1], 'config'),
            members: ids(x[2], 'members'),
            workers: x[3] === undefined ? [] : ids(x[3], 'workers'),
          })),
    clusterId: w[5] === undefined || w[5] === null ? null : id(w[5], 'clusterId'),
  }
}

function decodeMetrics(m: unknown[]): NodeMetrics {
  const durations: NodeMetrics['durations'] = {}
  for (const entry of list(m[6], TASK_TYPES_MAX, 'durations')) {
    tuple(entry, 4, (x) => {
      durations[text(x[0], ID_MAX, 'task type')] = { count: count(x[1], 'duration count'), p50Ms: real(x[2], 'p50'), p90Ms: real(x[3], 'p90') }
    })
  }
  const types = list(m[7], TASK_TYPES_MAX, 'types').map((t) => text(t, ID_MAX, 'task type'))
  return {
    capacity: count(m[0], 'capacity'),
    running: count(m[1], 'running'),
    queued: count(m[2], 'queued'),
    eventLoopLagMs: real(m[3], 'lag'),
    cpu: real(m[4], 'cpu'),
    memoryMb: real(m[5], 'memory'),
    types,
    durations,
  }
}

function unpackArray(bytes: Uint8Array, maxBytes: number, lengths: Record<number, number>): unknown[] {
  if (bytes.length > maxBytes) throw new EnvelopeTooLargeError(bytes.length, maxBytes)
  let value: unknown
  try {
    value = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`not a msgpack value: ${(error as Error).message}`)
  }
  if (!Array.isArray(value) || value.length === 0) throw invalid('shape')
  const length = typeof value[0] === 'number' ? lengths[value[0]] : undefined
  if (length === undefined) throw new UnsupportedVersionError(value[0])
  if (value.length !== length) throw invalid(`field count ${value.length}`)
  return value
}

function id(x: unknown, what: string): string {
  return text(x, ID_MAX, what)
}

function ids(x: unknown, what: string): string[] {
  return list(x, MEMBERS_MAX, what).map((m) => id(m, what))
}
