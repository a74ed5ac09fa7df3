// Goal: what the core does per member stays cheap at 1,000 members without changing what it
// concludes: silent non-members are forgotten exactly FORGET_AFTER_MS after they were last heard
// (the scan is skipped until one can be due); under 'swim' a worker does not publish for
// configuration changes that leave it a worker, says it is behind only when the lists do not
// follow within workerRecordMinMs and it knows a live leader (never to all), and workers newly admitted (or listed and heard, unknown to it)
// are handed to the liveness source.
// Method: ClusterCore instances driven directly with a manual clock, records handed over at once,
// and a liveness table standing in for SWIM that records what it was told.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, type ClusterOptions, type Liveness } from '../../src/cluster/core.js'
import type { MemberRecord, PersistedClusterState } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const VOTERS = ['n0', 'n1', 'n2']
const WORKERS = ['w0', 'w1', 'w2']
const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100, voters: 3 }

class FakeLiveness implements Liveness {
  readonly states = new Map<string, 'alive' | 'suspect' | 'dead' | 'left'>()
  readonly admitted: Array<{ by: string; id: string }> = []
  constructor(private readonly self = '') {}
  member(id: string) {
    const status = this.states.get(id)
    return status === undefined ? undefined : { status, incarnation: 1 }
  }
  load() {
    return undefined
  }
  /** One table per node, so that each records what its own core told it. */
  of(self: string): FakeLiveness {
    const view = new FakeLiveness(self)
    Object.assign(view, { states: this.states, admitted: this.admitted })
    return view
  }
  /** As SwimCore's: an unknown member becomes alive. */
  admit(id: string): void {
    this.admitted.push({ by: this.self, id })
    if (!this.states.has(id)) this.states.set(id, 'alive')
  }
}

function persisted(): PersistedClusterState {
  return { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: VOTERS, workers: WORKERS }, clusterId: 'c' }
}

function node(self: string, liveness: FakeLiveness | undefined, config = true): ClusterCore {
  return new ClusterCore({
    self,
    addresses: [],
    persisted: config ? persisted() : undefined,
    founder: false,
    options: { ...OPTIONS, membership: liveness === undefined ? 'gossip' : 'swim' },
    random: new SeededRandom(self),
    nowMs: 0,
    ...(liveness === undefined ? {} : { liveness: liveness.of(self) }),
  })
}

/** Ticks every 10 ms, delivering every record to every other core at once; returns records sent by node. */
function run(cores: ClusterCore[], fromMs: number, ms: number): Map<string, number> {
  const sent = new Map<string, number>()
  for (let now = fromMs + 10; now <= fromMs + ms; now += 10) {
    for (const c of cores) c.tick(now)
    for (let round = 0; round < 10; round++) {
      let published = false
      for (const c of cores) {
        const record = c.takeReady(now).publish
        if (record === undefined) continue
        published = true
        sent.set(c.self, (sent.get(c.self) ?? 0) + 1)
        for (const other of cores) if (other !== c) other.receive(record, now)
      }
      if (!published) break
    }
  }
  return sent
}

test('a silent joiner is forgotten exactly 60 s after it was last heard; a silent member never is', () => {
  const n0 = node('n0', undefined)
  const joiner = (id: string): MemberRecord => node(id, undefined, false).record(0)
  const x = joiner('x')
  const y = joiner('y')
  n0.receive(x, 0)
  n0.receive(y, 5_000)
  n0.receive({ ...x, seq: x.seq + 1 }, 10_000)
  n0.receive(node('n1', undefined).record(0), 0)
  const known = new Map<number, string>()
  for (let now = 100; now <= 80_000; now += 100) {
    n0.tick(now)
    known.set(now, ['x', 'y', 'n1'].filter((id) => n0.knows(id) && n0.knownAddresses().some((a) => a.node === id)).join(','))
  }
  assert.equal(known.get(65_000), 'x,y,n1')
  assert.equal(known.get(65_100), 'x,n1', 'y: last heard at 5 s')
  assert.equal(known.get(70_000), 'x,n1')
  assert.equal(known.get(70_100), 'n1', 'x: last heard at 10 s')
  assert.equal(known.get(80_000), 'n1')
})

test("with 'swim', admitting a joiner makes no other worker publish, and every node but the joiner hands it to SWIM", () => {
  const liveness = new FakeLiveness()
  for (const w of [...VOTERS, ...WORKERS]) liveness.states.set(w, 'alive')
  const cores = [...VOTERS, ...WORKERS].map((id) => node(id, liveness))
  run(cores, 0, 3000)
  assert.equal(cores.filter((c) => c.holdsLease(3000)).length, 1, 'one leader')
  assert.equal(liveness.admitted.length, 0, 'no worker was admitted yet')
  const w3 = node('w3', liveness, false)
  cores.push(w3)
  const sent = run(cores, 3000, 3000)
  assert.deepEqual([...cores[0]!.currentConfig!.workers].sort(), ['w0', 'w1', 'w2', 'w3'])
  assert.equal(w3.memberState('w3', 6000), 'up')
  for (const w of WORKERS) assert.equal(sent.get(w) ?? 0, 0, `worker ${w} published ${sent.get(w)} records`)
  assert.ok((sent.get('w3') ?? 0) >= 1, 'the joiner publishes (joining, then up)')
  // Every node that held a configuration before hands w3 to SWIM once; w3 itself (first configuration) does not.
  const joiner = liveness.admitted.filter((a) => a.id === 'w3')
  assert.deepEqual(joiner.map((a) => a.by).sort(), ['n0', 'n1', 'n2', 'w0', 'w1', 'w2'])
  // Every node (w3 on its first configuration too) hands SWIM the other voters: SWIM decides those
  // it does not hear every gossip interval (all on a worker, all but the leader on a follower).
  const voters = liveness.admitted.filter((a) => a.id !== 'w3')
  assert.ok(voters.every((a) => VOTERS.includes(a.id) && a.id !== a.by))
  assert.deepEqual([...new Set(voters.map((a) => a.by))].sort(), [...VOTERS, 'w0', 'w1', 'w2', 'w3'].sort())
})

