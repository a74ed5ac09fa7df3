/**
 * A single-owner lock on a directory: a lock file holding the owner's process id. It keeps two
 * processes (or two opens in one process) from writing the same file job log.
 *
 * The file is created with its content in one step (written beside it, then hard-linked into
 * place, which fails if the lock exists), so no one ever sees an empty lock. A lock whose process
 * is gone is stale and is taken over by renaming it aside first: only one contender's rename can
 * succeed, and a contender that moved a lock other than the stale one it inspected puts it back.
 * Limitation: a stale lock whose pid now belongs to an unrelated live process is reported as held;
 * the error names the file so an operator can remove it.
 */
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { DistributeXError } from '../errors.js'

/** Thrown when another live process, or another open in this one, holds the lock. */
export class FileLockedError extends DistributeXError {
  override readonly name = 'FileLockedError'
  override readonly code = 'ERR_FILE_LOCKED'
  constructor(
    readonly path: string,
    readonly pid: number | undefined,
  ) {
    super(`${path} is locked${pid === undefined ? '' : ` by process ${pid}`}`)
  }
}

/** A held lock. */
export interface FileLock {
  readonly path: string
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>
}

/** Contended takeovers to try before giving up. */
const ATTEMPTS = 5

/** Makes this process's scratch names unique, for concurrent opens within one process. */
let scratch = 0

/** Takes the lock at `path` (a new lock file gets `mode`, umask applied) or throws FileLockedError. */
export async function acquireFileLock(path: string, mode?: number): Promise<FileLock> {
  const content = `${process.pid}\n`
  let holder: number | undefined
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createWithContent(path, content, mode)) return { path, release: () => releaseIfOurs(path, content) }
    const seen = await readOrUndefined(path)
    if (seen === undefined) continue
    holder = parsePid(seen)
    if (holder !== undefined && isAlive(holder)) throw new FileLockedError(path, holder)
    await takeOverStale(path, seen)
  }
  throw new FileLockedError(path, holder)
}

async function createWithContent(path: string, content: string, mode: number | undefined): Promise<boolean> {
  const staged = `${path}.${process.pid}.${scratch++}.new`
  await writeFile(staged, content, mode === undefined ? {} : { mode })
  try {
    await link(staged, path)
    return true
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false
    throw error
  } finally {
    await unlink(staged)
  }
}

async function takeOverStale(path: string, stale: string): Promise<void> {
  const aside = `${path}.${process.pid}.${scratch++}.stale`
  try {
    await rename(path, aside)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return
    throw error
  }
  if ((await readOrUndefined(aside)) !== stale) {
    // Someone replaced the stale lock between our read and our rename: give theirs back.
    await link(aside, path).catch((error: unknown) => {
      if (errorCode(error) !== 'EEXIST') throw error
    })
  }
  await unlink(aside)
}

async function releaseIfOurs(path: string, content: string): Promise<void> {
  if ((await readOrUndefined(path)) === content) await unlink(path)
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw error
  }
}

function parsePid(text: string): number | undefined {
  const pid = Number(text.trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

/** Signal 0 checks existence only; EPERM means the process exists but belongs to someone else. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/** The Node system error code of a thrown value, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}
