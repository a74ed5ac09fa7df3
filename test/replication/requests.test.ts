// Goal: an append of empty or oversized records is refused; reads of committed records skip the log's no-op entries, stop at the commit bound, and read on past a run of no-ops.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.js'
import { checkAppend, readCommitted } from '../../src/replication/requests.js'
import type { ReplicaEntry, ReplicaLog } from '../../src/storage/types.js'
import { REPLICATION_PAYLOAD_MAX_BYTES } from '../../protocols/replication/codec.js'

test('empty and oversized records are refused', () => {
  assert.ok(checkAppend([]) instanceof InvalidArgumentError)
  assert.ok(checkAppend([new Uint8Array(1), new Uint8Array(0)]) instanceof InvalidArgumentError)
  assert.ok(checkAppend([new Uint8Array(REPLICATION_PAYLOAD_MAX_BYTES + 1)]) instanceof InvalidArgumentError)
  assert.equal(checkAppend([new Uint8Array(REPLICATION_PAYLOAD_MAX_BYTES)]), undefined)
})

test('committed records skip no-ops, stop below `to`, and read past a batch of no-ops only', async () => {
  const entries: ReplicaEntry[] = [0, 1, 2, 3, 4, 5].map((index) => ({ index, epoch: 1, payload: new Uint8Array(index === 0 || index === 1 || index === 2 ? 0 : 1) }))
  const reads: Array<[number, number]> = []
  const log = {
    read: async (from: number, max: number) => {
      reads.push([from, max])
      return entries.slice(from, from + Math.min(max, 2))
    },
  } as unknown as ReplicaLog
  const out = await readCommitted(log, 0, 5, 10)
  assert.deepEqual(
    out.map((r) => r.offset),
    [3],
    'the first batch holds only no-ops: read on; the second has a record: stop there',
  )
  assert.deepEqual(reads, [
    [0, 5],
    [2, 3],
  ])
  assert.deepEqual(await readCommitted(log, 4, 5, 10), [{ offset: 4, epoch: 1, payload: entries[4]!.payload }], 'index 5 is not committed')
})
