// Shared by the work-stealing tests: the jobs scenario with one slow node, so that its queue fills
// while the other nodes drain theirs and ask to take its waiting attempts.
import assert from 'node:assert/strict'
import type { FaultKind } from '../../sim/faults/schedule.js'
import { runSimulation, type SimResult } from '../../sim/run.js'
import { jobsScenario } from '../../sim/scenarios/jobs/index.js'

const FAULTS: FaultKind[] = ['partition', 'crash', 'loss', 'pause', 'ambiguous-ack']

/** 3 nodes of 2 workers; every second each submits 6 jobs of up to 200 ms, 5 times longer on n2. */
export function stealScenario(steal = true, slots = 1) {
  return jobsScenario({ concurrency: 2 * slots, slots, burst: 6, submitEveryMs: 1000, jobMaxMs: 200, slow: { n2: 5 }, steal })
}

/** A number from the scenario's summary line. */
export function figure(result: SimResult, name: string): number {
  const match = new RegExp(`${name}=(\\d+)`).exec(result.summary)
  assert.ok(match !== null, result.summary)
  return Number(match[1])
}

/** Runs `count` swarm seeds in liveness mode (faults, then a heal after which every acknowledged job must finish); returns the totals. */
export async function stealSeeds(first: number, count: number): Promise<{ acked: number; released: number }> {
  let acked = 0
  let released = 0
  for (let seed = first; seed < first + count; seed++) {
    const result = await runSimulation(stealScenario(), { seed, nodes: 3, durationMs: 12_000, faults: FAULTS, mode: 'liveness', swarm: true })
    assert.deepEqual(result.violations, [], `seed ${seed}: ${result.summary}`)
    acked += figure(result, 'acked')
    released += figure(result, 'released')
  }
  return { acked, released }
}
