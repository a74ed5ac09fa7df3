// The JobLog contract, as one suite every implementation runs (file, Kafka, the simulator's).
// Method: each test gets a fresh, empty log from the caller's setup and checks only what the port
// promises: atomic ordered appends, strictly increasing offsets, endOffset, reads that stop at the
// end, and epoch fencing.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { JobLog, LogRecord } from '../../src/storage/types.js'

/** How to get a fresh log of one implementation. */
export interface JobLogSuiteSetup {
  /** Creates a fresh, empty log. */
  setup(): Promise<JobLog>
  teardown(log: JobLog): Promise<void>
  /** True when offsets are contiguous from 0 (the file log, the simulator), not merely increasing (Kafka). */
  contiguousOffsets: boolean
  /** Per-test timeout; 30 s by default. */
  timeoutMs?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const bytes = (text: string): Uint8Array => encoder.encode(text)
const text = (payload: Uint8Array): string => decoder.decode(payload)

/** Reads every record from `from` to the end, in reads of at most `max`. */
export async function readAll(log: JobLog, from = 0, max = 1000): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  const end = await log.endOffset()
  for (let offset = from; offset < end;) {
    const chunk = await log.read(offset, max)
    assert.ok(chunk.length <= max, `read returned ${chunk.length} records, more than max ${max}`)
    if (chunk.length === 0) break
    out.push(...chunk)
    offset = chunk[chunk.length - 1]!.offset + 1
  }
  return out
}

function assertIncreasing(records: readonly LogRecord[], contiguous: boolean): void {
  for (let i = 1; i < records.length; i++) {
    const step = records[i]!.offset - records[i - 1]!.offset
    assert.ok(contiguous ? step === 1 : step > 0, `offset ${records[i]!.offset} after ${records[i - 1]!.offset}`)
  }
}

async function rejectsFenced(promise: Promise<unknown>, epoch: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error, 'an Error')
    assert.equal(error.name, 'FencedError')
    assert.equal((error as { epoch?: unknown }).epoch, epoch)
    return true
  })
}

