/**
 * The embedded job log: one append-only file in a directory, for a cluster that runs without
 * Kafka. Format and recovery: file-log-format.ts and file-log-recovery.ts.
 *
 * Durability: an append resolves only after its frame is written and fsynced. Appends and fences
 * that arrive while a write is in progress queue up and go out together in the next write and
 * fsync (group commit), so concurrent callers share the cost of one fsync. Writes are strictly one
 * after another, which is what lets recovery treat only the last write as possibly torn.
 *
 * Offsets are contiguous from 0, assigned in the order calls arrive. Fencing: the highest epoch of
 * any append or fence is kept in memory and on disk (in the records, and in fence frames for
 * fences no append carried), so it survives restarts; a call with a lower epoch fails with
 * FencedError before it is queued. Reads and endOffset see only durable records.
 *
 * One process at a time: opening takes the directory's lock file (file-lock.ts). A failed or short
 * write (ShortWriteError) or a failed fsync poisons the instance (after an fsync error the kernel
 * may have dropped the dirty pages, so no later success would prove anything); reopening recovers
 * the true state from the file, cutting a partial frame as a torn tail.
 * Compaction (`compact`, the only code here that replaces the file): the frames from the one
 * holding `offset` on are copied, after a start frame naming their first offset and the durable
 * epoch, into COMPACT_FILE, which is fsynced and renamed over LOG_FILE; the directory is fsynced
 * before the call resolves. A crash before the rename leaves the old file (COMPACT_FILE is
 * overwritten by the next compaction); after it, the new file is complete. It runs in the writer's
 * place, so no write interleaves with the copy; reads started before it finish on the old file,
 * whose handle is closed at the next compaction or at close. A failure before the rename leaves
 * the log as it was; a failure of the directory fsync poisons it (the name on disk is unknown).
 *
 * Bounds: one append is at most FRAME_BODY_MAX_BYTES, one write at most GROUP_MAX_BYTES unless a
 * single frame is larger, and queued bytes at most `queueMaxBytes`. Payloads are encoded when
 * their write starts, so they must not change until their append settles.
 */
import { constants } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { InvalidArgumentError } from '../../errors.js'
import type { Logger, AbortOptions } from '../../env/types.js'
import { throwIfAborted } from '../../env/abort.js'
import { AppendQueue } from '../../storage/append-queue.js'
import { FencedError, JobLogUnavailableError } from '../../storage/errors.js'
import {
  FENCE_FRAME_BYTES,
  FILE_HEADER_BYTES,
  FRAME_BODY_MAX_BYTES,
  FRAME_HEADER_BYTES,
  GROUP_MAX_BYTES,
  START_FRAME_BYTES,
  decodeRecords,
  encodeFenceFrame,
  encodeFileHeader,
  encodeRecordsFrame,
  encodeStartFrame,
  frameEpoch,
  recordsFrameBytes,
  scanFrame,
} from '../../files/file-log-format.js'
import { FrameIndex } from '../../files/file-log-index.js'
import { JobLogCorruptedError, recoverLog } from '../../files/file-log-recovery.js'
import { acquireFileLock, type FileLock } from '../../files/file-lock.js'
import type { JobLog, LogRecord } from '../../storage/types.js'
import { ensurePrivateDir } from '../../files/private-dir.js'
import { openLogFile, syncDirectory, writeFully, type LogFile, type OpenFile } from '../../files/file-sync.js'

/** The log file's name inside the directory. */
export const LOG_FILE = 'job.log'
/** The lock file's name inside the directory. */
export const LOCK_FILE = 'job.log.lock'
/** Where compaction builds the new log file before renaming it over LOG_FILE. */
export const COMPACT_FILE = 'job.log.compact'
/** Bytes copied per read and write while compacting. */
const COPY_BYTES = 8 * 1024 * 1024

/** One read fetches at most this many bytes (always at least one whole frame). */
const READ_MAX_BYTES = 4 * 1024 * 1024
const QUEUE_MAX_BYTES = 256 * 1024 * 1024

