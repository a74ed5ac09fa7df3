// Goal: the core's membership 'swim' mode: workers publish only on changes and a slow refresh and do
// not echo the leader; their states and loads come from the liveness source (SWIM); voters keep the
// record detector and the election elects and holds its lease as before; 'gossip' is unchanged.
// Voters' records go only to voters and the leader's to all, so a worker sees the voters through SWIM,
// and learns their addresses from the leader's records.
// Method: ClusterCore instances with a shared configuration (3 voters, 3 workers), a fake liveness
// table, records handed at once to the nodes the core names (Ready.to) or to all, a manual clock.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, LEASE_STRETCH_MAX, type ClusterOptions, type Liveness } from '../../src/cluster/core.js'
import { DialPlan, meshDials, urgentDials } from '../../src/cluster/dials.js'
import { loadValues } from '../../src/cluster/swim/load.js'
import { emptyMetrics, type MemberRecord, type PersistedClusterState } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const VOTERS = ['n0', 'n1', 'n2']
const WORKERS = ['w0', 'w1', 'w2']
const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100, voters: 3 }

/** A liveness table the test sets by hand, standing in for the SWIM core. */
class FakeLiveness implements Liveness {
  readonly states = new Map<string, 'alive' | 'suspect' | 'dead' | 'left'>()
  readonly loads = new Map<string, { version: number; values: number[] }>()
  member(id: string) {
    const status = this.states.get(id)
    return status === undefined ? undefined : { status, incarnation: 1 }
  }
  load(id: string) {
    return this.loads.get(id)
  }
}

function address(node: string): string {
  return `/dns4/${node}/tcp/7400`
}

function persisted(): PersistedClusterState {
  return { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: VOTERS, workers: WORKERS }, clusterId: 'c' }
}

/**
 * When the cluster's nodes booted: a restarted node waits the longest lease a leader grants before
 * it votes, and the timelines below were laid out for a one-lease wait from 0.
 */
const BOOT_MS = -(LEASE_STRETCH_MAX - 1) * 500 * (1 + 0.02)

function cluster(membership: 'gossip' | 'swim', liveness: FakeLiveness): ClusterCore[] {
  return [...VOTERS, ...WORKERS].map(
    (self) =>
      new ClusterCore({
        self,
        addresses: [address(self)],
        persisted: persisted(),
        founder: false,
        options: { ...OPTIONS, membership },
        random: new SeededRandom(self),
        nowMs: BOOT_MS,
        ...(membership === 'swim' ? { liveness } : {}),
      }),
  )
}

/** A node (`self`, default 'j') that has just started under 'swim', with no configuration: a joiner. */
function joinerCore(nowMs: number, liveness: FakeLiveness, self = 'j'): ClusterCore {
  return new ClusterCore({
    self,
    addresses: [`/${self}`],
    persisted: undefined,
    founder: false,
    options: { ...OPTIONS, membership: 'swim' },
    random: new SeededRandom(self),
    nowMs,
    liveness,
  })
}

/**
 * Ticks every 10 ms, delivering every record at once to the live cores it is for (Ready.to, else all
 * others); returns records sent by node, and records received by node in `received` if given.
 */
