// Goal: the leader replicates to a member that runs no jobs (a submitter) only while it may want a
// new voter, and otherwise to at most two members that run jobs (or may: metrics unknown), the
// standbys a dead voter's replacement comes from, so that a member the cluster core may promote
// holds the log while the leader's cost does not grow with the cluster.
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

test('in a large cluster only the standbys learn: two workers (up first, then by id), one more per voter wanted', () => {
  const voters = ['a', 'b', 'c'].map((id) => member(id, true, 'up', 'runs'))
  const workers = ['w9', 'w3', 'w7', 'w1', 'w5'].map((id) => member(id, false, id === 'w1' ? 'joining' : 'up', 'runs'))
  const all = [...voters, ...workers, member('s', false, 'up', 'none')]
  const cfg = config(['a', 'b', 'c'], ['w9', 'w3', 'w7', 'w1', 'w5', 's'])
  assert.deepEqual(chooseLearners(all, cfg, 3), ['w3', 'w5'], 'w1 is joining: it comes after the workers that are up')
  assert.deepEqual(chooseLearners(all, cfg, 3), chooseLearners([...all].reverse(), cfg, 3), 'the same standbys whatever the order of the view')
  const down = all.map((m) => (m.nodeId === 'c' ? member('c', true, 'down', 'runs') : m))
  assert.deepEqual(chooseLearners(down, cfg, 3), ['w3', 'w5', 'w7'], 'a voter down: one more learner')
  assert.deepEqual(chooseLearners(all, cfg, 5), ['w3', 'w5', 'w7', 'w9'], 'two voters short of a target of 5: two more')
})
