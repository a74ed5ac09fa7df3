/**
 * Directories that hold node state (identity, election state, job logs, replica copies) are the
 * owner's alone: created 0700, and an existing one that another user could write to is refused,
 * since whoever can write there can replace the log, the identity or the lock. A directory that
 * others can only read is accepted with a warning (it exposes job inputs and results).
 */
import { chmod, mkdir, stat } from 'node:fs/promises'
import { DistributeXError } from '../errors.js'
import type { Logger } from '../env/types.js'

/** Thrown when a state directory is writable by other users or is not a directory we own. */
export class UnsafeDirectoryError extends DistributeXError {
  override readonly name = 'UnsafeDirectoryError'
  override readonly code = 'ERR_UNSAFE_DIRECTORY'
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} ${reason}`)
  }
}

/** Group and other write bits. */
const WRITABLE_BY_OTHERS = 0o022
/** Group and other read or search bits. */
const READABLE_BY_OTHERS = 0o055

/**
 * Creates `dir` (and missing parents) with mode 0700, or checks an existing one: throws
 * UnsafeDirectoryError when it is not a directory, belongs to another user, or is group- or
 * world-writable; logs a warning when others can read it.
 */
export async function ensurePrivateDir(dir: string, logger?: Logger): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 })
  if (created !== undefined) {
    // The umask may have removed owner bits; never widen, only fix the one we made.
    await chmod(dir, 0o700)
    return
  }
  const info = await stat(dir)
  if (!info.isDirectory()) throw new UnsafeDirectoryError(dir, 'is not a directory')
  const uid = process.getuid?.()
  if (uid !== undefined && uid !== 0 && info.uid !== uid) throw new UnsafeDirectoryError(dir, `belongs to user ${info.uid}, not to this process's user ${uid}`)
  const mode = info.mode & 0o777
  if ((mode & WRITABLE_BY_OTHERS) !== 0) throw new UnsafeDirectoryError(dir, `is writable by other users (mode ${mode.toString(8)}); run: chmod 700 ${dir}`)
  if ((mode & READABLE_BY_OTHERS) !== 0) logger?.warn('state directory is readable by other users; chmod 700 it', { dir, mode: mode.toString(8) })
}
