// Goal: the replication core's safety rules hold: commit needs a majority of durable copies, older epochs' entries are never committed by counting, conflicting suffixes are cut and replaced, stale leaders are refused, far-behind followers are reset, flow control bounds what is in flight, and positions are reported before writes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Harness } from './harness.js'
import { appendOffset, entryBytes } from '../../protocols/replication/offsets.js'

test('an entry commits only once a majority of voters holds it durably', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  assert.equal(h.node('n0').core.commitEnd, 1, 'the no-op commits with every node up')
  h.cut.add('n1')
  h.cut.add('n2')
  const first = h.propose('n0', ['a', 'b'])
  assert.equal(first, 1)
  h.advance(300)
  assert.equal(h.node('n0').core.commitEnd, 1, 'the leader alone is no majority')
  h.cut.delete('n1')
  h.stalled.add('n1')
  h.advance(1000)
  assert.equal(h.node('n0').core.commitEnd, 1, 'received but not durable on n1: not acknowledged, not committed')
  h.stalled.delete('n1')
  h.advance(1000)
  assert.equal(h.node('n0').core.commitEnd, 2, 'durable on n0 and n1: committed')
  assert.deepEqual(h.text('n1'), ['1:', '1:a,b'], 'one append, one entry')
  assert.deepEqual(h.text('n2'), ['1:'], 'n2 was cut off')
  h.cut.delete('n2')
  h.advance(1000)
  assert.deepEqual(h.text('n2'), h.text('n0'), 'n2 catches up')
  assert.equal(h.node('n2').core.commitEnd, 2, 'and learns the commit')
})

test('entries of an older epoch are not committed by counting replicas (Raft §5.4.2)', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { batchMaxEntries: 1 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n1')
  h.cut.add('n2')
  h.propose('n0', ['old'])
  h.settle()
  assert.deepEqual(h.text('n0'), ['1:', '1:old'])
  // n0 wins epoch 3 again and opens it with its no-op at index 2; the old entry reaches n1, the no-op reaches nobody.
  h.cut.clear()
  h.cut.add('n2')
  h.filter = (m) => !(m.message.kind === 'append' && m.message.entries.some((e) => e.epoch === 3))
  h.elect('n0', 3)
  h.advance(1000)
  assert.deepEqual(h.text('n1'), ['1:', '1:old'], 'n1 holds the old entry, not the no-op')
  assert.equal(h.node('n0').core.commitEnd, 1, 'index 1 is on a majority but is of epoch 1: not committed by epoch 3')
  h.filter = () => true
  h.advance(1000)
  assert.equal(h.node('n0').core.commitEnd, 3, 'once the epoch-3 no-op is on a majority, both commit')
})

test('a conflicting suffix is cut and replaced; the matching prefix stays', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.propose('n0', ['a'])
  h.settle()
  // n0 appends x, y that only it holds, then n2 leads epoch 2 without them.
  h.cut.add('n0')
  h.propose('n0', ['x', 'y'])
  h.settle()
  h.cut.delete('n0')
  assert.deepEqual(h.text('n0'), ['1:', '1:a', '1:x,y'])
  h.elect('n2', 2)
  h.propose('n2', ['b'])
  h.settle()
  h.advance(1000)
  assert.deepEqual(h.text('n0'), ['1:', '1:a', '2:', '2:b'], 'x and y are replaced by the new leader entries')
  assert.deepEqual(h.text('n1'), h.text('n2'))
  assert.equal(h.node('n2').core.commitEnd, 4)
  const cut = h.node('n0').positions.find((p) => p.beforeOp?.kind === 'write' && p.beforeOp.from === 2 && p.beforeOp.entries[0]?.epoch === 2)
  assert.ok(cut?.beforeOp?.kind === 'write', 'n0 reported a position before cutting')
  assert.deepEqual(cut.position, { epoch: 2, index: 2 + cut.beforeOp.entries.length }, 'the position covers the write about to start')
})

test("a stale leader's append is refused and the stale leader learns the newer epoch", () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  // n1 and n2 now follow n2 in epoch 2, but n0 has not heard.
  h.node('n1').following = { leader: 'n2', epoch: 2 }
  h.node('n2').following = { leader: 'n2', epoch: 2 }
  h.node('n2').core.lead(2, h.ids, h.now)
  h.node('n2').flush()
  h.queue = h.queue.filter((m) => m.to !== 'n0')
  h.propose('n0', ['late'])
  h.settle()
  assert.deepEqual(h.text('n1'), ['1:', '2:'], 'n1 did not take the stale append')
  assert.equal(h.node('n0').core.commitEnd, 1, 'the stale entry is not committed')
  assert.equal(h.node('n0').core.deposedByEpoch, 2, 'n0 heard of epoch 2')
  assert.equal(h.node('n0').core.leaderEpoch, undefined)
})

