/**
 * Opening a file job log after any kind of stop: checks every frame, rebuilds the offset index and
 * the highest epoch, and cuts a torn tail.
 *
 * Only the last write can be torn, because the writer fsyncs each write before starting the next
 * and acknowledges nothing before its fsync. So the first invalid frame marks the end of the log
 * when it lies within one write of the end of the file; the bytes from there on were never
 * acknowledged, and are cut. An invalid frame earlier than that, a frame that breaks offset
 * contiguity or an epoch going backwards cannot come from a crash: that is corruption, and opening
 * fails with JobLogCorruptedError rather than dropping records that were acknowledged.
 */
import type { FileHandle } from 'node:fs/promises'
import { DistributeXError } from '../errors.js'
import { FILE_HEADER_BYTES, FRAME_BODY_BYTES_MAX, FRAME_HEADER_BYTES, encodeFileHeader, frameBodyBytes, isFileHeader, scanFrame } from './file-log-format.js'
import { FrameIndex } from './file-log-index.js'

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

/** The largest write the log ever makes, hence the largest tail a crash can tear. */
export const WRITE_BYTES_MAX = FRAME_HEADER_BYTES + FRAME_BODY_BYTES_MAX

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

/** Scans and repairs the log in `file`; `path` only names it in errors. */
export async function recoverLog(file: FileHandle, path: string): Promise<RecoveredLog> {
  const { size } = await file.stat()
  if (size < FILE_HEADER_BYTES) {
    // A new file, or one whose creation was cut short: it cannot hold an acknowledged record.
    await file.truncate(0)
    await file.write(encodeFileHeader(), 0, FILE_HEADER_BYTES, 0)
    await file.datasync()
    return { index: new FrameIndex(), epoch: 0, size: FILE_HEADER_BYTES, truncatedBytes: size }
  }
  const reader = new ChunkReader(file, size)
  const header = await reader.bytes(0, FILE_HEADER_BYTES)
  if (!isFileHeader(header.source.subarray(header.at, header.at + FILE_HEADER_BYTES))) throw new JobLogCorruptedError(path, 0, 'not a DistributeX job log of a known version')

  const index = new FrameIndex()
  let epoch = 0
  let position = FILE_HEADER_BYTES
  let torn: string | undefined
  while (position < size && torn === undefined) {
    if (size - position < FRAME_HEADER_BYTES) {
      torn = 'partial frame header'
      break
    }
    const head = await reader.bytes(position, FRAME_HEADER_BYTES)
    const bodyBytes = frameBodyBytes(head.source, head.at)
    if (bodyBytes === undefined || position + FRAME_HEADER_BYTES + bodyBytes > size) {
      torn = 'frame length out of bounds'
      break
    }
    const frame = await reader.bytes(position, FRAME_HEADER_BYTES + bodyBytes)
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
  if (torn === undefined) return { index, epoch, size, truncatedBytes: 0 }
  const tail = size - position
  if (tail > WRITE_BYTES_MAX) throw new JobLogCorruptedError(path, position, `${torn}, ${tail} bytes before the end: more than one write could tear`)
  await file.truncate(position)
  await file.datasync()
  return { index, epoch, size: position, truncatedBytes: tail }
}

/** Reads a file through one large buffer, so a scan costs one read per chunk rather than two per frame. */
class ChunkReader {
  private source = Buffer.alloc(0)
  private start = 0

  constructor(
    private readonly file: FileHandle,
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
