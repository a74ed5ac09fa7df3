/**
 * Durable file writing helpers. A created or renamed file survives a power loss only once its
 * directory is fsynced too; fsyncing the file alone covers its contents, not its name. A
 * positional write may store fewer bytes than asked (one pwrite, no retry), which a log must treat
 * as a failure, not as success.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ShortWriteError } from '../storage/errors.js'

/** The file operations the file logs use; tests substitute handles that misbehave (short writes). */
export type LogFile = Pick<FileHandle, 'read' | 'write' | 'truncate' | 'datasync' | 'sync' | 'stat' | 'close'>
/** Opens a file (flags and mode as for fs.open). */
export type OpenFile = (path: string, flags: string | number, mode?: number) => Promise<LogFile>
/** The real one. */
export const openLogFile: OpenFile = (path, flags, mode) => open(path, flags, mode)

/** Fsyncs the directory `dir`. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replaces the file at `path` with `bytes` so that after a crash it holds the old or the new bytes,
 * whole: a temporary file beside it is written, fsynced and renamed over it, then the directory is
 * fsynced. Created with `mode` (0600: only the owner reads node state and secrets).
 */
export async function writeFileDurably(path: string, bytes: Uint8Array | string, temp: string, mode = 0o600): Promise<void> {
  try {
    const handle = await open(temp, 'w', mode)
    try {
      await handle.writeFile(bytes)
      await handle.datasync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    await syncDirectory(dirname(path))
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw error
  }
}

/** Writes `buffer[0, length)` at `position`; throws ShortWriteError when fewer bytes were stored. */
export async function writeFully(file: Pick<FileHandle, 'write'>, buffer: Buffer, length: number, position: number, path: string): Promise<void> {
  const { bytesWritten } = await file.write(buffer, 0, length, position)
  if (bytesWritten !== length) throw new ShortWriteError(path, position, length, bytesWritten)
}
