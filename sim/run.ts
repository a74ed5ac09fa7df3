/**
 * Runs one simulation: derives everything from the seed (options, fault schedule, latencies,
 * workload, each node's randomness), runs the scenario's real runtime code on the kernel with
 * tripwires armed, checks invariants after every event, liveness after the final heal, and history
 * checks at the end, and reports the trace hash.
 */
import { SeededRandom } from '../src/env/prng.js'
import { EventKind } from './kernel/loop.js'
import { installTripwires } from './kernel/tripwires.js'
import { applyFault, describeFault, healAll } from './faults/apply.js'
import { drawSchedule, planFaults, type FaultAction, type FaultKind, type FaultPlan } from './faults/schedule.js'
import type { NetworkStats } from './net/network.js'
import { World, type BootFn, type Violation } from './world.js'

/** An online invariant, checked after every event; `node` is the index of the node whose event ran. */
export interface Invariant<App> {
  readonly name: string
  check(world: World<App>, node: number | undefined): string | undefined
}

/** A check run once at the end of the run. */
export interface FinalCheck<App> {
  readonly name: string
  check(world: World<App>): string | undefined
}

/** What the cluster must reach after the final heal, and how soon. */
export interface Liveness<App> {
  readonly boundMs: number
  /** Undefined when the condition holds, else what is still missing. */
  check(world: World<App>): string | undefined
}

/** A scenario: how to build a node, what load to put on the cluster, and what must hold. */
export interface Scenario<App> {
  readonly name: string
  readonly boot: BootFn<App>
  /** Starts the workload once the world exists; no new work should begin after `endMs`. */
  workload?(world: World<App>, endMs: number): void
  readonly invariants: ReadonlyArray<Invariant<App>>
  readonly liveness?: Liveness<App>
  readonly final: ReadonlyArray<FinalCheck<App>>
  /** One-line summary of the run's history for the report (jobs acked, completed, ...). */
  summary?(world: World<App>): string
}

/** Options of one run. */
export interface SimOptions {
  seed: number
  nodes: number
  durationMs: number
  faults: readonly FaultKind[]
  mode: 'safety' | 'liveness'
  swarm: boolean
  /** Replaces the drawn fault schedule (replay and shrink). */
  schedule?: readonly FaultAction[]
  /** Log at debug/info level into the ring too. */
  verbose?: boolean
  /**
   * Ends a liveness run once it converged instead of at `durationMs`: for seed swarms, whose runs
   * check convergence, while the safety runs check invariants through a quiet tail.
   */
  stopWhenConverged?: boolean
}

/** What a run produced. */
export interface SimResult {
  readonly seed: number
  readonly options: SimOptions
  readonly plan: FaultPlan
  readonly schedule: readonly FaultAction[]
  readonly events: number
  readonly simMs: number
  readonly wallMs: number
  readonly speed: number
  readonly traceHash: string
  readonly checkpoints: readonly string[]
  readonly violations: readonly Violation[]
  readonly liveness?: { healedAtMs: number; boundMs: number; convergedAtMs?: number }
  readonly summary: string
  readonly network: NetworkStats
  readonly logTail: readonly string[]
}

/** How often liveness is re-checked after the final heal. */
const LIVENESS_POLL_MS = 100

/**
 * The quiet end of every run: no new faults start and no new work begins, so that work in flight
 * can settle before the history checks (faults already in force, like a partition, stay).
 */
const QUIET_MS = 5000

/**
 * Runs `scenario` under `options`. `onProgress` gets the simulated time every 1% of the duration
 * (for a progress bar); it is called between events and touches nothing, so the trace is the same.
 */
