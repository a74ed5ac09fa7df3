// Goal: the directory lock keeps a second holder out while the first lives (even stopped), frees
// itself when the holder dies by kill -9, and never trusts a pid (a reused pid does not keep it).
// Method: a real child process holds the lock; this process contends for it.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import { acquireFileLock } from '../../src/files/file-lock.js'
import { sourceDir } from '../helpers/paths.js'

const HOLDER = join(sourceDir(import.meta.dirname), 'fixtures', 'lock-holder.ts')

async function startHolder(path: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, path], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const lines = createInterface({ input: child.stdout! })
  await Promise.race([
    new Promise<void>((resolve) => lines.on('line', (line) => line === 'held' && resolve())),
    exited.then(() => assert.fail('the holder exited before taking the lock')),
  ])
  return { child, exited }
}

function isLockedBy(pid: number | undefined) {
  return (error: unknown): boolean => {
    assert.equal((error as Error).name, 'FileLockedError')
    assert.equal((error as { code?: string }).code, 'ERR_FILE_LOCKED')
    assert.equal((error as { pid?: number }).pid, pid)
    return true
  }
}

test('a lock held by another process keeps this one out, also while it is stopped; kill -9 frees it', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-lock-'))
  const path = join(dir, 'lock')
  const { child, exited } = await startHolder(path)
  try {
    await assert.rejects(acquireFileLock(path), isLockedBy(child.pid))
    child.kill('SIGSTOP')
    await assert.rejects(acquireFileLock(path), isLockedBy(child.pid))
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await exited
    const lock = await acquireFileLock(path)
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid))
    await lock.release()
    assert.equal(await readFile(path, 'utf8'), '', 'released: no holder named')
  } finally {
    child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

test("a pid in the lock file is not the lock: a live, reused pid does not keep a dead holder's lock", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-lock-'))
  const path = join(dir, 'lock')
  try {
    // What a crashed holder leaves behind when its pid now belongs to a live process (here: ours, and init).
    for (const live of [process.pid, 1]) {
      await writeFile(path, `${live}\n`)
      const lock = await acquireFileLock(path)
      await lock.release()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('two opens in one process exclude each other; a release lets the next one in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-lock-'))
  const path = join(dir, 'lock')
  try {
    const first = await acquireFileLock(path)
    await assert.rejects(acquireFileLock(path), isLockedBy(process.pid))
    await first.release()
    await first.release()
    const second = await acquireFileLock(path)
    await assert.rejects(acquireFileLock(path), isLockedBy(process.pid))
    await second.release()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
