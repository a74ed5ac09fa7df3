// Goal: after every input the replicator tells the election a position whenever the core produced
// one, its commit index once per change (leader or not), and the followers' matches only while it
// leads and only when they change. Method: ClusterReports over the replication harness's cores.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterReports } from '../../src/replication/reports.js'
import { Harness } from './harness.js'

test('position when produced, commit index once per change, matches only while leading and when changed', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  const reports = new ClusterReports()
  const leader = h.node('n0').core
  const first = reports.next(undefined, leader, undefined)
  assert.deepEqual(first, { commitIndex: leader.commitEnd }, 'the commit index is told at once, even by a node that leads nothing')
  assert.deepEqual(reports.next(undefined, leader, undefined), {}, 'nothing new')
  assert.deepEqual(reports.next({ epoch: 3, index: 7 }, leader, undefined), { position: { epoch: 3, index: 7 } })
  h.elect('n0', 1)
  h.settle()
  const led = reports.next(undefined, leader, 1)
  assert.equal(led.commitIndex, leader.commitEnd)
  assert.ok(leader.commitEnd > 0, 'the no-op committed')
  assert.deepEqual(led.matches?.epoch, 1)
  assert.deepEqual([...(led.matches?.byNode.keys() ?? [])].sort(), ['n1', 'n2'])
  assert.deepEqual(reports.next(undefined, leader, 1), {}, 'unchanged matches are not told again')
  h.propose('n0', ['a'])
  h.settle()
  const after = reports.next(undefined, leader, 1)
  assert.equal(after.commitIndex, leader.commitEnd)
  assert.deepEqual(
    after.matches?.byNode,
    new Map([
      ['n1', leader.commitEnd],
      ['n2', leader.commitEnd],
    ]),
  )
  assert.deepEqual(reports.next(undefined, leader, undefined), {}, 'no matches while leading nothing')
})
