// Goal: the coordination core's election rules hold when driven directly, with a manual clock and
// records handed from node to node: Raft's up-to-date rule for pre-votes and votes, resigning.
// Method: ClusterCore instances with a shared configuration, a tiny in-memory gossip loop.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, LEASE_STRETCH_MAX, QUIET_WARNING_MS, compareLogs, type ClusterOptions } from '../../src/cluster/core.js'
import { emptyMetrics, type ClusterConfig, type LogPosition, type MemberRecord, type PersistedClusterState } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100 }
/** Beyond every wait a restarted member makes before it grants or campaigns (the longest lease a leader grants). */
const AFTER_LEASE = LEASE_STRETCH_MAX * 500 * 1.02 + 100

function persisted(members: string[]): PersistedClusterState {
  return { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members, workers: [] }, clusterId: 'c' }
}

function core(self: string, members: string[], nowMs = 0): ClusterCore {
  return new ClusterCore({ self, addresses: [], persisted: persisted(members), founder: false, options: OPTIONS, random: new SeededRandom(self), nowMs })
}

/** Nodes that gossip every record to every other live node at once. */
class Gossip {
  nowMs = 0
  readonly down = new Set<string>()
  /** Links that lose every record, as `from>to`. */
  readonly blocked = new Set<string>()
  readonly sent: MemberRecord[] = []
  /** Delay of every delivery (an overloaded host: records arrive late, in order). */
  latencyMs = 0
  /** How often each live node's timer fires (an overloaded host: later than the driver's pace). */
  tickEveryMs = 10
  private readonly inFlight: { atMs: number; record: MemberRecord; to: ClusterCore }[] = []
  constructor(readonly cores: ClusterCore[]) {}

  node(id: string): ClusterCore {
    return this.cores.find((c) => c.self === id)!
  }

  /** Advances time in 10 ms steps, ticking and delivering until quiet at each step. */
  run(ms: number): void {
    for (const end = this.nowMs + ms; this.nowMs < end;) {
      this.nowMs += 10
      const live = this.cores.filter((c) => !this.down.has(c.self))
      while (this.inFlight.length > 0 && this.inFlight[0]!.atMs <= this.nowMs) {
        const { record, to } = this.inFlight.shift()!
        if (!this.down.has(to.self)) to.receive(record, this.nowMs)
      }
      if (this.nowMs % this.tickEveryMs === 0) for (const c of live) c.tick(this.nowMs)
      for (let round = 0; round < 10; round++) {
        let published = false
        for (const c of live) {
          const record = c.takeReady(this.nowMs).publish
          if (record === undefined) continue
          published = true
          this.sent.push(record)
          for (const other of live) {
            if (other === c || this.blocked.has(`${c.self}>${other.self}`)) continue
            if (this.latencyMs > 0) this.inFlight.push({ atMs: this.nowMs + this.latencyMs, record, to: other })
            else other.receive(record, this.nowMs)
          }
        }
        if (!published) break
      }
    }
  }

  leaders(): string[] {
    return this.cores.filter((c) => !this.down.has(c.self) && c.holdsLease(this.nowMs)).map((c) => c.self)
  }
}

const MEMBERS = ['n0', 'n1', 'n2']

/** n1 as a voter that has waited out the lease after boot, and a record of n0 asking for support. */
function voterAndCandidate(voterLog: LogPosition | null): { voter: ClusterCore; ask: (fields: Partial<MemberRecord>) => MemberRecord } {
  const voter = core('n1', MEMBERS)
  if (voterLog !== null) voter.setLogPosition(voterLog)
  voter.tick(AFTER_LEASE)
  const candidate = core('n0', MEMBERS)
  return { voter, ask: (fields) => ({ ...candidate.record(AFTER_LEASE), ...fields }) }
}

test('compareLogs orders by epoch, then index; an unset position equals everything', () => {
  assert.ok(compareLogs({ epoch: 2, index: 1 }, { epoch: 1, index: 99 }) > 0)
  assert.ok(compareLogs({ epoch: 1, index: 5 }, { epoch: 1, index: 6 }) < 0)
  assert.equal(compareLogs({ epoch: 1, index: 5 }, { epoch: 1, index: 5 }), 0)
  assert.equal(compareLogs(null, { epoch: 9, index: 9 }), 0)
  assert.equal(compareLogs({ epoch: 9, index: 9 }, null), 0)
})

test('a candidate whose log is behind the voter’s gets neither a pre-vote nor a vote', () => {
  for (const behind of [
    { epoch: 2, index: 9 },
    { epoch: 1, index: 50 },
  ]) {
    const { voter, ask } = voterAndCandidate({ epoch: 2, index: 10 })
    voter.receive(ask({ preVote: 1, log: behind }), AFTER_LEASE)
    assert.equal(voter.record(AFTER_LEASE).grant, null, `no pre-vote for ${JSON.stringify(behind)}`)
    voter.receive(ask({ epoch: 1, vote: 'n0', log: behind }), AFTER_LEASE)
    assert.equal(voter.currentEpoch, 0, 'no vote: the voter did not move to the candidate’s epoch')
    assert.equal(voter.record(AFTER_LEASE).vote, null)
  }
})

test('a candidate at least as up to date gets the pre-vote and the vote', () => {
  for (const log of [{ epoch: 2, index: 10 }, { epoch: 2, index: 11 }, { epoch: 3, index: 1 }, null]) {
    const { voter, ask } = voterAndCandidate({ epoch: 2, index: 10 })
    voter.receive(ask({ preVote: 1, log }), AFTER_LEASE)
    assert.deepEqual(voter.record(AFTER_LEASE).grant, { candidate: 'n0', epoch: 1 }, `pre-vote for ${JSON.stringify(log)}`)
    voter.receive(ask({ epoch: 1, vote: 'n0', log }), AFTER_LEASE)
    assert.equal(voter.currentEpoch, 1)
    assert.equal(voter.record(AFTER_LEASE).vote, 'n0')
  }
})

