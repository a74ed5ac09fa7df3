// Goal: an election never stalls while two of three voters hear each other. Method: three cluster
// cores with a manual clock and a gossip loop, under every pattern of one-way cuts among them (cut
// from the start, cut after a leader is elected, or cut and the leader killed), with logs of
// unequal length and one voter holding a configuration the others lack; whenever two live voters
// hear each other both ways, exactly one holds a lease after 20 s. Before the pre-vote grants
// expired, 24 of these patterns had no leader for ever (a candidate that could not hear the grants
// held them); see also the single cases in core.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterCore, type ClusterOptions } from '../../src/cluster/core.js'
import type { PersistedClusterState } from '../../src/cluster/types.js'
import { SeededRandom } from '../../src/env/prng.js'

const OPTIONS: Partial<ClusterOptions> = { gossipIntervalMs: 100, leaseMs: 500, downAfterMs: 1000, candidateStaggerMs: 100 }
const MEMBERS = ['n0', 'n1', 'n2']
const LINKS = MEMBERS.flatMap((a) => MEMBERS.filter((b) => b !== a).map((b) => `${a}>${b}`))
const LOGS = [
  [5, 5, 5],
  [9, 5, 9],
  [5, 9, 9],
  [9, 9, 5],
]

function persisted(counter: number): PersistedClusterState {
  return { incarnation: 1, epoch: 0, vote: null, config: { epoch: 0, counter, members: MEMBERS, workers: [] }, clusterId: 'c' }
}

/** Runs one pattern; returns a description if it ends without exactly one leader. */
function stalls(blocked: Set<string>, phase: 'from-start' | 'after-leader' | 'kill-leader', logs: number[], newer: number, seed: number): string | undefined {
  const cores = MEMBERS.map(
    (m, i) =>
      new ClusterCore({ self: m, addresses: [], persisted: persisted(i === newer ? 2 : 1), founder: false, options: OPTIONS, random: new SeededRandom(`${m}/${seed}`), nowMs: 0 }),
  )
  cores.forEach((c, i) => c.setLogPosition({ epoch: 0, index: logs[i]! }))
  const cut = new Set<string>()
  let now = 0
  let killed: string | undefined
  const run = (ms: number): void => {
    for (const end = now + ms; now < end;) {
      now += 10
      const live = cores.filter((c) => c.self !== killed)
      for (const c of live) c.tick(now)
      for (let round = 0; round < 10; round++) {
        let published = false
        for (const c of live) {
          const record = c.takeReady(now).publish
          if (record === undefined) continue
          published = true
          for (const other of live) if (other !== c && !cut.has(`${c.self}>${other.self}`)) other.receive(record, now)
        }
        if (!published) break
      }
    }
  }
  if (phase !== 'from-start') run(3000)
  for (const link of blocked) cut.add(link)
  if (phase === 'kill-leader') killed = cores.find((c) => c.holdsLease(now))?.self
  const live = MEMBERS.filter((m) => m !== killed)
  const hear = (a: string, b: string): boolean => !blocked.has(`${a}>${b}`) && !blocked.has(`${b}>${a}`)
  if (!live.some((a) => live.some((b) => a < b && hear(a, b)))) return undefined
  run(20_000)
  const leaders = cores.filter((c) => c.self !== killed && c.holdsLease(now)).map((c) => c.self)
  return leaders.length === 1
    ? undefined
    : `${phase}, cut ${[...blocked].join(' ')}, logs ${logs.join('/')}, newer config on ${newer}, killed ${killed}: leaders [${leaders.join(',')}]`
}

test('every pattern of one-way cuts among three voters in which two live voters hear each other elects one leader', () => {
  const stalled: string[] = []
  let runs = 0
  for (let mask = 0; mask < 1 << LINKS.length; mask++) {
    const blocked = new Set(LINKS.filter((_, i) => (mask >> i) & 1))
    for (const phase of ['from-start', 'after-leader', 'kill-leader'] as const) {
      for (const logs of LOGS) {
        for (const newer of [-1, 1]) {
          runs++
          const s = stalls(blocked, phase, logs, newer, mask)
          if (s !== undefined) stalled.push(s)
        }
      }
    }
  }
  assert.deepEqual(stalled, [], `${stalled.length} of ${runs} patterns stalled`)
})
