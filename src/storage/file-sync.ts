/**
 * Makes directory entries durable. A created or renamed file survives a power loss only once its
 * directory is fsynced too; fsyncing the file alone covers its contents, not its name.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

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