/** Options of the file job log. */
export interface FileJobLogInit {
  /** The directory of the log; created when absent. */
  dir: string
  /** Where recovery reports a cut torn tail. */
  logger?: Logger
  /** Queued, not yet written bytes beyond which appends are refused; 256 MiB by default. */
  queueMaxBytes?: number
  /** Opens the log file; tests pass handles that fail or write short. */
  openFile?: OpenFile
}

/** An append or fence waiting for the writer. */
interface Pending {
  readonly epoch: number
  /** Undefined for a fence. */
  readonly payloads: readonly Uint8Array[] | undefined
  readonly bytes: number
  readonly resolve: (firstOffset: number) => void
  readonly reject: (error: Error) => void
}

export class FileJobLog implements JobLog {
  /** Opens (creating if needed) the log in `init.dir`, recovering it after any crash. */
  static async open(init: FileJobLogInit): Promise<FileJobLog> {
    await ensurePrivateDir(init.dir, init.logger)
    const lock = await acquireFileLock(join(init.dir, LOCK_FILE))
    let file: LogFile | undefined
    try {
      const path = join(init.dir, LOG_FILE)
      // Not O_APPEND: on Linux it ignores the positions of positional writes.
      file = await (init.openFile ?? openLogFile)(path, constants.O_RDWR | constants.O_CREAT, 0o600)
      // The file may be new: make its directory entry durable before anything is acknowledged.
      await syncDirectory(init.dir)
      const recovered = await recoverLog(file, path)
      if (recovered.truncatedBytes > 0) init.logger?.warn('job log: cut a torn tail left by a crash', { path, bytes: recovered.truncatedBytes, size: recovered.size })
      return new FileJobLog(path, file, lock, recovered.index, recovered.epoch, recovered.size, init.queueMaxBytes ?? QUEUE_MAX_BYTES)
    } catch (error) {
      await file?.close()
      await lock.release()
      throw error
    }
  }

  private readonly queue: AppendQueue<Pending>
  /** The highest epoch accepted, durable or still queued. */
  private acceptedEpoch: number
  private writer: Promise<void> | undefined
  private failure: JobLogUnavailableError | undefined
  private closed = false
  /** The file a compaction replaced; reads begun before it may still use it, so it closes later. */
  private retired: LogFile | undefined

  private constructor(
    private readonly path: string,
    private file: LogFile,
    private readonly lock: FileLock,
    private index: FrameIndex,
    /** The highest epoch on disk. */
    private durableEpoch: number,
    /** The file size: where the next write goes. */
    private size: number,
    queueMaxBytes: number,
  ) {
    this.acceptedEpoch = durableEpoch
    this.queue = new AppendQueue(queueMaxBytes, 'job log write queue')
  }

  /** The highest epoch this log has accepted. */
  get epoch(): number {
    return this.acceptedEpoch
  }

  fence(epoch: number, options: AbortOptions = {}): Promise<void> {
    return this.enqueue(epoch, undefined, options).then(() => undefined)
  }

  append(epoch: number, payloads: readonly Uint8Array[], options: AbortOptions = {}): Promise<number> {
    return this.enqueue(epoch, payloads, options)
  }

  async read(offset: number, max: number, options: AbortOptions = {}): Promise<LogRecord[]> {
    checkCount('offset', offset, 0)
    checkCount('max', max, 1)
    this.checkUsable(options.signal)
    const index = this.index
    const file = this.file
    if (offset >= index.endOffset) return []
    // Below the start the records were compacted away: the read begins at the first one held.
    offset = Math.max(offset, index.startOffset)
    const first = index.frameOf(offset)
    let last = first
    let records = index.endOffsetOf(first) - offset
    while (records < max && last + 1 < index.length && index.endPositionOf(last + 1) - index.positionOf(first) <= READ_MAX_BYTES) {
      last++
      records = index.endOffsetOf(last) - offset
    }
    const start = index.positionOf(first)
    const length = index.endPositionOf(last) - start
    const source = Buffer.allocUnsafe(length)
    const bytesRead = await file.read(source, 0, length, start).then(
      (result) => result.bytesRead,
      (error: unknown) => {
        throw new JobLogUnavailableError('job log read failed', false, { cause: error })
      },
    )
    const out: LogRecord[] = []
    for (let at = 0; at < bytesRead && out.length < max;) {
      const scan = scanFrame(source.subarray(0, bytesRead), at)
      if (scan.kind === 'invalid') throw new JobLogCorruptedError(this.path, start + at, `on read: ${scan.reason}`)
      if (scan.kind === 'records') decodeRecords(source, at, scan, offset, max, out)
      at += scan.frameBytes
    }
    return out
  }

