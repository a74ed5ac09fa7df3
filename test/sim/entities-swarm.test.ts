// Goal: cluster entities keep at most one activation per key (by epoch), per-sender order per key,
// no acknowledged persistent update lost, and answers from every key after the final heal, over 500
// swarm seeds of partitions, crashes, pauses, skew and loss (the CLI runs such swarms too:
// `distributex sim swarm --scenario entities --seeds 1..500 --faults partition,crash,pause,skew,loss --nodes 3 --duration 15s --swarm`).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation } from '../../sim/run.js'
import { entitiesScenario } from '../../sim/scenarios/entities/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'pause', 'skew', 'loss']
const handled = (summary: string): number => Number(/handled=(\d+)/.exec(summary)![1])

test('500 swarm seeds of the entities scenario hold every invariant and converge', async () => {
  let total = 0
  for (let seed = 1; seed <= 500; seed++) {
    const result = await runSimulation(entitiesScenario({ sendEveryMs: 80 }), { seed, nodes: 3, durationMs: 12_000, faults: FAULTS, mode: 'liveness', swarm: true })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}\n${result.logTail.slice(-10).join('\n')}`)
    total += handled(result.summary)
  }
  assert.ok(total > 50_000, `${total} messages handled`)
})
