// Goal: the leader replicates to a member that runs no jobs (a submitter) only while it may want a
// new voter, and to every member that runs jobs (or may: metrics unknown) always, so that a member
// the cluster core may promote holds the log, and a submitter pays for no copy it does not need.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClusterConfig, MemberState, MemberView } from '../../src/cluster/types.js'
import { emptyMetrics } from '../../src/cluster/types.js'
import { chooseLearners } from '../../src/replication/learners.js'

function member(nodeId: string, voter: boolean, state: MemberState, jobs: 'runs' | 'none' | 'unknown'): MemberView {
  const metrics = jobs === 'unknown' ? null : jobs === 'runs' ? { ...emptyMetrics(), capacity: 4, types: ['noop'] } : emptyMetrics()
  return { nodeId, state, addresses: [], incarnation: 1, voter, role: voter ? 'voter' : 'worker', phi: 0, lastSeenMsAgo: 0, metrics }
}

const config = (members: string[], workers: string[]): ClusterConfig => ({ epoch: 1, counter: 1, members, workers })

test('three voters up and a submitter: the submitter gets no copy; a worker that runs jobs does', () => {
  const members = [member('a', true, 'up', 'runs'), member('b', true, 'up', 'runs'), member('c', true, 'up', 'runs'), member('s', false, 'up', 'none')]
  assert.deepEqual(chooseLearners(members, config(['a', 'b', 'c'], ['s'])), [])
  const withWorker = [...members, member('w', false, 'up', 'runs')]
  assert.deepEqual(chooseLearners(withWorker, config(['a', 'b', 'c'], ['s', 'w']), 3), ['w'], 'with --voters 3 (five members would aim for 5 voters by default)')
})

test('a member whose metrics are not known yet is a learner (it may run jobs)', () => {
  const members = [member('a', true, 'up', 'runs'), member('b', true, 'up', 'runs'), member('c', true, 'up', 'runs'), member('j', false, 'joining', 'unknown')]
  assert.deepEqual(chooseLearners(members, config(['a', 'b', 'c'], [])), ['j'])
})

test('while a voter is down or leaving, the submitter learns: it may replace that voter', () => {
  for (const state of ['down', 'leaving'] as const) {
    const members = [member('a', true, 'up', 'runs'), member('b', true, 'up', 'runs'), member('c', true, state, 'runs'), member('s', false, 'up', 'none')]
    assert.deepEqual(chooseLearners(members, config(['a', 'b', 'c'], ['s'])), ['s'], state)
  }
  const suspect = [member('a', true, 'up', 'runs'), member('b', true, 'up', 'runs'), member('c', true, 'suspect', 'runs'), member('s', false, 'up', 'none')]
  assert.deepEqual(chooseLearners(suspect, config(['a', 'b', 'c'], ['s'])), [], 'a suspect voter is not replaced, so a passing suspicion costs no catch-up')
})

test('below the voter target the submitter learns: the default target (3, then 5 from 5 members) or the configured one', () => {
  const two = [member('a', true, 'up', 'runs'), member('b', true, 'up', 'runs'), member('s', false, 'joining', 'none')]
  assert.deepEqual(chooseLearners(two, config(['a', 'b'], [])), ['s'], 'two voters, target 3')
  const five = [
    member('a', true, 'up', 'runs'),
    member('b', true, 'up', 'runs'),
    member('c', true, 'up', 'runs'),
    member('s', false, 'up', 'none'),
    member('t', false, 'up', 'none'),
  ]
  assert.deepEqual(chooseLearners(five, config(['a', 'b', 'c'], ['s', 't'])), ['s', 't'], 'five members: target 5')
  assert.deepEqual(chooseLearners(five, config(['a', 'b', 'c'], ['s', 't']), 3), [], 'configured target 3: reached')
  const four = five.slice(0, 4)
  assert.deepEqual(chooseLearners(four, config(['a', 'b', 'c'], ['s']), 5), ['s'], 'configured target 5')
})

test('members that are down, suspect or voters are never learners; without a configuration every live non-voter is', () => {
  const members = [member('a', true, 'up', 'runs'), member('d', false, 'down', 'runs'), member('x', false, 'suspect', 'runs'), member('s', false, 'up', 'none')]
  assert.deepEqual(chooseLearners(members, config(['a'], ['d', 'x', 's'])), ['s'], 'one voter, target 3: the live submitter only')
  assert.deepEqual(chooseLearners(members, null), ['s'])
})
