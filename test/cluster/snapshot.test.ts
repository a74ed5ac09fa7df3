// Goal: what the cluster actor publishes (ClusterCore.snapshot) answers every read exactly as the
// core would at the time of the read, as long as the core took no step since: the lease above all
// (a reader never sees a lease the core would not grant at that instant), the leader, members'
// states and phi; and the handle reads only the published snapshot, republishing on resign.
// Method: three cores gossiping in memory on a manual clock; after every step each publishes a
// snapshot, and reads at many instants up to the next step (and far beyond, across lease ends)
// are compared with the core's own answers at those instants.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, type ClusterOptions } from '../../src/cluster/core.js'
import { ClusterHandle } from '../../src/cluster/handle.js'
import { knowsIn, leaderAt, leaseEpochAt, viewAt, type ClusterSnapshot } from '../../src/cluster/snapshot.js'
import type { PersistedClusterState } from '../../src/cluster/types.js'
import type { Clock } from '../../src/env/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100 }
const MEMBERS = ['n0', 'n1', 'n2']

function persisted(members: string[]): PersistedClusterState {
  return { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members, workers: [] }, clusterId: 'c' }
}

function core(self: string): ClusterCore {
  return new ClusterCore({ self, addresses: [], persisted: persisted(MEMBERS), founder: false, options: OPTIONS, random: new SeededRandom(self), nowMs: 0 })
}

/** Gossips in 10 ms steps; after each step every core's snapshot is published to `published`. */
class Gossip {
  nowMs = 0
  readonly down = new Set<string>()
  readonly published = new Map<string, ClusterSnapshot>()
  constructor(readonly cores: ClusterCore[]) {
    for (const c of cores) this.published.set(c.self, c.snapshot(0))
  }

  step(check?: () => void): void {
    this.nowMs += 10
    const live = this.cores.filter((c) => !this.down.has(c.self))
    for (const c of live) c.tick(this.nowMs)
    for (let round = 0; round < 10; round++) {
      let sent = false
      for (const c of live) {
        const record = c.takeReady(this.nowMs).publish
        if (record === undefined) continue
        sent = true
        for (const other of live) if (other !== c) other.receive(record, this.nowMs)
      }
      if (!sent) break
    }
    for (const c of live) this.published.set(c.self, c.snapshot(this.nowMs))
    check?.()
  }
}

/** Compares reads of `s` with the core's answers at each of `times`. */
function agree(c: ClusterCore, s: ClusterSnapshot, times: number[]): void {
  for (const t of times) {
    const epoch = c.holdsLease(t) ? (c.leaderEpoch ?? undefined) : undefined
    assert.equal(leaseEpochAt(s, t), epoch, `${c.self} lease at ${t}`)
    assert.deepEqual(leaderAt(s, t), c.leader(t), `${c.self} leader at ${t}`)
    const view = viewAt(s, t)
    for (const m of view.members) {
      assert.equal(m.state, c.memberState(m.nodeId, t), `${c.self}: state of ${m.nodeId} at ${t}`)
      assert.ok(knowsIn(s, m.nodeId) && c.knows(m.nodeId))
    }
    assert.deepEqual(view, c.view(t), `${c.self} view at ${t}`)
  }
}

test('a published snapshot answers as the core would at any later instant, until the next step', () => {
  const g = new Gossip(MEMBERS.map(core))
  let leaseChecks = 0
  for (let i = 0; i < 300; i++) {
    g.step(() => {
      for (const c of g.cores) {
        if (g.down.has(c.self)) continue
        const s = g.published.get(c.self)!
        agree(c, s, [g.nowMs, g.nowMs + 3, g.nowMs + 9.5])
        if (leaseEpochAt(s, g.nowMs) !== undefined) leaseChecks++
      }
    })
  }
  assert.ok(leaseChecks > 100, `a leader held its lease through most of the run (${leaseChecks} checks)`)
  // Cut the leader off: no step runs on its side any more, so its last snapshot must give up the
  // lease exactly when the core would, and the followers' snapshots must drop the leader exactly
  // when their cores stop counting it live.
  const leader = g.cores.find((c) => c.holdsLease(g.nowMs))!
  const s = g.published.get(leader.self)!
  assert.notEqual(leaseEpochAt(s, g.nowMs), undefined)
  const sweep = Array.from({ length: 400 }, (_, i) => g.nowMs + i * 5)
  agree(leader, s, sweep)
  assert.equal(leaseEpochAt(s, sweep.at(-1)!), undefined, 'the lease ended within the sweep')
  for (const c of g.cores) if (c !== leader) agree(c, g.published.get(c.self)!, sweep)
})

