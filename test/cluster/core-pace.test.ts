// Goal: "Tick pace" in src/cluster/core.ts: a lone leader and a quiet worker say when their next tick
// has work (so their driver wakes a few times a second instead of 20), their leases, records and
// views are the same as when ticked fast, a planned pause is not taken for a stall (no lag) while a
// real one still is, and any other role, or an input that ends the calm role, asks for the fast pace.
// Method: ClusterCore instances on a manual clock, each ticked only when its nextTickMs says (else
// every 10 ms, the fast pace), records handed at once to the nodes the core names; a fake liveness table.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, type ClusterOptions, type Liveness } from '../../src/cluster/core.js'
import type { PersistedClusterState } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100, voters: 3 }
const FAST_MS = 10

class FakeLiveness implements Liveness {
  readonly states = new Map<string, 'alive' | 'suspect' | 'dead' | 'left'>()
  member(id: string) {
    const status = this.states.get(id)
    return status === undefined ? undefined : { status, incarnation: 1 }
  }
  load() {
    return undefined
  }
}

/** Steps of FAST_MS; a core ticks when its planned tick is due (at once when it plans none); returns ticks by node. */
function paced(cores: ClusterCore[], fromMs: number, ms: number): Map<string, number> {
  const ticks = new Map<string, number>()
  const due = new Map<string, number>()
  for (let now = fromMs + FAST_MS; now <= fromMs + ms; now += FAST_MS) {
    const ticked = new Set<string>()
    for (const c of cores) {
      if (now < (due.get(c.self) ?? 0)) continue
      c.tick(now)
      ticked.add(c.self)
      ticks.set(c.self, (ticks.get(c.self) ?? 0) + 1)
    }
    for (let round = 0; round < 10; round++) {
      let published = false
      for (const c of cores) {
        const { publish: record, to } = c.takeReady(now)
        if (record === undefined) continue
        published = true
        for (const other of cores) if (other !== c && (to === undefined || to.includes(other.self))) other.receive(record, now)
      }
      if (!published) break
    }
    // Like the driver's TickPace: a new timer after a tick, else only an earlier one.
    for (const c of cores) {
      const at = Math.max(c.nextTickMs(now) ?? now, now + FAST_MS)
      due.set(c.self, ticked.has(c.self) ? at : Math.min(due.get(c.self) ?? Infinity, at))
    }
  }
  return ticks
}

test('a lone leader ticks once per record, keeps its lease without lag, and still sees a real stall', () => {
  const founder = new ClusterCore({ self: 'f', addresses: [], persisted: undefined, founder: true, options: OPTIONS, random: new SeededRandom('f'), nowMs: 0 })
  assert.equal(founder.nextTickMs(0), undefined, 'not leading yet: the fast pace')
  paced([founder], 0, 200)
  assert.ok(founder.holdsLease(200))
  const ticks = paced([founder], 200, 10_000)
  // One tick per gossip interval (100 ms) instead of one per 10 ms.
  assert.ok(ticks.get('f')! <= 105, `${ticks.get('f')} ticks in 10 s`)
  assert.ok(founder.holdsLease(10_200), 'the lease held')
  assert.equal(founder.lag(10_200), 0, 'planned pauses are no lag')
  const next = founder.nextTickMs(10_200)!
  assert.ok(next > 10_200 && next <= 10_300, `next tick at ${next}`)
  founder.tick(next + 400)
  assert.ok(founder.lag(next + 400) > 0, 'a tick 400 ms past its plan is a stall')
})

test('a lone leader goes back to the fast pace on the first record of another node', () => {
  const founder = new ClusterCore({ self: 'f', addresses: [], persisted: undefined, founder: true, options: OPTIONS, random: new SeededRandom('f'), nowMs: 0 })
  paced([founder], 0, 500)
  assert.notEqual(founder.nextTickMs(500), undefined)
  const joiner = new ClusterCore({ self: 'j', addresses: [], persisted: undefined, founder: false, options: OPTIONS, random: new SeededRandom('j'), nowMs: 500 })
  founder.receive(joiner.takeReady(500).publish!, 500)
  assert.equal(founder.nextTickMs(500), undefined)
  paced([founder, joiner], 500, 1000)
  assert.ok(
    founder.view(1500).members.some((m) => m.nodeId === 'j' && m.state === 'up'),
    'the joiner was admitted',
  )
})

test("with 'swim', a worker ticks about once per election timeout (its leader's silence), voters at the fast pace, and the lease and views are as before", () => {
  const voters = ['n0', 'n1', 'n2']
  const liveness = new FakeLiveness()
  for (const m of [...voters, 'w0']) liveness.states.set(m, 'alive')
  const persisted: PersistedClusterState = { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: voters, workers: ['w0'] }, clusterId: 'c' }
  const cores = [...voters, 'w0'].map(
    (self) => new ClusterCore({ self, addresses: [], persisted, founder: false, options: { ...OPTIONS, membership: 'swim' }, random: new SeededRandom(self), nowMs: 0, liveness }),
  )
  paced(cores, 0, 3000)
  const ticks = paced(cores, 3000, 10_000)
  assert.equal(cores.filter((c) => c.holdsLease(13_000)).length, 1, 'one leader holds its lease')
  for (const v of voters) assert.equal(ticks.get(v), 1000, `voter ${v} ticked at the fast pace`)
  const worker = cores[3]!
  // Its leader's timeout (510 ms here) is its nearest deadline; the fast pace would be 1000 ticks.
  assert.ok(ticks.get('w0')! <= 25, `worker ticked ${ticks.get('w0')} times in 10 s`)
  assert.equal(worker.lag(13_000), 0, 'planned pauses are no lag')
  assert.ok(worker.view(13_000).leader !== null, 'the worker follows the leader')
  for (const c of cores) for (const m of c.view(13_000).members) assert.equal(m.state, 'up', `${c.self} sees ${m.nodeId} ${m.state}`)
  worker.leave()
  assert.equal(worker.nextTickMs(13_000), undefined, 'a leaving worker ticks fast')
})
