// Goal: the file job log meets the JobLog contract and survives crashes: a torn or garbage tail is
// cut without losing an fsynced record, a kill -9 mid-append loses no acknowledged record, the
// fence survives a restart, and the lock keeps a second writer out. Method: real files in a temp
// directory, damaged by hand or by killing a child process that appends in a loop.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFile, chmod, mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { MemoryLogger } from '../../../src/env/logger.js'
import { FileJobLog, LOCK_FILE, LOG_FILE } from '../../../src/adapters/file-log/file-job-log.js'
import { FILE_HEADER_BYTES, FRAME_HEADER_BYTES, GROUP_MAX_BYTES, encodeFileHeader, encodeRecordsFrame, recordsFrameBytes } from '../../../src/files/file-log-format.js'
import { JobLogCorruptedError } from '../../../src/files/file-log-recovery.js'
import type { LogFile, OpenFile } from '../../../src/files/file-sync.js'
import type { JobLog } from '../../../src/storage/types.js'
import { jobLogSuite, readAll } from '../../storage/job-log.suite.js'
import { sourceDir } from '../../helpers/paths.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload)

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dx-file-log-'))
}

const dirs = new WeakMap<JobLog, string>()
jobLogSuite('FileJobLog', {
  contiguousOffsets: true,
  async setup() {
    const dir = await tempDir()
    const log = await FileJobLog.open({ dir })
    dirs.set(log, dir)
    return log
  },
  async teardown(log) {
    await (log as FileJobLog).close()
    await rm(dirs.get(log)!, { recursive: true, force: true })
  },
})

