/**
 * The job log's record format. Each record is one msgpack array, version first:
 *   submitted [1, 0, id, type, input, priority, timeoutMs, retries, [min, max, factor, jitter], deadline, idempotencyKey, dependsOn, submittedAt, durationHintMs?]
 *   finished  [1, 1, id, attempt, ok, value | [name, code, message], permanent, at?]
 *   cancelled [1, 2, id, at?]
 *   snapshot  [1, 3, snapshotId, part, parts, after, bytes]
 * `at` is the leader's wall-clock time when it decided the outcome (ms since the epoch), which
 * retention counts the job's age from; records written before it existed lack it.
 * A snapshot is the scheduler's state (see SnapshotState) encoded as one blob of at most
 * SNAPSHOT_MAX_BYTES and cut into parts of at most SNAPSHOT_PART_BYTES, which are appended
 * together in one append, so they sit in the log contiguously; a leader that stops mid-append may
 * leave only the first ones (the replicated log sends an append in batches), and a reader counts a
 * snapshot only with all its parts (src/jobs/replay.ts). `after`
 * is the offset of the last record the state reflects (-1 for none): the snapshot stands for the
 * log before it only if that record is the one right before it (an append that failed without
 * saying so may land later, anywhere; a snapshot that landed late does not count).
 * Records are replayed by every new leader, so decoding validates everything and throws a
 * ProtocolError subclass for anything else; a leader skips (and counts) a record it cannot read.
 */
import { Packr } from 'msgpackr'
import { checkBody } from '../envelope/body.js'
import { fieldChecks } from '../fields.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, showValue, UnsupportedVersionError, WIRE_ERROR_MESSAGE_MAX_CHARS, WIRE_ERROR_NAME_MAX_CHARS } from '../errors.js'
import type { JobError, JobOutcome, JobSpec } from './types.js'

const { invalid, fail, text, count } = fieldChecks('job record')

/** Current record format version. */
export const JOB_RECORD_VERSION = 1

/** Largest encoded record. */
export const JOB_RECORD_MAX_BYTES = 1024 * 1024

/** Bytes of snapshot state per snapshot record. */
export const SNAPSHOT_PART_BYTES = 512 * 1024

/**
 * Largest snapshot: it goes out in one append, which every log must take whole (the file log's
 * frame limit is 64 MiB). A state beyond it is not snapshotted; the log then grows until it fits.
 */
export const SNAPSHOT_MAX_BYTES = 48 * 1024 * 1024

/** Version of the snapshot state blob. */
export const SNAPSHOT_STATE_VERSION = 1

/** One job-log record. */
export type JobRecord =
  | { readonly kind: 'submitted'; readonly spec: JobSpec }
  | { readonly kind: 'finished'; readonly id: string; readonly attempt: number; readonly outcome: JobOutcome; readonly at?: number }
  | { readonly kind: 'cancelled'; readonly id: string; readonly at?: number }
  | { readonly kind: 'snapshot'; readonly id: string; readonly part: number; readonly parts: number; readonly after: number; readonly data: Uint8Array }

/** One generation of the expired-id filter. */
export interface SnapshotFilter {
  readonly bits: Uint8Array
  readonly count: number
}

/**
 * The scheduler's durable state: replaying `records` (submissions in submission order, then final
 * records in the order the jobs finished) into an empty scheduler rebuilds its jobs, outcomes and
 * idempotency keys; `expired` is the expired-id filter (current generation first).
 */
export interface SnapshotState {
  readonly records: readonly JobRecord[]
  readonly expired: readonly [SnapshotFilter, SnapshotFilter]
  /** The ids that expired last, oldest first, remembered exactly. */
  readonly recentlyExpired: readonly string[]
}

const SUBMITTED = 0
const FINISHED = 1
const CANCELLED = 2
const SNAPSHOT = 3
const SNAPSHOT_MAX_PARTS = Math.ceil(SNAPSHOT_MAX_BYTES / SNAPSHOT_PART_BYTES)
const ID_MAX_CHARS = 128
const MAX_DEPS = 1024
const TEXT_MAX_CHARS = 4096

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/**
 * Encodes a record; throws InvalidEnvelopeError for a value that cannot travel. The bytes are a
 * copy of their own: msgpackr packs every value in the process into one shared buffer, which
 * grows to 4x the largest value packed (a snapshot: 6.7 MB slabs on a leader) and is replaced, not
 * reused, when full, so a record held as a view (in the replication buffer, a follower's batch, an
 * append in flight) kept a whole slab alive: 20-50 MB outside the heap on a busy leader.
 */
