/**
 * Wire format of job-log replication (src/replication), sent point to point on
 * REPLICATION_PROTOCOL. Each message is one msgpack array, format version first:
 *   append [2, 0, epoch, leaderCommit, prevIndex, prevEpoch, [[index, epoch, offset, [payload...]]...], compactBelow | null]
 *   reply  [2, 1, epoch, ok, end, hint | null]
 *   reset  [2, 2, epoch, leaderCommit, start, prevEpoch]
 * Version 2 (issue 9): an entry carries a batch of records (one scheduler append, or part of a large
 * one) and the offset of its first record (offsets.ts); version 1 carried one record
 * per entry and is refused (UnsupportedVersionError), as its entries would be misread.
 * Input from peers is never trusted: decoding checks every field, bound and the contiguity of the
 * entries, and throws a ProtocolError subclass for anything else, so a bad peer costs one dropped
 * frame. Frames are limited to REPLICATION_FRAME_MAX_BYTES on both sides; senders keep batches far
 * below it and below what the network carries (REPLICATION_NETWORK_PAYLOAD_BYTES): the replication
 * core splits them by its batchMaxBytes option.
 */
import { Packr } from 'msgpackr'
import { entryOffsetProblem, OFFSET_STRIDE } from './offsets.js'
import { EnvelopeTooLargeError, InvalidEnvelopeError, showValue, UnsupportedVersionError } from '../errors.js'

/** The network protocol id of replication messages. */
export const REPLICATION_PROTOCOL = '/dx/replication/1.0.0'

/** Current message format version. */
export const REPLICATION_VERSION = 2

/** Largest frame accepted or produced. */
export const REPLICATION_FRAME_MAX_BYTES = 16 * 1024 * 1024

/** Most entries in one append. */
export const REPLICATION_ENTRIES_MAX = 10_000

/** Most records in one entry: an append's offsets (offsets.ts). */
export const REPLICATION_ENTRY_RECORDS_MAX = OFFSET_STRIDE

/**
 * Largest record, and largest sum of an entry's records: a job record's limit (protocols/jobs), so
 * one entry always fits a frame.
 */
export const REPLICATION_PAYLOAD_MAX_BYTES = 1024 * 1024

/**
 * Largest message the network must carry for replication: one maximal entry plus the framing of a
 * batch (senders keep batches of small entries below the entry limit). The libp2p default (1 MiB)
 * is too small, so a replicated node raises its limit to this.
 */
export const REPLICATION_NETWORK_PAYLOAD_BYTES = REPLICATION_PAYLOAD_MAX_BYTES + 512 * 1024

/** One log entry on the wire: a batch of records, the first at `offset`. */
export interface WireEntry {
  readonly index: number
  readonly epoch: number
  readonly offset: number
  readonly payloads: readonly Uint8Array[]
}

/** Leader to follower: entries following (prevIndex, prevEpoch), or a heartbeat when empty. */
export interface AppendMessage {
  readonly kind: 'append'
  readonly epoch: number
  /** One past the leader's last committed index. */
  readonly leaderCommit: number
  /** Index of the entry before the first one carried (-1 at the log's beginning). */
  readonly prevIndex: number
  readonly prevEpoch: number
  readonly entries: readonly WireEntry[]
  /** The leader compacted its log below this index; followers may do the same below their commit. */
  readonly compactBelow?: number
}

/** Follower to leader: the answer to an append or a reset. */
export interface ReplyMessage {
  readonly kind: 'reply'
  /** The follower's epoch when it refused because of it, else the message's epoch. */
  readonly epoch: number
  readonly ok: boolean
  /** When ok: one past the last entry the follower holds durably that matches the leader's log. */
  readonly end: number
  /** When not ok and the logs differ: where the leader should try next. */
  readonly hint?: number
}

/** Leader to follower: the follower needs entries the leader compacted; restart its copy at `start`. */
export interface ResetMessage {
  readonly kind: 'reset'
  readonly epoch: number
  readonly leaderCommit: number
  readonly start: number
  /** Epoch of the entry at start-1. */
  readonly prevEpoch: number
}

export type ReplicationMessage = AppendMessage | ReplyMessage | ResetMessage

const APPEND = 0
const REPLY = 1
const RESET = 2

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

/** Encodes a message; throws EnvelopeTooLargeError above the frame limit. */
export function encodeReplication(message: ReplicationMessage): Uint8Array {
  switch (message.kind) {
    case 'append':
      return encodeAppend(message, packEntries(message.entries))
    case 'reply':
      return checkedSize(packr.pack([REPLICATION_VERSION, REPLY, message.epoch, message.ok, message.end, message.hint ?? null]))
    case 'reset':
      return checkedSize(packr.pack([REPLICATION_VERSION, RESET, message.epoch, message.leaderCommit, message.start, message.prevEpoch]))
  }
}

/** Most distinct entry runs an encoder keeps packed (a run is usually sent to every follower within a window). */
const PACKED_RUNS_KEPT = 8

