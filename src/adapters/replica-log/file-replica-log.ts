/**
 * The file-backed ReplicaLog: a node's durable copy of the replicated job log in its own data
 * directory (`<dataDir>/replica/`, layout in format.ts, recovery in scan.ts).
 *
 * Durability: a mutation resolves only once fsynced. A write goes out in groups of at most
 * `groupBytesMax` bytes (a larger single entry is a group of its own), each one pwrite then
 * fdatasync, so a crash can tear only the last group; that bound is recorded in the meta file, and
 * recovery cuts a torn tail only within it. A cut (write from below the end) deletes later segments
 * (newest first, a directory fsync after each) and truncates the containing one (fsync) before anything
 * new is written, so old and new bytes never mix. Compaction moves the durable start marker, then
 * deletes whole segments below it; reset bumps the generation in the meta file, which retires every
 * segment at once. The cluster id lives in the meta file: a log of another cluster is refused
 * (ClusterMismatchError) at open (when the opener knows the id) and at setClusterId.
 *
 * Failures: a failed or short write, fsync, truncate or unlink poisons the instance; every later
 * call rejects with ReplicaLogFailedError and the owner reopens (recovery finds the true state).
 * Mutations run one at a time in call order. Reads run alongside appends (they see only durable
 * entries) but wait for cuts, compactions, resets and close, which wait for reads in flight.
 * Memory: an index of about 4 bytes per entry (one entry per append) (position; epochs as runs, format.ts), never payloads.
 * Files are created 0600 in a 0700 directory; one process at a time holds the directory's lock.
 */