export function encodeJobRecord(record: JobRecord): Uint8Array {
  return new Uint8Array(packRecord(record))
}

/** A record packed as a view into msgpackr's shared buffer, for bytes used at once. */
function packRecord(record: JobRecord): Uint8Array {
  let wire: unknown[]
  switch (record.kind) {
    case 'submitted': {
      checkBody(record.spec.input)
      wire = specToWire(record.spec, record.spec.options, record.spec.options.backoff)
      break
    }
    case 'finished': {
      const out = record.outcome
      if (out.ok) checkBody(out.value)
      wire = [
        JOB_RECORD_VERSION,
        FINISHED,
        record.id,
        record.attempt,
        out.ok,
        out.ok ? out.value : [out.error.name, out.error.code, out.error.message],
        out.ok ? false : out.permanent,
      ]
      if (record.at !== undefined) wire.push(record.at)
      break
    }
    case 'cancelled':
      wire = [JOB_RECORD_VERSION, CANCELLED, record.id]
      if (record.at !== undefined) wire.push(record.at)
      break
    case 'snapshot':
      wire = [JOB_RECORD_VERSION, SNAPSHOT, record.id, record.part, record.parts, record.after, record.data]
  }
  const bytes = packr.pack(wire)
  if (bytes.length > JOB_RECORD_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, JOB_RECORD_MAX_BYTES)
  return bytes
}

/** Decodes a record, or throws a ProtocolError subclass. */
/**
 * False when `bytes` cannot be a snapshot record: a fixarray whose first two elements are this
 * version and another kind, which is how encodeJobRecord writes every other record. Anything else
 * (a snapshot part, or bytes another encoder wrote) needs decodeJobRecord to tell. Lets a new
 * leader's search for the latest snapshot pass over records without decoding each (~90 ms of a
 * failover: test/bench/RESULTS.md, failover, 2026-11-29).
 */
export function maybeSnapshotRecord(bytes: Uint8Array): boolean {
  return !(bytes.length >= 3 && (bytes[0]! & 0xf0) === 0x90 && bytes[1] === JOB_RECORD_VERSION && bytes[2]! <= 0x7f && bytes[2] !== SNAPSHOT)
}

export function decodeJobRecord(bytes: Uint8Array): JobRecord {
  if (bytes.length > JOB_RECORD_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, JOB_RECORD_MAX_BYTES)
  let w: unknown
  try {
    w = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`job record is not msgpack: ${(error as Error).message}`)
  }
  if (!Array.isArray(w) || w.length < 3) throw invalid('shape')
  if (w[0] !== JOB_RECORD_VERSION) throw new UnsupportedVersionError(w[0])
  switch (w[1]) {
    case SUBMITTED:
      return { kind: 'submitted', spec: specFromWire(w) }
    case FINISHED: {
      if ((w.length !== 7 && w.length !== 8) || typeof w[4] !== 'boolean' || typeof w[6] !== 'boolean') throw invalid('finished fields')
      const id = text(w[2], ID_MAX_CHARS, 'id')
      const attempt = count(w[3], 'attempt')
      const at = w.length === 8 ? { at: finite(w[7], 'at') } : {}
      if (w[4]) {
        checkBody(w[5])
        return { kind: 'finished', id, attempt, outcome: { ok: true, value: w[5] }, ...at }
      }
      return { kind: 'finished', id, attempt, outcome: { ok: false, error: jobError(w[5]), permanent: w[6] }, ...at }
    }
    case CANCELLED:
      if (w.length !== 3 && w.length !== 4) throw invalid('cancelled fields')
      return { kind: 'cancelled', id: text(w[2], ID_MAX_CHARS, 'id'), ...(w.length === 4 ? { at: finite(w[3], 'at') } : {}) }
    case SNAPSHOT: {
      if (w.length !== 7 || !(w[6] instanceof Uint8Array) || w[6].length > SNAPSHOT_PART_BYTES) throw invalid('snapshot fields')
      const parts = count(w[4], 'parts')
      const part = count(w[3], 'part')
      if (parts < 1 || parts > SNAPSHOT_MAX_PARTS || part >= parts) throw invalid(`snapshot part ${part} of ${parts}`)
      const after = w[5] === -1 ? -1 : count(w[5], 'after')
      return { kind: 'snapshot', id: text(w[2], ID_MAX_CHARS, 'snapshot id'), part, parts, after, data: w[6] }
    }
    default:
      throw invalid(`kind ${showValue(w[1])}`)
  }
}