/** Registers the JobLog contract tests under `name`. */
export function jobLogSuite(name: string, setup: JobLogSuiteSetup): void {
  const timeout = setup.timeoutMs ?? 30_000
  const withLog = (title: string, body: (log: JobLog) => Promise<void>): void => {
    test(title, { timeout }, async () => {
      const log = await setup.setup()
      try {
        await body(log)
      } finally {
        await setup.teardown(log)
      }
    })
  }

  describe(`JobLog contract: ${name}`, () => {
    withLog('a fresh log reads nothing', async (log) => {
      const end = await log.endOffset()
      assert.ok(Number.isSafeInteger(end) && end >= 0)
      assert.deepEqual(await log.read(0, 10), [])
      assert.deepEqual(await log.read(end, 10), [])
      if (setup.contiguousOffsets) assert.equal(end, 0)
    })

    withLog('an append reads back with its offsets, epoch and exact bytes', async (log) => {
      const binary = Uint8Array.from({ length: 256 }, (_, i) => i)
      const first = await log.append(1, [bytes('a'), binary, new Uint8Array(0)])
      const records = await log.read(first, 10)
      assert.equal(records.length, 3)
      assert.equal(records[0]!.offset, first)
      assertIncreasing(records, true)
      assert.deepEqual(
        records.map((r) => r.epoch),
        [1, 1, 1],
      )
      assert.deepEqual([...records[1]!.payload], [...binary])
      assert.equal(text(records[0]!.payload), 'a')
      assert.equal(records[2]!.payload.byteLength, 0)
      if (setup.contiguousOffsets) assert.equal(first, 0)
    })

    withLog('appends keep their order; offsets strictly increase; endOffset is past the last record', async (log) => {
      const firsts: number[] = []
      for (let batch = 0; batch < 10; batch++)
        firsts.push(
          await log.append(
            1,
            Array.from({ length: batch + 1 }, (_, i) => bytes(`${batch}:${i}`)),
          ),
        )
      for (let i = 1; i < firsts.length; i++) assert.ok(firsts[i]! > firsts[i - 1]!, 'first offsets increase')
      const records = await readAll(log, 0, 7)
      assert.deepEqual(
        records.map((r) => text(r.payload)),
        Array.from({ length: 10 }, (_, batch) => Array.from({ length: batch + 1 }, (_, i) => `${batch}:${i}`)).flat(),
      )
      assertIncreasing(records, setup.contiguousOffsets)
      const end = await log.endOffset()
      assert.ok(end > records[records.length - 1]!.offset)
      assert.deepEqual(await log.read(end, 10), [])
      assert.deepEqual(await log.read(end + 1000, 10), [])
      assert.deepEqual(await log.read(records[records.length - 1]!.offset + 1, 10), [])
      if (setup.contiguousOffsets) assert.equal(end, 55)
    })

    withLog('a read returns at most max records, from the offset asked', async (log) => {
      const first = await log.append(1, ['r0', 'r1', 'r2', 'r3', 'r4'].map(bytes))
      const two = await log.read(first, 2)
      assert.deepEqual(
        two.map((r) => text(r.payload)),
        ['r0', 'r1'],
      )
      const rest = await log.read(two[1]!.offset + 1, 100)
      assert.deepEqual(
        rest.map((r) => text(r.payload)),
        ['r2', 'r3', 'r4'],
      )
      const middle = await log.read(two[1]!.offset, 1)
      assert.deepEqual(
        middle.map((r) => text(r.payload)),
        ['r1'],
      )
    })

    withLog('concurrent appends are each atomic and ordered by their first offsets', async (log) => {
      const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 1 + (b % 4) }, (_, i) => `${b}.${i}`))
      const firsts = await Promise.all(batches.map((batch) => log.append(1, batch.map(bytes))))
      const records = await readAll(log)
      const byOffset = new Map(records.map((r) => [r.offset, text(r.payload)]))
      const order = batches.map((batch, b) => ({ batch, first: firsts[b]! })).sort((x, y) => x.first - y.first)
      const expected: string[] = []
      for (const { batch, first } of order) {
        assert.equal(byOffset.get(first), batch[0], 'an append starts at the offset it returned')
        expected.push(...batch)
      }
      assert.deepEqual(
        records.map((r) => text(r.payload)),
        expected,
      )
      assertIncreasing(records, setup.contiguousOffsets)
    })

    withLog('a fence rejects every later append or fence with a lower epoch', async (log) => {
      await log.fence(5)
      await rejectsFenced(log.append(4, [bytes('stale')]), 4)
      await rejectsFenced(log.fence(3), 3)
      const first = await log.append(5, [bytes('five')])
      await log.fence(5)
      await log.append(5, [bytes('five again')])
      const records = await log.read(first, 10)
      assert.deepEqual(
        records.map((r) => [r.epoch, text(r.payload)]),
        [
          [5, 'five'],
          [5, 'five again'],
        ],
      )
      assert.equal(
        (await readAll(log)).some((r) => text(r.payload) === 'stale'),
        false,
      )
    })

    withLog('an append with a higher epoch fences lower ones', async (log) => {
      await log.append(2, [bytes('two')])
      await log.append(7, [bytes('seven')])
      await rejectsFenced(log.append(6, [bytes('six')]), 6)
      await rejectsFenced(log.fence(2), 2)
      await log.fence(9)
      await rejectsFenced(log.append(7, [bytes('seven again')]), 7)
      assert.deepEqual(
        (await readAll(log)).map((r) => [r.epoch, text(r.payload)]),
        [
          [2, 'two'],
          [7, 'seven'],
        ],
      )
    })

    withLog('a large batch of 5,000 records round-trips', async (log) => {
      const payloads = Array.from({ length: 5000 }, (_, i) => {
        const payload = new Uint8Array(200)
        new DataView(payload.buffer).setUint32(0, i)
        payload.fill(i % 251, 4)
        return payload
      })
      const first = await log.append(3, payloads)
      const records = await readAll(log, first, 777)
      assert.equal(records.length, payloads.length)
      assertIncreasing(records, setup.contiguousOffsets)
      records.forEach((r, i) => {
        assert.equal(r.epoch, 3)
        assert.equal(new DataView(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).getUint32(0), i)
        assert.equal(r.payload[199], i % 251)
      })
    })
  })
}