test('a voter that has just voted neither grants another candidate a pre-vote for the next epoch nor asks for one, until a round has passed', () => {
  const { voter, ask } = voterAndCandidate(null)
  const other = core('n2', MEMBERS)
  // Ticks every 50 ms, as a driver does: a gap would count as observed lag and stretch the rounds.
  const tickTo = (c: ClusterCore, from: number, to: number): void => {
    for (let t = from; t <= to; t += 50) c.tick(t)
  }
  const at = AFTER_LEASE + 1_000
  tickTo(voter, AFTER_LEASE, at)
  voter.receive(ask({ epoch: 1, vote: 'n0' }), at)
  assert.equal(voter.record(at).vote, 'n0')
  // n2 lost epoch 1 (or never heard n0 win) and asks for epoch 2 before n0's first lease sequence arrives.
  const asking = (t: number): MemberRecord => ({ ...other.record(t), epoch: 1, vote: 'n0', preVote: 2 })
  voter.receive(asking(at + 50), at + 50)
  voter.tick(at + 50)
  const early = voter.record(at + 50)
  assert.equal(early.grant, null, 'no pre-vote for n2 right after the vote for n0')
  assert.equal(early.preVote, null, 'nor a pre-vote of its own')
  // n0 never leads: after the hold (a pre-vote round and a gossip interval, 400 ms here, more with
  // the lag this core observed) n2 gets the pre-vote for epoch 2.
  let grantedAt: number | undefined
  for (let t = at + 100; t <= at + 20_000 && grantedAt === undefined; t += 50) {
    voter.tick(t)
    voter.receive(asking(t), t)
    if (voter.record(t).grant?.candidate === 'n2') grantedAt = t
  }
  assert.ok(grantedAt !== undefined && grantedAt - at >= 400, `granted ${grantedAt === undefined ? 'never' : `${grantedAt - at} ms after the vote`}`)
  assert.deepEqual(voter.record(grantedAt).grant, { candidate: 'n2', epoch: 2 })
  // The candidate it voted for may ask again at once (it lost its epoch and knows it).
  const again = voterAndCandidate(null)
  again.voter.receive(again.ask({ epoch: 1, vote: 'n0' }), at)
  again.voter.receive(again.ask({ epoch: 1, vote: 'n0', preVote: 2 }), at + 50)
  assert.deepEqual(again.voter.record(at + 50).grant, { candidate: 'n0', epoch: 2 })
})

test('a voter that keeps no log (position never set) supports any candidate, as before the rule', () => {
  const { voter, ask } = voterAndCandidate(null)
  voter.receive(ask({ preVote: 1, log: { epoch: 0, index: 0 } }), AFTER_LEASE)
  assert.deepEqual(voter.record(AFTER_LEASE).grant, { candidate: 'n0', epoch: 1 })
})

test('equal logs still elect, and the oldest member leads', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  for (const c of g.cores) c.setLogPosition({ epoch: 3, index: 40 })
  g.run(3000)
  assert.deepEqual(g.leaders(), ['n0'])
})

test('the member with the shortest log never leads; one of the up-to-date ones does', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.node('n0').setLogPosition({ epoch: 3, index: 39 })
  g.node('n1').setLogPosition({ epoch: 3, index: 40 })
  g.node('n2').setLogPosition({ epoch: 3, index: 40 })
  g.run(3000)
  assert.deepEqual(g.leaders(), ['n1'])
  const votesForN0 = g.sent.filter((r) => r.node !== 'n0' && (r.vote === 'n0' || r.grant?.candidate === 'n0'))
  assert.deepEqual(votesForN0, [], 'nobody granted n0 anything')
  // With n1 gone, n2 (up to date) takes over; n0 still cannot.
  g.down.add('n1')
  g.run(3000)
  assert.deepEqual(g.leaders(), ['n2'])
})

test('a leader that resigns steps down at once, says why, and does not campaign for 3 leases', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(2000)
  assert.deepEqual(g.leaders(), ['n0'])
  const n0 = g.node('n0')
  const epoch = n0.leaderEpoch!
  const resignedAt = g.nowMs
  n0.resign('job log unusable', g.nowMs)
  assert.equal(n0.holdsLease(g.nowMs), false)
  assert.equal(n0.leaderEpoch, null)
  assert.equal(n0.view(g.nowMs).resigned, 'job log unusable')
  const sentBefore = g.sent.length
  g.run(1000)
  assert.equal(g.leaders().length, 1)
  assert.notEqual(g.leaders()[0], 'n0')
  assert.ok(g.node(g.leaders()[0]!).leaderEpoch! > epoch)
  const holdOffEnd = resignedAt + 3 * OPTIONS.leaseMs!
  const campaigning = g.sent.slice(sentBefore).filter((r) => r.node === 'n0' && (r.preVote !== null || (r.vote === 'n0' && r.epoch > epoch)))
  assert.deepEqual(campaigning, [], 'n0 did not ask for votes during the hold-off')
  assert.ok(g.nowMs < holdOffEnd)
  assert.equal(n0.view(g.nowMs).leader?.nodeId, g.leaders()[0], 'n0 follows the new leader')
})

test('a resigned node campaigns again after the hold-off when nobody else can lead', () => {
  const solo = core('n0', ['n0'])
  const g = new Gossip([solo])
  g.run(AFTER_LEASE + 500)
  assert.deepEqual(g.leaders(), ['n0'])
  solo.resign('scheduler failed', g.nowMs)
  g.run(3 * OPTIONS.leaseMs! - 100)
  assert.deepEqual(g.leaders(), [], 'held off')
  g.run(1000)
  assert.deepEqual(g.leaders(), ['n0'])
  assert.equal(solo.view(g.nowMs).resigned, undefined, 'leading again clears the reason')
})

test('a leader whose voters echo its sequences later than the lease, but echo new ones, keeps its epoch through the lapse', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(2000)
  const n0 = g.node('n0')
  const epoch = n0.leaderEpoch
  assert.deepEqual(g.leaders(), ['n0'])
  // Every record arrives 1.6 leases late, so no sequence comes back within even the longest lease
  // (an overloaded host); the voters still echo each new one, and hear n0 without gaps.
  g.latencyMs = 1.6 * OPTIONS.leaseMs!
  g.run(10 * OPTIONS.leaseMs!)
  assert.deepEqual(g.leaders(), [], 'the lease lapses: nobody acts')
  assert.equal(n0.leaderEpoch, epoch, 'n0 still leads its epoch (rule 6 counts echoes that advance)')
  assert.equal(n0.stepDownReason, undefined)
  for (const id of ['n1', 'n2']) assert.equal(g.node(id).view(g.nowMs).leader?.nodeId, 'n0', `${id} follows n0`)
  g.latencyMs = 0
  g.run(3 * OPTIONS.leaseMs!)
  assert.deepEqual(g.leaders(), ['n0'], 'the lease comes back in the same epoch')
  assert.equal(n0.leaderEpoch, epoch)
})