test('a follower behind the compaction point is reset to the leader start, then caught up', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  for (let i = 0; i < 5; i++) h.propose('n0', [`e${i}`])
  h.advance(200)
  assert.equal(h.node('n0').core.commitEnd, 6)
  h.node('n0').core.compact(4)
  h.node('n0').flush()
  h.settle()
  assert.equal(h.node('n0').log.start, 4)
  h.propose('n0', ['after'])
  h.advance(200)
  assert.equal(h.node('n1').log.start, 4, 'n1 compacts below its commit as told')
  h.cut.delete('n2')
  h.advance(1000)
  const n2 = h.node('n2')
  assert.equal(n2.log.start, 4, 'n2 was reset to the leader start')
  assert.equal(n2.log.prevEpoch, 1)
  assert.deepEqual(h.text('n2'), h.text('n0'))
  assert.equal(n2.core.commitEnd, 7)
})

test('flow control: at most `window` appends are in flight to a follower', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { window: 2, batchMaxEntries: 1, retryMs: 10_000 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n1')
  for (let i = 0; i < 10; i++) h.propose('n0', [`e${i}`])
  const toN1 = h.queue.filter((m) => m.to === 'n1' && m.message.kind === 'append')
  assert.equal(toN1.length, 2, 'two appends to the silent follower')
  assert.deepEqual(
    h
      .node('n0')
      .core.followers()
      .find((f) => f.node === 'n1')?.inFlight,
    2,
  )
  h.advance(500)
  assert.equal(h.dropped.filter((m) => m.to === 'n1' && m.message.kind === 'append').length, 2, 'nothing more is sent while unanswered')
  h.cut.delete('n1')
  h.advance(20_000, 1000)
  assert.deepEqual(h.text('n1'), h.text('n0'), 'the follower catches up once answers flow')
})

test('an append in flight is resent only once its follower has been silent for retryMs too: a slow follower that answers gets no copies, a silent one does', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { window: 2, batchMaxEntries: 1, retryMs: 500, heartbeatMs: 100 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  // Appends to n1 are held back (they wait in `dropped`) until let through one by one.
  h.filter = (m) => !(m.to === 'n1' && m.message.kind === 'append')
  h.propose('n0', ['e0'])
  h.propose('n0', ['e1'])
  h.settle()
  const toN1 = (): Array<(typeof h.dropped)[number]> => h.dropped.filter((m) => m.to === 'n1' && m.message.kind === 'append')
  const copiesOfIndex = (index: number): number => toN1().filter((m) => m.message.kind === 'append' && m.message.entries.some((e) => e.index === index)).length
  assert.equal(toN1().length, 2, 'the window is full: e0 and e1 are in flight')
  h.advance(450)
  // n1 answers the first append late (a busy follower): the leader hears from it.
  const first = toN1()[0]!
  h.dropped.splice(h.dropped.indexOf(first), 1)
  h.filter = (m) => m === first || !(m.to === 'n1' && m.message.kind === 'append')
  h.queue.push(first)
  h.settle()
  assert.equal(
    h
      .node('n0')
      .core.followers()
      .find((f) => f.node === 'n1')?.match,
    2,
    'n1 acknowledged e0',
  )
  h.advance(400)
  assert.equal(copiesOfIndex(2), 1, 'e1 is older than retryMs, but n1 answered 400 ms ago: not sent again')
  h.advance(200)
  assert.equal(copiesOfIndex(2), 2, 'n1 silent for retryMs as well: e1 is sent again')
  h.filter = () => true
  h.advance(2000)
  assert.deepEqual(h.text('n1'), h.text('n0'), 'n1 catches up once its appends get through')
})