/** A cluster under 'swim', its workers alive, that has elected its leader by 3 s. */
function electedSwim(): { liveness: FakeLiveness; cores: ClusterCore[]; leader: ClusterCore } {
  const liveness = new FakeLiveness()
  for (const m of [...VOTERS, ...WORKERS]) liveness.states.set(m, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  return { liveness, cores, leader: cores.find((c) => c.holdsLease(3000))! }
}

/** electedSwim, and a joiner starting at 3 s. */
function leaderAndJoiner(): { cores: ClusterCore[]; leader: ClusterCore; joiner: ClusterCore } {
  const { liveness, cores, leader } = electedSwim()
  return { cores, leader, joiner: joinerCore(3000, liveness) }
}

function run(
  cores: ClusterCore[],
  fromMs: number,
  ms: number,
  down = new Set<string>(),
  received?: Map<string, number>,
  onSend?: (self: string, to: readonly string[] | undefined, nowMs: number, record: MemberRecord) => void,
): Map<string, number> {
  const sent = new Map<string, number>()
  for (let now = fromMs + 10; now <= fromMs + ms; now += 10) {
    const live = cores.filter((c) => !down.has(c.self))
    for (const c of live) c.tick(now)
    for (let round = 0; round < 10; round++) {
      let published = false
      for (const c of live) {
        const { publish: record, to } = c.takeReady(now)
        if (record === undefined) continue
        published = true
        sent.set(c.self, (sent.get(c.self) ?? 0) + 1)
        onSend?.(c.self, to, now, record)
        for (const other of live) {
          if (other === c || (to !== undefined && !to.includes(other.self))) continue
          received?.set(other.self, (received.get(other.self) ?? 0) + 1)
          other.receive(record, now)
        }
      }
      if (!published) break
    }
  }
  return sent
}

test("membership 'swim' needs a liveness source", () => {
  assert.throws(
    () => new ClusterCore({ self: 'n0', addresses: [], persisted: persisted(), founder: false, options: { membership: 'swim' }, random: new SeededRandom(1), nowMs: 0 }),
    /liveness/,
  )
})

test("with 'swim', workers stop publishing periodically (and do not echo the leader) while the voters elect and hold a lease", () => {
  const liveness = new FakeLiveness()
  for (const m of [...VOTERS, ...WORKERS]) liveness.states.set(m, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const leaders = cores.filter((c) => c.holdsLease(3000))
  assert.equal(leaders.length, 1, 'one leader')
  assert.ok(VOTERS.includes(leaders[0]!.self))
  const sent = run(cores, 3000, 5000)
  for (const v of VOTERS) assert.ok((sent.get(v) ?? 0) >= 40, `voter ${v} published ${sent.get(v)} records in 5 s`)
  // Refresh every 10 s: at most one record each in 5 s (none while nothing changes).
  for (const w of WORKERS) assert.ok((sent.get(w) ?? 0) <= 1, `worker ${w} published ${sent.get(w)} records in 5 s`)
  assert.equal(cores.filter((c) => c.holdsLease(8000)).length, 1, 'the lease holds without workers echoing it')
  // Each node sees every member up: voters by their records on voters, else by the liveness source.
  for (const c of cores) for (const m of c.view(8000).members) assert.equal(m.state, 'up', `${c.self} sees ${m.nodeId} ${m.state}`)
})

test("with 'swim', followers echo to the leader alone and the leader sends to all, to workers once a second: a worker takes in the leader's records only, a follower the leader's and the others' news", () => {
  const liveness = new FakeLiveness()
  for (const m of [...VOTERS, ...WORKERS]) liveness.states.set(m, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const leader = cores.find((c) => c.holdsLease(3000))!
  const received = new Map<string, number>()
  const sent = run(cores, 3000, 5000, new Set(), received)
  for (const w of WORKERS) {
    // The leader's records (one per 100 ms to the voters), one a second of them, and no other voter's.
    const got = received.get(w) ?? 0
    assert.ok(got >= 4 && got <= 6 && (sent.get(leader.self) ?? 0) >= 40, `worker ${w} took in ${got} records in 5 s; the leader sent ${sent.get(leader.self)}`)
    const view = cores.find((c) => c.self === w)!.view(8000)
    assert.equal(view.leader?.nodeId, leader.self, `${w} follows the leader`)
  }
  // A follower: the leader's records (one per 100 ms), and none of the other follower's echoes.
  for (const v of VOTERS) if (v !== leader.self) assert.ok((received.get(v) ?? 0) >= 45 && (received.get(v) ?? 0) <= 55, `voter ${v} took in ${received.get(v)} records in 5 s`)
  // The leader: every follower's echo of its records.
  assert.ok((received.get(leader.self) ?? 0) >= 2 * 45, `the leader took in ${received.get(leader.self)} records in 5 s`)
  assert.equal(cores.filter((c) => c.holdsLease(8000)).length, 1, 'the lease holds with echoes sent to the leader alone')
  // A worker sees a silent voter by SWIM: alive is up, dead is down; a voter still goes by records.
  const other = VOTERS.find((v) => v !== leader.self)!
  const w0 = cores.find((c) => c.self === 'w0')!
  assert.equal(w0.memberState(other, 8000), 'up')
  liveness.states.set(other, 'dead')
  assert.equal(w0.memberState(other, 8000), 'down')
  assert.equal(w0.view(8000).members.find((m) => m.nodeId === other)?.state, 'down', 'the view agrees')
  assert.equal(leader.memberState(other, 8000), 'up', 'the leader hears it')
  // So does the other follower, whose records it no longer hears.
  const third = cores.find((c) => VOTERS.includes(c.self) && c !== leader && c.self !== other)!
  assert.equal(third.memberState(other, 8000), 'down', 'a follower sees another follower by SWIM')
  assert.equal(third.memberState(leader.self, 8000), 'up', 'and its leader by its records')
})

test("with 'swim', a follower's news goes to every voter, its echoes to the leader alone; once the leader is gone all its records go to the voters, and a new leader is elected", () => {
  const { cores, leader } = electedSwim()
  const followers = VOTERS.filter((v) => v !== leader.self)
  const sends: Array<{ self: string; to: string[]; now: number; record: MemberRecord }> = []
  const log = (self: string, to: readonly string[] | undefined, now: number, record: MemberRecord) => {
    if (followers.includes(self)) sends.push({ self, to: [...(to ?? ['(all)'])].sort(), now, record })
  }
  run(cores, 3000, 2000, new Set(), undefined, log)
  assert.ok(sends.length >= 2 * 15)
  for (const s of sends) assert.deepEqual(s.to, [leader.self], `${s.self} echoes to the leader alone at ${s.now}`)
  // News (here a leave) goes to every voter and the leader.
  const other = electedSwim()
  const f = other.cores.find((c) => VOTERS.includes(c.self) && c !== other.leader)!
  f.leave()
  f.tick(3010)
  assert.deepEqual([...(f.takeReady(3010).to ?? [])].sort(), VOTERS.filter((v) => v !== f.self).sort(), 'news: to the voters')
  // The leader dies: after the election timeout the followers publish to each other and elect one of them.
  sends.length = 0
  const down = new Set([leader.self])
  run(cores, 5000, 4000, down, undefined, log)
  // The pre-vote, the grant and the votes: news, to every voter.
  const from = sends.findIndex((s) => s.record.preVote !== null)
  const between = sends.slice(
    from,
    sends.findIndex((s) => s.record.leaderSeq !== null),
  )
  assert.ok(from >= 0 && between.length >= 3, `${between.length} records from the first pre-vote to the first of the new leader`)
  for (const s of between) assert.deepEqual(s.to, VOTERS.filter((v) => v !== s.self).sort(), `${s.self} to the voters at ${s.now}`)
  const next = cores.filter((c) => !down.has(c.self) && c.holdsLease(9000))
  assert.equal(next.length, 1, 'a new leader holds the lease')
  assert.ok(followers.includes(next[0]!.self))
  // Its follower echoes to it alone again.
  sends.length = 0
  run(cores, 9000, 1000, down, undefined, log)
  const last = sends.filter((s) => s.self !== next[0]!.self)
  assert.ok(last.length >= 5 && last.every((s) => s.to.join() === next[0]!.self), `echoes to the new leader: ${JSON.stringify(last.map((s) => s.to))}`)
})

test("with 'swim', a killed leader's election stays among the voters: a candidate does not flood for the leader whose connection closed, and workers neither grant nor vote", () => {
  const { cores, leader } = electedSwim()
  const worker = cores.find((c) => c.self === 'w0')!
  // Killed: its connections close at once, while every view still holds it up for a while. The
  // worker hears nothing more but what this test hands it.
  const down = new Set([leader.self, worker.self])
  for (const c of cores) if (c !== leader) c.lost(leader.self)
  const asks: MemberRecord[] = []
  const floods: string[] = []
  run(cores, 3000, 3000, down, undefined, (self, _to, now, record) => {
    if (!VOTERS.includes(self) || record.leaderSeq !== null || (record.preVote === null && record.vote !== self)) return
    asks.push(record)
    // The driver asks when a record could not go point to point: here, to the killed leader.
    if (cores.find((c) => c.self === self)!.recordFallsBack([leader.self], now)) floods.push(`${self} at ${now}`)
  })
  assert.ok(asks.some((r) => r.preVote !== null) && asks.some((r) => r.vote === r.node), 'pre-votes and a candidacy happened')
  assert.deepEqual(floods, [], 'no pre-vote or candidacy record goes to all for the killed leader')
  assert.equal(cores.filter((c) => !down.has(c.self) && c.holdsLease(6000)).length, 1, 'a new leader holds the lease')
  // Had they gone to all (the topic), a worker that knows no live leader would have taken them in.
  worker.tick(6000)
  worker.takeReady(6000)
  for (const record of asks) worker.receive(record, 6000)
  const ready = worker.takeReady(6000)
  assert.equal(ready.persist, undefined, 'a worker persists no vote')
  assert.equal(ready.publish, undefined, 'and publishes nothing for a candidate')
  assert.deepEqual([worker.record(6000).grant, worker.record(6000).vote], [null, null], 'its record carries no grant and no vote')
})

test("with 'swim', followers that SWIM holds suspect of each other still elect one of them when the leader dies", () => {
  const { liveness, cores, leader } = electedSwim()
  const followers = VOTERS.filter((v) => v !== leader.self)
  // A saturated host after a kill: each follower's SWIM suspects the other.
  for (const f of followers) liveness.states.set(f, 'suspect')
  liveness.states.set(leader.self, 'dead')
  const down = new Set([leader.self])
  run(cores, 3000, 4000, down)
  const next = cores.filter((c) => !down.has(c.self) && c.holdsLease(7000))
  assert.equal(next.length, 1, 'a new leader holds the lease')
  assert.ok(followers.includes(next[0]!.self))
})

test("with 'swim', a follower's log position reaches the other voters at most once a second; echoes in between go to the leader alone", () => {
  const { cores, leader } = electedSwim()
  const f = cores.find((c) => VOTERS.includes(c.self) && c !== leader)!
  const voters = VOTERS.filter((v) => v !== f.self).sort()
  const sends: Array<{ now: number; to: string[] }> = []
  const log = (self: string, to: readonly string[] | undefined, now: number) => {
    if (self === f.self) sends.push({ now, to: [...(to ?? [])].sort() })
  }
  run(cores, 3000, 1000, new Set(), undefined, log)
  // The log grows every 100 ms from 4 s on.
  for (let t = 4000; t < 7000; t += 100) {
    f.setLogPosition({ epoch: 1, index: t / 100 })
    run(cores, t, 100, new Set(), undefined, log)
  }
  const toAll = sends.filter((s) => s.now > 4000 && s.to.join() === voters.join())
  const toLeader = sends.filter((s) => s.now > 4000 && s.to.join() === leader.self)
  assert.equal(toAll.length + toLeader.length, sends.filter((s) => s.now > 4000).length)
  assert.ok(toAll.length >= 3 && toAll.length <= 4, `positions to the voters at ${toAll.map((s) => s.now)}`)
  for (let i = 1; i < toAll.length; i++) assert.ok(toAll[i]!.now - toAll[i - 1]!.now >= 1000)
  assert.ok(toLeader.length >= 20, `${toLeader.length} echoes to the leader alone`)
})

test("with 'swim', a voter that saw a newer configuration than it holds publishes to all until it holds it; workers to every node; 'gossip' always to all", () => {
  const liveness = new FakeLiveness()
  const n1 = cluster('swim', liveness)[1]!
  n1.tick(10)
  assert.deepEqual(n1.takeReady(10).to, ['n0', 'n2'], 'a voter: to the other voters')
  const newer = cluster('swim', liveness)[0]!.record(20)
  n1.receive({ ...newer, config: { epoch: 0, counter: 5 } }, 20)
  n1.tick(400)
  const ready = n1.takeReady(400)
  assert.notEqual(ready.publish, undefined)
  assert.equal(ready.to, undefined, 'behind: to all')
  n1.receive({ ...newer, seq: newer.seq + 1, config: { epoch: 0, counter: 5, members: VOTERS, workers: WORKERS } }, 500)
  n1.tick(800)
  assert.deepEqual(n1.takeReady(800).to, ['n0', 'n2'], 'caught up: to the voters again')
  const worker = cluster('swim', liveness)[3]!
  worker.tick(10)
  assert.deepEqual([...worker.takeReady(10).to!].sort(), ['n0', 'n1', 'n2', 'w1', 'w2'], 'a worker: to every node it knows, point to point')
  const gossip = cluster('gossip', liveness)[1]!
  gossip.tick(10)
  assert.equal(gossip.takeReady(10).to, undefined)
})

test("with 'swim', the leader sends its records to every node it knows of (to workers once a second, or at once on news), a joiner to all", () => {
  const { liveness, cores, leader } = electedSwim()
  const everyone = [...VOTERS, ...WORKERS].filter((n) => n !== leader.self).sort()
  const voters = VOTERS.filter((n) => n !== leader.self).sort()
  const toAll: number[] = []
  let records = 0
  run(cores, 3000, 3000, new Set(), undefined, (self, to, now) => {
    if (self !== leader.self) return
    records++
    const sorted = [...to!].sort()
    if (sorted.length === everyone.length) {
      assert.deepEqual(sorted, everyone)
      toAll.push(now)
    } else assert.deepEqual(sorted, voters, 'between those: to the voters')
  })
  assert.ok(records >= 29, `the leader publishes at its gossip interval: ${records} in 3 s`)
  assert.ok(toAll.length >= 2 && toAll.length <= 4, `to the workers too once a second: at ${toAll.join(', ')}`)
  for (let i = 1; i < toAll.length; i++) assert.ok(toAll[i]! - toAll[i - 1]! >= 1000, `a second apart: ${toAll.join(', ')}`)
  // News for workers (here its addresses) reaches them at once, within the second after one to all.
  let news: readonly string[] | undefined
  let now = 6000
  while (news === undefined) {
    now += 10
    leader.tick(now)
    news = leader.takeReady(now, () => ({ metrics: emptyMetrics(), addresses: ['/ip4/10.0.0.9/tcp/4001'] })).to
  }
  assert.ok(now - toAll.at(-1)! < 1000, `news at ${now}, the last to all at ${toAll.at(-1)}`)
  assert.deepEqual([...news].sort(), everyone, 'new addresses: to the workers at once')
  const joiner = joinerCore(0, liveness)
  joiner.tick(10)
  const joining = joiner.takeReady(10)
  assert.notEqual(joining.publish, undefined)
  assert.equal(joining.to, undefined, 'no configuration yet: to all')
})

test("with 'gossip', the same workers publish at the gossip rate (the cost 'swim' removes)", () => {
  const cores = cluster('gossip', new FakeLiveness())
  run(cores, 0, 3000)
  const sent = run(cores, 3000, 5000)
  for (const w of WORKERS) assert.ok((sent.get(w) ?? 0) >= 40, `worker ${w} published ${sent.get(w)} records in 5 s`)
})

test("with 'swim', a worker's state follows SWIM (alive, suspect, dead, left) and its load figures come from SWIM", () => {
  const liveness = new FakeLiveness()
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const n0 = cores[0]!
  // w0 has sent no record for seconds: the record detector alone would call it down.
  assert.equal(n0.memberState('w0', 3000), 'up')
  liveness.states.set('w0', 'suspect')
  assert.equal(n0.memberState('w0', 3000), 'suspect')
  liveness.states.set('w0', 'dead')
  assert.equal(n0.memberState('w0', 3000), 'down')
  liveness.states.set('w0', 'left')
  assert.equal(n0.memberState('w0', 3000), 'leaving')
  // Voters ignore the liveness source: a voter silent past downAfterMs is down whatever it says.
  liveness.states.set('n1', 'alive')
  run(cores, 3000, 3000, new Set(['n1']))
  assert.equal(n0.memberState('n1', 6000), 'down')
  liveness.loads.set('w1', { version: 3, values: loadValues({ ...emptyMetrics(), capacity: 8, running: 5, queued: 2 }) })
  const w1 = n0.view(6000).members.find((m) => m.nodeId === 'w1')!
  assert.equal(w1.metrics?.running, 5)
  assert.equal(w1.metrics?.capacity, 8)
  assert.equal(w1.metrics?.queued, 2)
  assert.equal(w1.lastSeenMsAgo, 0)
})

test("with 'swim', a worker's state change (a leave) still goes out, rate limited", () => {
  const liveness = new FakeLiveness()
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const w2 = cores.find((c) => c.self === 'w2')!
  w2.leave()
  run(cores, 3000, 1500)
  const n0 = cores[0]!
  assert.equal(n0.memberState('w2', 4500), 'leaving')
})

test("with 'swim', a new leader sends all its records to the workers for its first leaderToWorkersMs, so one lost record does not hold a worker on the dead leader", () => {
  const liveness = new FakeLiveness()
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const old = cores.find((c) => c.holdsLease(3000))!
  let since: number | undefined
  let successor: string | undefined
  const toWorkers: number[] = []
  run(cores, 3000, 4000, new Set([old.self]), undefined, (self, to, now) => {
    if (self === old.self || !VOTERS.includes(self)) return
    const heir = cores.find((c) => c.self === self)!
    if (heir.leaderEpoch === null) return
    successor ??= self
    since ??= now
    if (self === successor && to!.includes(WORKERS[0]!)) toWorkers.push(now - since)
  })
  assert.ok(since !== undefined, 'nobody took over')
  const early = toWorkers.filter((t) => t < 1000)
  const late = toWorkers.filter((t) => t >= 1000)
  // Gossip interval 100 ms: about ten records in the first second, all to the workers too; then once a second.
  assert.ok(early.length >= 8, `to the workers in the first second: at ${early.join(', ')}`)
  assert.ok(late.length >= 1 && late.length <= 3, `then once a second: at ${late.join(', ')}`)
})

test("with 'swim', a joiner sends to the peer it is connected to, to all after joinerTopicMs and then ever less often until it hears a leader, then to the leader alone, echoing nothing", () => {
  const { cores, leader, joiner } = leaderAndJoiner()
  /** The joiner's records from `from` to `to` ms, and where each went. */
  const sends: Array<{ to: readonly string[] | undefined; at: number }> = []
  const step = (from: number, to: number, hear?: () => void): void => {
    for (let now = from; now < to; now += 10) {
      hear?.()
      joiner.tick(now)
      const { publish: record, to: audience } = joiner.takeReady(now)
      if (record !== undefined) sends.push({ to: audience, at: now })
    }
  }
  // Not connected yet: to all. Then its one connection, a worker, which passes nothing on.
  step(3000, 3010)
  joiner.met('w0')
  step(3010, 40_000)
  assert.equal(sends[0]!.to, undefined, 'no connection: to all')
  const toAll = sends.filter((s) => s.to === undefined).map((s) => s.at)
  assert.deepEqual(toAll, [3000, 5000, 9000, 17_000, 33_000], 'then to all after joinerTopicMs (2 s), doubling up to 16 s')
  assert.ok(
    sends.filter((s) => s.to !== undefined).every((s) => s.to!.length === 1 && s.to![0] === 'w0'),
    'else to its door',
  )
  assert.ok(sends.length >= 36 && sends.length <= 38, `one every joinerRecordMs (1 s): ${sends.length} records in 37 s`)
  // It hears the leader: to the leader alone, once a second, no echo of each leader record.
  sends.length = 0
  run(cores, 3000, 37_000)
  let now = 40_000
  step(40_000, 43_000, () => {
    run(cores, now, 10, new Set(), undefined, (self, _to, at, record) => {
      // Of the cluster's records the joiner hears the leader's alone (nobody has heard the joiner).
      if (self === leader.self) joiner.receive(record, at)
    })
    now += 10
  })
  // The first went out in the same step as the leader's first record came in.
  assert.ok(sends.length > 1 && sends.slice(1).every((s) => s.to!.length === 1 && s.to![0] === leader.self), JSON.stringify(sends.slice(0, 3)))
  assert.ok(sends.length <= 4, `${sends.length} records in 3 s: no echoes of the leader's 30 on top of the periodic ones`)
  // The leader falls silent: the joiner's records go to its door and to that leader as well.
  sends.length = 0
  step(43_000, 50_000)
  const late = sends.filter((s) => s.at >= 47_000)
  assert.ok(late.length >= 2, `${late.length} records in 3 s`)
  assert.ok(
    late.every((s) => s.to === undefined || (s.to.length === 2 && s.to.includes('w0') && s.to.includes(leader.self))),
    JSON.stringify(late),
  )
})

test("with 'swim', a joiner that holds a configuration not listing it stays a joiner: a record a second, to its door, and to all on its own schedule alone", () => {
  const liveness = new FakeLiveness()
  for (const id of [...VOTERS, ...WORKERS]) liveness.states.set(id, 'alive')
  const { cores } = electedSwim()
  const joiner = joinerCore(0, liveness)
  joiner.met('n0')
  // It takes the member lists from a record before it is admitted (the leader sends its own to the
  // joiners it has heard of), and then n0's connection is gone: every record the core addresses to
  // n0 comes back to recordFallsBack.
  joiner.receive({ ...cores[0]!.record(0), config: { epoch: 0, counter: 1, members: VOTERS, workers: WORKERS } }, 0)
  assert.deepEqual(joiner.currentConfig?.members, VOTERS)
  const records: number[] = []
  const toAll: number[] = []
  for (let now = 10; now < 40_000; now += 10) {
    joiner.tick(now)
    const { publish: record, to } = joiner.takeReady(now)
    if (record === undefined) continue
    records.push(now)
    assert.equal(record.status, 'joining')
    if (to === undefined || joiner.recordFallsBack(to, now)) toAll.push(now)
  }
  assert.ok(records.length >= 39 && records.length <= 41, `one record a second (joinerRecordMs), not one per gossip interval: ${records.length} in 40 s`)
  assert.deepEqual(toAll, [10, 2010, 6010, 14_010, 30_010], 'to all after 2 s, doubling up to 16 s: not every 2 s, as the fallback to workers goes')
})

test("with 'swim', an unsent record falls back to the topic for the leader and (from a voter) the voters at once, from a worker never for a voter, for a joiner only from the leader, for workers at most every 2 s", () => {
  const { liveness, cores, leader } = electedSwim()
  const voter = cores.find((c) => VOTERS.includes(c.self) && c !== leader)!
  const otherVoter = VOTERS.find((v) => v !== leader.self && v !== voter.self)!
  const worker = cores.find((c) => c.self === 'w0')!
  const t = 3000
  assert.equal(worker.recordFallsBack([leader.self], t), true, 'a worker to its leader')
  assert.equal(voter.recordFallsBack([otherVoter], t), true, 'a voter to a voter')
  assert.equal(worker.recordFallsBack([otherVoter], t), false, 'a worker to a voter: the voter dials it and gets its records then')
  assert.equal(worker.recordFallsBack(['w1', otherVoter], t), true, 'a worker to a worker: the first time')
  assert.equal(worker.recordFallsBack(['w1', otherVoter], t + 500), false, 'then not again within 2 s')
  assert.equal(worker.recordFallsBack(['w1'], t + 2000), true, 'and again 2 s later')
  assert.equal(leader.recordFallsBack(['w1'], t), true)
  assert.equal(leader.recordFallsBack(['w2'], t + 10), false, 'the leader to workers alone: rate limited too')
  // The connection to the leader closed (a killed process): neither a worker nor a voter floods for it.
  worker.lost(leader.self)
  voter.lost(leader.self)
  assert.equal(worker.recordFallsBack([leader.self], t + 20), false, 'a worker to a leader whose connection closed')
  assert.equal(voter.recordFallsBack([leader.self], t + 20), false, 'a voter to a leader whose connection closed')
  assert.equal(voter.recordFallsBack([leader.self, otherVoter], t + 20), true, 'the other voters still count')
  // A joiner heard of: the leader falls back for it, nobody else does.
  const joiner = joinerCore(t, liveness)
  joiner.tick(t)
  const { publish: record } = joiner.takeReady(t)
  for (const c of cores) c.receive(record!, t)
  assert.equal(worker.memberState('j', t), 'joining')
  assert.equal(worker.recordFallsBack(['j'], t + 4000), false, 'a worker: the joiner is the leader’s to admit')
  assert.equal(leader.recordFallsBack(['j'], t + 20), true, 'the leader must reach it')
})

test("with 'swim', a worker's news that its rate-limited fallback kept from the others goes to every node again with its next record", () => {
  const { cores } = electedSwim()
  const worker = cores.find((c) => c.self === 'w0')!
  const everyone = [...VOTERS, ...WORKERS].filter((n) => n !== worker.self).sort()
  const records: Array<{ now: number; to: string[] }> = []
  run(cores, 3000, 30_000, new Set(), undefined, (self, to, now) => {
    if (self === worker.self) records.push({ now, to: [...(to ?? [])].sort() })
  })
  const refresh = records.find((r) => r.to.length < everyone.length)
  assert.ok(refresh !== undefined && refresh.to.every((n) => VOTERS.includes(n)), `a quiet worker's refresh goes to the voters alone: ${JSON.stringify(records)}`)
  const t = 33_000
  assert.equal(worker.recordFallsBack(['w1'], t), true, 'its news to a worker it cannot reach: to all')
  assert.equal(worker.recordFallsBack(['w1'], t + 10), false, 'the next within 2 s: not')
  const after: Array<string[]> = []
  run(cores, t, 30_000, new Set(), undefined, (self, to) => {
    if (self === worker.self) after.push([...(to ?? [])].sort())
  })
  assert.deepEqual(after[0], everyone, 'so its next record is news again, to every node')
  assert.ok(
    after.slice(1).some((to) => to.length < everyone.length),
    'and the one after is a refresh again',
  )
})

test("with 'swim', the leader expects a joiner's record once per joinerRecordMs: a joiner that keeps that pace stays live, one that stops goes down", () => {
  const { leader, joiner } = leaderAndJoiner()
  const states: string[] = []
  for (let now = 3000; now < 8000; now += 10) {
    joiner.tick(now)
    const { publish: record } = joiner.takeReady(now)
    if (record !== undefined) {
      // The leader would admit it at once; this one only watches, so the joiner keeps joining.
      if (now >= 6000) break
      leader.receive(record, now)
    }
    if (now % 100 === 0) states.push(leader.memberState('j', now))
  }
  assert.ok(
    states.slice(0, 30).every((s) => s === 'joining'),
    `live at a record a second: ${states.slice(0, 30).join(',')}`,
  )
  // Its last record went at 5000; the detector allows a few of its intervals, as it does anyone.
  let now = 6000
  while (leader.memberState('j', now) === 'joining' && now < 12_000) now += 50
  assert.ok(now > 6500 && now < 9000, `taken for gone ${now - 5000} ms after its last record`)
})

test("with 'swim', workers are admitted at most once a second, the joiners heard meanwhile together, and the repeated member lists reach workers only at their pace", () => {
  const { liveness, cores, leader } = electedSwim()
  const joiners = ['j1', 'j2', 'j3', 'j4', 'j5', 'j6']
  for (const j of joiners) liveness.states.set(j, 'alive')
  const changes: Array<{ atMs: number; workers: number }> = []
  let counter = leader.currentConfig!.counter
  const toWorker: number[] = []
  const all = [...cores]
  // A joiner every 700 ms from 3 s: each starts and sends its records, the cluster runs on.
  for (let now = 3000; now < 9000; now += 10) {
    const i = (now - 3000) / 700
    if (Number.isInteger(i) && i < joiners.length) all.push(joinerCore(now, liveness, joiners[i]))
    run(all, now - 10, 10, new Set(), undefined, (self, to, at, record) => {
      if (self === leader.self && (to === undefined || to.includes('w0'))) toWorker.push(at)
      if (self === leader.self && record.config !== null && record.config.counter !== counter) {
        counter = record.config.counter
        changes.push({ atMs: at, workers: record.config.workers?.length ?? -1 })
      }
    })
  }
  const admitted = leader.currentConfig!.workers
  assert.deepEqual(
    joiners.filter((j) => !admitted.includes(j)),
    [],
    `all admitted by 9 s: ${admitted.join(',')}`,
  )
  assert.ok(changes.length >= 2 && changes.length <= 5, `changes: ${JSON.stringify(changes)}`)
  for (let k = 1; k < changes.length; k++) assert.ok(changes[k]!.atMs - changes[k - 1]!.atMs >= 1000, `a second apart: ${JSON.stringify(changes)}`)
  // Each change reaches the workers at once, the lists' repeats once a second: not every record (10 a second here).
  assert.ok(toWorker.length <= changes.length + 4, `to w0 at ${toWorker.join(', ')}`)
})

test("with 'swim', a worker's refresh goes to the voters and the leader alone; a change of its state goes to every member", () => {
  const liveness = new FakeLiveness()
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const cores = cluster('swim', liveness)
  const sends: Array<{ to: readonly string[] | undefined; at: number; status: string }> = []
  const onSend = (self: string, to: readonly string[] | undefined, at: number, record: MemberRecord): void => {
    if (self === 'w0') sends.push({ to, at, status: record.status })
  }
  run(cores, 0, 30_000, new Set(), undefined, onSend)
  const refreshes = sends.filter((s) => s.at > 2000)
  assert.ok(refreshes.length >= 2, `refreshes every 10 s or so: at ${refreshes.map((s) => s.at).join(', ')}`)
  for (const s of refreshes) assert.deepEqual([...(s.to ?? [])].sort(), VOTERS, `a refresh at ${s.at} goes to the voters (the leader among them)`)
  sends.length = 0
  cores.find((c) => c.self === 'w0')!.leave()
  run(cores, 30_000, 2000, new Set(), undefined, onSend)
  const leaving = sends.find((s) => s.status === 'leaving')
  assert.ok(leaving !== undefined)
  assert.deepEqual([...leaving.to!].sort(), [...VOTERS, 'w1', 'w2'].sort(), 'the leave goes to every member')
})

test("with 'swim', a worker that only ever heard the leader's records knows the other voters' addresses from them: its mesh dials them, and one at once when it knows no leader", () => {
  const { cores, leader, joiner } = leaderAndJoiner()
  // The joiner's one link is the leader: it hears the leader's records alone, and only the leader hears its records.
  let last: MemberRecord | undefined
  let now = 3000
  for (; now < 8000; now += 10) {
    joiner.tick(now)
    const { publish } = joiner.takeReady(now)
    if (publish !== undefined) leader.receive(publish, now)
    run(cores, now - 10, 10, new Set(), undefined, (self, to, at, record) => {
      if (self !== leader.self || (to !== undefined && !to.includes('j'))) return
      joiner.receive(record, at)
      last = record
    })
  }
  const config = joiner.currentConfig
  assert.ok(config?.workers.includes('j') === true, `admitted as a worker: ${JSON.stringify(config)}`)
  const others = VOTERS.filter((v) => v !== leader.self)
  const known = joiner.knownAddresses()
  assert.deepEqual(
    [...known].sort((a, b) => a.node.localeCompare(b.node)),
    VOTERS.map((node) => ({ node, addresses: [address(node)] })),
    'the leader from its record, the other voters from the leader’s',
  )
  assert.equal(joiner.knownCount, known.length)
  // With a leader, the voters are its mesh: dialled while its lag allows, a few at a time.
  assert.deepEqual([...urgentDials({ self: 'j', config, leader: leader.self, leading: false, known })], [leader.self])
  const meshAlso = meshDials({ self: 'j', config, leading: false, doubted: { suspect: new Set(), dead: new Set() } })
  const meshDue = new DialPlan().due({ nowMs: now, connected: new Set([leader.self]), urgent: new Set([leader.self]), self: 'j', mesh: true, known, meshAlso })
  assert.deepEqual(meshDue.map((d) => d.node).sort(), [...others].sort())
  // The leader killed and no other known yet: one voter, not the dead one SWIM doubts, is dialled at once.
  const doubted = { suspect: new Set([leader.self]), dead: new Set<string>() }
  const urgent = urgentDials({ self: 'j', config, leader: undefined, leading: false, known, doubted })
  const voter = others.find((v) => urgent.has(v))
  assert.ok(voter !== undefined && !urgent.has(leader.self), `a live voter is urgent: ${[...urgent].join(',')}`)
  const due = new DialPlan().due({ nowMs: now, connected: new Set(), urgent, self: 'j', mesh: false, known, meshAlso })
  assert.deepEqual(due, [{ node: voter, address: address(voter) }])
  // A voter's own record wins; a record of one that does not lead changes nothing of the others.
  const other = others.find((v) => v !== voter)!
  const own = cores.find((c) => c.self === voter)!.record(now)
  joiner.receive({ ...own, addresses: ['/dns4/moved/tcp/7400'], voters: [{ node: other, addresses: ['/dns4/forged/tcp/7400'] }] }, now)
  const after = new Map(joiner.knownAddresses().map((k) => [k.node, k.addresses]))
  assert.deepEqual([after.get(voter), after.get(other)], [['/dns4/moved/tcp/7400'], [address(other)]])
  // A configuration that makes `other` a worker drops what was learned of it.
  const demoted = { epoch: config.epoch, counter: config.counter + 1, members: config.members.filter((m) => m !== other), workers: [...config.workers, other] }
  joiner.receive({ ...last!, seq: last!.seq + 1, config: demoted }, now)
  assert.equal(joiner.currentConfig?.counter, demoted.counter)
  assert.equal(
    joiner.knownAddresses().some((k) => k.node === other),
    false,
  )
})

test("with 'gossip', the leader's records, which all carry the member lists, carry no voters' addresses: every node hears the voters, and the previous release reads them", () => {
  const cores = cluster('gossip', new FakeLiveness())
  const carried: string[] = []
  run(cores, 0, 3000, new Set(), undefined, (self, _to, at, record) => {
    if (record.voters !== undefined) carried.push(`${self} at ${at}`)
  })
  assert.ok(cores.some((c) => c.holdsLease(3000)))
  assert.deepEqual(carried, [])
})

test('a snapshot reads the liveness source again only when its `changes` or the configuration moved', () => {
  const liveness = Object.assign(new FakeLiveness(), { changes: 0 })
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const cores = cluster('swim', liveness)
  run(cores, 0, 3000)
  const leader = cores.find((c) => c.holdsLease(3000))!
  const first = leader.snapshot(3000).liveness!
  assert.equal(first.get('w1')?.status, 'alive')
  liveness.states.set('w1', 'suspect')
  assert.equal(leader.snapshot(3010).liveness, first, 'the same map while the source says nothing moved')
  liveness.changes++
  const second = leader.snapshot(3020).liveness!
  assert.notEqual(second, first)
  assert.equal(second.get('w1')?.status, 'suspect')
  assert.equal(leader.view(3020).members.find((m) => m.nodeId === 'w1')?.state, 'suspect')
})