describe('FileJobLog on disk', () => {
  const withDir = (title: string, body: (dir: string) => Promise<void>): void => {
    test(title, async () => {
      const dir = await tempDir()
      try {
        await body(dir)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }

  withDir('records, offsets and the fence survive a reopen', async (dir) => {
    const first = await FileJobLog.open({ dir })
    await first.append(1, [bytes('a'), bytes('b')])
    await first.fence(7)
    await first.close()
    const second = await FileJobLog.open({ dir })
    try {
      assert.equal(second.epoch, 7)
      await assert.rejects(second.append(6, [bytes('late')]), { name: 'FencedError' })
      assert.equal(await second.append(7, [bytes('c')]), 2)
      assert.deepEqual(
        (await readAll(second)).map((r) => [r.offset, r.epoch, text(r.payload)]),
        [
          [0, 1, 'a'],
          [1, 1, 'b'],
          [2, 7, 'c'],
        ],
      )
    } finally {
      await second.close()
    }
  })

  withDir('a frame cut mid-write is dropped whole; every earlier record stays', async (dir) => {
    const log = await FileJobLog.open({ dir })
    for (let i = 0; i < 5; i++) await log.append(1, [bytes(`r${i}`), bytes(`s${i}`)])
    const intact = (await stat(join(dir, LOG_FILE))).size
    await log.append(1, [bytes('torn-1'), bytes('torn-2'), bytes('torn-3')])
    await log.close()
    await truncate(join(dir, LOG_FILE), intact + 11)
    const logger = new MemoryLogger()
    const reopened = await FileJobLog.open({ dir, logger })
    try {
      assert.deepEqual(
        (await readAll(reopened)).map((r) => text(r.payload)),
        ['r0', 's0', 'r1', 's1', 'r2', 's2', 'r3', 's3', 'r4', 's4'],
      )
      assert.equal(await reopened.endOffset(), 10)
      assert.equal((await stat(join(dir, LOG_FILE))).size, intact)
      assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1)
      assert.equal(await reopened.append(1, [bytes('after')]), 10)
    } finally {
      await reopened.close()
    }
  })

  withDir('garbage or zeros after the last frame are cut', async (dir) => {
    for (const junk of [Buffer.from('not a frame at all, just noise'), Buffer.alloc(4096)]) {
      const log = await FileJobLog.open({ dir })
      await log.append(1, [bytes('kept')])
      await log.close()
      const size = (await stat(join(dir, LOG_FILE))).size
      await appendFile(join(dir, LOG_FILE), junk)
      const reopened = await FileJobLog.open({ dir })
      assert.equal((await stat(join(dir, LOG_FILE))).size, size)
      assert.ok((await readAll(reopened)).every((r) => text(r.payload) === 'kept'))
      await reopened.close()
    }
  })

  withDir('damage a crash cannot explain refuses to open instead of dropping records', async (dir) => {
    const payloads = [bytes('x')]
    const frames = Buffer.alloc(2 * recordsFrameBytes(payloads))
    const at = encodeRecordsFrame(frames, 0, 1, 0, payloads)
    encodeRecordsFrame(frames, at, 1, 5, payloads)
    await writeFile(join(dir, LOG_FILE), Buffer.concat([encodeFileHeader(), frames]))
    await assert.rejects(FileJobLog.open({ dir }), { name: 'JobLogCorruptedError' })
    // A bad frame followed by more than one write's worth of data cannot be a torn write.
    await writeFile(join(dir, LOG_FILE), Buffer.concat([encodeFileHeader(), frames.subarray(0, at)]))
    const log = await FileJobLog.open({ dir })
    await log.close()
    const frameBody = FILE_HEADER_BYTES + FRAME_HEADER_BYTES
    const damaged = await readFile(join(dir, LOG_FILE))
    damaged[frameBody] = damaged[frameBody]! ^ 0xff
    await writeFile(join(dir, LOG_FILE), damaged)
    await truncate(join(dir, LOG_FILE), damaged.length + GROUP_MAX_BYTES + 1)
    await assert.rejects(FileJobLog.open({ dir }), { name: 'JobLogCorruptedError' })
    await writeFile(join(dir, LOG_FILE), 'this is some other file, not a log')
    await assert.rejects(FileJobLog.open({ dir }), { name: 'JobLogCorruptedError' })
    assert.equal((await readFile(join(dir, LOG_FILE), 'utf8')).startsWith('this is'), true, 'the file is left as it was')
  })

  withDir('a second open is locked out; a lock file left by a dead process is no lock; files are private', async (dir) => {
    const log = await FileJobLog.open({ dir })
    await assert.rejects(FileJobLog.open({ dir }), (error: unknown) => {
      assert.equal((error as Error).name, 'FileLockedError')
      assert.equal((error as { pid?: number }).pid, process.pid)
      return true
    })
    await log.close()
    const dead = await deadPid()
    await writeFile(join(dir, LOCK_FILE), `${dead}\n`)
    const again = await FileJobLog.open({ dir })
    assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).trim(), String(process.pid))
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
    for (const name of [LOCK_FILE, LOG_FILE]) assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, `${name} is 0600`)
    await again.close()
  })

  withDir('a job log directory other users can write is refused', async (dir) => {
    const shared = join(dir, 'shared')
    await mkdir(shared, { mode: 0o777 })
    await chmod(shared, 0o777)
    await assert.rejects(FileJobLog.open({ dir: shared }), { name: 'UnsafeDirectoryError', code: 'ERR_UNSAFE_DIRECTORY' })
    await chmod(shared, 0o750)
    const log = await FileJobLog.open({ dir: shared })
    await log.close()
  })

  withDir('an aborted append is not written; bad arguments are typed errors', async (dir) => {
    const log = await FileJobLog.open({ dir })
    try {
      const controller = new AbortController()
      controller.abort()
      await assert.rejects(log.append(1, [bytes('no')], { signal: controller.signal }), { name: 'AbortedError' })
      await assert.rejects(log.append(-1, [bytes('no')]), { name: 'InvalidArgumentError' })
      await assert.rejects(log.read(0, 0), { name: 'InvalidArgumentError' })
      assert.equal(await log.endOffset(), 0)
    } finally {
      await log.close()
    }
    await assert.rejects(log.append(1, [bytes('closed')]), { name: 'JobLogUnavailableError' })
  })

  withDir('kill -9 during appends loses no acknowledged record', async (dir) => {
    const fixture = join(sourceDir(import.meta.dirname), 'fixtures', 'file-log-writer.ts')
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const acks: Array<{ first: number; count: number; tag: string }> = []
    const lines = createInterface({ input: child.stdout })
    const enough = new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        const [kind, first, count, tag] = line.split(' ')
        if (kind !== 'ack') return
        acks.push({ first: Number(first), count: Number(count), tag: tag! })
        if (acks.length === 300) resolve()
      })
    })
    await Promise.race([
      enough,
      exited.then(() => {
        throw new Error(`the writer exited after ${acks.length} acknowledgements`)
      }),
    ])
    child.kill('SIGKILL')
    await exited
    const log = await FileJobLog.open({ dir })
    try {
      const records = await readAll(log)
      assert.ok(records.length >= acks.reduce((n, a) => n + a.count, 0), `${records.length} records survive`)
      for (const ack of acks) {
        for (let i = 0; i < ack.count; i++) assert.equal(text(records[ack.first + i]!.payload), `${ack.tag}/${i}`)
      }
    } finally {
      await log.close()
    }
  })
})

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