test('a new leader whose first echoes come back later than a lease keeps its epoch and gets its lease: its votes came over the same paths', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  // Every record arrives 0.8 leases late from the start (an overloaded host): each round trip,
  // the votes' and then the first echoes', takes 1.6 leases.
  g.latencyMs = 0.8 * OPTIONS.leaseMs!
  g.run(AFTER_LEASE + 12 * OPTIONS.leaseMs!)
  const leaders = g.cores.filter((c) => c.leaderEpoch !== null)
  assert.equal(leaders.length, 1)
  const [leader] = leaders
  assert.deepEqual(g.leaders(), [leader!.self], 'its lease holds')
  assert.equal(leader!.leaderEpoch, 1, 'the first epoch: no leader stepped down for want of echoes (they came one round trip after its first record, as its votes did)')
  assert.ok(g.cores.every((c) => c.stepDownReason === undefined))
})

test('a leader asks for no pre-vote: one it asked for the next epoch while its votes were on the way ends when it wins', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  // Records 0.8 leases late: the candidacy's window runs out before the votes come back, and the
  // candidate asks for pre-votes for the next epoch meanwhile.
  g.latencyMs = 0.8 * OPTIONS.leaseMs!
  g.run(AFTER_LEASE + 12 * OPTIONS.leaseMs!)
  const leads = g.sent.filter((r) => r.leaderSeq !== null)
  assert.ok(leads.length > 10, `${leads.length} records of a leader`)
  const asking = leads.filter((r) => r.preVote !== null)
  assert.deepEqual(
    asking.map((r) => `${r.node} leads ${r.epoch}, asks for ${r.preVote}`),
    [],
    'the leader’s records ask for no pre-vote',
  )
})

test('a leader whose sequences come back later than the lease stretches it and holds it, and grants the configured lease again once they are prompt', () => {
  const leaseMs = OPTIONS.leaseMs!
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(3000)
  assert.deepEqual(g.leaders(), ['n0'])
  const last = (id: string): MemberRecord => g.sent.filter((r) => r.node === id).at(-1)!
  assert.equal(last('n0').leaseMs, undefined, 'prompt echoes: the configured lease, which goes unsaid')
  // Each sequence comes back 1.4 leases after it was sent.
  g.latencyMs = 0.7 * leaseMs
  g.run(10 * leaseMs)
  assert.deepEqual(g.leaders(), ['n0'], 'the lease holds')
  const granted = last('n0').leaseMs!
  assert.ok(granted >= 2 * 1.4 * leaseMs - 10 && granted <= LEASE_STRETCH_MAX * leaseMs, `granted ${granted}`)
  for (const id of ['n1', 'n2']) assert.ok(last(id).leaseMs! > 1.4 * leaseMs, `${id} echoes the lease it waits out: ${last(id).leaseMs}`)
  g.latencyMs = 0
  g.run(20 * leaseMs)
  assert.equal(last('n0').leaseMs, undefined, 'the round trip is forgotten')
  assert.deepEqual(g.leaders(), ['n0'])
})

test('a follower grants nothing before the longest lease it echoed has ended, though a later sequence carries a shorter one', () => {
  const leaseMs = OPTIONS.leaseMs!
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(3000)
  const n0 = g.node('n0')
  assert.deepEqual(g.leaders(), ['n0'])
  g.down.add('n0')
  // n1 alone hears two more sequences of n0: the first granted with the longest lease, the next with the configured one.
  const t = g.nowMs
  g.node('n1').receive({ ...n0.record(t), leaseMs: LEASE_STRETCH_MAX * leaseMs }, t)
  g.node('n1').receive(n0.record(t), t)
  // n2 campaigns a lease after its last sequence; it needs n1's grant, which waits for the first lease.
  g.run(LEASE_STRETCH_MAX * leaseMs * (1 + 0.02) - 50)
  assert.deepEqual(g.leaders(), [], 'no leader while n1 may still count for n0')
  g.run(3 * leaseMs)
  assert.equal(g.leaders().length, 1)
})

test('a lone voter whose own records were late keeps leading its epoch; a leader of three steps down and says what the voters echoed', () => {
  const solo = core('n0', ['n0'])
  const alone = new Gossip([solo])
  alone.run(AFTER_LEASE + 500)
  const epoch = solo.leaderEpoch
  assert.notEqual(epoch, null)
  // A stall of its own event loop far beyond the lease and the largest lag the core adds.
  alone.nowMs += 20 * OPTIONS.leaseMs!
  alone.run(50)
  assert.equal(solo.leaderEpoch, epoch, 'nobody else could lead: stepping down would only cost a new epoch')
  assert.equal(solo.stepDownReason, undefined)
  assert.deepEqual(alone.leaders(), ['n0'], 'its next record renews the lease')

  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(2000)
  const n0 = g.node('n0')
  assert.deepEqual(g.leaders(), ['n0'])
  // n0 goes on ticking, but its records reach nobody: no echo comes back.
  for (const to of ['n1', 'n2']) g.blocked.add(`n0>${to}`)
  g.run(OPTIONS.leaseMs! / 2)
  g.down.add('n1')
  g.down.add('n2')
  g.run(4 * OPTIONS.leaseMs!)
  assert.equal(n0.leaderEpoch, null)
  assert.equal(n0.stepDownReason, 'no-quorum')
  const echoes = n0.lastEchoes!
  assert.deepEqual(echoes.map((e) => e.node).sort(), ['n1', 'n2'])
  assert.ok(
    echoes.every((e) => e.heardMsAgo !== null && e.heardMsAgo > OPTIONS.leaseMs! && e.echoedMsAgo !== null && e.echoedMsAgo > e.heardMsAgo),
    JSON.stringify(echoes),
  )
  // What each voter's last record said, so that a log line shows why it echoed nothing newer.
  assert.ok(
    echoes.every((e) => /^up, configuration 0\.1, follows this node in epoch 1 \(sequence \d+ of \d+\)$/.test(e.said ?? '')),
    JSON.stringify(echoes),
  )
})

/** A founder and fresh joiners (nothing persisted). */
function fresh(ids: string[], persistedOf: (id: string) => PersistedClusterState | undefined = () => undefined): Gossip {
  return new Gossip(
    ids.map((self, i) => new ClusterCore({ self, addresses: [], persisted: persistedOf(self), founder: i === 0, options: OPTIONS, random: new SeededRandom(self), nowMs: 0 })),
  )
}

test('the founder names the cluster before its first record; joiners adopt the name on admission', () => {
  const g = fresh(['n0', 'n1', 'n2'])
  const founder = g.node('n0')
  const id = founder.clusterId
  assert.match(id ?? '', /^[0-9a-f]{32}$/)
  assert.equal(founder.takeReady(0).persist?.clusterId, id, 'persisted with the first state')
  assert.equal(g.node('n1').clusterId, null)
  g.run(5000)
  for (const c of g.cores) assert.equal(c.clusterId, id, c.self)
  assert.equal(g.node('n1').view(g.nowMs).clusterId, id)
  assert.ok(g.sent.filter((r) => r.node === 'n0').every((r) => r.clusterId === id))
})