test("an append's resend waits for the follower's measured round trip (plus four deviations) when that exceeds retryMs, and no longer", () => {
  const h = new Harness(['n0', 'n1', 'n2'], { window: 4, batchMaxEntries: 1, retryMs: 500, heartbeatMs: 10_000, idleHeartbeatMs: 10_000 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  const toN1 = (m: (typeof h.dropped)[number]): boolean => m.to === 'n1' && m.message.kind === 'append'
  h.filter = (m) => !toN1(m)
  const release = (): void => {
    const held = h.dropped.filter(toN1)
    h.dropped = h.dropped.filter((m) => !toN1(m))
    h.filter = () => true
    h.queue.push(...held)
    h.settle()
    h.filter = (m) => !toN1(m)
  }
  // Six appends, each answered 450 ms after it was sent: within retryMs, so never resent.
  for (let k = 0; k < 6; k++) {
    h.propose('n0', [`e${k}`])
    h.advance(450, 10)
    release()
  }
  assert.equal(h.node('n0').core.commitEnd, 7, 'n1 acknowledged all six')
  const index = h.propose('n0', ['slow'])
  const copies = (): number => h.dropped.filter((m) => toN1(m) && m.message.kind === 'append' && m.message.entries.some((e) => e.index === index)).length
  // The first ack (the no-op's) came at once, then six at 450 ms: SRTT 248 ms, RTTVAR 244 ms, so
  // the bound is 248 + 4 * 244 = 1,223 ms.
  h.advance(1200, 10)
  assert.equal(copies(), 1, 'unanswered for 1,200 ms (over retryMs) but within the round trip plus four deviations: not resent')
  h.advance(100, 10)
  assert.equal(copies(), 2, 'unanswered beyond it: resent')
  release()
  assert.equal(h.node('n0').core.commitEnd, 8)
})

test('a leader reads back entries it no longer buffers', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { bufferMaxBytes: 4, batchMaxEntries: 2 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  for (let i = 0; i < 10; i++) h.propose('n0', [`entry-${i}`])
  h.advance(200)
  h.cut.delete('n2')
  h.advance(2000)
  assert.deepEqual(h.text('n2'), h.text('n0'))
  assert.equal(h.node('n2').core.commitEnd, 11)
})

test('appends of read-back entries keep to the byte budget, like buffered ones (else they outgrow the frame and are refused for ever)', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { bufferMaxBytes: 4, batchMaxBytes: 25 })
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  for (let i = 0; i < 20; i++) h.propose('n0', [`entry-${String(i).padStart(2, '0')}`])
  h.advance(200)
  h.cut.delete('n2')
  let largest = 0
  h.filter = (msg) => {
    if (msg.to === 'n2' && msg.message.kind === 'append')
      largest = Math.max(
        largest,
        msg.message.entries.reduce((sum, e) => sum + entryBytes(e), 0),
      )
    return true
  }
  h.advance(3000)
  assert.deepEqual(h.text('n2'), h.text('n0'))
  assert.ok(largest > 0 && largest <= 25, `an append to n2 carried ${largest} bytes`)
})

test('a restarted leader reports its durable position and never commits what it did not write', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.propose('n0', ['a'])
  h.settle()
  h.stalled.add('n0')
  h.cut.add('n1')
  h.cut.add('n2')
  h.propose('n0', ['lost'])
  const before = h.node('n0').positions.at(-1)!
  assert.deepEqual(before.position, { epoch: 1, index: 3 }, 'reported before the write')
  h.node('n0').restart()
  assert.deepEqual(h.node('n0').core.position(), { epoch: 1, index: 2 }, 'after the crash the unfinished write is gone')
})

test('a follower behind a pipelined leader writes the queued appends as one write, acknowledging each only once durable', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  h.stalled.add('n1')
  h.propose('n0', ['a'])
  h.propose('n0', ['b'])
  h.propose('n0', ['c'])
  h.settle()
  const n1 = h.node('n1')
  assert.deepEqual(n1.op?.kind === 'write' ? n1.op.entries.map((e) => e.index) : undefined, [1], 'n1 writes the first append while the others queue')
  n1.completeOp()
  assert.deepEqual(n1.op?.kind === 'write' ? n1.op.entries.map((e) => e.index) : undefined, [2, 3], 'the two queued appends become one write')
  h.settle()
  assert.equal(h.node('n0').core.commitEnd, 2, 'only the durable entry is acknowledged')
  h.stalled.delete('n1')
  h.settle()
  assert.equal(h.node('n0').core.commitEnd, 4, 'both queued entries are acknowledged after the merged write')
  assert.deepEqual(h.text('n1'), ['1:', '1:a', '1:b', '1:c'])
})

