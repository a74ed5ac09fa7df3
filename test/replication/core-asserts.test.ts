// Goal: each invariant the replication core states (commit never decreases and nothing below it is
// cut; epochs never decrease along the log; one local mutation at a time; settings that fit the
// network's frames) is asserted where it could break, so a wrong call, a forged message or a bug
// stops the core instead of losing a committed entry. Method: the call that breaks each rule through
// the public methods where one can (bad settings, a corrupt log reader, a forged leader message);
// where no public sequence can, one private field is broken on purpose first (the test says so).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { REPLICATION_PAYLOAD_MAX_BYTES, type ReplicationMessage } from '../../protocols/replication/codec.js'
import { appendOffset } from '../../protocols/replication/offsets.js'
import { ReplicationCore } from '../../src/replication/core.js'
import type { ReplicationOptions } from '../../src/replication/types.js'
import type { ReplicaLogState } from '../../src/storage/types.js'
import { Harness } from './harness.js'

/** The private state some assertions guard, as a bug would reach it. */
interface Internals {
  durableEnd: number
  commit: number
  leading: { followers: Map<string, { next: number }> }
  raiseCommit(to: number): void
}

const EMPTY: ReplicaLogState = { clusterId: undefined, start: 0, end: 0, lastEpoch: 0 }
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

function core(options: Partial<ReplicationOptions> = {}, state = EMPTY, epochAt: (i: number) => number | undefined = () => undefined): ReplicationCore {
  return new ReplicationCore({ self: 'n0', state, epochAt, options }, 0)
}

/** A single-voter leader of epoch 1 whose log holds the no-op and `payloads` (an append each), all committed. */
function soloLeader(payloads: string[]): ReplicationCore {
  const c = core()
  c.lead(1, ['n0'], 0)
  for (const payload of payloads) c.propose([bytes(payload)], 0)
  for (let ready = c.takeReady(); ready.op !== undefined; ready = c.takeReady()) c.opDone(true, 0)
  return c
}

/** Three nodes after n0 led epoch 1 and committed appends 'a' and 'b' everywhere: n1 holds [0, 3), all committed. */
function committedFollower(): Harness {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.propose('n0', ['a'])
  h.propose('n0', ['b'])
  h.settle()
  h.advance(1000)
  assert.equal(h.node('n1').core.commitEnd, 3)
  return h
}

/** Delivers `message` to n1 from `from`, which n1 follows in `epoch`. */
function forge(h: Harness, from: string, epoch: number, message: ReplicationMessage): void {
  h.node('n1').core.receive(from, message, { leader: from, epoch }, h.now)
}

