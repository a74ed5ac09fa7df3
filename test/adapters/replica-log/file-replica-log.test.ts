// Goal: the file replica log meets the ReplicaLog contract and survives crashes: a tail cut at any
// byte of the last write loses no fsynced entry, damage a crash cannot explain (a bad frame before
// the last write group, a gap, a bad segment before the last) is reported with file and position,
// a short write poisons the instance, the cluster id is enforced, truncation, compaction and reset
// survive a reopen, and files are private. Method: real files in a temp directory, damaged by hand.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { open as openFs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { FileReplicaLog, type FileReplicaLogInit } from '../../../src/adapters/replica-log/file-replica-log.js'
import { EntryIndex, LOCK_FILE, META_FILE, POSITION_MAX, SEGMENT_HEADER_BYTES } from '../../../src/adapters/replica-log/format.js'
import type { LogFile, OpenFile } from '../../../src/files/file-sync.js'
import { MemoryLogger } from '../../../src/env/logger.js'
import { ReplicaLogCorruptedError } from '../../../src/storage/errors.js'
import { recordsFrameBytes } from '../../../src/files/file-log-format.js'
import type { ReplicaLog } from '../../../src/storage/types.js'
import { entries, readAllEntries, replicaLogSuite, show } from '../../storage/replica-log.suite.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

async function tempDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'dx-replica-')), 'replica')
}

const dirs = new WeakMap<ReplicaLog, string>()
async function openAt(dir: string, init: Partial<FileReplicaLogInit> = {}): Promise<FileReplicaLog> {
  const log = await FileReplicaLog.open({ dir, ...init })
  dirs.set(log, dir)
  return log
}

replicaLogSuite('FileReplicaLog', {
  setup: async () => openAt(await tempDir(), { segmentBytes: 100 }),
  reopen: async (log) => {
    await log.close()
    return openAt(dirs.get(log)!, { segmentBytes: 100 })
  },
  teardown: async (log) => {
    await log.close()
    await rm(join(dirs.get(log)!, '..'), { recursive: true, force: true })
  },
})

const segments = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith('seg-')).sort()