/**
 * Checks a job spec that arrived as a plain object (inside an assignment) by the same rules as a
 * decoded submitted record, without encoding it: throws InvalidEnvelopeError for anything a record
 * could not hold.
 */
export function checkJobSpec(spec: unknown): JobSpec {
  const s = spec as { id?: unknown; type?: unknown; input?: unknown; options?: Record<string, unknown>; submittedAt?: unknown } | null
  if (typeof s !== 'object' || s === null || typeof s.options !== 'object' || s.options === null) throw invalid('spec')
  const o = s.options
  const b = o.backoff as Record<string, unknown> | null
  if (typeof b !== 'object' || b === null) throw invalid('backoff')
  return specFromWire(specToWire(s, o, b))
}

/**
 * The fields of a submitted record, in wire order: the one layout both the encoder and
 * checkJobSpec use (the latter on unchecked values, which specFromWire then checks).
 */
function specToWire(
  s: { id?: unknown; type?: unknown; input?: unknown; submittedAt?: unknown },
  o: { priority?: unknown; timeoutMs?: unknown; retries?: unknown; deadline?: unknown; idempotencyKey?: unknown; dependsOn?: unknown; durationHintMs?: unknown },
  b: { minMs?: unknown; maxMs?: unknown; factor?: unknown; jitter?: unknown },
): unknown[] {
  const wire = [
    JOB_RECORD_VERSION,
    SUBMITTED,
    s.id,
    s.type,
    s.input,
    o.priority,
    o.timeoutMs,
    o.retries,
    [b.minMs, b.maxMs, b.factor, b.jitter],
    o.deadline,
    o.idempotencyKey,
    o.dependsOn,
    s.submittedAt,
  ]
  if (o.durationHintMs !== undefined) wire.push(o.durationHintMs)
  return wire
}

/** The spec of a submitted record's fields (the wire array), each checked. */
function specFromWire(w: unknown[]): JobSpec {
  if (w.length !== 13 && w.length !== 14) throw invalid('submitted fields')
  const hint = w.length === 14 ? timerMs(w[13], 'durationHintMs') : undefined
  checkBody(w[4])
  const backoff = w[8]
  if (!Array.isArray(backoff) || backoff.length !== 4) throw invalid('backoff')
  const deps = w[11]
  if (!Array.isArray(deps) || deps.length > MAX_DEPS) throw invalid('dependsOn')
  return {
    id: text(w[2], ID_MAX_CHARS, 'id'),
    type: text(w[3], ID_MAX_CHARS, 'type'),
    input: w[4],
    options: {
      priority: finite(w[5], 'priority'),
      timeoutMs: timerMs(w[6], 'timeoutMs'),
      retries: count(w[7], 'retries'),
      backoff: { minMs: finite(backoff[0], 'backoff'), maxMs: finite(backoff[1], 'backoff'), factor: finite(backoff[2], 'backoff'), jitter: finite(backoff[3], 'backoff') },
      deadline: w[9] === null ? null : finite(w[9], 'deadline'),
      idempotencyKey: w[10] === null ? null : text(w[10], TEXT_MAX_CHARS, 'idempotencyKey'),
      dependsOn: deps.map((d) => text(d, ID_MAX_CHARS, 'dependsOn')),
      ...(hint === undefined ? {} : { durationHintMs: hint }),
    },
    submittedAt: finite(w[12], 'submittedAt'),
  }
}

