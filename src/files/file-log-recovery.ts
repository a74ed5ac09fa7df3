/**
 * Opening a file job log after any kind of stop: checks every frame, rebuilds the offset index and
 * the highest epoch, and cuts a torn tail.
 *
 * Only the last write can be torn, because the writer fsyncs each write before starting the next
 * and acknowledges nothing before its fsync. So the first invalid frame marks the end of the log
 * when it lies within one write group (GROUP_MAX_BYTES, or the frame's own announced length when
 * a single larger frame was the group) of the end of the file; the bytes from there on were never
 * acknowledged, and are cut. An invalid frame earlier than that, a frame that breaks offset
 * contiguity or an epoch going backwards cannot come from a crash: that is corruption, and opening
 * fails with JobLogCorruptedError rather than dropping records that were acknowledged.
 */
import type { FileHandle } from 'node:fs/promises'
import { DistributeXError } from '../errors.js'
import { FILE_HEADER_BYTES, FRAME_HEADER_BYTES, GROUP_MAX_BYTES, encodeFileHeader, frameBodyBytes, isFileHeader, scanFrame } from './file-log-format.js'
import { FrameIndex } from './file-log-index.js'
import { writeFully, type LogFile } from './file-sync.js'

/** Thrown when a log file holds damage that a crash cannot explain, or is not a job log at all. */
export class JobLogCorruptedError extends DistributeXError {
  override readonly name = 'JobLogCorruptedError'
  override readonly code = 'ERR_JOB_LOG_CORRUPTED'
  constructor(
    readonly path: string,
    readonly position: number,
    reason: string,
  ) {
    super(`job log ${path} is corrupted at byte ${position}: ${reason}`)
  }
}

/** What a read-only scan of a log file found. */
export interface LogScan {
  readonly index: FrameIndex
  /** The highest epoch of any record or fence. */
  readonly epoch: number
  /** Where the valid frames end. */
  readonly size: number
  /** The file's size on disk. */
  readonly fileSize: number
  /** True when the file is shorter than a header: new, or its creation was cut short. */
  readonly fresh: boolean
  /** A tail a crash explains: from `size` to `fileSize`, with what was wrong at `size`. */
  readonly torn: string | undefined
}

/** What recovery found. */
export interface RecoveredLog {
  readonly index: FrameIndex
  /** The highest epoch of any record or fence. */
  readonly epoch: number
  /** The file size after recovery: where the next frame goes. */
  readonly size: number
  /** Bytes of torn tail that were cut. */
  readonly truncatedBytes: number
}

const CHUNK_BYTES = 8 * 1024 * 1024

/**
 * Checks every frame of the log in `file` without changing it; `path` only names it in errors.
 * Throws JobLogCorruptedError for damage a crash cannot explain.
 */
