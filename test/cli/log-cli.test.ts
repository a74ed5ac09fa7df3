// Goal: `distributex log verify` tells a clean log (exit 0), one with a torn tail (exit 0, reported)
// and a corrupt one (exit 1, file and byte named) apart, for the file job log and the replica log;
// `distributex log repair` cuts a corrupt log at its last good frame, keeps the cut bytes aside, and
// leaves a log that verifies clean and opens. Method: real CLI processes on fixture directories
// corrupted by hand.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { appendFile, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileReplicaLog } from '../../src/adapters/replica-log/file-replica-log.js'
import { SEGMENT_HEADER_BYTES } from '../../src/adapters/replica-log/format.js'
import { FileJobLog, LOG_FILE } from '../../src/adapters/file-log/file-job-log.js'
import { FILE_HEADER_BYTES, GROUP_MAX_BYTES, recordsFrameBytes } from '../../src/files/file-log-format.js'
import { entries, readAllEntries } from '../storage/replica-log.suite.js'
import { BIN } from '../helpers/bin.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

function cli(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'log', ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code), out: stdout + stderr })
    })
  })
}

test('log verify and repair on a file job log', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-log-cli-'))
  try {
    const log = await FileJobLog.open({ dir })
    for (let i = 0; i < 5; i++) await log.append(i < 3 ? 1 : 2, [bytes(`record-${i}`)])
    await log.close()
    const path = join(dir, LOG_FILE)

    let run = await cli('verify', dir)
    assert.equal(run.code, 0, run.out)
    assert.match(run.out, /records 5 \(offsets 0\.\.4\) in 5 appends, highest epoch 2/)
    assert.match(run.out, /status: clean/)

    await appendFile(path, Buffer.from('torn write'))
    run = await cli('verify', dir)
    assert.equal(run.code, 0, run.out)
    assert.match(run.out, /torn tail: 10 bytes at byte \d+/)

    // Damage the second record, with more than one write group after it: no crash explains that.
    const second = FILE_HEADER_BYTES + recordsFrameBytes([bytes('record-0')])
    const damaged = await readFile(path)
    damaged[second + 12] = damaged[second + 12]! ^ 0xff
    await writeFile(path, damaged)
    await truncate(path, damaged.length + GROUP_MAX_BYTES + 1)
    const before = await readFile(path)
    run = await cli('verify', dir)
    assert.equal(run.code, 1, run.out)
    assert.match(run.out, new RegExp(`CORRUPT at byte ${second}: .*${LOG_FILE}.*checksum`))
    assert.ok((await readFile(path)).equals(before), 'verify changes nothing')

    run = await cli('repair', dir)
    assert.equal(run.code, 0, run.out)
    assert.equal((await stat(path)).size, second)
    assert.equal((await stat(`${path}.cut-${second}`)).size, before.length, 'the cut bytes are kept aside')
    run = await cli('verify', dir)
    assert.equal(run.code, 0, run.out)
    assert.match(run.out, /records 1 /)
    const reopened = await FileJobLog.open({ dir })
    assert.equal(await reopened.endOffset(), 1)
    await reopened.close()

    await writeFile(path, 'some other file, not a job log at all')
    run = await cli('repair', dir)
    assert.equal(run.code, 1, run.out)
    assert.match(run.out, /refusing/)
    assert.equal(await readFile(path, 'utf8'), 'some other file, not a job log at all')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('log verify and repair on a replica log; a directory without a log is a usage error', { timeout: 60_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'dx-log-cli-'))
  const dir = join(dataDir, 'replica')
  try {
    // Two entries per segment: a 16-byte header and 40-byte frames, rolled past 90 bytes.
    const log = await FileReplicaLog.open({ dir, segmentBytes: 90 })
    await log.setClusterId('cluster-a')
    for (let i = 0; i < 6; i++) await log.write(i, entries(i, i < 4 ? 1 : 3, `entry-${i}`))
    await log.close()
    const segments = (await readdir(dir)).filter((n) => n.startsWith('seg-')).sort()
    assert.equal(segments.length, 3)

    let run = await cli('verify', dataDir)
    assert.equal(run.code, 0, run.out)
    assert.match(run.out, /cluster cluster-a, generation 0, start 0/)
    assert.match(run.out, /segments 3, entries 6 \(indexes 0\.\.5\), epochs 1\.\.3/)

    const first = join(dir, segments[0]!)
    const damaged = await readFile(first)
    const secondFrame = SEGMENT_HEADER_BYTES + 40
    damaged[secondFrame + 30] = damaged[secondFrame + 30]! ^ 0xff
    await writeFile(first, damaged)
    run = await cli('verify', dir)
    assert.equal(run.code, 1, run.out)
    assert.ok(run.out.includes(`CORRUPT: ${first} at byte ${secondFrame}`), run.out)

    run = await cli('repair', dir)
    assert.equal(run.code, 0, run.out)
    assert.equal((await stat(first)).size, secondFrame)
    const names = await readdir(dir)
    for (const later of segments.slice(1)) assert.ok(names.includes(`${later}.cut`), `${later} moved aside`)
    assert.match(run.out, /segments 1, entries 1 \(indexes 0\.\.0\)/)
    const reopened = await FileReplicaLog.open({ dir, clusterId: 'cluster-a' })
    assert.equal((await readAllEntries(reopened)).length, 1)
    await reopened.close()

    run = await cli('verify', join(dataDir, 'nothing-here'))
    assert.equal(run.code, 2, run.out)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})