/** Encodes a snapshot's state as one blob; throws EnvelopeTooLargeError beyond SNAPSHOT_MAX_BYTES. */
export function encodeSnapshotState(state: SnapshotState): Uint8Array {
  const bytes = packr.pack([SNAPSHOT_STATE_VERSION, state.records.map(packRecord), state.expired.map((g) => [g.bits, g.count]), state.recentlyExpired])
  if (bytes.length > SNAPSHOT_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SNAPSHOT_MAX_BYTES)
  return bytes
}

/** Decodes a snapshot blob, or throws a ProtocolError subclass. */
export function decodeSnapshotState(bytes: Uint8Array): SnapshotState {
  if (bytes.length > SNAPSHOT_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, SNAPSHOT_MAX_BYTES)
  let w: unknown
  try {
    w = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`snapshot is not msgpack: ${(error as Error).message}`)
  }
  if (!Array.isArray(w) || w.length !== 4) throw invalid('snapshot shape')
  if (w[0] !== SNAPSHOT_STATE_VERSION) throw new UnsupportedVersionError(w[0])
  const [, records, expired, recent] = w as [unknown, unknown, unknown, unknown]
  if (!Array.isArray(records) || !Array.isArray(expired) || expired.length !== 2 || !Array.isArray(recent)) throw invalid('snapshot sections')
  const decoded = records.map((r: unknown) => {
    if (!(r instanceof Uint8Array)) throw invalid('snapshot record')
    const record = decodeJobRecord(r)
    if (record.kind === 'snapshot') throw invalid('snapshot inside a snapshot')
    return record
  })
  const filter = (g: unknown): SnapshotFilter => {
    if (!Array.isArray(g) || g.length !== 2 || !(g[0] instanceof Uint8Array)) throw invalid('snapshot filter')
    return { bits: g[0], count: count(g[1], 'filter count') }
  }
  return { records: decoded, expired: [filter(expired[0]), filter(expired[1])], recentlyExpired: recent.map((id: unknown) => text(id, ID_MAX_CHARS, 'expired id')) }
}

/**
 * Cuts a snapshot blob into its records, to be appended together in one append: parts of
 * `partBytes` (at most SNAPSHOT_PART_BYTES; smaller ones let the simulator split snapshots as
 * large states are split), larger if needed to stay within the parts a reader accepts.
 */
export function snapshotRecords(id: string, after: number, blob: Uint8Array, partBytes = SNAPSHOT_PART_BYTES): JobRecord[] {
  if (!Number.isSafeInteger(partBytes) || partBytes < 1 || partBytes > SNAPSHOT_PART_BYTES)
    throw new RangeError(`snapshot part size ${partBytes} outside 1..${SNAPSHOT_PART_BYTES}`)
  const size = Math.max(partBytes, Math.ceil(blob.length / SNAPSHOT_MAX_PARTS))
  const parts = Math.max(1, Math.ceil(blob.length / size))
  return Array.from({ length: parts }, (_, part) => ({
    kind: 'snapshot',
    id,
    part,
    parts,
    after,
    data: blob.subarray(part * size, (part + 1) * size),
  }))
}

function jobError(x: unknown): JobError {
  if (!Array.isArray(x) || x.length !== 3) throw invalid('error')
  return {
    name: text(x[0], WIRE_ERROR_NAME_MAX_CHARS, 'error name'),
    code: typeof x[1] === 'string' && x[1].length <= WIRE_ERROR_NAME_MAX_CHARS ? x[1] : fail('error code'),
    message: typeof x[2] === 'string' && x[2].length <= WIRE_ERROR_MESSAGE_MAX_CHARS ? x[2] : fail('error message'),
  }
}

function finite(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw invalid(`${what} ${showValue(x)}`)
  // -0 travels as 0: the direct check (checkJobSpec) gives what a decode would.
  return x === 0 ? 0 : x
}

/** A duration an executor will set a timer for: Node fires timers past 2^31-1 ms after 1 ms. */
function timerMs(x: unknown, what: string): number {
  const n = positive(x, what)
  if (n > 2 ** 31 - 1) throw invalid(`${what} ${n} is beyond the longest timer`)
  return n
}

function positive(x: unknown, what: string): number {
  const n = finite(x, what)
  if (n <= 0) throw invalid(`${what} ${n}`)
  return n
}