  async endOffset(options: AbortOptions = {}): Promise<number> {
    this.checkUsable(options.signal)
    return this.index.endOffset
  }

  async startOffset(options: AbortOptions = {}): Promise<number> {
    this.checkUsable(options.signal)
    return this.index.startOffset
  }

  /**
   * Rewrites the log without the frames wholly below `offset` (see the module doc). The log may
   * keep a few records below `offset`: those sharing a frame (one append) with it.
   */
  async compact(offset: number, options: AbortOptions = {}): Promise<void> {
    checkCount('offset', offset, 0)
    this.checkUsable(options.signal)
    if (offset > this.index.endOffset) throw new InvalidArgumentError(`cannot compact to ${offset}: the log ends at ${this.index.endOffset}`)
    // Take the writer's place: appends queue meanwhile and go out, to the new file, afterwards.
    while (this.writer !== undefined) await this.writer
    this.checkUsable(options.signal)
    const work = this.rewrite(offset)
    this.writer = work.then(
      () => undefined,
      () => undefined,
    )
    try {
      await work
    } finally {
      this.writer = undefined
      if (this.queue.length > 0) this.writer = this.drain()
    }
  }

  private async rewrite(offset: number): Promise<void> {
    const old = this.index
    if (old.length === 0 || offset <= old.startOffset || offset <= old.firstOffsetOf(0)) return
    const from = offset >= old.endOffset ? old.length - 1 : old.frameOf(offset)
    if (from === 0) return
    const copyFrom = old.positionOf(from)
    const shift = FILE_HEADER_BYTES + START_FRAME_BYTES - copyFrom
    const dir = dirname(this.path)
    const tmpPath = join(dir, COMPACT_FILE)
    let tmp: LogFile | undefined
    try {
      tmp = await openLogFile(tmpPath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600)
      const chunk = Buffer.allocUnsafe(Math.max(FRAME_HEADER_BYTES + 9, Math.min(COPY_BYTES, this.size - copyFrom)))
      // Epochs never go down in the file, so the first kept frame's epoch bounds every dropped one.
      let firstEpoch = 0
      for (let at = copyFrom; at < this.size;) {
        const { bytesRead } = await this.file.read(chunk, 0, Math.min(chunk.length, this.size - at), at)
        if (bytesRead === 0) throw new Error(`job log ended at byte ${at} while compacting, expected ${this.size}`)
        if (at === copyFrom) firstEpoch = frameEpoch(chunk, 0)
        await tmp.write(chunk, 0, bytesRead, at + shift)
        at += bytesRead
      }
      const head = Buffer.alloc(FILE_HEADER_BYTES + START_FRAME_BYTES)
      encodeFileHeader().copy(head, 0)
      encodeStartFrame(head, FILE_HEADER_BYTES, firstEpoch, old.firstOffsetOf(from))
      await tmp.write(head, 0, head.length, 0)
      await tmp.datasync()
      await rename(tmpPath, this.path)
    } catch (error) {
      await tmp?.close().catch(() => undefined)
      await rm(tmpPath, { force: true }).catch(() => undefined)
      throw new JobLogUnavailableError('job log compaction failed; the log is unchanged', false, { cause: error })
    }
    const index = new FrameIndex()
    index.startAt(old.firstOffsetOf(from))
    for (let f = from; f < old.length; f++)
      index.add(old.firstOffsetOf(f), old.endOffsetOf(f) - old.firstOffsetOf(f), old.positionOf(f) + shift, old.endPositionOf(f) - old.positionOf(f))
    await this.retired?.close().catch(() => undefined)
    this.retired = this.file
    this.file = tmp
    this.index = index
    this.size += shift
    try {
      await syncDirectory(dir)
    } catch (error) {
      this.failure = new JobLogUnavailableError('job log directory fsync failed after compaction; the log must be reopened', false, { cause: error })
      throw this.failure
    }
  }