test('a settled follower gets a heartbeat every idleHeartbeatMs; one with news (a new commit index) or an unanswered append gets one every heartbeatMs', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { heartbeatMs: 100, idleHeartbeatMs: 1000, retryMs: 10_000 })
  h.elect('n0', 1)
  h.settle()
  h.advance(500)
  let sent = 0
  h.filter = (m) => {
    if (m.from === 'n0' && m.message.kind === 'append') sent++
    return true
  }
  h.advance(3000)
  assert.ok(sent >= 4 && sent <= 8, `settled: ${sent} appends to two followers in 3 s, about 3 each`)
  // A commit the followers do not know yet goes out at the fast pace, then the pace slows again.
  h.propose('n0', ['a'])
  h.settle()
  sent = 0
  h.advance(150)
  assert.ok(sent >= 2, `the new commit index reached both followers within 150 ms (${sent} appends)`)
  assert.equal(h.node('n1').core.commitEnd, 2)
  assert.equal(h.node('n2').core.commitEnd, 2)
  // A follower that stops answering is probed at the fast pace (until the window is full).
  sent = 0
  h.filter = (m) => {
    if (m.to === 'n2' && m.message.kind === 'append') sent++
    return m.to !== 'n2' && m.from !== 'n2'
  }
  h.advance(1500)
  assert.ok(sent >= 3, `an unanswered follower got ${sent} appends in 1.5 s`)
})

test('a settled learner gets its idle heartbeat every learnerIdleHeartbeatMs, entries and commits at once, and the voter pace once promoted', () => {
  const h = new Harness(['n0', 'n1', 'n2', 'n3'], { heartbeatMs: 100, idleHeartbeatMs: 1000, learnerIdleHeartbeatMs: 5000, retryMs: 10_000 })
  h.elect('n0', 1)
  h.node('n0').core.setVoters(['n0', 'n1', 'n2'], h.now, ['n3'])
  h.node('n0').flush()
  h.settle()
  h.advance(500)
  const sent = new Map<string, number>()
  h.filter = (m) => {
    if (m.from === 'n0' && m.message.kind === 'append') sent.set(m.to, (sent.get(m.to) ?? 0) + 1)
    return true
  }
  h.advance(10_000)
  assert.ok((sent.get('n1') ?? 0) >= 9 && (sent.get('n1') ?? 0) <= 11, `a voter: ${sent.get('n1')} idle heartbeats in 10 s`)
  assert.ok((sent.get('n3') ?? 0) >= 1 && (sent.get('n3') ?? 0) <= 3, `the learner: ${sent.get('n3')} idle heartbeats in 10 s`)
  const due = h.node('n0').core.nextTickMs(h.now)
  assert.ok(due !== undefined && due <= h.now + 1000, "the voters' heartbeats keep the leader ticking every second")
  h.propose('n0', ['a'])
  h.settle()
  h.advance(150)
  assert.deepEqual(h.text('n3'), ['1:', '1:a'], 'a new entry reaches the learner at once')
  assert.equal(h.node('n3').core.commitEnd, 2, 'and so does its commit')
  h.node('n0').core.setVoters(['n0', 'n1', 'n2', 'n3'], h.now)
  h.node('n0').flush()
  h.settle()
  h.advance(500)
  sent.clear()
  h.advance(10_000)
  assert.ok((sent.get('n3') ?? 0) >= 9, `promoted to voter: ${sent.get('n3')} idle heartbeats in 10 s`)
})

test('nextTickMs: nothing for a lone leader or a follower, the idle heartbeat for settled followers, now for one with news', () => {
  const lone = new Harness(['n0'], { heartbeatMs: 100, idleHeartbeatMs: 1000 })
  lone.elect('n0', 1)
  lone.settle()
  assert.equal(lone.node('n0').core.nextTickMs(lone.now), undefined, 'a leader without followers has nothing time-driven')
  const h = new Harness(['n0', 'n1', 'n2'], { heartbeatMs: 100, idleHeartbeatMs: 1000, retryMs: 10_000 })
  h.elect('n0', 1)
  h.settle()
  h.advance(2000)
  assert.equal(h.node('n1').core.nextTickMs(h.now), undefined, 'a follower: nothing')
  const due = h.node('n0').core.nextTickMs(h.now)
  assert.ok(due !== undefined && due > h.now && due <= h.now + 1000, `settled: the next idle heartbeat (${due} at ${h.now})`)
  h.propose('n0', ['a'])
  assert.equal(h.node('n0').core.nextTickMs(h.now), h.now, 'an entry not yet on the followers: due now')
})

