// Goal: an append of empty or oversized records is refused; reads of committed records skip the log's no-op entries, stop at the commit bound, and read on past a run of no-ops.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.js'
import { checkAppend, readCommitted } from '../../src/replication/requests.js'
import type { LogRecord, ReplicaEntry, ReplicaLog } from '../../src/storage/types.js'
import { appendOffset, OFFSET_STRIDE } from '../../protocols/replication/offsets.js'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
import { REPLICATION_PAYLOAD_MAX_BYTES } from '../../protocols/replication/codec.js'

test('empty and oversized records are refused', () => {
  assert.ok(checkAppend([]) instanceof InvalidArgumentError)
  assert.ok(checkAppend([new Uint8Array(1), new Uint8Array(0)]) instanceof InvalidArgumentError)
  assert.ok(checkAppend([new Uint8Array(REPLICATION_PAYLOAD_MAX_BYTES + 1)]) instanceof InvalidArgumentError)
  assert.equal(checkAppend([new Uint8Array(REPLICATION_PAYLOAD_MAX_BYTES)]), undefined)
})

test('committed records skip no-ops, stop below `to`, and read past a batch of no-ops only', async () => {
  const entries: ReplicaEntry[] = [0, 1, 2, 3, 4, 5].map((index) => ({
    index,
    epoch: 1,
    offset: appendOffset(index),
    payloads: [new Uint8Array(index === 0 || index === 1 || index === 2 ? 0 : 1)],
  }))
  const reads: Array<[number, number]> = []
  const log = {
    read: async (from: number, max: number) => {
      reads.push([from, max])
      return entries.slice(from, from + Math.min(max, 2))
    },
  } as unknown as ReplicaLog
  const out = await readCommitted(log, 0, 0, 5, 10)
  assert.deepEqual(
    out.map((r) => r.offset),
    [appendOffset(3)],
    'the first batch holds only no-ops: read on; the second has a record: stop there',
  )
  assert.deepEqual(reads, [
    [0, 5],
    [2, 3],
  ])
  assert.deepEqual(await readCommitted(log, appendOffset(4), 4, 5, 10), [{ offset: appendOffset(4), epoch: 1, payload: entries[4]!.payloads[0] }], 'index 5 is not committed')
})

test('records of an entry get consecutive offsets; a read from within an append skips the records before it, and stops at max', async () => {
  // One append of five records split over entries 2 and 3, then an append of one record at entry 4.
  const entries: ReplicaEntry[] = [
    { index: 2, epoch: 1, offset: appendOffset(2), payloads: [bytes('a'), bytes('b'), bytes('c')] },
    { index: 3, epoch: 1, offset: appendOffset(2) + 3, payloads: [bytes('d'), bytes('e')] },
    { index: 4, epoch: 1, offset: appendOffset(4), payloads: [bytes('f')] },
  ]
  const log = { read: async (from: number, max: number) => entries.slice(from - 2, from - 2 + max) } as unknown as ReplicaLog
  const text = (records: readonly LogRecord[]): string[] => records.map((r) => `${r.offset - appendOffset(2)}:${new TextDecoder().decode(r.payload)}`)
  assert.deepEqual(text(await readCommitted(log, appendOffset(2) + 1, 2, 5, 3)), ['1:b', '2:c', '3:d'])
  assert.deepEqual(text(await readCommitted(log, appendOffset(2) + 4, 2, 5, 10)), ['4:e', `${appendOffset(2)}:f`])
  // An offset past the append's records (a reader advancing by last + 1) reads on from the next append.
  assert.deepEqual(text(await readCommitted(log, appendOffset(2) + 5, 2, 5, 10)), [`${appendOffset(2)}:f`])
})

test('an append of more records than an append has offsets is refused', () => {
  assert.ok(checkAppend(Array.from({ length: OFFSET_STRIDE + 1 }, () => new Uint8Array(1))) instanceof InvalidArgumentError)
  assert.equal(checkAppend(Array.from({ length: OFFSET_STRIDE }, () => new Uint8Array(1))), undefined)
})