/**
 * Encodes messages like encodeReplication, byte for byte, but packs the entries of an append once
 * for every follower sent the same run: the leader's appends to its followers differ only in their
 * few header fields, and packing the entries per follower was a leader's largest encoding cost.
 * A run is recognised by the identity of its entry objects (the leader's buffer hands every
 * follower the same objects), so a cached encoding is never reused for other content.
 */
export class ReplicationEncoder {
  /** Most recently used first. */
  private readonly runs: Array<{ readonly entries: readonly WireEntry[]; readonly bytes: Uint8Array }> = []

  encode(message: ReplicationMessage): Uint8Array {
    if (message.kind !== 'append' || message.entries.length === 0) return encodeReplication(message)
    const entries = message.entries
    let at = this.runs.findIndex((r) => sameEntries(r.entries, entries))
    if (at < 0) {
      this.runs.unshift({ entries: [...entries], bytes: packEntries(entries) })
      if (this.runs.length > PACKED_RUNS_KEPT) this.runs.pop()
      at = 0
    } else if (at > 0) this.runs.unshift(...this.runs.splice(at, 1))
    return encodeAppend(message, this.runs[0]!.bytes)
  }
}

function sameEntries(a: readonly WireEntry[], b: readonly WireEntry[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The entries field of an append: one msgpack array of [index, epoch, offset, [payload...]], written in one pass
 * into a buffer of the exact size. msgpackr's generic packing (a type dispatch and an extension
 * lookup for every payload) was most of a leader's replication CPU; this writes the same bytes as
 * msgpackr does for these values (smallest integer format, float64 beyond 32 bits, bin 8/16/32),
 * which test/replication/codec.test.ts checks against msgpackr itself.
 */
function packEntries(entries: readonly WireEntry[]): Uint8Array {
  let size = arrayHeaderBytes(entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    size += 1 + uintBytes(e.index) + uintBytes(e.epoch) + uintBytes(e.offset) + arrayHeaderBytes(e.payloads.length)
    for (const p of e.payloads) size += (p.length < 0x100 ? 2 : p.length < 0x10000 ? 3 : 5) + p.length
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  let at = writeArrayHeader(out, view, 0, entries.length)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    out[at++] = 0x94
    at = writeUint(out, view, at, e.index)
    at = writeUint(out, view, at, e.epoch)
    at = writeUint(out, view, at, e.offset)
    at = writeArrayHeader(out, view, at, e.payloads.length)
    for (const p of e.payloads) {
      const n = p.length
      if (n < 0x100) {
        out[at++] = 0xc4
        out[at++] = n
      } else if (n < 0x10000) {
        out[at++] = 0xc5
        view.setUint16(at, n)
        at += 2
      } else {
        out[at++] = 0xc6
        view.setUint32(at, n)
        at += 4
      }
      out.set(p, at)
      at += n
    }
  }
  return out
}

function arrayHeaderBytes(count: number): number {
  return count < 0x10 ? 1 : count < 0x10000 ? 3 : 5
}

function writeArrayHeader(out: Uint8Array, view: DataView, at: number, count: number): number {
  if (count < 0x10) {
    out[at] = 0x90 | count
    return at + 1
  }
  if (count < 0x10000) {
    out[at] = 0xdc
    view.setUint16(at + 1, count)
    return at + 3
  }
  out[at] = 0xdd
  view.setUint32(at + 1, count)
  return at + 5
}

/** Bytes of a non-negative integer as msgpackr writes it (without records: fixint below 0x80). */
function uintBytes(v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v <= 0xffff_ffff ? 5 : 9
}

function writeUint(out: Uint8Array, view: DataView, at: number, v: number): number {
  if (v < 0x80) {
    out[at] = v
    return at + 1
  }
  if (v < 0x100) {
    out[at] = 0xcc
    out[at + 1] = v
    return at + 2
  }
  if (v < 0x10000) {
    out[at] = 0xcd
    view.setUint16(at + 1, v)
    return at + 3
  }
  if (v <= 0xffff_ffff) {
    out[at] = 0xce
    view.setUint32(at + 1, v)
    return at + 5
  }
  out[at] = 0xcb
  view.setFloat64(at + 1, v)
  return at + 9
}

/**
 * The append layout [version, kind, epoch, leaderCommit, prevIndex, prevEpoch, entries, compactBelow]
 * around already packed entries: a msgpack array is its header followed by its elements, so the
 * six leading fields are packed as a 6-array whose header is rewritten to announce eight.
 */
function encodeAppend(message: AppendMessage, entries: Uint8Array): Uint8Array {
  const head = packr.pack([REPLICATION_VERSION, APPEND, message.epoch, message.leaderCommit, message.prevIndex, message.prevEpoch])
  const tail = packr.pack(message.compactBelow ?? null)
  const size = head.length + entries.length + tail.length
  if (size > REPLICATION_FRAME_MAX_BYTES) throw new EnvelopeTooLargeError(size, REPLICATION_FRAME_MAX_BYTES)
  const bytes = new Uint8Array(size)
  bytes.set(head, 0)
  bytes[0] = FIXARRAY_8
  bytes.set(entries, head.length)
  bytes.set(tail, head.length + entries.length)
  return bytes
}

/** msgpack's header of an array of eight elements (fixarray 0x90 | length). */
const FIXARRAY_8 = 0x98

function checkedSize(bytes: Uint8Array): Uint8Array {
  if (bytes.length > REPLICATION_FRAME_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, REPLICATION_FRAME_MAX_BYTES)
  return bytes
}

/** Decodes a message, or throws a ProtocolError subclass. */
export function decodeReplication(bytes: Uint8Array): ReplicationMessage {
  if (bytes.length > REPLICATION_FRAME_MAX_BYTES) throw new EnvelopeTooLargeError(bytes.length, REPLICATION_FRAME_MAX_BYTES)
  let w: unknown
  try {
    w = packr.unpack(bytes)
  } catch (error) {
    throw new InvalidEnvelopeError(`replication frame is not msgpack: ${(error as Error).message}`)
  }
  if (!Array.isArray(w) || w.length < 2) throw invalid('shape')
  if (w[0] !== REPLICATION_VERSION) throw new UnsupportedVersionError(w[0])
  switch (w[1]) {
    case APPEND: {
      if (w.length !== 8) throw invalid('append fields')
      const prevIndex = index(w[4], 'prevIndex', -1)
      const raw = w[6]
      if (!Array.isArray(raw) || raw.length > REPLICATION_ENTRIES_MAX) throw invalid('entries')
      const epoch = index(w[2], 'epoch')
      const prevEpoch = index(w[5], 'prevEpoch')
      const entries: WireEntry[] = []
      let last = prevEpoch
      let recordsEnd: number | undefined
      for (let i = 0; i < raw.length; i++) {
        const e: unknown = raw[i]
        if (!Array.isArray(e) || e.length !== 4) throw invalid('entry')
        const entry = { index: index(e[0], 'entry index'), epoch: index(e[1], 'entry epoch'), offset: index(e[2], 'entry offset'), payloads: payloadsOf(e[3]) }
        // Entries are contiguous after prevIndex, their epochs never decrease, and none is newer than the sender.
        if (entry.index !== prevIndex + 1 + i || entry.epoch < last || entry.epoch > epoch) throw invalid(`entry ${entry.index} out of order`)
        const problem = entryOffsetProblem(entry.index, entry.offset, entry.payloads.length, recordsEnd)
        if (problem !== undefined) throw invalid(`entry ${entry.index}: ${problem}`)
        last = entry.epoch
        recordsEnd = entry.offset + entry.payloads.length
        entries.push(entry)
      }
      if (prevEpoch > epoch) throw invalid('prevEpoch above epoch')
      const compactBelow = w[7] === null ? undefined : index(w[7], 'compactBelow')
      return { kind: 'append', epoch, leaderCommit: index(w[3], 'leaderCommit'), prevIndex, prevEpoch, entries, ...(compactBelow === undefined ? {} : { compactBelow }) }
    }
    case REPLY: {
      if (w.length !== 6 || typeof w[3] !== 'boolean') throw invalid('reply fields')
      const hint = w[5] === null ? undefined : index(w[5], 'hint')
      return { kind: 'reply', epoch: index(w[2], 'epoch'), ok: w[3], end: index(w[4], 'end'), ...(hint === undefined ? {} : { hint }) }
    }
    case RESET: {
      if (w.length !== 6) throw invalid('reset fields')
      const epoch = index(w[2], 'epoch')
      const prevEpoch = index(w[5], 'prevEpoch')
      if (prevEpoch > epoch) throw invalid('prevEpoch above epoch')
      return { kind: 'reset', epoch, leaderCommit: index(w[3], 'leaderCommit'), start: index(w[4], 'start'), prevEpoch }
    }
    default:
      throw invalid(`kind ${showValue(w[1])}`)
  }
}

/** An entry's records: at least one, at most REPLICATION_ENTRY_RECORDS_MAX, byte arrays of at most REPLICATION_PAYLOAD_MAX_BYTES together. */
function payloadsOf(x: unknown): Uint8Array[] {
  if (!Array.isArray(x) || x.length === 0 || x.length > REPLICATION_ENTRY_RECORDS_MAX) throw invalid('entry records')
  let bytes = 0
  for (const p of x) {
    if (!(p instanceof Uint8Array)) throw invalid('entry record')
    bytes += p.length
  }
  if (bytes > REPLICATION_PAYLOAD_MAX_BYTES) throw invalid(`entry of ${bytes} record bytes`)
  return x as Uint8Array[]
}

function invalid(what: string): InvalidEnvelopeError {
  return new InvalidEnvelopeError(`invalid replication message: ${what}`)
}

function index(x: unknown, what: string, min = 0): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) throw invalid(`${what} ${showValue(x)}`)
  return x
}
