// Goal: a watcher node's watch table ends each watch once, with the reason its owner's answer or
// fate implies, tells the local watcher unless it unwatched first, makes owners forget cancelled
// watches, and asks each other owner about its watches every WATCH_CHECK_MS.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { TerminationReason } from '../../src/actor/types.js'
import { NodeUnreachableError } from '../../src/errors.js'
import { WATCH_CHECK_MS, WatcherWatches, type WatchRecord } from '../../src/entities/watcher-watches.js'

function setup() {
  const ended: Array<[string, string, TerminationReason]> = []
  const forgot: Array<[string, number[]]> = []
  const w = new WatcherWatches('self', { ended: (path, watcher, reason) => ended.push([path, watcher, reason]), forget: (owner, ids) => forgot.push([owner, ids]) }, 5000)
  const rejected: Error[] = []
  const reply = (): WatchRecord['reply'] => ({ settled: false, resolve: () => {}, reject: (e) => rejected.push(e) })
  return { w, ended, forgot, rejected, reply }
}
const up = (): boolean => true

test('answers: an owner holds it, none (not-found), an error (unreachable or failed-over), a closed owner', () => {
  const { w, ended, reply } = setup()
  for (let id = 1; id <= 5; id++) w.start(id, `e/${id}`, 'w', 100, reply())
  w.answered(1, 'n1', undefined, up)
  w.answered(2, undefined, undefined, up)
  w.answered(3, undefined, new NodeUnreachableError('n1', 'never sent', true), up)
  w.answered(4, undefined, new NodeUnreachableError('n1'), up)
  w.answered(5, 'n2', undefined, () => false)
  assert.deepEqual(ended, [
    ['e/2', 'w', 'not-found'],
    ['e/3', 'w', 'unreachable'],
    ['e/4', 'w', 'failed-over'],
    ['e/5', 'w', 'failed-over'],
  ])
  assert.ok(w.holdsOwner('n1') && !w.holdsOwner('n2'))
  w.endedBy('n2', [1], 'passivated', undefined)
  assert.equal(ended.length, 4, 'only the node a watch reached may end it')
  w.endedBy('n1', [1], 'passivated', undefined)
  assert.deepEqual(ended[4], ['e/1', 'w', 'passivated'])
  assert.equal(w.anyOwner, false)
})

test('unwatching ends a watch silently: an answered one at once (its owner forgets it), one in flight once answered', () => {
  const { w, ended, forgot, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  w.answered(1, 'n1', undefined, up)
  w.stop('e/1', 'w')
  assert.deepEqual(forgot, [['n1', [1]]])
  assert.equal(w.anyOwner, false)
  w.start(2, 'e/1', 'w', 100, reply())
  w.stop('e/1', 'w')
  assert.equal(w.has('e/1', 'w'), false)
  w.answered(2, 'n2', undefined, up)
  assert.deepEqual(forgot[1], ['n2', [2]])
  assert.deepEqual(ended, [], 'an unwatched watch ends without telling its watcher')
})

test('an owner gone or declaring watches lost ends them with failed-over; unanswered ones time out', () => {
  const { w, ended, rejected, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  w.start(2, 'e/2', 'w', 100, reply())
  w.start(3, 'e/3', 'w', 100, reply())
  w.answered(1, 'n1', undefined, up)
  w.answered(2, 'n2', undefined, up)
  w.ownerGone('n1')
  w.lost('n1', [2])
  w.lost('n2', [2])
  assert.deepEqual(
    ended.map((e) => e[2]),
    ['failed-over', 'failed-over'],
  )
  w.expire(100)
  assert.equal(rejected.length, 0)
  w.expire(101)
  assert.equal(rejected[0]?.name, 'AskTimeoutError')
})

test('owners are asked about their watches every WATCH_CHECK_MS, this node never', () => {
  const { w, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  w.start(2, 'e/2', 'w', 100, reply())
  w.start(3, 'e/3', 'w', 100, reply())
  w.answered(1, 'n1', undefined, up)
  w.answered(2, 'n1', undefined, up)
  w.answered(3, 'self', undefined, up)
  assert.deepEqual([...w.due(0)!], [['n1', [1, 2]]])
  assert.equal(w.due(WATCH_CHECK_MS - 1), undefined)
  assert.deepEqual([...w.due(WATCH_CHECK_MS)!], [['n1', [1, 2]]])
})

test('a second watch of one target by one watcher trips an assertion', () => {
  const { w, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  assert.throws(() => w.start(2, 'e/1', 'w', 100, reply()), { name: 'AssertionFailure', message: /a second watch of one entity by one watcher/ })
})

/** The private parts of the table the assertions guard, as a bug would reach them. */
interface WatcherInternals {
  byId: Map<number, WatchRecord>
  perOwner: Map<string, number>
  end(record: WatchRecord, reason: TerminationReason, error: Error | undefined): void
}

test('a watch ends once (the private end called again on purpose)', () => {
  const { w, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  const inner = w as unknown as WatcherInternals
  const record = inner.byId.get(1)!
  w.answered(1, undefined, undefined, up)
  assert.equal(inner.byId.has(1), false, 'not-found ended it')
  assert.throws(() => inner.end(record, 'stopped', undefined), { name: 'AssertionFailure', message: /an entity watch ended twice/ })
})

test('a lost count of watches per owner (private count cleared on purpose) trips an assertion', () => {
  const { w, reply } = setup()
  w.start(1, 'e/1', 'w', 100, reply())
  w.answered(1, 'n1', undefined, up)
  ;(w as unknown as WatcherInternals).perOwner.clear()
  assert.throws(() => w.lost('n1', [1]), { name: 'AssertionFailure', message: /entity watches per owner went negative/ })
})
