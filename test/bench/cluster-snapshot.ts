/**
 * What publishing the cluster core's snapshot after every step costs (src/cluster/snapshot.ts).
 * N cores gossip in memory on a manual clock; mode A runs the core alone and reads the leader and
 * lease from the core per record received (the old handle), mode B also takes the snapshot after
 * every step of every core and reads the leader, lease and membership from it per record received
 * (the new handle). Runs A B A B and reports B/A of the wall time and the extra time per record
 * received (the step of a bare core, without decoding or signature checks); one JSON line last.
 * Usage: npm run bench -- cluster-snapshot [--nodes 25] [--steps 3000] [--rounds 3]
 */
import { parseArgs } from 'node:util'
import { ClusterCore } from '../../src/cluster/core.js'
import { knowsIn, leaderAt, leaseEpochAt, type ClusterSnapshot } from '../../src/cluster/snapshot.js'
import { SeededRandom } from '../../src/env/prng.js'
import { loadavg } from 'node:os'

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '25' }, steps: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '3' } } })
const nodes = Number(values.nodes)
const steps = Number(values.steps)
const rounds = Number(values.rounds)

let received = 0

function run(snapshots: boolean): number {
  received = 0
  const ids = Array.from({ length: nodes }, (_, i) => `n${String(i).padStart(2, '0')}`)
  const persisted = { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter: 1, members: ids.slice(0, 5), workers: ids.slice(5) }, clusterId: 'c' }
  const cores = ids.map(
    (self) => new ClusterCore({ self, addresses: [], persisted, founder: false, options: { gossipIntervalMs: 100, leaseMs: 500 }, random: new SeededRandom(self), nowMs: 0 }),
  )
  const published = new Map<ClusterCore, ClusterSnapshot>()
  let sink = 0
  const start = performance.now()
  for (let step = 1, now = 0; step <= steps; step++) {
    now += 10
    for (const c of cores) c.tick(now)
    for (const c of cores) {
      const record = c.takeReady(now).publish
      if (snapshots) published.set(c, c.snapshot(now))
      if (record === undefined) continue
      for (const other of cores) {
        if (other === c) continue
        other.receive(record, now)
        received++
        if (snapshots) {
          const s = other.snapshot(now)
          published.set(other, s)
          sink += (leaderAt(s, now)?.epoch ?? 0) + (leaseEpochAt(s, now) ?? 0) + Number(knowsIn(s, c.self))
        } else sink += (other.leader(now)?.epoch ?? 0) + (other.holdsLease(now) ? 1 : 0) + Number(other.knows(c.self))
      }
    }
  }
  if (sink < 0) throw new Error('unreachable')
  return performance.now() - start
}

const load = loadavg()[0]!
const a: number[] = []
const b: number[] = []
run(false)
run(true)
for (let r = 0; r < rounds; r++) {
  a.push(run(false))
  b.push(run(true))
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
const ratio = median(b) / median(a)
console.log(`A (core reads): ${a.map((x) => x.toFixed(0)).join(' ')} ms; B (snapshot per step + snapshot reads): ${b.map((x) => x.toFixed(0)).join(' ')} ms`)
console.log(
  JSON.stringify({
    bench: 'cluster-snapshot',
    nodes,
    steps,
    rounds,
    aMs: median(a),
    bMs: median(b),
    ratio: Number(ratio.toFixed(3)),
    recordsReceived: received,
    extraUsPerRecord: Number((((median(b) - median(a)) * 1000) / received).toFixed(3)),
    loadavg: [load, loadavg()[0]],
  }),
)
