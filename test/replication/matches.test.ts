// Goal: the leader tells the election its followers' durable matches past the epoch's no-op, only when they changed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MatchesReport } from '../../src/replication/matches.js'
import { Harness } from './harness.js'

test('matches are reported once past the no-op, and again only when they change', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  const report = new MatchesReport()
  h.cut.add('n1')
  h.cut.add('n2')
  h.elect('n0', 1)
  const c = h.node('n0').core
  assert.deepEqual(report.next(1, c), new Map(), 'no follower holds the no-op: an empty report for the new epoch')
  assert.equal(report.next(1, c), undefined, 'unchanged')
  h.cut.delete('n1')
  h.advance(1000)
  assert.deepEqual(report.next(1, c), new Map([['n1', 1]]))
  assert.equal(report.next(1, c), undefined, 'unchanged')
  h.propose('n0', ['a'])
  h.advance(1000)
  assert.deepEqual(report.next(1, c), new Map([['n1', 2]]))
  h.cut.delete('n2')
  h.advance(1000)
  assert.deepEqual(
    report.next(1, c),
    new Map([
      ['n1', 2],
      ['n2', 2],
    ]),
  )
})
