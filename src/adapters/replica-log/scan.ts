/**
 * Reading a replica log directory without changing it: the meta file, every segment, every frame.
 * Opening (recovery) and `distributex log verify` share it; opening then applies the repairs the
 * scan allows (cut a torn tail, delete leftovers), verify only prints them.
 *
 * What a crash can leave, and is repaired: a torn tail in the LAST segment no longer than one
 * write group (the writer fsyncs each group before the next, and each segment before creating the
 * next); a last segment whose creation was cut short (no complete header, hence no entries);
 * segments of an older generation (a reset) or wholly below the start marker (a compaction); a
 * meta temp file. Anything else (a bad frame earlier, a gap between segments or below the start
 * marker, an index or epoch out of order) is corruption, reported with its file and byte position.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errorCode } from '../../files/file-lock.js'
import { FRAME_HEADER_BYTES, frameBodyBytes, isFileHeader, scanFrame } from '../../files/file-log-format.js'
import { ChunkReader, crashExplainsTail } from '../../files/file-log-recovery.js'
import type { LogFile, OpenFile } from '../../files/file-sync.js'
import { entryOffsetProblem } from '../../../protocols/replication/offsets.js'
import { EntryIndex, META_FILE, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, TEMP_SUFFIX, decodeMeta, parseSegmentName, type ReplicaMeta } from './format.js'

/** One segment as scanned: its entries' positions and epochs, and its valid size. */
export interface ScannedSegment {
  readonly name: string
  readonly path: string
  readonly firstIndex: number
  readonly index: EntryIndex
  /** Bytes of header and valid frames (the torn tail excluded). */
  size: number
  file: LogFile
}

export interface Corruption {
  readonly path: string
  readonly position: number
  readonly reason: string
}

export interface TornTail {
  readonly path: string
  readonly position: number
  readonly bytes: number
  readonly reason: string
}

/** What a scan found. */
export interface ReplicaScan {
  /** Undefined when the directory holds no meta file (a fresh log). */
  readonly meta: ReplicaMeta | undefined
  /** Valid segments of the current generation, in order, contiguous, possibly holding entries below `start`. */
  readonly segments: ScannedSegment[]
  /** Files a crash or a finished compaction or reset left behind, to delete. */
  readonly leftovers: string[]
  readonly torn: TornTail | undefined
  readonly corruption: Corruption | undefined
}