test('settings that would not fit the network, and a log whose start is beyond its end, are refused', () => {
  assert.throws(() => core({ batchMaxEntries: 0 }), { name: 'AssertionFailure', message: /batchMaxEntries 0 outside \[1, / })
  assert.throws(() => core({ batchMaxBytes: REPLICATION_PAYLOAD_MAX_BYTES + 1 }), {
    name: 'AssertionFailure',
    message: /above the entry limit \d+: appends would outgrow the network's frames/,
  })
  assert.throws(() => core({ window: 0 }), { name: 'AssertionFailure', message: /window must be at least 1/ })
  assert.throws(() => core({}, { ...EMPTY, start: 3, end: 1 }), { name: 'AssertionFailure', message: /log start 3 beyond end 1/ })
})

test('a log reader whose epochs go backwards (a corrupt log) is refused at construction', () => {
  const epochs = [2, 1, 1]
  assert.throws(() => core({}, { ...EMPTY, end: 3, lastEpoch: 1 }, (i) => epochs[i]), { name: 'AssertionFailure', message: /log epochs go backwards at 1/ })
})

test('only a leader proposes, something, in entries that fit a frame; and never below its log', () => {
  assert.throws(() => core().propose([bytes('x')], 0), { name: 'AssertionFailure', message: /propose while not leading/ })
  const c = core()
  c.lead(1, ['n0'], 0)
  assert.throws(() => c.propose([], 0), { name: 'AssertionFailure', message: /propose of 0 records, outside \[1, \d+\]/ })
  assert.throws(() => c.propose([new Uint8Array(REPLICATION_PAYLOAD_MAX_BYTES + 1)], 0), { name: 'AssertionFailure', message: /a record exceeds \d+ bytes/ })
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 2)
  h.settle()
  h.node('n0').core.stepDown()
  assert.throws(() => h.node('n0').core.lead(1, h.ids, h.now), { name: 'AssertionFailure', message: /leading epoch 1 below the log's last epoch 2/ })
})

test('compaction only below the commit end', () => {
  assert.throws(() => core().compact(1), { name: 'AssertionFailure', message: /compaction at 1 above the commit end 0/ })
})

test('a compaction whose commit end fell back while it waited (private commit lowered on purpose) is not applied', () => {
  const c = soloLeader(['a', 'b'])
  assert.equal(c.commitEnd, 3)
  c.compact(2)
  assert.equal(c.takeReady().op?.kind, 'compact')
  ;(c as unknown as Internals).commit = 1
  assert.throws(() => c.opDone(true, 0), { name: 'AssertionFailure', message: /applying compaction at 2 beyond the commit end 1/ })
})

test('one local mutation at a time: opDone needs one under way, and a failed write is not reported as done', () => {
  assert.throws(() => core().opDone(true, 0), { name: 'AssertionFailure', message: /opDone without an operation under way/ })
  const c = core()
  c.lead(1, ['n0'], 0)
  assert.equal(c.takeReady().op?.kind, 'write')
  assert.throws(() => c.opDone(false, 0), { name: 'AssertionFailure', message: /a failed local write must be handled by reopening the log and building a new core/ })
})

test('a leader write that does not start at the durable end (private durable end moved on purpose) stops the leader', () => {
  const c = core()
  c.lead(1, ['n0'], 0)
  assert.equal(c.takeReady().op?.kind, 'write')
  ;(c as unknown as Internals).durableEnd = 5
  assert.throws(() => c.opDone(true, 0), { name: 'AssertionFailure', message: /leader write at 0 but durable end is 5/ })
})

test('commit never passes the log end (the private raise called on purpose)', () => {
  const c = core()
  assert.throws(() => (c as unknown as Internals).raiseCommit(1), { name: 'AssertionFailure', message: /commit 1 beyond the log's end 0/ })
})

test('a follower position beyond the leader log (private next moved on purpose) sends no append without an epoch', () => {
  const h = new Harness(['n0', 'n1'])
  h.elect('n0', 1)
  h.settle()
  ;(h.node('n0').core as unknown as Internals).leading.followers.get('n1')!.next = 10
  assert.throws(() => h.advance(1000), { name: 'AssertionFailure', message: /no epoch for index 9 \(log \[0, 1\)\)/ })
})

test('a forged append that contradicts a committed entry, or would cut one, is refused', () => {
  const h = committedFollower()
  const entry = (index: number, epoch: number) => ({ index, epoch, offset: appendOffset(index), payloads: [bytes('x')] })
  assert.throws(() => forge(h, 'n0', 1, { kind: 'append', epoch: 1, leaderCommit: 3, prevIndex: 1, prevEpoch: 9, entries: [] }), {
    name: 'AssertionFailure',
    message: /leader's entry 1 \(epoch 9\) differs from our committed one \(epoch 1\)/,
  })
  assert.throws(() => forge(h, 'n2', 2, { kind: 'append', epoch: 2, leaderCommit: 3, prevIndex: 0, prevEpoch: 1, entries: [entry(1, 2)] }), {
    name: 'AssertionFailure',
    message: /append would cut committed entries at 1 \(commit 3\)/,
  })
  assert.deepEqual(h.text('n1'), ['1:', '1:a', '1:b'], 'nothing was cut')
})

test('a forged reset that would drop committed entries is refused', () => {
  const h = committedFollower()
  assert.throws(() => forge(h, 'n2', 2, { kind: 'reset', epoch: 2, leaderCommit: 3, start: 1, prevEpoch: 9 }), {
    name: 'AssertionFailure',
    message: /reset to 1 would drop committed entries up to 3/,
  })
})

test('a forged append with a gap or with epochs going back is refused', () => {
  const entry = (index: number, epoch: number) => ({ index, epoch, offset: appendOffset(index), payloads: [bytes('x')] })
  const gap = committedFollower()
  assert.throws(() => forge(gap, 'n2', 2, { kind: 'append', epoch: 2, leaderCommit: 3, prevIndex: 2, prevEpoch: 1, entries: [entry(3, 2), entry(5, 2)] }), {
    name: 'AssertionFailure',
    message: /entry 5 is not at the log's end 4/,
  })
  const back = committedFollower()
  assert.throws(() => forge(back, 'n2', 3, { kind: 'append', epoch: 3, leaderCommit: 3, prevIndex: 2, prevEpoch: 1, entries: [entry(3, 3), entry(4, 2)] }), {
    name: 'AssertionFailure',
    message: /entry 4 of epoch 2 after an entry of epoch 3/,
  })
})

test('a forged append carrying an entry newer than its own epoch is refused', () => {
  const h = committedFollower()
  assert.throws(
    () =>
      forge(h, 'n2', 2, {
        kind: 'append',
        epoch: 2,
        leaderCommit: 3,
        prevIndex: 2,
        prevEpoch: 1,
        entries: [{ index: 3, epoch: 5, offset: appendOffset(3), payloads: [bytes('x')] }],
      }),
    {
      name: 'AssertionFailure',
      message: /an append of epoch 2 carries an entry of epoch 5/,
    },
  )
  assert.equal(h.node('n1').core.position().index, 3, 'nothing was taken')
})