describe('FileReplicaLog on disk', () => {
  const withDir = (title: string, body: (dir: string) => Promise<void>): void => {
    test(title, async () => {
      const dir = await tempDir()
      try {
        await body(dir)
      } finally {
        await rm(join(dir, '..'), { recursive: true, force: true })
      }
    })
  }

  withDir('a log of format 1 (one record per entry, before issue 9) is refused with a typed error naming the format, never misread', async (dir) => {
    const log = await openAt(dir)
    await log.write(0, entries(0, 1, 'a', 'b'))
    await log.close()
    // Format 1's meta file: the same layout with version 1.
    const meta = await readFile(join(dir, META_FILE))
    meta.writeUInt32LE(1, 8)
    await writeFile(join(dir, META_FILE), meta)
    await assert.rejects(openAt(dir), (error: unknown) => error instanceof ReplicaLogCorruptedError && /replica log format 1 \(one record per entry\)/.test(error.message))
  })

  withDir('a segment of another format version is refused', async (dir) => {
    const log = await openAt(dir)
    await log.write(0, entries(0, 1, 'a', 'b'))
    await log.close()
    const [name] = await segments(dir)
    const file = await readFile(join(dir, name!))
    // Format 1's segment magic.
    file.write('DXREPSEG', 0, 'latin1')
    await writeFile(join(dir, name!), file)
    await assert.rejects(openAt(dir), (error: unknown) => error instanceof ReplicaLogCorruptedError && /not a replica log segment of a known version/.test(error.message))
  })

  withDir('a tail cut at any byte of the last write loses only entries of the unfinished group', async (dir) => {
    // Groups of at most 64 bytes: each 'entry-N' frame is 40 bytes, so every group holds one entry.
    let log = await openAt(dir, { groupBytesMax: 64 })
    await log.write(0, entries(0, 1, 'entry-0', 'entry-1'))
    await log.close()
    const [segment] = await segments(dir)
    const path = join(dir, segment!)
    const intact = (await stat(path)).size
    log = await openAt(dir)
    await log.write(2, entries(2, 2, 'entry-2', 'entry-3', 'entry-4'))
    await log.close()
    const full = await readFile(path)
    const frame = (full.length - intact) / 3
    for (let cut = intact; cut <= full.length; cut++) {
      await writeFile(path, full.subarray(0, cut))
      const logger = new MemoryLogger()
      const reopened = await openAt(dir, { logger })
      const complete = 2 + Math.floor((cut - intact) / frame)
      assert.deepEqual(reopened.state(), { clusterId: undefined, start: 0, end: complete, lastEpoch: complete > 2 ? 2 : 1 }, `cut at ${cut}`)
      assert.equal(show(await readAllEntries(reopened)).length, complete)
      assert.equal(
        logger.records.some((e) => e.message.includes('torn tail')),
        (cut - intact) % frame !== 0,
        `torn tail reported at ${cut}`,
      )
      await reopened.write(complete, entries(complete, 3, 'after'))
      await reopened.close()
      assert.equal((await stat(path)).size, intact + (complete - 2) * frame + recordsFrameBytes([bytes('after')]), `the torn bytes were cut at ${cut}`)
    }
  })

  withDir('a bad frame before the last write group is corruption, named by file and position', async (dir) => {
    const log = await openAt(dir, { groupBytesMax: 64 })
    await log.write(0, entries(0, 1, ...Array.from({ length: 10 }, (_, i) => `entry-${i}`)))
    await log.close()
    const [segment] = await segments(dir)
    const path = join(dir, segment!)
    const bytes = await readFile(path)
    const second = SEGMENT_HEADER_BYTES + 40
    bytes[second + 20] = bytes[second + 20]! ^ 0xff
    await writeFile(path, bytes)
    await assert.rejects(openAt(dir), (error: unknown) => {
      assert.ok(error instanceof ReplicaLogCorruptedError)
      assert.equal(error.path, path)
      assert.equal(error.position, second)
      assert.match(error.message, /checksum/)
      return true
    })
    // The same damage in the last group is a torn write: cut, earlier entries kept.
    bytes[second + 20] = bytes[second + 20]! ^ 0xff
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff
    await writeFile(path, bytes)
    const reopened = await openAt(dir)
    assert.equal(reopened.state().end, 9)
    await reopened.close()
  })

  withDir('a missing middle segment is a gap; damage in a segment before the last is corruption', async (dir) => {
    const log = await openAt(dir, { segmentBytes: 50 })
    for (let i = 0; i < 4; i++) await log.write(i, entries(i, 1, `entry-${i}`))
    await log.close()
    const names = await segments(dir)
    assert.equal(names.length, 4, 'one entry per segment')
    const first = join(dir, names[0]!)
    const bytes = await readFile(first)
    await truncate(first, bytes.length - 2)
    await assert.rejects(openAt(dir), (e: unknown) => e instanceof ReplicaLogCorruptedError && e.path === first && /not the last/.test(e.reason))
    await writeFile(first, bytes)
    await unlink(join(dir, names[2]!))
    await assert.rejects(openAt(dir), (e: unknown) => e instanceof ReplicaLogCorruptedError && e.path === join(dir, names[3]!) && /gap/.test(e.reason))
  })

  withDir('a short write fails the write, poisons the instance, and recovery cuts the partial frame', async (dir) => {
    let shortNext = false
    const openFile: OpenFile = async (path, flags, mode) => {
      const real = await openFs(path, flags, mode)
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
          return real.write(buffer, offset, length - 5, position)
        }) as LogFile['write'],
      }
      return file
    }
    const log = await openAt(dir, { openFile })
    await log.write(0, entries(0, 1, 'a', 'b'))
    shortNext = true
    await assert.rejects(log.write(2, entries(2, 1, 'c')), (e: Error) => e.name === 'ReplicaLogFailedError' && (e.cause as Error).name === 'ShortWriteError')
    await assert.rejects(log.read(0, 10, 100), { name: 'ReplicaLogFailedError' })
    await assert.rejects(log.write(2, entries(2, 1, 'c')), { name: 'ReplicaLogFailedError' })
    assert.equal(log.state().end, 2, 'the failed write is not in the index')
    await log.close()
    const logger = new MemoryLogger()
    const reopened = await openAt(dir, { logger })
    assert.deepEqual(show(await readAllEntries(reopened)), ['0@1:a', '1@1:b'])
    assert.ok(logger.records.some((e) => e.message.includes('torn tail')))
    await reopened.close()
  })

  withDir('a full disk (ENOSPC) or a failing fsync (EIO) poisons the instance; a reopen finds the log intact', async (dir) => {
    let fault: 'ENOSPC' | 'EIO' | undefined
    const fail = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code })
    const openFile: OpenFile = async (path, flags, mode) => {
      const real = await openFs(path, flags, mode)
      return {
        read: real.read.bind(real) as LogFile['read'],
        truncate: real.truncate.bind(real),
        sync: real.sync.bind(real),
        stat: real.stat.bind(real) as LogFile['stat'],
        close: real.close.bind(real),
        write: (async (...args: Parameters<LogFile['write']>) => {
          if (fault === 'ENOSPC') throw fail('ENOSPC')
          return (real.write as (...a: unknown[]) => unknown)(...args)
        }) as LogFile['write'],
        datasync: async () => {
          if (fault === 'EIO') throw fail('EIO')
          return real.datasync()
        },
      }
    }
    for (const code of ['ENOSPC', 'EIO'] as const) {
      const log = await openAt(dir, { openFile })
      const end = log.state().end
      await log.write(end, entries(end, 1, 'durable'))
      fault = code
      await assert.rejects(log.write(end + 1, entries(end + 1, 1, 'failed')), (e: Error) => e.name === 'ReplicaLogFailedError' && (e.cause as { code?: string }).code === code)
      fault = undefined
      await assert.rejects(log.compact(end), { name: 'ReplicaLogFailedError' }, 'poisoned even once the disk works again')
      await log.close()
      const reopened = await openAt(dir)
      const got = show(await readAllEntries(reopened))
      assert.equal(got[end], `${end}@1:durable`)
      // EIO on fsync: the bytes were written and may have reached the disk; ENOSPC: nothing was.
      if (code === 'ENOSPC') assert.equal(got.length, end + 1)
      else assert.ok(got.length === end + 1 || (got.length === end + 2 && got[end + 1] === `${end + 1}@1:failed`))
      await reopened.close()
    }
  })

  withDir('a log of another cluster is refused at open; truncation, compaction and reset leave no stale file', async (dir) => {
    const log = await openAt(dir, { segmentBytes: 50 })
    await log.setClusterId('c1')
    for (let i = 0; i < 6; i++) await log.write(i, entries(i, 1, `entry-${i}`))
    await log.write(3, entries(3, 2, 'E3'))
    assert.equal((await segments(dir)).length, 4, 'the cut removed the segments above index 3')
    await log.compact(2)
    assert.equal((await segments(dir)).length, 2, 'the compaction removed whole segments below 2')
    await log.close()
    await assert.rejects(openAt(dir, { clusterId: 'c2' }), { name: 'ClusterMismatchError' })
    const again = await openAt(dir, { clusterId: 'c1' })
    assert.deepEqual(again.state(), { clusterId: 'c1', start: 2, end: 4, lastEpoch: 2 })
    assert.deepEqual(show(await readAllEntries(again)), ['2@1:entry-2', '3@2:E3'])
    await again.reset(100, 7)
    assert.deepEqual(await segments(dir), [])
    await again.close()
    const afterReset = await openAt(dir)
    assert.deepEqual(afterReset.state(), { clusterId: 'c1', start: 100, end: 100, lastEpoch: 7 })
    await afterReset.close()
  })

  withDir('leftovers of an interrupted compaction or reset are removed at open', async (dir) => {
    const log = await openAt(dir, { segmentBytes: 50 })
    for (let i = 0; i < 3; i++) await log.write(i, entries(i, 1, `entry-${i}`))
    await log.close()
    const [oldSegment] = await segments(dir)
    const oldBytes = await readFile(join(dir, oldSegment!))
    // As if a crash came after a reset's meta replace but before its deletions: an old-generation segment remains.
    const log2 = await openAt(dir)
    await log2.reset(3, 1)
    await log2.close()
    await writeFile(join(dir, oldSegment!), oldBytes)
    await writeFile(join(dir, `${META_FILE}.tmp`), 'half-written')
    const reopened = await openAt(dir)
    assert.deepEqual(reopened.state(), { clusterId: undefined, start: 3, end: 3, lastEpoch: 1 })
    await reopened.close()
    // The lock file stays (a flock lock file is never unlinked), empty.
    assert.deepEqual((await readdir(dir)).sort(), [LOCK_FILE, META_FILE])
  })

  withDir('a compaction whose deletions reached the disk out of order, and a segment creation cut short, are not corruption', async (dir) => {
    const log = await openAt(dir, { segmentBytes: 50 })
    for (let i = 0; i < 4; i++) await log.write(i, entries(i, 1, `entry-${i}`))
    const names = await segments(dir)
    const oldest = await readFile(join(dir, names[0]!))
    await log.compact(3)
    await log.close()
    assert.deepEqual(await segments(dir), [names[3]])
    await writeFile(join(dir, names[0]!), oldest)
    await writeFile(join(dir, 'seg-0000000000-0000000000000004.log'), Buffer.alloc(7))
    const reopened = await openAt(dir, { segmentBytes: 50 })
    assert.deepEqual(reopened.state(), { clusterId: undefined, start: 3, end: 4, lastEpoch: 1 })
    assert.deepEqual(show(await readAllEntries(reopened)), ['3@1:entry-3'])
    await reopened.write(4, entries(4, 1, 'entry-4'))
    await reopened.close()
    assert.deepEqual(await segments(dir), [names[3], 'seg-0000000000-0000000000000004.log'])
  })

  withDir('reads running alongside cuts, compactions and appends see consistent entries', async (dir) => {
    const log = await openAt(dir, { segmentBytes: 200, groupBytesMax: 100 })
    await log.write(0, entries(0, 1, ...Array.from({ length: 40 }, (_, i) => `entry-${i}`)))
    const reads: Array<Promise<string[]>> = []
    const readAll = async (): Promise<string[]> => show(await log.read(log.state().start, 1000, 1 << 20))
    for (let round = 0; round < 10; round++) {
      reads.push(readAll())
      const mutation =
        round % 3 === 0 ? log.compact(log.state().start + 1) : log.write(log.state().end - 2, entries(log.state().end - 2, 2 + round, `a${round}`, `b${round}`, `c${round}`))
      reads.push(readAll())
      await mutation
    }
    for (const got of await Promise.all(reads)) {
      for (let i = 1; i < got.length; i++) assert.equal(Number(got[i]!.split('@')[0]), Number(got[i - 1]!.split('@')[0]) + 1, 'contiguous')
    }
    const final = show(await readAllEntries(log))
    await log.close()
    const again = await openAt(dir)
    assert.deepEqual(show(await readAllEntries(again)), final)
    await again.close()
  })

  withDir('files are 0600 in a 0700 directory; a second open is locked out', async (dir) => {
    const log = await openAt(dir)
    await log.write(0, entries(0, 1, 'a'))
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
    for (const name of await readdir(dir)) assert.equal((await stat(join(dir, name))).mode & 0o077, 0, `${name} is private`)
    await assert.rejects(openAt(dir), { name: 'FileLockedError' })
    await log.close()
  })
})