test('two clusters never mix: records of the other are ignored and counted, a member of another is never admitted', () => {
  const a = fresh(['a0', 'a1'])
  a.run(3000)
  const stranger = new ClusterCore({
    self: 'b1',
    addresses: [],
    persisted: { incarnation: 1, epoch: 3, vote: null, config: { epoch: 3, counter: 2, members: ['b0', 'b1'], workers: [] }, clusterId: 'other' },
    founder: false,
    options: OPTIONS,
    random: new SeededRandom('b1'),
    nowMs: a.nowMs,
  })
  const g = new Gossip([...a.cores, stranger])
  g.nowMs = a.nowMs
  g.run(5000)
  const a0 = g.node('a0')
  assert.ok(a0.foreignRecords > 0)
  assert.ok(stranger.foreignRecords > 0)
  assert.ok(!a0.view(g.nowMs).members.some((m) => m.nodeId === 'b1'), 'a0 does not list the stranger')
  assert.deepEqual(a0.view(g.nowMs).config?.members, ['a0', 'a1'])
  assert.equal(stranger.clusterId, 'other')
  assert.equal(stranger.view(g.nowMs).leader, null)
})

test('a cluster formed before identities gets one from its leader, and every member adopts it', () => {
  const old = (): PersistedClusterState => ({ incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: MEMBERS, workers: [] }, clusterId: null })
  const g = new Gossip(
    MEMBERS.map((self) => new ClusterCore({ self, addresses: [], persisted: old(), founder: false, options: OPTIONS, random: new SeededRandom(self), nowMs: 0 })),
  )
  g.run(3000)
  const id = g.node('n0').clusterId
  assert.notEqual(id, null)
  for (const c of g.cores) assert.equal(c.clusterId, id)
})

/** The configuration of the node holding the lease. */
function leaderConfig(g: Gossip) {
  return g.node(g.leaders()[0]!).view(g.nowMs).config!
}

test('joiners are admitted as voters up to the target, then as workers (up, never in a quorum): 3 voters below 5 members, 5 from then on', () => {
  const g = fresh(['n0', 'n1', 'n2', 'n3'])
  g.run(5000)
  assert.deepEqual(g.leaders(), ['n0'])
  let config = leaderConfig(g)
  assert.equal(config.members.length, 3)
  assert.equal(config.workers.length, 1)
  const worker = config.workers[0]!
  const view = g.node('n0').view(g.nowMs)
  assert.equal(view.members.find((m) => m.nodeId === worker)?.state, 'up', 'a worker is up')
  assert.equal(view.members.find((m) => m.nodeId === worker)?.role, 'worker')
  assert.equal(view.members.find((m) => m.nodeId === 'n0')?.role, 'leader')
  assert.equal(
    g
      .node(worker)
      .view(g.nowMs)
      .members.find((m) => m.nodeId === worker)?.state,
    'up',
    'the worker knows it is admitted',
  )
  // Joiners n4..n7: 8 members, 5 voters.
  for (const id of ['n4', 'n5', 'n6', 'n7'])
    g.cores.push(new ClusterCore({ self: id, addresses: [], persisted: undefined, founder: false, options: OPTIONS, random: new SeededRandom(id), nowMs: g.nowMs }))
  g.run(5000)
  config = leaderConfig(g)
  assert.equal(config.members.length, 5)
  assert.equal(config.workers.length, 3)
  for (const c of g.cores) assert.deepEqual(c.view(g.nowMs).config, config, `${c.self} holds the configuration`)
})

test('configuration changes move one voter at a time', () => {
  const g = fresh(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'])
  g.run(8000)
  const configs = g.sent.filter((r) => r.config?.members !== undefined).map((r) => r.config!)
  configs.sort((a, b) => a.epoch - b.epoch || a.counter - b.counter)
  for (let i = 1; i < configs.length; i++) {
    const [a, b] = [configs[i - 1]!, configs[i]!]
    const diff = a.members!.filter((m) => !b.members!.includes(m)).length + b.members!.filter((m) => !a.members!.includes(m)).length
    assert.ok(diff <= 1, `${a.members!.join(',')} -> ${b.members!.join(',')}`)
  }
  assert.equal(leaderConfig(g).members.length, 5)
})

test('a voter down for voter-down-ms is replaced by the worker with the most up-to-date log, and returns as a worker', () => {
  const options = { ...OPTIONS, voterDownMs: 4000 }
  const g = new Gossip(
    ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map(
      (self, i) => new ClusterCore({ self, addresses: [], persisted: undefined, founder: i === 0, options, random: new SeededRandom(self), nowMs: 0 }),
    ),
  )
  g.run(8000)
  const before = leaderConfig(g)
  assert.equal(before.workers.length, 2)
  const [behind, ahead] = before.workers as [string, string]
  g.node(behind).setLogPosition({ epoch: 1, index: 5 })
  g.node(ahead).setLogPosition({ epoch: 1, index: 9 })
  const victim = before.members.find((m) => m !== 'n0')!
  g.down.add(victim)
  g.run(3900)
  assert.ok(leaderConfig(g).members.includes(victim), 'not replaced before voter-down-ms')
  g.run(2000)
  const after = leaderConfig(g)
  assert.equal(after.members.length, 5)
  assert.ok(!after.members.includes(victim))
  assert.ok(after.members.includes(ahead), `the up-to-date worker ${ahead} was promoted: ${after.members.join(',')}`)
  assert.deepEqual([...after.workers].sort(), [behind, victim].sort())
  g.down.delete(victim)
  g.run(3000)
  const back = g.node(victim).view(g.nowMs)
  assert.equal(back.members.find((m) => m.nodeId === victim)?.role, 'worker')
  assert.equal(back.members.find((m) => m.nodeId === victim)?.state, 'up')
  assert.deepEqual(leaderConfig(g).members, after.members)
})

test('no worker to replace a dead voter: it stays a voter', () => {
  const options = { ...OPTIONS, voterDownMs: 1000 }
  const g = new Gossip(
    ['n0', 'n1', 'n2'].map((self, i) => new ClusterCore({ self, addresses: [], persisted: undefined, founder: i === 0, options, random: new SeededRandom(self), nowMs: 0 })),
  )
  g.run(5000)
  g.down.add('n2')
  g.run(10_000)
  assert.deepEqual(g.leaders(), ['n0'])
  assert.ok(leaderConfig(g).members.includes('n2'), 'n2 is still a voter')
  assert.equal(leaderConfig(g).members.length, 3)
})

test('an explicit target below the voter count demotes voters, a down one first, keeping a live majority', () => {
  const g = new Gossip(
    ['n0', 'n1', 'n2', 'n3', 'n4'].map(
      (self) =>
        new ClusterCore({
          self,
          addresses: [],
          persisted: { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: ['n0', 'n1', 'n2', 'n3', 'n4'], workers: [] }, clusterId: 'c' },
          founder: false,
          options: { ...OPTIONS, voters: 3 },
          random: new SeededRandom(self),
          nowMs: 0,
        }),
    ),
  )
  g.down.add('n2')
  g.run(6000)
  const config = leaderConfig(g)
  assert.equal(config.members.length, 3)
  assert.ok(config.workers.includes('n2'), 'the down voter was demoted first')
})