test('a coalesced follower write is acknowledged with one reply, not one per merged append', () => {
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n2')
  h.stalled.add('n1')
  for (const p of ['a', 'b', 'c', 'd']) h.propose('n0', [p])
  h.settle()
  const n1 = h.node('n1')
  n1.completeOp()
  assert.deepEqual(n1.op?.kind === 'write' ? n1.op.entries.map((e) => e.index) : undefined, [2, 3, 4], 'three queued appends merged into one write')
  h.queue = h.queue.filter((m) => m.from !== 'n1')
  n1.completeOp()
  const replies = h.queue.filter((m) => m.from === 'n1' && m.message.kind === 'reply')
  assert.deepEqual(
    replies.map((m) => (m.message.kind === 'reply' ? [m.message.ok, m.message.end] : undefined)),
    [[true, 5]],
    'one acknowledgement covers the merged appends',
  )
  h.stalled.delete('n1')
  h.settle()
  assert.equal(h.node('n0').core.commitEnd, 5, 'the leader commits everything the merged write made durable')
  assert.deepEqual(
    h
      .node('n0')
      .core.followers()
      .find((f) => f.node === 'n1')?.inFlight,
    0,
    'and holds nothing in flight to n1',
  )
})

test('matchesVersion changes exactly when a follower joins, leaves or acknowledges more', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { heartbeatMs: 100, idleHeartbeatMs: 100 })
  h.elect('n0', 1)
  h.settle()
  const core = h.node('n0').core
  const matches = (): string => JSON.stringify(core.followers().map((f) => [f.node, f.match]))
  let version = core.matchesVersion
  let seen = matches()
  h.advance(500)
  assert.equal(matches(), seen, 'heartbeats acknowledge nothing new')
  assert.equal(core.matchesVersion, version, 'so the version stays')
  h.propose('n0', ['a'])
  h.settle()
  assert.notEqual(matches(), seen)
  assert.notEqual(core.matchesVersion, version, 'an acknowledgement of more entries changes it')
  version = core.matchesVersion
  seen = matches()
  core.setVoters(['n0', 'n1'], h.now)
  assert.notEqual(matches(), seen)
  assert.notEqual(core.matchesVersion, version, 'a follower removed changes it')
})

test('a node that leads again while its previous leadership is still writing reads back only durable entries (no assertion), and catches followers up once the write lands', () => {
  // Seen in the failover-history bench under load: a lease lapsed mid-write and came back; stepping
  // down had emptied the buffer, so entries neither buffered nor durable were asked of the log
  // ("read of N beyond the durable end M"), and the replicator actor failed.
  const h = new Harness(['n0', 'n1', 'n2'])
  h.elect('n0', 1)
  h.settle()
  h.cut.add('n1')
  h.stalled.add('n0')
  h.propose('n0', ['a', 'b'])
  h.advance(200)
  assert.deepEqual(h.text('n0'), ['1:'], 'the leader write of a, b is under way')
  const n0 = h.node('n0')
  n0.core.stepDown()
  n0.core.lead(1, h.ids, h.now)
  n0.flush()
  h.cut.delete('n1')
  h.advance(1000)
  assert.deepEqual(h.text('n1'), ['1:'], 'n1 waits: what it lacks is not durable on n0 yet and no longer buffered')
  h.stalled.delete('n0')
  h.advance(1000)
  assert.deepEqual(h.text('n0'), ['1:', '1:a,b', '1:'])
  assert.deepEqual(h.text('n1'), h.text('n0'), 'n1 catches up by read-back once the write is durable')
  assert.equal(n0.core.commitEnd, 3)
})

test('an append beyond the byte budget of an entry is split into entries whose records keep consecutive offsets', () => {
  const h = new Harness(['n0', 'n1', 'n2'], { batchMaxBytes: 40 })
  h.elect('n0', 1)
  h.settle()
  // Records of 10 bytes weigh 14 with their framing: two per entry, and one record alone above the budget.
  const records = ['r0', 'r1', 'r2', 'r3', 'r4'].map((r) => r.padEnd(10, '.'))
  const first = h.propose('n0', [...records, 'big'.padEnd(60, '.'), 'r6'.padEnd(10, '.')])
  h.advance(500)
  const entries = h.node('n2').log.entries.slice(1)
  assert.deepEqual(
    entries.map((e) => [e.index, e.offset - appendOffset(first), e.payloads.length]),
    [
      [1, 0, 2],
      [2, 2, 2],
      [3, 4, 1],
      [4, 5, 1],
      [5, 6, 1],
    ],
  )
  assert.equal(first, 1)
  assert.equal(h.node('n0').core.commitEnd, 6, 'all of it committed')
  const next = h.propose('n0', ['n'])
  assert.equal(next, 6, 'the next append starts at its own entry, at that entry index times the stride')
})
