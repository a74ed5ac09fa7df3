// The ReplicaLog contract, run against every implementation (the file adapter, the simulator's).
// Each harness gives a fresh log and a way to reopen it (as after a restart) once closed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ReplicaEntry, ReplicaLog } from '../../src/storage/types.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

export interface ReplicaLogHarness {
  /** A fresh, empty log. */
  setup(): Promise<ReplicaLog>
  /** Closes `log` and opens the same copy again. */
  reopen(log: ReplicaLog): Promise<ReplicaLog>
  teardown(log: ReplicaLog): Promise<void>
}

/** Entries of one record each, every one an append of its own; a text with commas is one entry of several records. */
export const entries = (from: number, epoch: number, ...texts: string[]): ReplicaEntry[] =>
  texts.map((t, i) => ({ index: from + i, epoch, offset: appendOffset(from + i), payloads: t.split(',').map((r) => new TextEncoder().encode(r)) }))
export const show = (es: readonly ReplicaEntry[]): string[] => es.map((e) => `${e.index}@${e.epoch}:${e.payloads.map((p) => new TextDecoder().decode(p)).join(',')}`)

/** Every entry from `start` to the end. */
export async function readAllEntries(log: ReplicaLog): Promise<ReplicaEntry[]> {
  const out: ReplicaEntry[] = []
  for (let at = log.state().start; at < log.state().end;) {
    const got = await log.read(at, 1000, 1 << 20)
    assert.ok(got.length > 0)
    out.push(...got)
    at += got.length
  }
  return out
}

