/**
 * The on-disk layout of a file replica log, in one directory (a node's `<dataDir>/replica/`):
 *  - `replica.meta`: the log's header, replaced atomically (temp file, fsync, rename, directory
 *    fsync): cluster id, the start marker (`start`, `prevEpoch`), the segment generation, and the
 *    largest write group the writer makes (`groupBytesMax`, which bounds the tail a crash can tear).
 *  - `seg-<generation>-<firstIndex>.log`: segments, each a 16-byte file header (magic DXREPSG2) then
 *    records frames of the job log's format (file-log-format.ts), one per entry, in index order from
 *    the segment's first index; a frame holds the entry's records (one scheduler append, or part of
 *    a large one) and `firstOffset` is its first record's offset (protocols/replication/offsets.ts).
 *    Segments of one generation are contiguous.
 * Format 2 (meta version 2, segment magic DXREPSG2; issue 9). Format 1 held one record per entry
 * with `firstOffset` = the entry's index: it is refused at open (ReplicaLogCorruptedError naming
 * the format), never read as format 2.
 * A reset bumps the generation in the meta file, which makes every older segment garbage in one
 * atomic step; compaction moves the start marker first and deletes whole segments after.
 */
import { crc32 } from 'node:zlib'
import { FILE_HEADER_BYTES } from '../../files/file-log-format.js'

export const META_FILE = 'replica.meta'
export const LOCK_FILE = 'replica.lock'
/** Suffix of a meta file being written; removed at open when a crash left it. */
export const TEMP_SUFFIX = '.tmp'
export const SEGMENT_MAGIC = Buffer.from('DXREPSG2', 'latin1')
export const SEGMENT_HEADER_BYTES = FILE_HEADER_BYTES

const META_MAGIC = Buffer.from('DXREPMET', 'latin1')
const META_VERSION = 2
/** The format of one record per entry, before issue 9's batched entries. */
const META_VERSION_ONE_RECORD_PER_ENTRY = 1
const META_HEADER_BYTES = 16

/** The content of the meta file. */
export interface ReplicaMeta {
  readonly generation: number
  readonly start: number
  readonly prevEpoch: number
  readonly clusterId: string | undefined
  readonly groupBytesMax: number
}

/** `magic | u32 version | u32 crc32(body) | body (JSON)`. */
export function encodeMeta(meta: ReplicaMeta): Buffer {
  const body = Buffer.from(JSON.stringify({ ...meta, clusterId: meta.clusterId ?? null }), 'utf8')
  const out = Buffer.alloc(META_HEADER_BYTES + body.length)
  META_MAGIC.copy(out, 0)
  out.writeUInt32LE(META_VERSION, 8)
  out.writeUInt32LE(crc32(body), 12)
  body.copy(out, META_HEADER_BYTES)
  return out
}

/** The meta in `bytes`, or a reason it is not a valid one. */
export function decodeMeta(bytes: Buffer): ReplicaMeta | string {
  if (bytes.length < META_HEADER_BYTES || !bytes.subarray(0, 8).equals(META_MAGIC)) return 'not a DistributeX replica log meta file'
  const version = bytes.readUInt32LE(8)
  if (version === META_VERSION_ONE_RECORD_PER_ENTRY)
    return `replica log format ${version} (one record per entry) is not readable by this version (format ${META_VERSION}); move the directory away and let the node catch up from the leader`
  if (version !== META_VERSION) return `meta version ${version} is unknown`
  const body = bytes.subarray(META_HEADER_BYTES)
  if (crc32(body) !== bytes.readUInt32LE(12)) return 'meta checksum mismatch'
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return 'meta body is not JSON'
  }
  const m = parsed as Record<string, unknown>
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  if (typeof m !== 'object' || m === null || !count(m.generation) || !count(m.start) || !count(m.prevEpoch) || !count(m.groupBytesMax) || m.groupBytesMax === 0)
    return 'meta fields are malformed'
  if (m.clusterId !== null && typeof m.clusterId !== 'string') return 'meta cluster id is malformed'
  return { generation: m.generation, start: m.start, prevEpoch: m.prevEpoch, clusterId: m.clusterId ?? undefined, groupBytesMax: m.groupBytesMax }
}

const SEGMENT_NAME = /^seg-(\d{10})-(\d{16})\.log$/

/** The file name of a segment. */
export function segmentName(generation: number, firstIndex: number): string {
  return `seg-${String(generation).padStart(10, '0')}-${String(firstIndex).padStart(16, '0')}.log`
}

/** The generation and first index a segment file name encodes, or undefined for other names. */
export function parseSegmentName(name: string): { generation: number; firstIndex: number } | undefined {
  const match = SEGMENT_NAME.exec(name)
  return match === null ? undefined : { generation: Number(match[1]), firstIndex: Number(match[2]) }
}

const INITIAL_ENTRIES = 256

/** Largest position an index holds (a segment's bytes fit a u32; the log's options keep them below). */
export const POSITION_MAX = 0xffff_ffff

/**
 * Where each entry of one segment sits and its epoch, in about 4 bytes per entry and no payloads:
 * positions in a Uint32Array growing by doubling, epochs as runs (a log's epochs change only at a
 * leader change, so a segment of hundreds of thousands of entries has a handful of runs). Entries
 * are added in file order, so positions strictly increase. A segment of 64 MiB holds up to about
 * 500,000 small entries: 2 MiB of index (a position and an epoch per entry took 8 MiB, 16 with the
 * doubling).
 */
export class EntryIndex {
  private positions = new Uint32Array(INITIAL_ENTRIES)
  private count = 0
  /** First entry of each epoch run, increasing; `runEpochs[i]` is that run's epoch. */
  private runStarts: number[] = []
  private runEpochs: number[] = []

  get length(): number {
    return this.count
  }

  /** Memory held: the positions' capacity and the runs. */
  get bytes(): number {
    return this.positions.byteLength + this.runStarts.length * 16
  }

  add(position: number, epoch: number): void {
    if (!(position >= 0 && position <= POSITION_MAX)) throw new RangeError(`segment position ${position} outside [0, ${POSITION_MAX}]`)
    if (this.count === this.positions.length) {
      const positions = new Uint32Array(this.count * 2)
      positions.set(this.positions)
      this.positions = positions
    }
    this.positions[this.count] = position
    if (this.runEpochs.at(-1) !== epoch) {
      this.runStarts.push(this.count)
      this.runEpochs.push(epoch)
    }
    this.count++
  }

  /** Keeps the first `count` entries. */
  cut(count: number): void {
    this.count = Math.min(this.count, count)
    while (this.runStarts.length > 0 && this.runStarts.at(-1)! >= this.count) {
      this.runStarts.pop()
      this.runEpochs.pop()
    }
  }

  positionOf(i: number): number {
    return this.positions[i]!
  }

  epochOf(i: number): number {
    // The last run starting at or before i.
    let lo = 0
    let hi = this.runStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.runStarts[mid]! <= i) lo = mid
      else hi = mid - 1
    }
    return this.runEpochs[lo]!
  }
}