describe('FileJobLog write faults and damage', () => {
  const withDir = (title: string, body: (dir: string) => Promise<void>): void => {
    test(title, async () => {
      const dir = await tempDir()
      try {
        await body(dir)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }

  withDir('a short write fails the append, poisons the log, and the partial frame is cut at reopen', async (dir) => {
    let shortNext = false
    const openFile: OpenFile = async (path, flags, mode) => {
      const real = await open(path, flags, mode)
      const file: LogFile = {
        read: real.read.bind(real) as LogFile['read'],
        truncate: real.truncate.bind(real),
        datasync: real.datasync.bind(real),
        sync: real.sync.bind(real),
        stat: real.stat.bind(real) as LogFile['stat'],
        close: real.close.bind(real),
        write: (async (buffer: Buffer, offset: number, length: number, position: number) => {
          if (!shortNext) return real.write(buffer, offset, length, position)
          shortNext = false
          return real.write(buffer, offset, length - 3, position)
        }) as LogFile['write'],
      }
      return file
    }
    const log = await FileJobLog.open({ dir, openFile })
    await log.append(1, [bytes('a')])
    shortNext = true
    await assert.rejects(log.append(1, [bytes('b')]), (e: Error) => e.name === 'JobLogUnavailableError' && (e.cause as Error).name === 'ShortWriteError')
    await assert.rejects(log.append(1, [bytes('c')]), { name: 'JobLogUnavailableError' })
    await log.close()
    const logger = new MemoryLogger()
    const reopened = await FileJobLog.open({ dir, logger })
    try {
      assert.deepEqual(
        (await readAll(reopened)).map((r) => text(r.payload)),
        ['a'],
      )
      assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1, 'the partial frame was reported as a torn tail')
    } finally {
      await reopened.close()
    }
  })

  withDir('a bad frame followed by more than one write group of good frames is corruption, with its position', async (dir) => {
    const log = await FileJobLog.open({ dir })
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < 18; i++) await log.append(1, [big])
    await log.close()
    const damaged = await readFile(join(dir, LOG_FILE))
    const second = FILE_HEADER_BYTES + recordsFrameBytes([big])
    damaged[second + 100] = damaged[second + 100]! ^ 0xff
    await writeFile(join(dir, LOG_FILE), damaged)
    await assert.rejects(FileJobLog.open({ dir }), (e: unknown) => e instanceof JobLogCorruptedError && e.position === second && /checksum/.test(e.message))
    // The same damage in the last group is a torn write: cut, the 17 records before it kept.
    damaged[second + 100] = damaged[second + 100]! ^ 0xff
    const last = damaged.length - recordsFrameBytes([big])
    damaged[last + 100] = damaged[last + 100]! ^ 0xff
    await writeFile(join(dir, LOG_FILE), damaged)
    const reopened = await FileJobLog.open({ dir })
    assert.equal(await reopened.endOffset(), 17)
    await reopened.close()
  })
})
