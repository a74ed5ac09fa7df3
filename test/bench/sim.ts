/**
 * Simulator speed: 600 simulated seconds of the default scenario (mesh, faults
 * partition,crash,loss,skew) with 7 and with 50 nodes, on one core. Speed is simulated seconds per
 * wall second. Prints one JSON object on the last line.
 */
import { runSimulation, type SimOptions } from '../../sim/run.js'
import { meshScenario } from '../../sim/scenarios/mesh/index.js'

const DURATION_MS = Number(process.env.SIM_DURATION_MS ?? 600_000)
const options = (nodes: number, seed: number): SimOptions => ({
  seed,
  nodes,
  durationMs: DURATION_MS,
  faults: ['partition', 'crash', 'loss', 'skew'],
  mode: 'safety',
  swarm: false,
})

let events = 0
let wallMs = 0
const speeds = new Map<number, number[]>()
for (const [nodes, runs] of [
  [7, 3],
  [50, 1],
] as const) {
  for (let run = 0; run < runs; run++) {
    const result = await runSimulation(meshScenario(), options(nodes, run + 1))
    if (result.violations.length > 0) throw new Error(`invariant violated: ${result.violations[0]!.message}`)
    events += result.events
    wallMs += result.wallMs
    speeds.set(nodes, [...(speeds.get(nodes) ?? []), result.speed])
    console.error(`${nodes} nodes seed ${run + 1}: ${result.events} events, ${(result.wallMs / 1000).toFixed(2)} s wall, ${Math.round(result.speed)}x`)
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(
  JSON.stringify({ bench: 'sim', speed_7: Math.round(median(speeds.get(7)!)), speed_50: Math.round(median(speeds.get(50)!)), events_per_s: Math.round(events / (wallMs / 1000)) }),
)