export function replicaLogSuite(name: string, harness: ReplicaLogHarness): void {
  describe(`${name} meets the ReplicaLog contract`, () => {
    const withLog = (title: string, body: (log: ReplicaLog, swap: (next: ReplicaLog) => void) => Promise<void>): void => {
      test(title, async () => {
        let log = await harness.setup()
        try {
          await body(log, (next) => (log = next))
        } finally {
          await harness.teardown(log)
        }
      })
    }

    withLog('a fresh log is empty at 0 with no cluster', async (log) => {
      assert.deepEqual(log.state(), { clusterId: undefined, start: 0, end: 0, lastEpoch: 0 })
      assert.equal(log.epochAt(-1), 0)
      assert.equal(log.epochAt(0), undefined)
      assert.deepEqual(await log.read(0, 10, 100), [])
    })

    withLog('writes append contiguously; a write below the end cuts the suffix first', async (log) => {
      await log.write(0, entries(0, 1, 'a', 'b', 'c'))
      await log.write(3, entries(3, 2, 'd'))
      await log.write(2, entries(2, 3, 'C', 'D', 'E'))
      assert.deepEqual(log.state(), { clusterId: undefined, start: 0, end: 5, lastEpoch: 3 })
      assert.deepEqual(show(await readAllEntries(log)), ['0@1:a', '1@1:b', '2@3:C', '3@3:D', '4@3:E'])
      await log.write(1, [])
      assert.deepEqual(log.state(), { clusterId: undefined, start: 0, end: 1, lastEpoch: 1 })
      assert.deepEqual(show(await readAllEntries(log)), ['0@1:a'])
    })

    withLog('reads honour max and about maxBytes, always returning one entry if any', async (log) => {
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(50)) as [string, string, string, string]
      await log.write(0, entries(0, 1, a, b, c, d))
      assert.deepEqual(show(await log.read(1, 2, 1 << 20)), [`1@1:${b}`, `2@1:${c}`])
      assert.deepEqual(show(await log.read(1, 10, 1)), [`1@1:${b}`])
      const limited = await log.read(0, 10, 120)
      assert.ok(limited.length >= 1 && limited.length < 4, 'maxBytes limits a read')
      assert.deepEqual(show(await log.read(3, 10, 1 << 20)), [`3@1:${d}`])
      assert.deepEqual(await log.read(4, 10, 1 << 20), [])
    })

    withLog('bad positions and epochs are refused without harm', async (log) => {
      await log.write(0, entries(0, 2, 'a'))
      await assert.rejects(log.write(2, entries(2, 2, 'gap')), { name: 'InvalidArgumentError' })
      await assert.rejects(log.write(1, entries(2, 2, 'wrong index')), { name: 'InvalidArgumentError' })
      await assert.rejects(log.write(1, entries(1, 1, 'older epoch')), { name: 'InvalidArgumentError' })
      await assert.rejects(log.read(2, 1, 1), { name: 'InvalidArgumentError' })
      await log.write(1, entries(1, 2, 'b'))
      assert.deepEqual(show(await readAllEntries(log)), ['0@2:a', '1@2:b'])
    })

    withLog('compaction drops entries below the index and remembers the epoch just below', async (log, swap) => {
      await log.write(0, [...entries(0, 1, 'a', 'b'), ...entries(2, 2, 'c', 'd')])
      await log.compact(3)
      assert.deepEqual(log.state(), { clusterId: undefined, start: 3, end: 4, lastEpoch: 2 })
      assert.equal(log.epochAt(2), 2)
      assert.equal(log.epochAt(1), undefined)
      await assert.rejects(log.read(2, 1, 1), { name: 'InvalidArgumentError' })
      await log.compact(4)
      assert.deepEqual(log.state(), { clusterId: undefined, start: 4, end: 4, lastEpoch: 2 })
      await log.write(4, entries(4, 3, 'e'))
      const reopened = await harness.reopen(log)
      swap(reopened)
      assert.deepEqual(reopened.state(), { clusterId: undefined, start: 4, end: 5, lastEpoch: 3 })
      assert.equal(reopened.epochAt(3), 2)
      assert.deepEqual(show(await readAllEntries(reopened)), ['4@3:e'])
    })

    withLog('reset replaces the copy by an empty log at a new start, durably', async (log, swap) => {
      await log.setClusterId('c1')
      await log.write(0, entries(0, 1, 'a', 'b', 'c'))
      await log.reset(10, 4)
      assert.deepEqual(log.state(), { clusterId: 'c1', start: 10, end: 10, lastEpoch: 4 })
      assert.equal(log.epochAt(9), 4)
      await log.write(10, entries(10, 5, 'k'))
      await log.reset(1, 1)
      await log.write(1, entries(1, 1, 'x'))
      const reopened = await harness.reopen(log)
      swap(reopened)
      assert.deepEqual(reopened.state(), { clusterId: 'c1', start: 1, end: 2, lastEpoch: 1 })
      assert.deepEqual(show(await readAllEntries(reopened)), ['1@1:x'])
    })

    withLog('the cluster id is durable and a different one is refused', async (log, swap) => {
      await log.setClusterId('c1')
      await log.setClusterId('c1')
      await assert.rejects(log.setClusterId('c2'), { name: 'ClusterMismatchError', code: 'CLUSTER_MISMATCH' })
      await log.write(0, entries(0, 1, 'still usable'))
      const reopened = await harness.reopen(log)
      swap(reopened)
      assert.equal(reopened.state().clusterId, 'c1')
      await assert.rejects(reopened.setClusterId('c2'), { name: 'ClusterMismatchError' })
    })

    withLog('everything survives a reopen: entries, cuts, epochs', async (log, swap) => {
      await log.write(0, entries(0, 1, 'a', 'b', 'c', 'd'))
      await log.write(2, entries(2, 2, 'C'))
      const reopened = await harness.reopen(log)
      swap(reopened)
      assert.deepEqual(reopened.state(), { clusterId: undefined, start: 0, end: 3, lastEpoch: 2 })
      assert.deepEqual(show(await readAllEntries(reopened)), ['0@1:a', '1@1:b', '2@2:C'])
      await reopened.write(3, entries(3, 2, 'D'))
      assert.equal(reopened.state().end, 4)
    })

    withLog('an entry holds a batch of records with its offsets, across a reopen; offsets that break the rules are refused', async (log, swap) => {
      const e = new TextEncoder()
      // One append of five records over entries 1 and 2, then an append of one record at entry 3.
      const batch: ReplicaEntry[] = [
        { index: 0, epoch: 1, offset: appendOffset(0), payloads: [new Uint8Array(0)] },
        { index: 1, epoch: 1, offset: appendOffset(1), payloads: ['a', 'b', 'c'].map((t) => e.encode(t)) },
        { index: 2, epoch: 1, offset: appendOffset(1) + 3, payloads: ['d', 'e'].map((t) => e.encode(t)) },
        { index: 3, epoch: 1, offset: appendOffset(3), payloads: [e.encode('f')] },
      ]
      await log.write(0, batch)
      const bad = (index: number, offset: number, count = 1): ReplicaEntry[] => [{ index, epoch: 1, offset, payloads: Array.from({ length: count }, () => e.encode('x')) }]
      await assert.rejects(log.write(4, bad(4, appendOffset(4) + 1)), { name: 'InvalidArgumentError' }, 'neither an append start nor a continuation')
      await assert.rejects(log.write(4, bad(4, appendOffset(5))), { name: 'InvalidArgumentError' }, 'the offset of a later append')
      await assert.rejects(log.write(4, [{ index: 4, epoch: 1, offset: appendOffset(4), payloads: [] }]), { name: 'InvalidArgumentError' }, 'no records')
      await assert.rejects(log.write(4, [...bad(4, appendOffset(4)), ...bad(5, appendOffset(4) + 2)]), { name: 'InvalidArgumentError' }, 'a continuation with a gap')
      const reopened = await harness.reopen(log)
      swap(reopened)
      const read = await readAllEntries(reopened)
      assert.deepEqual(
        read.map((x) => [x.index, x.offset, x.payloads.map((p) => new TextDecoder().decode(p)).join(',')]),
        batch.map((x) => [x.index, x.offset, x.payloads.map((p) => new TextDecoder().decode(p)).join(',')]),
      )
    })

    withLog('a closed log rejects every call with ReplicaLogFailedError', async (log, swap) => {
      await log.write(0, entries(0, 1, 'a'))
      const reopened = await harness.reopen(log)
      swap(reopened)
      await assert.rejects(log.read(0, 1, 1), { name: 'ReplicaLogFailedError', code: 'REPLICA_LOG_FAILED' })
      await assert.rejects(log.write(1, entries(1, 1, 'b')), { name: 'ReplicaLogFailedError' })
    })
  })
}