test('removing a member by hand: only a down member, only on the leader', () => {
  const g = fresh(['n0', 'n1', 'n2', 'n3'])
  g.run(5000)
  const leader = g.node('n0')
  const worker = leaderConfig(g).workers[0]!
  assert.equal(g.node('n1').removeMember('n3', g.nowMs), 'not-leader')
  assert.equal(leader.removeMember('n0', g.nowMs), 'self')
  assert.equal(leader.removeMember('nx', g.nowMs), 'not-member')
  assert.equal(leader.removeMember(worker, g.nowMs), 'not-down')
  g.down.add(worker)
  g.run(5000)
  assert.equal(leader.removeMember(worker, g.nowMs), undefined)
  assert.ok(!leaderConfig(g).workers.includes(worker))
  assert.equal(leader.removeMember(worker, g.nowMs), 'not-member')
  // It comes back: removed, it asks to join again and is admitted as a worker.
  g.down.delete(worker)
  g.run(3000)
  assert.ok(leaderConfig(g).workers.includes(worker))
})

// ---- log catch-up: voters only from members whose replicated log holds every committed entry ----

/** Voters `members` and workers `workers` of one persisted configuration, nodes that keep a replicated log (commit index set). */
function replicated(members: string[], workers: string[], joiners: string[] = [], options: Partial<ClusterOptions> = OPTIONS): Gossip {
  const state = (): PersistedClusterState => ({ incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members, workers }, clusterId: 'c' })
  const g = new Gossip(
    [...members, ...workers, ...joiners].map(
      (self) =>
        new ClusterCore({ self, addresses: [], persisted: joiners.includes(self) ? undefined : state(), founder: false, options, random: new SeededRandom(self), nowMs: 0 }),
    ),
  )
  for (const c of g.cores) {
    c.setLogPosition({ epoch: 0, index: 0 })
    c.setCommitIndex(0)
  }
  return g
}

/** What the leader's replicator acknowledged of each member's log, per cluster under test. */
const acked = new WeakMap<Gossip, Map<string, number>>()

/**
 * Gives node `id` the log `position`, as its replicator would report it, and the leader the durable
 * acknowledgement its replicator would then report: up to the index for a log of the leader's epoch
 * (log matching), none for a log of an older epoch (it may hold other entries).
 */
function setLog(g: Gossip, id: string, position: { epoch: number; index: number }): void {
  g.node(id).setLogPosition(position)
  const leader = g.node(g.leaders()[0]!)
  const epoch = leader.leaderEpoch!
  const byNode = acked.get(g) ?? new Map<string, number>()
  acked.set(g, byNode)
  if (position.epoch === epoch) byNode.set(id, position.index)
  else byNode.delete(id)
  leader.setLogMatches(epoch, new Map(byNode))
}

/** Elects a leader, then gives `logs` (epoch null: the leader's epoch) and sets the leader's commit index. */
function withLogs(g: Gossip, commit: number, logs: Record<string, { epoch: number | null; index: number }>): { leader: ClusterCore; epoch: number } {
  g.run(3000)
  const leader = g.node(g.leaders()[0]!)
  const epoch = leader.leaderEpoch!
  // As the replicator does: the commit index first, then the acknowledgements it was reached with.
  leader.setCommitIndex(commit)
  for (const [id, log] of Object.entries(logs)) setLog(g, id, { epoch: log.epoch ?? epoch, index: log.index })
  return { leader, epoch }
}

