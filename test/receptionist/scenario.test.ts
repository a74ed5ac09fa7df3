// Goal: after partitions, crashes (with new incarnations), pauses, clock skew and lossy, reordering
// links, every node's listing of every service key converges to exactly the actors registered on the
// live nodes, and no listing ever names an actor that was not registered on its node. Method: the
// `receptionist` scenario (whole assembled nodes on the simulator) under a dense fault schedule
// drawn from each seed, 100 seeds, checked after the final heal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import type { FaultAction } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { receptionistScenario } from '../../sim/scenarios/receptionist/index.js'

const NODES = ['n0', 'n1', 'n2', 'n3']

/** A fault every ~700 ms over the first 9 s: each isolates, crashes, restarts, pauses or skews a node, or degrades the links. */
function schedule(seed: number): FaultAction[] {
  const random = new SeededRandom(seed).fork('receptionist-faults')
  const actions: FaultAction[] = []
  const down = new Set<string>()
  for (let atMs = 1000 + random.int(0, 400); atMs < 9000; atMs += 400 + random.int(0, 600)) {
    const node = NODES[random.int(0, NODES.length - 1)]!
    const roll = random.next()
    if (roll < 0.3) {
      const others = NODES.filter((n) => n !== node)
      actions.push({
        atMs,
        kind: 'partition',
        shape: 'isolate',
        blocked: others.flatMap((n): Array<[string, string]> => [
          [node, n],
          [n, node],
        ]),
      })
    } else if (roll < 0.4) actions.push({ atMs, kind: 'heal' })
    else if (roll < 0.6) {
      actions.push(down.has(node) ? { atMs, kind: 'restart', node } : { atMs, kind: 'crash', node })
      if (down.has(node)) down.delete(node)
      else down.add(node)
    } else if (roll < 0.75) actions.push({ atMs, kind: 'pause', node, forMs: 200 + random.int(0, 2500) })
    else if (roll < 0.85) actions.push({ atMs, kind: 'skew', node, offsetMs: random.int(-5000, 5000), drift: 0 })
    else actions.push({ atMs, kind: 'links', lossRate: random.next() * 0.2, duplicateRate: random.next() * 0.05, reorderRate: random.next() * 0.2 })
  }
  return actions
}

test('100 seeds of partitions, crashes, pauses, skew and lossy links: listings converge after the final heal', async () => {
  let registered = 0
  let faults = 0
  for (let seed = 1; seed <= 100; seed++) {
    const plan = schedule(seed)
    faults += plan.length
    const result = await runSimulation(receptionistScenario(), { seed, nodes: NODES.length, durationMs: 20_000, faults: [], mode: 'liveness', swarm: false, schedule: plan })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}\n${result.logTail.slice(-15).join('\n')}`)
    assert.ok(result.liveness?.convergedAtMs !== undefined, `seed ${seed}: listings converged after the heal`)
    registered += Number(/registered=(\d+)/.exec(result.summary)![1])
  }
  assert.ok(faults > 1000, `${faults} faults injected`)
  assert.ok(registered > 5000, `${registered} registrations`)
})