test('the handle reads only what was published, and a resignation is published before resign returns', () => {
  const g = new Gossip(MEMBERS.map(core))
  for (let i = 0; i < 200; i++) g.step()
  const leader = g.cores.find((c) => c.holdsLease(g.nowMs))!
  const clock: Clock = { wallMs: () => g.nowMs, monotonicMs: () => g.nowMs }
  const handle = new ClusterHandle()
  assert.equal(handle.leader(), undefined, 'nothing before the actor attaches')
  handle.attach(
    {
      setLogPosition: (p) => leader.setLogPosition(p),
      setCommitIndex: (i) => leader.setCommitIndex(i),
      setLogMatches: (e, m) => leader.setLogMatches(e, m),
      resign: (reason) => {
        leader.resign(reason, g.nowMs)
        return leader.snapshot(g.nowMs)
      },
    },
    clock,
    () => {},
    () => g.published.get(leader.self)!,
  )
  handle.notify()
  const epoch = leader.leaderEpoch!
  assert.equal(handle.leaderEpoch(), epoch)
  assert.deepEqual(handle.leader(), { nodeId: leader.self, epoch })
  // The core changes without a step being published: the handle does not see it.
  const other = g.cores.find((c) => c !== leader)!
  assert.equal(handle.knows('stranger'), false)
  leader.receive({ ...other.record(g.nowMs), node: 'stranger' }, g.nowMs)
  assert.equal(leader.knows('stranger'), true)
  assert.equal(handle.knows('stranger'), false, 'unpublished state is not read')
  let told: boolean | undefined
  handle.onLeadershipChange((leading) => (told = leading))
  handle.resign('log failed')
  assert.equal(handle.leaderEpoch(), undefined, 'no lease the moment resign returns')
  assert.equal(told, false)
  assert.equal(handle.view()?.resigned, 'log failed')
})

test('a lapsed lease keeps the epoch led until the leader steps down, and comes back in that epoch', () => {
  const g = new Gossip(MEMBERS.map(core))
  for (let i = 0; i < 200; i++) g.step()
  const leader = g.cores.find((c) => c.holdsLease(g.nowMs))!
  const epoch = leader.leaderEpoch!
  const clock: Clock = { wallMs: () => g.nowMs, monotonicMs: () => g.nowMs }
  const handle = new ClusterHandle()
  const noInputs = { setLogPosition: () => {}, setCommitIndex: () => {}, setLogMatches: () => {}, resign: () => g.published.get(leader.self)! }
  handle.attach(
    noInputs,
    clock,
    () => {},
    () => g.published.get(leader.self)!,
  )
  handle.notify()
  const changes: Array<number | undefined> = []
  handle.onLeadershipChange((_, e) => changes.push(e))
  const step = (): { lease: number | undefined; leading: number | undefined } => {
    g.step()
    handle.publish(g.published.get(leader.self)!)
    handle.notify()
    return { lease: handle.leaderEpoch(), leading: handle.leadingEpoch() }
  }
  const followers = g.cores.filter((c) => c !== leader).map((c) => c.self)
  // 1. The followers stall for 600 ms (one lease and a bit): no echo, the lease lapses, and it comes
  // back once they answer again, before the check quorum (a lease more) steps the leader down.
  for (const f of followers) g.down.add(f)
  const cut: Array<ReturnType<typeof step>> = []
  for (let i = 0; i < 60; i++) cut.push(step())
  for (const f of followers) g.down.delete(f)
  const after: Array<ReturnType<typeof step>> = []
  for (let i = 0; i < 30; i++) after.push(step())
  assert.ok(
    cut.some((s) => s.lease === undefined && s.leading === epoch),
    'the lease lapsed while the epoch was still led',
  )
  assert.ok(
    [...cut, ...after].every((s) => s.leading === epoch),
    'the leader never stepped down',
  )
  assert.equal(after.at(-1)!.lease, epoch, 'the lease came back in the same epoch')
  assert.deepEqual(changes, [undefined, epoch], 'listeners heard the lapse and the return')
  // 2. A longer stall: the leader steps down (rule 6); the epoch is over for it, and the next
  // leader, whoever it is, leads a newer one.
  for (const f of followers) g.down.add(f)
  const long: Array<ReturnType<typeof step>> = []
  for (let i = 0; i < 150; i++) long.push(step())
  for (const f of followers) g.down.delete(f)
  for (let i = 0; i < 300; i++) long.push(step())
  const over = long.findIndex((s) => s.leading === undefined)
  assert.ok(over > 0, 'the leader stepped down')
  assert.ok(
    long.slice(over).every((s) => s.leading !== epoch && s.lease !== epoch),
    'and never led that epoch again',
  )
  const next = g.cores.find((c) => c.holdsLease(g.nowMs))
  assert.ok(next !== undefined && next.leaderEpoch! > epoch, `a newer epoch is led (${next?.leaderEpoch})`)
})
