// Goal: the job logs' append queue refuses appends beyond its byte bound with a typed error, lets a
// caller that aborts leave (rejected with AbortedError, its bytes freed), and hands out groups in
// order by the caller's rule.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbortedError } from '../../src/errors.js'
import { AppendQueue } from '../../src/storage/append-queue.js'
import { JobLogUnavailableError } from '../../src/storage/errors.js'

interface Item {
  readonly name: string
  readonly bytes: number
  readonly fence?: boolean
  readonly reject: (error: Error) => void
  rejected?: Error
}
const item = (name: string, bytes: number, fence = false): Item => {
  const it: Item = { name, bytes, fence, reject: (error) => (it.rejected = error) }
  return it
}

test('full at the byte bound; an aborted item leaves and frees its bytes', () => {
  const queue = new AppendQueue<Item>(100, 'test queue')
  const gone = new AbortController()
  const a = item('a', 60)
  queue.add(a, gone.signal)
  assert.throws(
    () => queue.add(item('b', 41), undefined),
    (e: unknown) => e instanceof JobLogUnavailableError && /test queue is full \(60 bytes\)/.test(e.message) && !e.ambiguous,
  )
  gone.abort()
  assert.ok(a.rejected instanceof AbortedError)
  assert.equal(queue.length, 0)
  queue.add(item('b', 100), undefined)
  assert.equal(queue.length, 1)
})

test('take groups by the rule, always at least one; taken items no longer react to aborts', () => {
  const queue = new AppendQueue<Item>(1000, 'q')
  const late = new AbortController()
  for (const it of [item('a', 10), item('b', 10), item('f', 1, true), item('c', 10)]) queue.add(it, late.signal)
  const rule = (next: Item, first: Item, bytes: number): boolean => !first.fence && !next.fence && bytes + next.bytes <= 20
  assert.deepEqual(
    queue.take(rule).map((i) => i.name),
    ['a', 'b'],
  )
  assert.deepEqual(
    queue.take(rule).map((i) => i.name),
    ['f'],
  )
  const rest = queue.takeAll()
  assert.deepEqual(
    rest.map((i) => i.name),
    ['c'],
  )
  late.abort()
  assert.equal(rest[0]!.rejected, undefined)
  assert.deepEqual(queue.take(rule), [])
  queue.add(item('d', 1000), undefined)
})