test('a worker whose log is behind the commit index, or of an older epoch, is not promoted; once it holds every committed entry it is', () => {
  const g = replicated(['n0', 'n1'], ['n2'])
  const { leader, epoch } = withLogs(g, 10, { n0: { epoch: null, index: 10 }, n1: { epoch: null, index: 10 }, n2: { epoch: null, index: 9 } })
  g.run(2000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1'], 'one entry short')
  setLog(g, 'n2', { epoch: epoch - 1, index: 50 })
  g.run(2000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1'], 'a longer log of an older epoch may hold other entries')
  setLog(g, 'n2', { epoch, index: 10 })
  g.run(2000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1', 'n2'], 'promoted once caught up')
})

test('a joiner below the target with an empty log comes in as a worker and is promoted once caught up', () => {
  const g = replicated(['n0'], [], ['n1'])
  const { leader, epoch } = withLogs(g, 4, { n0: { epoch: null, index: 4 } })
  g.run(3000)
  let config = leader.view(g.nowMs).config!
  assert.deepEqual(config.members, ['n0'])
  assert.deepEqual(config.workers, ['n1'], 'admitted at once, as a worker')
  setLog(g, 'n1', { epoch, index: 4 })
  g.run(2000)
  config = leader.view(g.nowMs).config!
  assert.deepEqual(config.members, ['n0', 'n1'])
  assert.deepEqual(config.workers, [])
})

test('the A..E example cannot happen: empty joiners never become voters while an old voter lacks a committed entry', () => {
  // Voters A=n0, B=n1, C=n2; X (index 9) is committed on n0 and n1, n2 lacks it; n3 and n4 join empty; target 5.
  const options = { ...OPTIONS, voters: 5 }
  const g = replicated(['n0', 'n1', 'n2'], [], ['n3', 'n4'], options)
  const { leader, epoch } = withLogs(g, 10, { n0: { epoch: null, index: 10 }, n1: { epoch: null, index: 10 }, n2: { epoch: null, index: 9 } })
  g.run(5000)
  const voterConfigs = (): string[][] => g.sent.filter((r) => r.config?.members !== undefined).map((r) => [...r.config!.members!])
  assert.ok(
    voterConfigs().every((m) => !m.includes('n3') && !m.includes('n4')),
    'no empty joiner was ever a voter',
  )
  assert.deepEqual([...leader.view(g.nowMs).config!.workers].sort(), ['n3', 'n4'], 'both admitted as workers')
  setLog(g, 'n3', { epoch, index: 10 })
  g.run(3000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1', 'n2', 'n3'], 'n3 caught up and was promoted; n4 was not')
  setLog(g, 'n4', { epoch, index: 10 })
  g.run(3000)
  const members = leader.view(g.nowMs).config!.members
  assert.equal(members.length, 5)
  const holders = ['n0', 'n1', 'n3', 'n4']
  assert.ok(holders.filter((m) => members.includes(m)).length >= 3, 'every majority of the voters meets a holder of X')
})

test('without a replicated log (commit index never set) empty joiners are admitted straight as voters, as before', () => {
  const options = { ...OPTIONS, voters: 5 }
  const state = (): PersistedClusterState => ({ incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: ['n0', 'n1', 'n2'], workers: [] }, clusterId: 'c' })
  const g = new Gossip(
    ['n0', 'n1', 'n2', 'n3', 'n4'].map(
      (self, i) => new ClusterCore({ self, addresses: [], persisted: i < 3 ? state() : undefined, founder: false, options, random: new SeededRandom(self), nowMs: 0 }),
    ),
  )
  g.run(8000)
  assert.equal(leaderConfig(g).members.length, 5)
})

test('a change waits until a majority of the voters holds the log of the leader’s epoch', () => {
  const options = { ...OPTIONS, voters: 5 }
  const g = replicated(['n0', 'n1', 'n2'], [], ['n3'], options)
  // Only the leader and the caught-up joiner have the leader's first entry; n1 and n2 are still in epoch 0.
  const { leader, epoch } = withLogs(g, 1, { n0: { epoch: null, index: 1 }, n3: { epoch: null, index: 1 } })
  g.run(3000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1', 'n2'])
  assert.ok(!leader.view(g.nowMs).config!.workers.includes('n3'), 'not even admitted as a worker')
  setLog(g, 'n1', { epoch, index: 1 })
  g.run(3000)
  assert.deepEqual(leader.view(g.nowMs).config?.members, ['n0', 'n1', 'n2', 'n3'])
})

test('a candidate that learns of its epoch’s leader gives up: voters added later in that epoch never complete its count (the seed-33 double leader)', () => {
  // n2 campaigns for epoch 1 under {n0,n1,n2}; the joiners n3 and n4 (not voters) vote for it, and
  // n0 wins epoch 1 with n1. n0 then admits n3 and n4 as voters in epoch 1: counted against the new
  // configuration, n2's own vote and theirs (3 of 5) would make it a second leader of epoch 1.
  const t = AFTER_LEASE
  const n2 = core('n2', MEMBERS)
  const seqs = new Map<string, number>()
  const from = (node: string, fields: Partial<MemberRecord>): MemberRecord => {
    const seq = (seqs.get(node) ?? 0) + 1
    seqs.set(node, seq)
    return { ...core(node, MEMBERS).record(t), incarnation: 2, seq, ...fields }
  }
  n2.tick(t)
  for (const m of ['n0', 'n1']) n2.receive(from(m, {}), t)
  for (let at = t; n2.record(at).preVote === null && at < t + 2000; at += 10) n2.tick(at)
  const preVote = n2.record(t).preVote
  assert.equal(preVote, 1, 'n2 asks for pre-votes for epoch 1')
  n2.receive(from('n1', { grant: { candidate: 'n2', epoch: 1 } }), t + 1)
  assert.equal(n2.record(t + 1).vote, 'n2', 'n2 is a candidate of epoch 1')
  for (const j of ['n3', 'n4']) n2.receive(from(j, { epoch: 1, vote: 'n2', clusterId: 'c', status: 'joining', config: null }), t + 2)
  assert.equal(n2.leaderEpoch, null, 'votes from non-voters do not count')
  const config = (counter: number, members: string[]) => ({ epoch: 1, counter, members, workers: [] })
  n2.receive(from('n0', { epoch: 1, vote: 'n0', leaderSeq: 1, config: config(1, MEMBERS) }), t + 3)
  n2.receive(from('n0', { epoch: 1, vote: 'n0', leaderSeq: 2, config: config(2, [...MEMBERS, 'n3']) }), t + 4)
  n2.receive(from('n0', { epoch: 1, vote: 'n0', leaderSeq: 3, config: config(3, [...MEMBERS, 'n3', 'n4']) }), t + 5)
  for (const j of ['n3', 'n4']) n2.receive(from(j, { epoch: 1, vote: 'n2', clusterId: 'c' }), t + 6)
  n2.tick(t + 7)
  assert.equal(n2.leaderEpoch, null, 'n2 never leads the epoch n0 leads')
  assert.equal(n2.view(t + 7)?.leader?.nodeId, 'n0')
})

test('a voter that missed a configuration gets it again from a peer that sees it behind, so two voters never refuse each other for ever', () => {
  // n0 (the leader that made configuration 1/2) is gone; n1 holds 1/2, n2 missed it (1/1) but has
  // the longer log. n1 refuses n2 (older configuration) and n2 refuses n1 (shorter log); the members
  // of 1/2 travel only in n1's first records after it adopted them, and those were lost. Unless n1
  // sends them again on seeing n2 behind, neither can ever win.
  const state = (counter: number, workers: string[]): PersistedClusterState => ({
    incarnation: 1,
    epoch: 1,
    vote: null,
    config: { epoch: 1, counter, members: MEMBERS, workers },
    clusterId: 'c',
  })
  const make = (self: string, s: PersistedClusterState): ClusterCore =>
    new ClusterCore({ self, addresses: [], persisted: s, founder: false, options: OPTIONS, random: new SeededRandom(self), nowMs: 0 })
  const n1 = make('n1', state(2, ['n3']))
  const n2 = make('n2', state(1, []))
  n1.setLogPosition({ epoch: 1, index: 5 })
  n2.setLogPosition({ epoch: 1, index: 9 })
  const g = new Gossip([n1, n2])
  g.blocked.add('n1>n2')
  g.run(3000)
  assert.deepEqual(g.leaders(), [], 'no leader while n2 cannot hear n1')
  g.blocked.clear()
  g.run(5000)
  assert.deepEqual(n2.view(g.nowMs).config, n1.view(g.nowMs).config, 'n2 holds the newer configuration')
  assert.deepEqual(g.leaders(), ['n2'], 'the voter with the longer log leads')
})

test('a candidate that cannot hear its grants (one-way cuts) does not hold them for ever: the two voters that hear each other elect', () => {
  // Links n1->n0 and n0->n2 lose everything; n1 and n2 hear each other. n0 (log 9, first in
  // configuration order) hears only n2, so it sees a majority alive and asks for pre-votes; n1
  // (log 5) hears it and grants, but n0 never hears n1's grant. n2 (log 9) asks too, and n1 kept
  // refusing it while its one grant was n0's and n0 was alive in its view: no leader for ever.
  const g = new Gossip(MEMBERS.map((m) => core(m, MEMBERS)))
  const logs: Record<string, number> = { n0: 9, n1: 5, n2: 9 }
  for (const c of g.cores) c.setLogPosition({ epoch: 0, index: logs[c.self]! })
  g.blocked.add('n1>n0')
  g.blocked.add('n0>n2')
  g.run(10_000)
  assert.deepEqual(g.leaders(), ['n2'])
  assert.equal(g.node('n1').view(g.nowMs).leader?.nodeId, 'n2')
})

test('a node that hears nobody although it should says so in its view; a founder alone does not', () => {
  const joiner = new ClusterCore({ self: 'j', addresses: [], persisted: undefined, founder: false, options: OPTIONS, random: new SeededRandom('j'), nowMs: 0 })
  assert.equal(joiner.view(QUIET_WARNING_MS - 1).warning, undefined)
  assert.match(joiner.view(QUIET_WARNING_MS).warning ?? '', /joining, but no gossip from any member for 10 s/)
  const founder = new ClusterCore({ self: 'f', addresses: [], persisted: undefined, founder: true, options: OPTIONS, random: new SeededRandom('f'), nowMs: 0 })
  assert.equal(founder.view(5 * QUIET_WARNING_MS).warning, undefined)
  // A member of three that hears the others is fine; once they fall silent it says so.
  const g = new Gossip(['a', 'b', 'c'].map((id) => core(id, ['a', 'b', 'c'])))
  g.run(2000)
  assert.equal(g.node('a').view(g.nowMs).warning, undefined)
  g.down.add('b')
  g.down.add('c')
  g.run(QUIET_WARNING_MS + 100)
  assert.match(g.node('a').view(g.nowMs).warning ?? '', /no gossip from any other member/)
})

test('assertions: an epoch that goes back, or a vote moved within its epoch, stops the core at takeReady', () => {
  const votedInEpoch7 = (): ClusterCore =>
    new ClusterCore({
      self: 'a',
      addresses: [],
      persisted: { ...persisted(['a', 'b', 'c']), epoch: 7, vote: 'b' },
      founder: false,
      options: OPTIONS,
      random: new SeededRandom('a'),
      nowMs: 0,
    })
  // Simulated corruption of the core's state (what a bug in a rule would do).
  const back = votedInEpoch7()
  back.takeReady(0)
  ;(back as unknown as { epoch: number }).epoch = 6
  assert.throws(() => back.takeReady(1), { name: 'AssertionFailure', message: /epoch went back from 7 to 6/ })
  const moved = votedInEpoch7()
  ;(moved as unknown as { vote: string }).vote = 'c'
  assert.throws(() => moved.takeReady(1), { name: 'AssertionFailure', message: /vote of epoch 7 moved from b to c/ })
})

test('assertions: a leader whose epoch moved on without stepping down stops at takeReady', () => {
  const solo = core('a', ['a'])
  const g = new Gossip([solo])
  g.run(AFTER_LEASE + 500)
  assert.deepEqual(g.leaders(), ['a'])
  // Simulated corruption: a rule that moved the epoch on without stepping down. (A vote moved
  // within the epoch is caught first, by the check that a vote never moves.)
  ;(solo as unknown as { epoch: number }).epoch = 2
  assert.throws(() => solo.takeReady(g.nowMs), { name: 'AssertionFailure', message: /is not its current epoch, or its vote is not its own, in epoch 2/ })
})

test('assertions: a node about to lead an epoch without its own vote in it stops', () => {
  const solo = core('a', ['a'])
  // Simulated corruption: a candidacy for epoch 1 whose vote went elsewhere.
  Object.assign(solo as unknown as { epoch: number; vote: string; candidateEpoch: number }, { epoch: 1, vote: 'b', candidateEpoch: 1 })
  const other = core('b', ['a'])
  assert.throws(() => solo.receive(other.record(AFTER_LEASE), AFTER_LEASE), { name: 'AssertionFailure', message: /leading epoch 1 without its own vote \(vote: / })
})

test('Ready is self-contained: it carries the record to publish, built with inputs read only when a record is due', () => {
  const c = core('n0', ['n0'])
  let reads = 0
  const inputs = () => {
    reads++
    return { metrics: { ...emptyMetrics(), capacity: 7 }, addresses: ['/ip4/10.0.0.1/tcp/7400'] }
  }
  const first = c.takeReady(0, inputs)
  assert.ok(first.publish !== undefined, 'a new node publishes at once')
  assert.equal(first.publish.metrics.capacity, 7)
  assert.deepEqual(first.publish.addresses, ['/ip4/10.0.0.1/tcp/7400'])
  assert.equal(reads, 1)
  // Nothing is due right after: no record, and the inputs are not read.
  assert.equal(c.takeReady(1, inputs).publish, undefined)
  assert.equal(reads, 1)
  // The next periodic record is a new one (a new sequence number), read afresh.
  c.tick(1000)
  const next = c.takeReady(1000, inputs).publish
  assert.ok(next !== undefined && next.seq > first.publish.seq)
  assert.equal(reads, 2)
})

test('assertions: a configuration change of two voters at once (the private apply called on purpose) stops the leader', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(3000)
  assert.deepEqual(g.leaders(), ['n0'])
  const leader = g.node('n0') as unknown as { config: ClusterConfig; applyConfig(config: ClusterConfig, members: readonly string[], workers: readonly string[]): void }
  const config = leader.config
  assert.throws(() => leader.applyConfig(config, ['n0', 'x', 'y'], []), { name: 'AssertionFailure', message: /configuration change of 4 voters at once: n0,n1,n2 -> n0,x,y/ })
  assert.equal(leader.config, config, 'the configuration stays')
})

/** Three voters with n0 leading, then n0's records delayed once by `stallMs` so that the followers observe lag. */
function lagged(stallMs: number): Gossip {
  const g = new Gossip(MEMBERS.map((m) => core(m, MEMBERS)))
  g.run(2_000)
  assert.deepEqual(g.leaders(), ['n0'])
  g.blocked.add('n0>n1').add('n0>n2')
  g.run(stallMs)
  g.blocked.clear()
  g.run(300)
  assert.deepEqual(g.leaders(), ['n0'])
  return g
}

test('a follower whose connection to its leader closed waits out the lease without the observed lag, not less', () => {
  const elected: number[] = []
  for (const closes of [false, true]) {
    const g = lagged(400)
    assert.ok(g.node('n1').lag(g.nowMs) > 200, `lag ${g.node('n1').lag(g.nowMs)}`)
    g.down.add('n0')
    const lastHeard = g.nowMs // the crash
    if (closes) for (const id of ['n1', 'n2']) g.node(id).lost('n0')
    while (g.leaders().length === 0 && g.nowMs < lastHeard + 5_000) g.run(10)
    elected.push(g.nowMs - lastHeard)
    // Rule 5 still holds: nobody leads before leaseMs·(1+drift) from the last record (at most a gossip interval before the crash).
    assert.ok(g.nowMs - lastHeard >= OPTIONS.leaseMs! * 1.02 - OPTIONS.gossipIntervalMs!, `elected ${g.nowMs - lastHeard} ms after the crash`)
  }
  assert.ok(elected[1]! < elected[0]! - 150, `with the closed connection ${elected[1]} ms, without ${elected[0]} ms`)
})

test('the killed leader is not ranked: the next voter campaigns as soon as the lease is waited out, without a stagger for it', () => {
  // A detector slower than the lease: n0 stays up in the views after its records stop (as a killed leader of 50 did for a second).
  const options = { ...OPTIONS, downAfterMs: 5000, suspectPhi: 1e9 }
  const g = new Gossip(
    MEMBERS.map((self) => new ClusterCore({ self, addresses: [], persisted: persisted(MEMBERS), founder: false, options, random: new SeededRandom(self), nowMs: 0 })),
  )
  g.run(2_000)
  assert.deepEqual(g.leaders(), ['n0'])
  g.down.add('n0')
  const lastHeard = g.nowMs
  for (const id of ['n1', 'n2']) g.node(id).lost('n0')
  while (g.leaders().length === 0 && g.nowMs < lastHeard + 5_000) g.run(10)
  assert.deepEqual(g.leaders(), ['n1'], 'the oldest live voter')
  const electedMs = g.nowMs - lastHeard
  assert.equal(g.node('n1').memberState('n0', g.nowMs), 'up', 'the dead leader is still up in the view')
  // The last record left up to a gossip interval before the crash; the pre-vote and vote rounds take
  // a few deliveries. 460 ms here; with the dead leader ranked first, a stagger later (550 ms).
  assert.ok(electedMs < OPTIONS.leaseMs! * 1.02, `elected ${electedMs} ms after the crash: a stagger was waited for the dead leader`)
})

test('voters whose every tick comes late still elect once their leader’s connection closed: nothing of it can be queued behind the timer', () => {
  const g = new Gossip(MEMBERS.map((id) => core(id, MEMBERS)))
  g.run(2_000)
  assert.deepEqual(g.leaders(), ['n0'])
  g.down.add('n0')
  for (const id of ['n1', 'n2']) g.node(id).lost('n0')
  // A saturated host: every tick of the survivors comes 1.5 gossip intervals after the one before, a stall each time.
  g.tickEveryMs = 1.5 * OPTIONS.gossipIntervalMs!
  g.run(4 * OPTIONS.leaseMs!)
  assert.equal(g.leaders().length, 1, 'a new leader, elected at stalled ticks')
})

test('a closed connection to a leader that still reaches its followers changes nothing', () => {
  const g = lagged(400)
  const epoch = g.node('n1').leader(g.nowMs)?.epoch
  for (const id of ['n1', 'n2']) g.node(id).lost('n0')
  // Its next record restores the wait with the lag; it keeps leading.
  g.run(3_000)
  assert.deepEqual(g.leaders(), ['n0'])
  assert.equal(g.node('n1').leader(g.nowMs)?.epoch, epoch)
  // A node that is not the followed leader is no reason to hurry.
  g.node('n1').lost('n2')
  g.node('n2').lost('n1')
  g.down.add('n0')
  const at = g.nowMs
  const lag = Math.min(g.node('n1').lag(at), g.node('n2').lag(at))
  assert.ok(lag > 150, `lag ${lag}`)
  while (g.leaders().length === 0 && g.nowMs < at + 5_000) g.run(10)
  assert.ok(g.nowMs - at >= OPTIONS.leaseMs! * 1.02 - OPTIONS.gossipIntervalMs! + lag - 50, `elected ${g.nowMs - at} ms after, lag ${lag}`)
})

test('an unsent record goes to all for a voter seen up and for a voter never heard of (from a voter), not for a known voter seen down nor for a stranger', () => {
  // Restarted voters hold the configuration but have heard nobody: the topic is the only way they learn each other's addresses.
  const g = new Gossip(MEMBERS.map((m) => core(m, MEMBERS)))
  const n0 = g.node('n0')
  assert.equal(n0.recordFallsBack(['n1'], g.nowMs), true, 'a voter never heard of')
  assert.equal(n0.recordFallsBack(['stranger'], g.nowMs), false, 'a node that is no member and never heard of')
  g.run(AFTER_LEASE + 2000)
  assert.equal(n0.memberState('n1', g.nowMs), 'up')
  assert.equal(n0.recordFallsBack(['n1'], g.nowMs), true, 'a voter seen up')
  g.down.add('n1')
  g.run(3000)
  assert.equal(n0.memberState('n1', g.nowMs), 'down')
  assert.equal(n0.recordFallsBack(['n1'], g.nowMs), false, 'a dead voter whose addresses are known: dialled, not flooded')
})

test('joiners come in as workers with the changes that grow the voters, without waiting behind them', () => {
  const g = fresh(['n0', 'n1', 'n2', 'n3', 'n4', 'n5'])
  // Until the first worker batch: 3 voters (the target below 5 members), then the promotions to 5 begin.
  for (let i = 0; i < 1000 && (g.leaders().length === 0 || leaderConfig(g).workers.length === 0); i++) g.run(10)
  assert.ok(leaderConfig(g).members.length < 5, `${leaderConfig(g).members.length} voters`)
  const late = ['n6', 'n7', 'n8', 'n9']
  for (const id of late)
    g.cores.push(new ClusterCore({ self: id, addresses: [], persisted: undefined, founder: false, options: OPTIONS, random: new SeededRandom(id), nowMs: g.nowMs }))
  g.run(8000)
  const configs = g.sent.filter((r) => r.config?.members !== undefined).map((r) => r.config!)
  configs.sort((a, b) => a.epoch - b.epoch || a.counter - b.counter)
  const summary = configs.map((c) => `${c.members!.length}+${c.workers!.length}`).join(' ')
  const admitted = configs.find((c) => late.every((j) => c.workers!.includes(j) || c.members!.includes(j)))
  assert.ok(admitted !== undefined, `the late joiners admitted: ${summary}`)
  const five = configs.find((c) => c.members!.length === 5)!
  const order = (c: { epoch: number; counter: number }): number => c.epoch * 1e6 + c.counter
  assert.ok(order(admitted) <= order(five), `with a promotion, by the one that takes the voters to 5: ${summary}`)
  assert.equal(leaderConfig(g).members.length, 5)
})
