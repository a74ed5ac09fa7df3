/**
 * The simulator part of the scale bench (test/bench/scale.ts): runs the `cluster-scale` scenario
 * (sim/scenarios/cluster-scale) on `nodes` simulated nodes and reports its measurements.
 */
import { performance } from 'node:perf_hooks'
import { runSimulation } from '../../sim/run.js'
import { clusterScaleScenario, type ClusterScaleReport } from '../../sim/scenarios/cluster-scale/index.js'

export interface SimScaleResult {
  nodes: number
  /** Every live node sees a crashed worker as not up, seconds after the crash. */
  convergence_s: number | null
  failover_ms: number | null
  formed_s: number | null
  false_suspicions: number
  bytes_per_node_s: number
  leader_msgs_per_s: number
  wall_s: number
  violations: string[]
}

export async function simScale(nodes: number, seed = 1): Promise<SimScaleResult> {
  let report: ClusterScaleReport | undefined
  const started = performance.now()
  const result = await runSimulation(clusterScaleScenario({ nodes }, (r) => (report = r)), { seed, nodes, durationMs: 50_000, faults: [], mode: 'safety', swarm: false, schedule: [] })
  const r = report
  return {
    nodes,
    convergence_s: r?.detectionMs == null ? null : r.detectionMs / 1000,
    failover_ms: r?.failoverMs ?? null,
    formed_s: r?.formedAtMs == null ? null : r.formedAtMs / 1000,
    false_suspicions: r?.falseSuspicions ?? -1,
    bytes_per_node_s: r?.bytesPerNodeS ?? -1,
    leader_msgs_per_s: r?.leaderMsgsPerS ?? -1,
    wall_s: Math.round((performance.now() - started) / 100) / 10,
    violations: result.violations.map((v) => `${v.invariant}: ${v.message}`),
  }
}
