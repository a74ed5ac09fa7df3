// Goal: compaction of the file job log drops whole appends below the offset and nothing else:
// offsets, payloads and the highest epoch survive, also across a reopen; appends made while it
// runs are kept; a crash before the rename (a leftover compaction file) leaves the log intact.
// Method: real files in a temp directory.
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { COMPACT_FILE, FileJobLog, LOG_FILE } from '../../../src/adapters/file-log/file-job-log.js'
import { readAll } from '../../storage/job-log.suite.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (payload: Uint8Array): string => new TextDecoder().decode(payload)

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-file-log-compact-'))
  try {
    await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('compaction drops the appends below the offset; offsets, payloads and the epoch survive a reopen', () =>
  withDir(async (dir) => {
    const log = await FileJobLog.open({ dir })
    for (let i = 0; i < 100; i++) await log.append(1, [bytes(`r${2 * i}`.padEnd(1000, '.')), bytes(`r${2 * i + 1}`)])
    await log.fence(4)
    await log.append(4, [bytes('snapshot')])
    const before = (await stat(join(dir, LOG_FILE))).size
    await log.compact(200)
    assert.equal(await log.startOffset(), 200)
    assert.deepEqual(
      (await readAll(log, 200)).map((r) => [r.offset, r.epoch, text(r.payload)]),
      [[200, 4, 'snapshot']],
    )
    assert.deepEqual(
      (await log.read(0, 5)).map((r) => r.offset),
      [200],
      'a read below the start begins at the start',
    )
    assert.ok((await stat(join(dir, LOG_FILE))).size < before / 50, 'the file shrank')
    assert.equal(await log.append(4, [bytes('after')]), 201)
    await log.close()
    const again = await FileJobLog.open({ dir })
    try {
      assert.equal(again.epoch, 4)
      assert.equal(await again.startOffset(), 200)
      assert.equal(await again.endOffset(), 202)
      assert.deepEqual(
        (await readAll(again, 0)).map((r) => [r.offset, text(r.payload)]),
        [
          [200, 'snapshot'],
          [201, 'after'],
        ],
      )
    } finally {
      await again.close()
    }
  }))

test('an offset inside an append keeps that whole append; compacting again moves further; a lower offset is a no-op', () =>
  withDir(async (dir) => {
    const log = await FileJobLog.open({ dir })
    try {
      await log.append(1, [bytes('a'), bytes('b')])
      await log.append(1, [bytes('c'), bytes('d'), bytes('e')])
      await log.append(2, [bytes('f')])
      await log.compact(3)
      assert.equal(await log.startOffset(), 2)
      assert.deepEqual(
        (await readAll(log)).map((r) => text(r.payload)),
        ['c', 'd', 'e', 'f'],
      )
      await log.compact(1)
      assert.equal(await log.startOffset(), 2)
      await log.compact(5)
      assert.deepEqual(
        (await readAll(log)).map((r) => text(r.payload)),
        ['f'],
      )
      await assert.rejects(log.compact(7), { name: 'InvalidArgumentError' })
    } finally {
      await log.close()
    }
  }))

test('appends made while compaction runs are all kept, in order', () =>
  withDir(async (dir) => {
    const log = await FileJobLog.open({ dir })
    for (let i = 0; i < 50; i++) await log.append(1, [bytes(`old${i}`.padEnd(10_000, '.'))])
    const compaction = log.compact(49)
    const appends = Array.from({ length: 20 }, (_, i) => log.append(1, [bytes(`new${i}`)]))
    await compaction
    assert.deepEqual(
      await Promise.all(appends),
      Array.from({ length: 20 }, (_, i) => 50 + i),
    )
    await log.close()
    const again = await FileJobLog.open({ dir })
    try {
      const records = await readAll(again)
      assert.equal(records[0]!.offset, 49)
      assert.deepEqual(
        records.slice(1).map((r) => text(r.payload)),
        Array.from({ length: 20 }, (_, i) => `new${i}`),
      )
    } finally {
      await again.close()
    }
  }))

test('a compaction file left by a crash before its rename does not change the log', () =>
  withDir(async (dir) => {
    const log = await FileJobLog.open({ dir })
    await log.append(1, [bytes('a')])
    await log.append(1, [bytes('b')])
    await log.close()
    await writeFile(join(dir, COMPACT_FILE), 'half-written garbage')
    const again = await FileJobLog.open({ dir })
    try {
      assert.equal(await again.startOffset(), 0)
      assert.deepEqual(
        (await readAll(again)).map((r) => text(r.payload)),
        ['a', 'b'],
      )
      await again.compact(1)
      assert.deepEqual(
        (await readAll(again)).map((r) => text(r.payload)),
        ['b'],
      )
    } finally {
      await again.close()
    }
  }))
