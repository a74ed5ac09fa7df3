/**
 * The on-disk format of the file job log: a 16-byte file header, then frames, each
 * `u32 bodyLength | u32 crc32(body) | body`, little-endian.
 *
 * A records frame holds one whole append (`u8 kind=1 | u64 epoch | u64 firstOffset | u32 count |
 * (u32 length | bytes) * count`), so an append is atomic on disk: a torn frame fails its CRC and
 * drops the whole append, never half of it. A fence frame (`u8 kind=2 | u64 epoch`) records a
 * fence that no append carried. A start frame (`u8 kind=3 | u64 epoch | u64 startOffset`) opens a
 * compacted file, right after the header: the records below `startOffset` were compacted away, and
 * `epoch` keeps the highest epoch of what was dropped. Every decoder checks the CRC and the exact structure, so bytes
 * either decode into a well-formed frame or are reported invalid; nothing in between.
 *
 * The CRC comes from node:zlib (crc32, Node 20.15 and later).
 */
import { crc32 } from 'node:zlib'
import type { LogRecord } from '../storage/types.js'

/** The magic of a job log file; other logs built on these frames (replica log segments) have their own. */
export const JOB_LOG_MAGIC = Buffer.from('DXJOBLOG', 'latin1')
const VERSION = 1
export const FILE_HEADER_BYTES = 16
export const FRAME_HEADER_BYTES = 8
/** The largest frame body, which bounds one append's size and the torn tail recovery may cut. */
export const FRAME_BODY_MAX_BYTES = 64 * 1024 * 1024

/**
 * The job log writes frames in groups of at most this many bytes (a single larger frame is a group
 * of its own), one write and fsync per group; so a crash can tear at most one group at the end.
 */
export const GROUP_MAX_BYTES = 16 * 1024 * 1024

const KIND_RECORDS = 1
const KIND_FENCE = 2
const KIND_START = 3
const RECORDS_PREFIX_BYTES = 1 + 8 + 8 + 4
const FENCE_BODY_BYTES = 1 + 8
const START_BODY_BYTES = 1 + 8 + 8

/** What one frame turned out to be. */
export type FrameScan =
  | { readonly kind: 'records'; readonly epoch: number; readonly firstOffset: number; readonly count: number; readonly frameBytes: number }
  | { readonly kind: 'fence'; readonly epoch: number; readonly frameBytes: number }
  | { readonly kind: 'start'; readonly epoch: number; readonly startOffset: number; readonly frameBytes: number }
  | { readonly kind: 'invalid'; readonly reason: string }

/** The file header: an 8-byte magic, version and a CRC of both. */
export function encodeFileHeader(magic: Buffer = JOB_LOG_MAGIC): Buffer {
  const header = Buffer.alloc(FILE_HEADER_BYTES)
  magic.copy(header, 0, 0, 8)
  header.writeUInt32LE(VERSION, 8)
  header.writeUInt32LE(crc32(header.subarray(0, 12)), 12)
  return header
}

/** True when `header` is a valid header of this format version with `magic`. */
export function isFileHeader(header: Buffer, magic: Buffer = JOB_LOG_MAGIC): boolean {
  return (
    header.length >= FILE_HEADER_BYTES && header.subarray(0, 8).equals(magic) && header.readUInt32LE(8) === VERSION && header.readUInt32LE(12) === crc32(header.subarray(0, 12))
  )
}

/** The size on disk of a records frame holding `payloads`. */
export function recordsFrameBytes(payloads: readonly Uint8Array[]): number {
  let bytes = FRAME_HEADER_BYTES + RECORDS_PREFIX_BYTES
  for (const payload of payloads) bytes += 4 + payload.byteLength
  return bytes
}

/** The size on disk of a records frame holding one payload of `payloadBytes` (without building the array). */
export function recordFrameBytes(payloadBytes: number): number {
  return FRAME_HEADER_BYTES + RECORDS_PREFIX_BYTES + 4 + payloadBytes
}

/** The size on disk of a fence frame. */
export const FENCE_FRAME_BYTES = FRAME_HEADER_BYTES + FENCE_BODY_BYTES

/** Writes a records frame at `at`; returns the bytes written. */
export function encodeRecordsFrame(target: Buffer, at: number, epoch: number, firstOffset: number, payloads: readonly Uint8Array[]): number {
  const body = at + FRAME_HEADER_BYTES
  let p = body
  target[p++] = KIND_RECORDS
  p = writeUint64(target, p, epoch)
  p = writeUint64(target, p, firstOffset)
  p = target.writeUInt32LE(payloads.length, p)
  for (const payload of payloads) {
    p = target.writeUInt32LE(payload.byteLength, p)
    target.set(payload, p)
    p += payload.byteLength
  }
  return sealFrame(target, at, p - body)
}

/** The size on disk of a start frame. */
export const START_FRAME_BYTES = FRAME_HEADER_BYTES + START_BODY_BYTES

/** Writes the start frame of a compacted file at `at`; returns the bytes written. */
export function encodeStartFrame(target: Buffer, at: number, epoch: number, startOffset: number): number {
  const body = at + FRAME_HEADER_BYTES
  target[body] = KIND_START
  writeUint64(target, body + 1, epoch)
  writeUint64(target, body + 9, startOffset)
  return sealFrame(target, at, START_BODY_BYTES)
}

