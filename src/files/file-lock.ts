/**
 * A single-owner lock on a directory: a kernel flock(2) lock on a lock file. It keeps two processes
 * (or two opens in one process) from writing the same job log or using the same data directory.
 *
 * The lock belongs to the open file, not to a process id: the kernel drops it when the last
 * descriptor of that open file closes, which includes the holder's death by kill -9, and no
 * reused pid (a restarted container gets the same small pids) can make a dead holder look alive.
 * A stopped (SIGSTOP) holder still holds it. Node has no flock call, so the util-linux `flock`
 * command applies it to our descriptor, handed to it as fd 3: a flock lock is shared by every
 * descriptor of one open file, so it stays held by this process after that command exits. Node
 * opens files close-on-exec, so no other child inherits the lock.
 *
 * The lock file holds the holder's pid for error messages only; it is truncated on release and
 * never unlinked (unlinking a flock file lets two contenders lock two different inodes).
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { open, readFile, type FileHandle } from 'node:fs/promises'
import { DistributeXError } from '../errors.js'

/** Thrown when another live process, or another open in this one, holds the lock. */
export class FileLockedError extends DistributeXError {
  override readonly name = 'FileLockedError'
  override readonly code = 'ERR_FILE_LOCKED'
  constructor(
    readonly path: string,
    readonly pid: number | undefined,
    message = `${path} is locked${pid === undefined ? '' : ` by process ${pid}`}`,
  ) {
    super(message)
  }
}

/** Thrown when the lock cannot be taken for another reason than a holder (no `flock` command, a bad file). */
export class FileLockUnavailableError extends DistributeXError {
  override readonly name = 'FileLockUnavailableError'
  override readonly code = 'ERR_FILE_LOCK_UNAVAILABLE'
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot lock ${path}: ${reason}`, options)
  }
}

/** A held lock. */
export interface FileLock {
  readonly path: string
  /** Drops the lock (idempotent). */
  release(): Promise<void>
}

/** The exit code we ask `flock` to use when the lock is held elsewhere (EX_TEMPFAIL). */
const CONFLICT_EXIT = 75

/** Takes the lock at `path` (a new lock file gets `mode`, umask applied) or throws FileLockedError. */
export async function acquireFileLock(path: string, mode = 0o600): Promise<FileLock> {
  const handle = await open(path, constants.O_RDWR | constants.O_CREAT, mode)
  try {
    if (!(await flockExclusive(handle, path))) throw new FileLockedError(path, parsePid(await readFile(path, 'utf8').catch(() => '')))
    await handle.truncate(0)
    await handle.write(`${process.pid}\n`, 0)
  } catch (error) {
    await handle.close()
    throw error
  }
  let released = false
  return {
    path,
    async release() {
      if (released) return
      released = true
      try {
        await handle.truncate(0)
      } finally {
        await handle.close()
      }
    },
  }
}

/** Applies a non-blocking exclusive flock to `handle`'s open file; false when another open file holds one. */
function flockExclusive(handle: FileHandle, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(CONFLICT_EXIT), '3'], { stdio: ['ignore', 'ignore', 'pipe', handle.fd] })
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', (error) => {
      const reason = errorCode(error) === 'ENOENT' ? 'the flock command (util-linux) is not installed' : error.message
      reject(new FileLockUnavailableError(path, reason, { cause: error }))
    })
    child.once('close', (code) => {
      if (code === 0) resolve(true)
      else if (code === CONFLICT_EXIT) resolve(false)
      else reject(new FileLockUnavailableError(path, `flock exited with ${String(code)}: ${stderr.trim()}`))
    })
  })
}

function parsePid(text: string): number | undefined {
  const pid = Number(text.trim())
  return text.trim() !== '' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

/** The Node system error code of a thrown value, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}