/** Scans `dir`; the files of `segments` stay open (opened with `flags`) for the caller to use or close, corrupt or not. */
export async function scanReplicaDir(dir: string, openFile: OpenFile, flags: string | number, defaultGroupBytesMax: number): Promise<ReplicaScan> {
  const segments: ScannedSegment[] = []
  const leftovers: string[] = []
  let torn: TornTail | undefined
  let meta: ReplicaMeta | undefined
  const fail = (path: string, position: number, reason: string): ReplicaScan => ({ meta, segments, leftovers, torn, corruption: { path, position, reason } })

  let names: string[]
  try {
    names = (await readdir(dir)).sort()
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
    names = []
  }
  const metaPath = join(dir, META_FILE)
  if (names.includes(META_FILE)) {
    const decoded = decodeMeta(await readFile(metaPath))
    if (typeof decoded === 'string') return fail(metaPath, 0, decoded)
    meta = decoded
  }
  const generation = meta?.generation ?? 0
  const groupBytesMax = meta?.groupBytesMax ?? defaultGroupBytesMax
  const start = meta?.start ?? 0

  const found: Array<{ name: string; firstIndex: number }> = []
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX)) leftovers.push(join(dir, name))
    const parsed = parseSegmentName(name)
    if (parsed === undefined) continue
    if (parsed.generation !== generation) leftovers.push(join(dir, name))
    else found.push({ name, firstIndex: parsed.firstIndex })
  }
  found.sort((a, b) => a.firstIndex - b.firstIndex)
  // A segment whose successor starts at or below the start marker holds only compacted entries;
  // skipping it unread makes the order in which a compaction's deletions reached the disk irrelevant.
  while (found.length > 1 && found[1]!.firstIndex <= start) leftovers.push(join(dir, found.shift()!.name))

  let epoch = 0
  let expected: number | undefined
  /** One past the previous entry's last record offset. */
  let recordsEnd: number | undefined
  for (const [k, { name, firstIndex }] of found.entries()) {
    const path = join(dir, name)
    const last = k === found.length - 1
    const file = await openFile(path, flags)
    const { size } = await file.stat()
    const segment: ScannedSegment = { name, path, firstIndex, index: new EntryIndex(), size: SEGMENT_HEADER_BYTES, file }
    const reader = new ChunkReader(file, size)
    const header = size >= SEGMENT_HEADER_BYTES ? await reader.bytes(0, SEGMENT_HEADER_BYTES) : undefined
    if (header === undefined || !isFileHeader(header.source.subarray(header.at, header.at + SEGMENT_HEADER_BYTES), SEGMENT_MAGIC)) {
      await file.close()
      // A segment is created with its header fsynced before any frame goes in: a bad header on the
      // last segment with nothing after it is a creation cut short.
      if (last && size <= SEGMENT_HEADER_BYTES) {
        leftovers.push(path)
        continue
      }
      return fail(path, 0, 'not a replica log segment of a known version')
    }
    segments.push(segment)
    if (expected !== undefined && firstIndex !== expected) return fail(path, SEGMENT_HEADER_BYTES, `segment starts at index ${firstIndex}, expected ${expected} (a gap)`)
    let position = SEGMENT_HEADER_BYTES
    let next = firstIndex
    while (position < size) {
      let invalid: string | undefined
      let announced: number | undefined
      if (size - position < FRAME_HEADER_BYTES) invalid = 'partial frame header'
      else {
        const head = await reader.bytes(position, FRAME_HEADER_BYTES)
        announced = frameBodyBytes(head.source, head.at)
        if (announced === undefined) invalid = 'frame length out of bounds'
        else if (position + FRAME_HEADER_BYTES + announced > size) invalid = 'frame extends past the end of the file'
      }
      if (invalid === undefined) {
        const frame = await reader.bytes(position, FRAME_HEADER_BYTES + announced!)
        const scan = scanFrame(frame.source, frame.at)
        if (scan.kind === 'invalid') invalid = scan.reason
        else if (scan.kind !== 'records') return fail(path, position, 'frame is not a records frame')
        else {
          const problem = entryOffsetProblem(next, scan.firstOffset, scan.count, recordsEnd)
          if (problem !== undefined) return fail(path, position, `entry ${next}: ${problem}`)
          if (scan.epoch < epoch) return fail(path, position, `entry ${next} has epoch ${scan.epoch} after epoch ${epoch}`)
          segment.index.add(position, scan.epoch)
          epoch = scan.epoch
          recordsEnd = scan.firstOffset + scan.count
          next++
          position += scan.frameBytes
          continue
        }
      }
      const tail = size - position
      if (!last) return fail(path, position, `${invalid} in a segment that is not the last`)
      if (!crashExplainsTail(tail, groupBytesMax, announced))
        return fail(path, position, `${invalid}, ${tail} bytes before the end: more than one write group (${groupBytesMax} bytes) could tear`)
      torn = { path, position, bytes: tail, reason: invalid }
      break
    }
    segment.size = position
    expected = next
  }

  // Apply the start marker: segments wholly below it are compaction leftovers; the first kept one must reach down to it.
  while (segments.length > 0 && segments[0]!.firstIndex + segments[0]!.index.length <= start) {
    const dropped = segments.shift()!
    await dropped.file.close()
    leftovers.push(dropped.path)
  }
  const first = segments[0]
  if (first !== undefined) {
    if (first.firstIndex > start) return fail(first.path, SEGMENT_HEADER_BYTES, `first segment starts at index ${first.firstIndex}, above the start marker ${start} (a gap)`)
    if (start > first.firstIndex && meta !== undefined) {
      const below = first.index.epochOf(start - 1 - first.firstIndex)
      if (below !== meta.prevEpoch)
        return fail(first.path, first.index.positionOf(start - 1 - first.firstIndex), `entry ${start - 1} has epoch ${below}, the start marker says ${meta.prevEpoch}`)
    }
    if (first.firstIndex + first.index.length > start && meta !== undefined && first.index.epochOf(start - first.firstIndex) < meta.prevEpoch) {
      return fail(first.path, first.index.positionOf(start - first.firstIndex), `entry ${start} has an epoch below the start marker's ${meta.prevEpoch}`)
    }
  }
  return { meta, segments, leftovers, torn, corruption: undefined }
}