test('the entry index holds about 4 bytes per entry: positions, and epochs as runs that survive cuts', () => {
  const index = new EntryIndex()
  const n = 100_000
  for (let i = 0; i < n; i++) index.add(16 + i * 120, i < 40_000 ? 1 : i < 70_000 ? 3 : 4)
  assert.equal(index.length, n)
  assert.ok(index.bytes <= 4 * 131_072 + 64, `${index.bytes} bytes for ${n} entries`)
  for (const [i, epoch] of [
    [0, 1],
    [39_999, 1],
    [40_000, 3],
    [69_999, 3],
    [70_000, 4],
    [n - 1, 4],
  ] as const)
    assert.equal(index.epochOf(i), epoch, `entry ${i}`)
  assert.equal(index.positionOf(n - 1), 16 + (n - 1) * 120)
  // A cut inside the second run drops the third; entries written after it start a new run.
  index.cut(50_000)
  index.add(16 + 50_000 * 120, 5)
  assert.deepEqual([index.epochOf(49_999), index.epochOf(50_000), index.epochOf(39_999), index.length], [3, 5, 1, 50_001])
  // A cut at a run's first entry drops that run whole.
  index.cut(40_000)
  index.add(16 + 40_000 * 120, 6)
  assert.deepEqual([index.epochOf(39_999), index.epochOf(40_000)], [1, 6])
  assert.throws(() => index.add(POSITION_MAX + 1, 6), RangeError)
})

test('options whose positions would not fit the index are refused at open', async () => {
  await assert.rejects(FileReplicaLog.open({ dir: await tempDir(), segmentBytes: POSITION_MAX }), { name: 'InvalidArgumentError' })
})