  /** Writes what is queued, then closes the file and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writer
    await this.retired?.close()
    await this.file.close()
    await this.lock.release()
  }

  private enqueue(epoch: number, payloads: readonly Uint8Array[] | undefined, options: AbortOptions): Promise<number> {
    const { signal } = options
    return new Promise<number>((resolve, reject) => {
      checkCount('epoch', epoch, 0)
      this.checkUsable(signal)
      if (epoch < this.acceptedEpoch) throw new FencedError(epoch, this.acceptedEpoch)
      if (payloads === undefined && epoch === this.durableEpoch && this.queue.length === 0 && this.writer === undefined) {
        resolve(this.index.endOffset)
        return
      }
      const bytes = payloads === undefined || payloads.length === 0 ? FENCE_FRAME_BYTES : recordsFrameBytes(payloads)
      if (bytes - FRAME_HEADER_BYTES > FRAME_BODY_MAX_BYTES) throw new InvalidArgumentError(`append of ${bytes} bytes exceeds the limit of ${FRAME_BODY_MAX_BYTES}`)
      this.queue.add({ epoch, payloads, bytes, resolve, reject }, signal)
      this.acceptedEpoch = epoch
      this.writer ??= this.drain()
    })
  }

  /** Writes queued frames, one group per write and fsync, until the queue is empty. Never rejects. */
  private async drain(): Promise<void> {
    // Let the calls made in the same turn as the first one join its write.
    await Promise.resolve()
    while (this.queue.length > 0 && this.failure === undefined) {
      const group = this.takeGroup()
      try {
        await this.writeGroup(group)
      } catch (error) {
        this.failure = new JobLogUnavailableError('job log write failed; the log must be reopened', false, { cause: error })
        const ambiguous = new JobLogUnavailableError('job log write failed: the append may or may not be durable', true, { cause: error })
        for (const p of group) p.reject(ambiguous)
        for (const p of this.queue.takeAll()) p.reject(this.failure)
      }
    }
    this.writer = undefined
  }

  private takeGroup(): Pending[] {
    return this.queue.take((next, _first, bytes) => bytes + next.bytes <= GROUP_MAX_BYTES)
  }

  private async writeGroup(group: readonly Pending[]): Promise<void> {
    const frames = Buffer.allocUnsafe(group.reduce((sum, p) => sum + p.bytes, 0))
    const placed: Array<{ firstOffset: number; count: number; position: number; bytes: number }> = []
    let at = 0
    let nextOffset = this.index.endOffset
    let epoch = this.durableEpoch
    for (const p of group) {
      const payloads = p.payloads ?? []
      if (payloads.length === 0) {
        at += encodeFenceFrame(frames, at, p.epoch)
      } else {
        const bytes = encodeRecordsFrame(frames, at, p.epoch, nextOffset, payloads)
        placed.push({ firstOffset: nextOffset, count: payloads.length, position: this.size + at, bytes })
        nextOffset += payloads.length
        at += bytes
      }
      epoch = Math.max(epoch, p.epoch)
    }
    await writeFully(this.file, frames, at, this.size, this.path)
    await this.file.datasync()
    this.size += at
    this.durableEpoch = epoch
    for (const f of placed) this.index.add(f.firstOffset, f.count, f.position, f.bytes)
    let offset = placed[0]?.firstOffset ?? this.index.endOffset
    for (const p of group) {
      p.resolve(offset)
      offset += p.payloads?.length ?? 0
    }
  }

  private checkUsable(signal: AbortSignal | undefined): void {
    throwIfAborted(signal)
    if (this.closed) throw new JobLogUnavailableError('job log is closed', false)
    if (this.failure !== undefined) throw this.failure
  }
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}, got ${value}`)
}
