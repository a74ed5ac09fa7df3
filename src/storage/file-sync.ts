/**
 * Durable file writing helpers. A created or renamed file survives a power loss only once its
 * directory is fsynced too; fsyncing the file alone covers its contents, not its name. A
 * positional write may store fewer bytes than asked (one pwrite, no retry), which a log must treat
 * as a failure, not as success.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { ShortWriteError } from './errors.js'

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

/** Writes `buffer[0, length)` at `position`; throws ShortWriteError when fewer bytes were stored. */
export async function writeFully(file: Pick<FileHandle, 'write'>, buffer: Buffer, length: number, position: number, path: string): Promise<void> {
  const { bytesWritten } = await file.write(buffer, 0, length, position)
  if (bytesWritten !== length) throw new ShortWriteError(path, position, length, bytesWritten)
}