import { constants } from 'node:fs'
import { chmod, mkdir, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { throwIfAborted } from '../../env/abort.js'
import type { AbortOptions, Logger } from '../../env/types.js'
import { InvalidArgumentError } from '../../errors.js'
import { ClusterMismatchError, ReplicaLogCorruptedError, ReplicaLogFailedError } from '../../storage/errors.js'
import { acquireFileLock, type FileLock } from '../../files/file-lock.js'
import { FRAME_BODY_MAX_BYTES, FRAME_HEADER_BYTES, encodeFileHeader, encodeRecordsFrame, recordsFrameBytes, recordsOf, scanFrame } from '../../files/file-log-format.js'
import { openLogFile, syncDirectory, writeFully, type LogFile, type OpenFile } from '../../files/file-sync.js'
import type { ReplicaEntry, ReplicaLog, ReplicaLogOpener, ReplicaLogState } from '../../storage/types.js'
import { entryOffsetProblem } from '../../../protocols/replication/offsets.js'
import { EntryIndex, LOCK_FILE, META_FILE, POSITION_MAX, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, TEMP_SUFFIX, encodeMeta, segmentName, type ReplicaMeta } from './format.js'
import { scanReplicaDir, type ScannedSegment } from './scan.js'

/** The replica log's directory inside a node's data directory. */
export const REPLICA_DIR = 'replica'
/** Default largest write group (bytes between two fsyncs). */
export const GROUP_BYTES_MAX = 4 * 1024 * 1024
/** Default segment size at which the next group starts a new segment. */
export const SEGMENT_BYTES = 64 * 1024 * 1024

export interface FileReplicaLogInit {
  /** The replica log's own directory (usually join(dataDir, REPLICA_DIR)); created 0700 when absent. */
  dir: string
  /** The cluster this node belongs to, when known: a log recorded for another one is refused at open. */
  clusterId?: string
  /** Where recovery reports a cut torn tail and removed leftovers. */
  logger?: Logger
  /** Largest write group for a new log (an existing log keeps the one in its meta file). */
  groupBytesMax?: number
  segmentBytes?: number
  /** Opens files; tests pass handles that fail or write short. */
  openFile?: OpenFile
}

/** An opener for the node's replica log, as the ReplicaLog port wants. */
export function fileReplicaLogOpener(init: FileReplicaLogInit): ReplicaLogOpener {
  return { open: (options) => FileReplicaLog.open(init, options) }
}

type Segment = ScannedSegment

export class FileReplicaLog implements ReplicaLog {
  /** Opens (creating if needed) the log in `init.dir`, recovering it after any crash. */
  static async open(init: FileReplicaLogInit, options: AbortOptions = {}): Promise<FileReplicaLog> {
    throwIfAborted(options.signal)
    const { dir } = init
    const openFile = init.openFile ?? openLogFile
    // A new directory is durable only once its parent's entry is.
    if ((await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined) await syncDirectory(dirname(dir))
    await chmod(dir, 0o700)
    const lock = await acquireFileLock(join(dir, LOCK_FILE), 0o600)
    let segments: Segment[] = []
    try {
      const scan = await scanReplicaDir(dir, openFile, constants.O_RDWR, init.groupBytesMax ?? GROUP_BYTES_MAX)
      segments = scan.segments
      if (scan.corruption !== undefined) throw new ReplicaLogCorruptedError(scan.corruption.path, scan.corruption.position, scan.corruption.reason)
      if (init.clusterId !== undefined && scan.meta?.clusterId !== undefined && scan.meta.clusterId !== init.clusterId)
        throw new ClusterMismatchError(scan.meta.clusterId, init.clusterId, dir)
      for (const path of scan.leftovers) await unlink(path)
      if (scan.leftovers.length > 0) {
        await syncDirectory(dir)
        init.logger?.warn('replica log: removed leftovers of a compaction, reset or crash', { dir, files: scan.leftovers.length })
      }
      const torn = scan.torn
      const tornSegment = torn === undefined ? undefined : segments.find((s) => s.path === torn.path)
      if (torn !== undefined && tornSegment !== undefined) {
        await tornSegment.file.truncate(torn.position)
        await tornSegment.file.sync()
        init.logger?.warn('replica log: cut a torn tail left by a crash', { path: torn.path, position: torn.position, bytes: torn.bytes, reason: torn.reason })
      }
      let meta = scan.meta
      if (meta === undefined) {
        meta = { generation: 0, start: 0, prevEpoch: 0, clusterId: undefined, groupBytesMax: init.groupBytesMax ?? GROUP_BYTES_MAX }
        await writeMeta(dir, openFile, meta)
      }
      const segmentBytes = init.segmentBytes ?? SEGMENT_BYTES
      // A group starts below segmentBytes and may be one largest frame: every position must fit the index's u32.
      if (!(segmentBytes >= 1) || segmentBytes + Math.max(meta.groupBytesMax, FRAME_HEADER_BYTES + FRAME_BODY_MAX_BYTES) > POSITION_MAX)
        throw new InvalidArgumentError(`segmentBytes ${segmentBytes} with write groups of ${meta.groupBytesMax} bytes: positions would not fit the index (${POSITION_MAX})`)
      return new FileReplicaLog(dir, openFile, lock, meta, segments, segmentBytes)
    } catch (error) {
      for (const s of segments) await s.file.close().catch(() => {})
      await lock.release()
      throw error
    }
  }

  private failure: ReplicaLogFailedError | undefined
  private closed = false
  /** The last mutation queued, to run the next after it. */
  private mutations: Promise<void> = Promise.resolve()
  private reads = 0
  private readsDrained: (() => void) | undefined
  /** Set while a cut, compaction, reset or close runs; reads wait for it. */
  private exclusiveRun: Promise<void> | undefined

  private constructor(
    private readonly dir: string,
    private readonly openFile: OpenFile,
    private readonly lock: FileLock,
    private meta: ReplicaMeta,
    private readonly segments: Segment[],
    private readonly segmentBytes: number,
  ) {}

  state(): ReplicaLogState {
    const end = this.end
    return { clusterId: this.meta.clusterId, start: this.meta.start, end, lastEpoch: end > this.meta.start ? this.epochAt(end - 1)! : this.meta.prevEpoch }
  }

  epochAt(index: number): number | undefined {
    if (index === this.meta.start - 1) return this.meta.prevEpoch
    if (index < this.meta.start || index >= this.end) return undefined
    const segment = this.segmentOf(index)
    return segment.index.epochOf(index - segment.firstIndex)
  }

  setClusterId(id: string): Promise<void> {
    return this.mutate(async () => {
      const recorded = this.meta.clusterId
      if (recorded === id) return
      if (recorded !== undefined) throw new ClusterMismatchError(recorded, id, this.dir)
      await this.failing(() => this.replaceMeta({ ...this.meta, clusterId: id }))
    })
  }

  write(from: number, entries: readonly ReplicaEntry[]): Promise<void> {
    return this.mutate(async () => {
      this.checkRange('write from', from)
      let epoch = this.epochAt(from - 1) ?? 0
      let recordsEnd: number | undefined
      entries.forEach((entry, i) => {
        if (entry.index !== from + i) throw new InvalidArgumentError(`entry ${i} has index ${entry.index}, expected ${from + i}`)
        if (!Number.isSafeInteger(entry.epoch) || entry.epoch < epoch) throw new InvalidArgumentError(`entry ${entry.index} has epoch ${entry.epoch} after epoch ${epoch}`)
        const problem = entryOffsetProblem(entry.index, entry.offset, entry.payloads.length, recordsEnd)
        if (problem !== undefined) throw new InvalidArgumentError(`entry ${entry.index}: ${problem}`)
        if (recordsFrameBytes(entry.payloads) - FRAME_HEADER_BYTES > FRAME_BODY_MAX_BYTES) throw new InvalidArgumentError(`entry ${entry.index} exceeds the frame limit`)
        epoch = entry.epoch
        recordsEnd = entry.offset + entry.payloads.length
      })
      await this.failing(async () => {
        if (from < this.end) await this.exclusive(() => this.cut(from))
        await this.append(entries)
      })
    })
  }

  async read(from: number, max: number, maxBytes: number): Promise<ReplicaEntry[]> {
    this.checkUsable()
    while (this.exclusiveRun !== undefined) await this.exclusiveRun
    this.checkUsable()
    this.checkRange('read from', from)
    if (!Number.isSafeInteger(max) || max < 1) throw new InvalidArgumentError(`max must be a positive integer, got ${max}`)
    this.reads++
    try {
      const out: ReplicaEntry[] = []
      let bytes = 0
      let index = from
      const end = this.end
      while (index < end && out.length < max) {
        const segment = this.segmentOf(index)
        const first = index - segment.firstIndex
        const count = segment.index.length
        const frameEnd = (i: number): number => (i + 1 < count ? segment.index.positionOf(i + 1) : segment.size)
        if (out.length > 0 && bytes + frameEnd(first) - segment.index.positionOf(first) > maxBytes) break
        let last = first
        bytes += frameEnd(first) - segment.index.positionOf(first)
        while (last + 1 < count && out.length + (last + 1 - first) < max && bytes + frameEnd(last + 1) - segment.index.positionOf(last + 1) <= maxBytes) {
          last++
          bytes += frameEnd(last) - segment.index.positionOf(last)
        }
        out.push(...(await this.readFrames(segment, first, last, frameEnd(last))))
        index = segment.firstIndex + last + 1
      }
      return out
    } finally {
      if (--this.reads === 0) this.readsDrained?.()
    }
  }

  compact(index: number): Promise<void> {
    return this.mutate(async () => {
      this.checkRange('compact to', index)
      if (index === this.meta.start) return
      await this.failing(async () => {
        await this.replaceMeta({ ...this.meta, start: index, prevEpoch: this.epochAt(index - 1)! })
        await this.exclusive(async () => {
          let dropped = false
          while (this.segments.length > 0 && this.segments[0]!.firstIndex + this.segments[0]!.index.length <= index) {
            await this.removeSegment(this.segments.shift()!)
            dropped = true
          }
          if (dropped) await syncDirectory(this.dir)
        })
      })
    })
  }

  reset(start: number, prevEpoch: number): Promise<void> {
    return this.mutate(async () => {
      if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(prevEpoch) || prevEpoch < 0)
        throw new InvalidArgumentError(`reset(${start}, ${prevEpoch}): not non-negative integers`)
      await this.failing(async () => {
        await this.replaceMeta({ ...this.meta, generation: this.meta.generation + 1, start, prevEpoch })
        await this.exclusive(async () => {
          // The new generation already retired these; a crash before their removal leaves them to recovery.
          for (const segment of this.segments.splice(0)) await this.removeSegment(segment)
          await syncDirectory(this.dir)
        })
      })
    })
  }

  /** Waits for the mutation in progress, then closes the files and releases the lock. Never rejects. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.mutations
    await this.exclusive(async () => {
      for (const segment of this.segments) await segment.file.close().catch(() => {})
    })
    await this.lock.release().catch(() => {})
  }

  private get end(): number {
    const last = this.segments.at(-1)
    return last === undefined ? this.meta.start : Math.max(this.meta.start, last.firstIndex + last.index.length)
  }

  /** The segment holding `index` (start <= index < end). */
  private segmentOf(index: number): Segment {
    let lo = 0
    let hi = this.segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.segments[mid]!.firstIndex <= index) lo = mid
      else hi = mid - 1
    }
    return this.segments[lo]!
  }

  private checkUsable(): void {
    if (this.closed) throw new ReplicaLogFailedError('replica log is closed')
    if (this.failure !== undefined) throw this.failure
  }

  private checkRange(what: string, index: number): void {
    const { start } = this.meta
    if (!Number.isSafeInteger(index) || index < start || index > this.end) throw new InvalidArgumentError(`${what} ${index} outside [${start}, ${this.end}]`)
  }

  /** Runs `fn` after the mutations before it, rejecting at once if the instance is unusable. */
  private mutate(fn: () => Promise<void>): Promise<void> {
    const run = this.mutations.then(() => {
      this.checkUsable()
      return fn()
    })
    this.mutations = run.catch(() => {})
    return run
  }

  /** Runs I/O that poisons the instance when it fails. */
  private async failing(fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (error) {
      this.failure = new ReplicaLogFailedError('replica log write failed; the log must be reopened', { cause: error })
      throw this.failure
    }
  }

  /** Runs `fn` with no read in flight and none starting. */
  private async exclusive(fn: () => Promise<void>): Promise<void> {
    let finish!: () => void
    const run = new Promise<void>((resolve) => (finish = resolve))
    while (this.exclusiveRun !== undefined) await this.exclusiveRun
    this.exclusiveRun = run
    try {
      if (this.reads > 0) await new Promise<void>((resolve) => (this.readsDrained = resolve))
      this.readsDrained = undefined
      await fn()
    } finally {
      this.exclusiveRun = undefined
      finish()
    }
  }

  /** Drops entries from `from` on: later segments go (newest first), then the containing one is cut. */
  private async cut(from: number): Promise<void> {
    while (this.segments.length > 0 && this.segments.at(-1)!.firstIndex >= from) {
      await this.removeSegment(this.segments.pop()!)
      // One at a time, so a crash leaves a prefix of the segments, never a gap.
      await syncDirectory(this.dir)
    }
    const last = this.segments.at(-1)
    if (last === undefined || last.firstIndex + last.index.length <= from) return
    const keep = from - last.firstIndex
    const position = last.index.positionOf(keep)
    await last.file.truncate(position)
    await last.file.sync()
    last.index.cut(keep)
    last.size = position
  }

  private async append(entries: readonly ReplicaEntry[]): Promise<void> {
    const groupBytesMax = this.meta.groupBytesMax
    let i = 0
    while (i < entries.length) {
      const segment = await this.segmentForAppend()
      const first = i
      let bytes = 0
      const frames: number[] = []
      while (i < entries.length) {
        const frame = recordsFrameBytes(entries[i]!.payloads)
        if (i > first && bytes + frame > groupBytesMax) break
        frames.push(frame)
        bytes += frame
        i++
      }
      const buffer = Buffer.allocUnsafe(bytes)
      let at = 0
      for (let k = first; k < i; k++) {
        const entry = entries[k]!
        at += encodeRecordsFrame(buffer, at, entry.epoch, entry.offset, entry.payloads)
      }
      await writeFully(segment.file, buffer, at, segment.size, segment.path)
      await segment.file.datasync()
      // Positions follow from the frame sizes: entry k's frame starts where the previous one ended.
      let position = segment.size
      for (let k = first; k < i; k++) {
        segment.index.add(position, entries[k]!.epoch)
        position += frames[k - first]!
      }
      segment.size += at
    }
  }

  /** The last segment, or a new one when there is none or it is full. */
  private async segmentForAppend(): Promise<Segment> {
    const last = this.segments.at(-1)
    if (last !== undefined && last.size < this.segmentBytes && last.firstIndex + last.index.length === this.end) return last
    const firstIndex = this.end
    const name = segmentName(this.meta.generation, firstIndex)
    const path = join(this.dir, name)
    const file = await this.openFile(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600)
    const segment: Segment = { name, path, firstIndex, index: new EntryIndex(), size: SEGMENT_HEADER_BYTES, file }
    this.segments.push(segment)
    const header = encodeFileHeader(SEGMENT_MAGIC)
    await writeFully(file, header, header.length, 0, path)
    await file.datasync()
    await syncDirectory(this.dir)
    return segment
  }

  private async removeSegment(segment: Segment): Promise<void> {
    await segment.file.close()
    await unlink(segment.path)
  }

  private async readFrames(segment: Segment, first: number, last: number, endPosition: number): Promise<ReplicaEntry[]> {
    const position = segment.index.positionOf(first)
    const length = endPosition - position
    const source = Buffer.allocUnsafe(length)
    let bytesRead: number
    try {
      ;({ bytesRead } = await segment.file.read(source, 0, length, position))
    } catch (error) {
      throw new ReplicaLogFailedError(`replica log read of ${segment.path} failed`, { cause: error })
    }
    const entries: ReplicaEntry[] = []
    let at = 0
    for (let i = first; i <= last; i++) {
      const expected = segment.firstIndex + i
      const scan = at < bytesRead ? scanFrame(source.subarray(0, bytesRead), at) : ({ kind: 'invalid', reason: 'short read' } as const)
      const problem =
        scan.kind === 'invalid'
          ? scan.reason
          : scan.kind !== 'records' || scan.epoch !== segment.index.epochOf(i)
            ? 'frame does not match the index'
            : entryOffsetProblem(expected, scan.firstOffset, scan.count, entries.at(-1) === undefined ? undefined : entries.at(-1)!.offset + entries.at(-1)!.payloads.length)
      if (problem !== undefined || scan.kind !== 'records') throw new ReplicaLogCorruptedError(segment.path, position + at, `on read of entry ${expected}: ${problem}`)
      entries.push({ index: expected, epoch: scan.epoch, offset: scan.firstOffset, payloads: recordsOf(source, at, scan) })
      at += scan.frameBytes
    }
    return entries
  }

  private async replaceMeta(meta: ReplicaMeta): Promise<void> {
    await writeMeta(this.dir, this.openFile, meta)
    this.meta = meta
  }
}

/** Replaces the meta file atomically and durably. */
async function writeMeta(dir: string, openFile: OpenFile, meta: ReplicaMeta): Promise<void> {
  const path = join(dir, META_FILE)
  const temp = `${path}${TEMP_SUFFIX}`
  const bytes = encodeMeta(meta)
  const file: LogFile = await openFile(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600)
  try {
    await writeFully(file, bytes, bytes.length, 0, temp)
    await file.datasync()
  } finally {
    await file.close()
  }
  await rename(temp, path)
  await syncDirectory(dir)
}
