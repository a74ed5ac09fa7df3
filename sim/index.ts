/**
 * The deterministic simulator's TypeScript API: build a scenario, run it from a seed, inspect the
 * result; save, replay and shrink failures. `distributex sim` is the same thing on the command line.
 */
export type { ShrinkProgress } from './failures.js'
export type { ScenarioOptions } from './scenarios/index.js'
export type { PeerView } from './scenarios/mesh/heartbeat.js'
export type { Kernel, Owner, SimEvent } from './kernel/loop.js'
export type { TraceHash } from './kernel/trace.js'
export type { ReplicaImage, SimReplicaDisk } from './services/replica-log.js'
export type { ClockSkew, LogRing } from './kernel/node-env.js'
export type { LinkFaults, NetworkStats, SimEndpoint, SimNetwork } from './net/network.js'
export type { SimDisk } from './services/disk.js'
export type { CacheEntry, SimCacheService } from './services/cache.js'
export type { AcceptedAppend, SimJobLogService } from './services/job-log.js'
export { runSimulation, formatResult, type Invariant, type FinalCheck, type Liveness, type Scenario, type SimOptions, type SimResult } from './run.js'
export { World, type NodeContext, type SimNode, type Violation, type BootFn } from './world.js'
export {
  FAULT_KINDS,
  PARTITION_SHAPES,
  planFaults,
  drawSchedule,
  partitionLinks,
  type FaultAction,
  type FaultKind,
  type FaultPlan,
  type PartitionShape,
} from './faults/schedule.js'
export { loadFailure, saveFailure, replay, shrink, toFailure, runNamed, type FailureFile } from './failures.js'
export { SCENARIOS, DEFAULT_SCENARIO } from './scenarios/index.js'
export { meshScenario, type MeshBug, type MeshInit, type MeshApp } from './scenarios/mesh/index.js'
export { DeterminismViolation } from './kernel/tripwires.js'
