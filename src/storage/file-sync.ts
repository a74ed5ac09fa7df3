/**
 * Makes directory entries durable. A created or renamed file survives a power loss only once its
 * directory is fsynced too; fsyncing the file alone covers its contents, not its name.
 */
import { open } from 'node:fs/promises'

/** Fsyncs the directory `dir`. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
