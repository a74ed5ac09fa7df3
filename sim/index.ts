/**
 * The deterministic simulator's TypeScript API: build a scenario, run it from a seed, inspect the
 * result; save, replay and shrink failures. `distributex sim` is the same thing on the command line.
 */
export { runSimulation, formatResult, type Invariant, type FinalCheck, type Liveness, type Scenario, type SimOptions, type SimResult } from './run.js'
export { World, type NodeContext, type SimNode, type Violation, type BootFn } from './world.js'
export { FAULT_KINDS, PARTITION_SHAPES, planFaults, drawSchedule, partitionLinks, type FaultAction, type FaultKind, type FaultPlan, type PartitionShape } from './faults/schedule.js'
export { loadFailure, saveFailure, replay, shrink, toFailure, runNamed, type FailureFile } from './failures.js'
export { SCENARIOS, DEFAULT_SCENARIO } from './scenarios/index.js'
export { meshScenario, type MeshBug, type MeshInit, type MeshApp } from './scenarios/mesh/index.js'
export { DeterminismViolation } from './kernel/tripwires.js'