/** The epoch of the frame at `at`, which must be one already checked (every kind carries it right after its kind byte). */
export function frameEpoch(source: Buffer, at: number): number {
  return Number(source.readBigUInt64LE(at + FRAME_HEADER_BYTES + 1))
}

/** Writes a fence frame at `at`; returns the bytes written. */
export function encodeFenceFrame(target: Buffer, at: number, epoch: number): number {
  const body = at + FRAME_HEADER_BYTES
  target[body] = KIND_FENCE
  writeUint64(target, body + 1, epoch)
  return sealFrame(target, at, FENCE_BODY_BYTES)
}

/**
 * Writes a u64 (little-endian) from a non-negative safe integer as two u32 words: a BigInt per field
 * was the largest cost of the replica log's writes, which encode one frame per entry (issue 9).
 */
function writeUint64(target: Buffer, at: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${value} is not a non-negative safe integer`)
  target.writeUInt32LE(value >>> 0, at)
  return target.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4)
}

function sealFrame(target: Buffer, at: number, bodyBytes: number): number {
  const body = target.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyBytes)
  target.writeUInt32LE(bodyBytes, at)
  target.writeUInt32LE(crc32(body), at + 4)
  return FRAME_HEADER_BYTES + bodyBytes
}

/**
 * The body length a frame header at `at` announces, or undefined when it is out of bounds (a
 * torn or garbage header). Needs FRAME_HEADER_BYTES readable at `at`.
 */
export function frameBodyBytes(source: Buffer, at: number): number | undefined {
  const bytes = source.readUInt32LE(at)
  return bytes >= 1 && bytes <= FRAME_BODY_MAX_BYTES ? bytes : undefined
}

/** Checks the whole frame at `at` (header, CRC, structure); `source` must hold all of it. */
export function scanFrame(source: Buffer, at: number): FrameScan {
  const bodyBytes = frameBodyBytes(source, at)
  if (bodyBytes === undefined) return { kind: 'invalid', reason: 'frame length out of bounds' }
  const start = at + FRAME_HEADER_BYTES
  const end = start + bodyBytes
  if (end > source.length) return { kind: 'invalid', reason: 'frame extends past the data' }
  if (crc32(source.subarray(start, end)) !== source.readUInt32LE(at + 4)) return { kind: 'invalid', reason: 'frame checksum mismatch' }
  const frameBytes = FRAME_HEADER_BYTES + bodyBytes
  const kind = source.readUInt8(start)
  if (kind === KIND_FENCE) {
    if (bodyBytes !== FENCE_BODY_BYTES) return { kind: 'invalid', reason: 'fence frame of wrong size' }
    return { kind: 'fence', epoch: Number(source.readBigUInt64LE(start + 1)), frameBytes }
  }
  if (kind === KIND_START) {
    if (bodyBytes !== START_BODY_BYTES) return { kind: 'invalid', reason: 'start frame of wrong size' }
    return { kind: 'start', epoch: Number(source.readBigUInt64LE(start + 1)), startOffset: Number(source.readBigUInt64LE(start + 9)), frameBytes }
  }
  if (kind !== KIND_RECORDS || bodyBytes < RECORDS_PREFIX_BYTES) return { kind: 'invalid', reason: `unknown frame kind ${kind}` }
  const epoch = Number(source.readBigUInt64LE(start + 1))
  const firstOffset = Number(source.readBigUInt64LE(start + 9))
  const count = source.readUInt32LE(start + 17)
  let p = start + RECORDS_PREFIX_BYTES
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) return { kind: 'invalid', reason: 'record length past the frame' }
    p += 4 + source.readUInt32LE(p)
  }
  if (count === 0 || p !== end) return { kind: 'invalid', reason: 'records do not fill the frame' }
  return { kind: 'records', epoch, firstOffset, count, frameBytes }
}

/**
 * Appends to `out` the records of a scanned records frame at `at` whose offsets are at least
 * `fromOffset`, stopping when `out` holds `max`. Payloads are views into `source`.
 */
export function decodeRecords(source: Buffer, at: number, scan: Extract<FrameScan, { kind: 'records' }>, fromOffset: number, max: number, out: LogRecord[]): void {
  let p = at + FRAME_HEADER_BYTES + RECORDS_PREFIX_BYTES
  for (let i = 0; i < scan.count && out.length < max; i++) {
    const length = source.readUInt32LE(p)
    const offset = scan.firstOffset + i
    if (offset >= fromOffset) out.push({ offset, epoch: scan.epoch, payload: new Uint8Array(source.buffer, source.byteOffset + p + 4, length) })
    p += 4 + length
  }
}

/** The payloads of a scanned records frame at `at`, as views into `source` (the replica log's entries). */
export function recordsOf(source: Buffer, at: number, scan: Extract<FrameScan, { kind: 'records' }>): Uint8Array[] {
  const out: Uint8Array[] = new Array<Uint8Array>(scan.count)
  let p = at + FRAME_HEADER_BYTES + RECORDS_PREFIX_BYTES
  for (let i = 0; i < scan.count; i++) {
    const length = source.readUInt32LE(p)
    out[i] = new Uint8Array(source.buffer, source.byteOffset + p + 4, length)
    p += 4 + length
  }
  return out
}