export async function scanLog(file: Pick<FileHandle, 'read' | 'stat'>, path: string): Promise<LogScan> {
  const { size } = await file.stat()
  if (size < FILE_HEADER_BYTES) return { index: new FrameIndex(), epoch: 0, size: 0, fileSize: size, fresh: true, torn: undefined }
  const reader = new ChunkReader(file, size)
  const header = await reader.bytes(0, FILE_HEADER_BYTES)
  if (!isFileHeader(header.source.subarray(header.at, header.at + FILE_HEADER_BYTES))) throw new JobLogCorruptedError(path, 0, 'not a DistributeX job log of a known version')

  const index = new FrameIndex()
  let epoch = 0
  let position = FILE_HEADER_BYTES
  let torn: string | undefined
  let announced: number | undefined
  while (position < size && torn === undefined) {
    if (size - position < FRAME_HEADER_BYTES) {
      announced = undefined
      torn = 'partial frame header'
      break
    }
    const head = await reader.bytes(position, FRAME_HEADER_BYTES)
    announced = frameBodyBytes(head.source, head.at)
    if (announced === undefined || position + FRAME_HEADER_BYTES + announced > size) {
      torn = 'frame length out of bounds'
      break
    }
    const frame = await reader.bytes(position, FRAME_HEADER_BYTES + announced)
    const scan = scanFrame(frame.source, frame.at)
    if (scan.kind === 'invalid') {
      torn = scan.reason
      break
    }
    if (scan.epoch < epoch) throw new JobLogCorruptedError(path, position, `epoch ${scan.epoch} after epoch ${epoch}`)
    // Compaction (file-job-log.ts) writes a start frame first thing in the file, nowhere else.
    if (scan.kind === 'start') {
      if (position !== FILE_HEADER_BYTES) throw new JobLogCorruptedError(path, position, 'start frame after the first frame')
      index.startAt(scan.startOffset)
    }
    if (scan.kind === 'records') {
      if (scan.firstOffset !== index.endOffset) throw new JobLogCorruptedError(path, position, `frame starts at offset ${scan.firstOffset}, expected ${index.endOffset}`)
      index.add(scan.firstOffset, scan.count, position, scan.frameBytes)
    }
    epoch = scan.epoch
    position += scan.frameBytes
  }
  const tail = size - position
  if (torn !== undefined && !crashExplainsTail(tail, GROUP_MAX_BYTES, announced)) {
    throw new JobLogCorruptedError(path, position, `${torn}, ${tail} bytes before the end: more than one write group (${GROUP_MAX_BYTES} bytes) could tear`)
  }
  return { index, epoch, size: position, fileSize: size, fresh: false, torn }
}

/** Scans and repairs the log in `file` (writes a header into a fresh file, cuts a torn tail); `path` only names it in errors. */
export async function recoverLog(file: LogFile, path: string): Promise<RecoveredLog> {
  const scan = await scanLog(file, path)
  if (scan.fresh) {
    // A new file, or one whose creation was cut short: it cannot hold an acknowledged record.
    await file.truncate(0)
    await writeFully(file, encodeFileHeader(), FILE_HEADER_BYTES, 0, path)
    await file.datasync()
    return { index: scan.index, epoch: 0, size: FILE_HEADER_BYTES, truncatedBytes: scan.fileSize }
  }
  if (scan.torn === undefined) return { index: scan.index, epoch: scan.epoch, size: scan.size, truncatedBytes: 0 }
  await file.truncate(scan.size)
  await file.datasync()
  return { index: scan.index, epoch: scan.epoch, size: scan.size, truncatedBytes: scan.fileSize - scan.size }
}

/**
 * Whether a crash can explain an invalid frame `tailBytes` before the end of a log's last file.
 * Only the last write group is unsynced when the power goes, and a group is at most
 * `groupBytesMax` bytes unless it is a single larger frame, whose header (if it survived) announces
 * `announcedBodyBytes`. Anything further from the end is damage, not a crash.
 */
export function crashExplainsTail(tailBytes: number, groupBytesMax: number, announcedBodyBytes: number | undefined): boolean {
  return tailBytes <= Math.max(groupBytesMax, announcedBodyBytes === undefined ? 0 : FRAME_HEADER_BYTES + announcedBodyBytes)
}

/** Reads a file through one large buffer, so a scan costs one read per chunk rather than two per frame. */
export class ChunkReader {
  private source = Buffer.alloc(0)
  private start = 0

  constructor(
    private readonly file: Pick<FileHandle, 'read'>,
    private readonly size: number,
  ) {}

  /** A buffer and the index in it where file bytes [position, position + length) begin. */
  async bytes(position: number, length: number): Promise<{ source: Buffer; at: number }> {
    if (position < this.start || position + length > this.start + this.source.length) {
      const want = Math.min(Math.max(CHUNK_BYTES, length), this.size - position)
      const source = Buffer.allocUnsafe(want)
      const { bytesRead } = await this.file.read(source, 0, want, position)
      this.source = source.subarray(0, bytesRead)
      this.start = position
    }
    return { source: this.source, at: position - this.start }
  }
}