export async function runSimulation<App>(scenario: Scenario<App>, options: SimOptions, onProgress?: (simMs: number) => void): Promise<SimResult> {
  const root = new SeededRandom(options.seed)
  const plan = planFaults(options.faults, options.nodes, options.swarm, root.fork('options'))
  const world = new World<App>(options.seed, options.nodes, scenario.boot, options.verbose ?? false)
  const liveness = options.mode === 'liveness' ? scenario.liveness : undefined
  const quietMs = Math.min(QUIET_MS, options.durationMs * 0.1)
  const healAtMs = liveness === undefined ? options.durationMs : Math.max(0, options.durationMs - Math.max(2 * liveness.boundMs, options.durationMs * 0.1))
  const faultsEndMs = Math.min(healAtMs, options.durationMs - quietMs)
  const schedule = options.schedule ?? drawSchedule(plan, world.nodeIds, world.services, faultsEndMs, root.fork('faults'))

  for (const node of world.nodes) world.start(node)
  scenario.workload?.(world, options.durationMs - quietMs)
  for (const action of schedule) {
    if (action.atMs < options.durationMs) world.at(action.atMs, () => applyFault(world, action), EventKind.Fault)
  }
  let convergedAtMs: number | undefined
  if (liveness !== undefined) {
    world.at(healAtMs, () => healAll(world), EventKind.Fault)
    const poll = (): void => {
      if (liveness.check(world) === undefined) {
        convergedAtMs = world.nowMs
        return
      }
      if (world.nowMs >= healAtMs + liveness.boundMs) {
        world.violate('liveness', `not converged ${liveness.boundMs} ms after the final heal: ${liveness.check(world)}`)
        return
      }
      world.at(world.nowMs + LIVENESS_POLL_MS, poll, EventKind.Check)
    }
    world.at(healAtMs + LIVENESS_POLL_MS, poll, EventKind.Check)
  }

  const onRejection = (reason: unknown): void => world.violate('no-unhandled-rejection', describe(reason))
  process.on('unhandledRejection', onRejection)
  const restore = installTripwires()
  const started = performance.now()
  const progressStepMs = Math.max(1, options.durationMs / 100)
  let progressAtMs = 0
  try {
    await world.kernel.run(
      options.durationMs * 1000,
      (owner) => {
        if (onProgress !== undefined && world.nowMs >= progressAtMs) {
          progressAtMs = world.nowMs + progressStepMs
          onProgress(world.nowMs)
        }
        if (world.violations.length > 0) return false
        if (convergedAtMs !== undefined && options.stopWhenConverged === true) return false
        for (const invariant of scenario.invariants) {
          const message = invariant.check(world, owner?.index)
          if (message !== undefined) {
            world.violate(invariant.name, message)
            return false
          }
        }
        return true
      },
      (error, owner) => world.violate('no-uncaught-exception', `${owner === undefined ? 'harness' : `node n${owner.index}`}: ${describe(error)}`),
    )
  } finally {
    restore()
    process.off('unhandledRejection', onRejection)
  }
  const wallMs = performance.now() - started
  if (world.violations.length === 0) {
    for (const check of scenario.final) {
      const message = check.check(world)
      if (message !== undefined) world.violate(check.name, message)
    }
  }
  const simMs = world.nowMs
  return {
    seed: options.seed,
    options,
    plan,
    schedule,
    events: world.kernel.eventsRun,
    simMs,
    wallMs,
    speed: simMs / Math.max(wallMs, 1e-3),
    traceHash: world.kernel.trace.hex(),
    checkpoints: world.kernel.trace.checkpoints,
    violations: world.violations,
    ...(liveness === undefined ? {} : { liveness: { healedAtMs: healAtMs, boundMs: liveness.boundMs, ...(convergedAtMs === undefined ? {} : { convergedAtMs }) } }),
    summary: scenario.summary?.(world) ?? '',
    network: { ...world.network.stats },
    logTail: [...world.ring.lines],
  }
}

/** The report lines of a run, as the CLI prints them. */
export function formatResult(result: SimResult, scenarioName: string): string[] {
  const o = result.options
  const lines = [
    `seed=${result.seed} scenario=${scenarioName} nodes=${o.nodes} mode=${o.mode} duration=${o.durationMs / 1000}s swarm=${o.swarm}`,
    `faults: ${result.plan.enabled.length === 0 ? 'none' : result.plan.enabled.map((k) => `${k}(every ~${Math.round((result.plan.meanIntervalMs[k] ?? 0) / 1000)}s)`).join(' ')}; ${result.schedule.length} actions${result.schedule.length > 0 ? `, first: ${describeFault(result.schedule[0]!)} @${result.schedule[0]!.atMs}ms` : ''}`,
    `events=${result.events} sim=${(result.simMs / 1000).toFixed(1)}s wall=${(result.wallMs / 1000).toFixed(2)}s speed=${Math.round(result.speed)}x`,
    `network: sent=${result.network.sent} delivered=${result.network.delivered} dropped=${result.network.dropped} duplicated=${result.network.duplicated}`,
  ]
  if (result.summary !== '') lines.push(result.summary)
  if (result.liveness !== undefined) {
    const l = result.liveness
    lines.push(
      `liveness: healed@${(l.healedAtMs / 1000).toFixed(1)}s ${l.convergedAtMs === undefined ? 'NOT converged' : `converged@${(l.convergedAtMs / 1000).toFixed(1)}s`} (bound ${l.boundMs / 1000}s)`,
    )
  }
  if (result.violations.length === 0) lines.push('invariants: all held')
  for (const v of result.violations) lines.push(`VIOLATION ${v.invariant} at ${(v.atMs / 1000).toFixed(3)}s (event ${v.event}): ${v.message}`)
  lines.push(`trace-hash: ${result.traceHash}`)
  return lines
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}