test("with 'swim', a listed worker SWIM does not know is handed to it once this node has heard its record, also on a first configuration", () => {
  // At 1,000 nodes a join update crowded out of piggybacks left a worker unknown to another's SWIM
  // (so 'down' there) until its probe walk came round: the cluster did not form in 65 s.
  const liveness = new FakeLiveness()
  for (const id of [...VOTERS, 'w0', 'w1']) liveness.states.set(id, 'alive')
  const joiner = node('w9', liveness, false)
  // Without the lists, as a worker's records are.
  const record = (id: string): MemberRecord => ({ ...node(id, undefined).record(0), config: { epoch: 0, counter: 1 } })
  joiner.receive(record('w6'), 100)
  joiner.receive(record('w2'), 60_150)
  assert.equal(liveness.admitted.length, 0, 'not listed yet: SWIM does not decide it')
  const lists = { epoch: 0, counter: 2, members: VOTERS, workers: [...WORKERS, 'w5', 'w6', 'w9'] }
  joiner.receive({ ...record('n0'), config: lists }, 60_200)
  assert.equal(joiner.memberState('w9', 60_200), 'up', 'admitted')
  const workers = liveness.admitted.filter((a) => !VOTERS.includes(a.id))
  assert.deepEqual(workers, [{ by: 'w9', id: 'w2' }], 'w2 (heard) only: w0, w1 known, w5 never heard, w6 heard over 60 s ago')
  assert.equal(joiner.memberState('w2', 60_200), 'up')
  assert.equal(joiner.memberState('w5', 60_200), 'down', 'unknown to SWIM, never heard')
  joiner.receive(record('w5'), 60_300)
  assert.deepEqual(
    liveness.admitted.filter((a) => a.id === 'w5'),
    [{ by: 'w9', id: 'w5' }],
    'its record, once heard, hands it to SWIM',
  )
  assert.equal(joiner.memberState('w5', 60_300), 'up')
})

test("with 'swim', a worker that sees a newer configuration says so only if its lists do not follow within workerRecordMinMs, and only to a live leader", () => {
  const liveness = new FakeLiveness()
  for (const w of WORKERS) liveness.states.set(w, 'alive')
  const w0 = node('w0', liveness)
  const n0 = node('n0', liveness)
  w0.tick(0)
  w0.takeReady(0)
  // n0 leads: a worker is served by the leader alone, so it says it is behind only while it knows one.
  const newer = (counter: number, lists: boolean): MemberRecord => {
    const r = n0.record(0)
    const config = lists ? { epoch: 0, counter, members: VOTERS, workers: WORKERS } : { epoch: 0, counter }
    return { ...r, epoch: 1, leaderSeq: counter, seq: r.seq + counter, config }
  }
  const published = (now: number): boolean => {
    w0.tick(now)
    return w0.takeReady(now).publish !== undefined
  }
  // The lists follow 200 ms later: nothing to say.
  w0.receive(newer(2, false), 2000)
  assert.equal(published(2100), false)
  w0.receive(newer(2, true), 2200)
  assert.equal(w0.currentConfig?.counter, 2)
  assert.equal(published(3100), false)
  assert.equal(published(4000), false)
  // They do not follow: after workerRecordMinMs (1 s) it publishes, showing the version it holds.
  w0.receive(newer(3, false), 5000)
  assert.equal(published(5500), false)
  w0.tick(6000)
  const record = w0.takeReady(6000).publish
  assert.ok(record !== undefined, 'behind for 1 s: says so')
  assert.equal(record.config?.counter, 2)
  assert.equal(published(6500), false, 'once')
  // The leader is gone (its last sequence came at 5 s). A voter's records show ever newer versions:
  // nobody but a leader would serve the lists, so the worker says nothing, and nothing to all.
  const n1 = node('n1', liveness)
  const sent: Array<readonly string[] | undefined> = []
  for (let now = 9000, counter = 4; now <= 20_000; now += 100, counter++) {
    const r = n1.record(now)
    w0.receive({ ...r, config: { epoch: 0, counter } }, now)
    w0.tick(now)
    const ready = w0.takeReady(now)
    if (ready.publish !== undefined) sent.push(ready.to)
  }
  assert.ok(sent.length <= 1, `at most its periodic refresh in 11 s, not one a second: ${sent.length} records`)
  assert.ok(
    sent.every((to) => to !== undefined),
    'none to all',
  )
  w0.leave()
  w0.tick(21_000)
  const leave = w0.takeReady(21_000)
  assert.ok(leave.publish !== undefined && leave.to !== undefined, 'its news goes point to point to the nodes it knows, not to the topic')
})
