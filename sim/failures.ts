/**
 * Failure files, replay and shrinking. A failure file holds everything needed to run a failing
 * simulation again exactly: scenario, bugs, seed, options, the explicit fault schedule, and what
 * failed. Shrinking keeps the seed (so workload and latencies stay put), first cuts the run short
 * just after the violation, then removes fault actions (delta debugging) while the same invariant
 * still fails.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { runSimulation, type SimOptions, type SimResult } from './run.js'
import type { FaultAction } from './faults/schedule.js'
import { SCENARIOS } from './scenarios/index.js'
import type { Violation } from './world.js'

/** The saved form of a failing run. */
export interface FailureFile {
  readonly version: 1
  readonly scenario: string
  readonly bugs: readonly string[]
  readonly commit?: string
  readonly options: Omit<SimOptions, 'schedule'>
  readonly schedule: readonly FaultAction[]
  readonly violation: Violation
  readonly traceHash: string
  readonly logTail: readonly string[]
  readonly repro: string
}

/** Thrown for a failure file that cannot be used. */
export class FailureFileError extends Error {
  override readonly name = 'FailureFileError'
  readonly code = 'ERR_FAILURE_FILE'
}

/** Runs a scenario by name with fresh state; `onProgress` as runSimulation's. */
export function runNamed(scenario: string, bugs: readonly string[], options: SimOptions, onProgress?: (simMs: number) => void): Promise<SimResult> {
  const make = SCENARIOS[scenario]
  if (make === undefined) throw new FailureFileError(`unknown scenario ${JSON.stringify(scenario)}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  return runSimulation(make({ bugs }), options, onProgress)
}

/** Builds the failure record of a failing result. */
export function toFailure(result: SimResult, scenario: string, bugs: readonly string[], commit?: string): FailureFile {
  const violation = result.violations[0]
  if (violation === undefined) throw new FailureFileError('the run did not fail')
  const { schedule: _ignored, ...options } = result.options
  return {
    version: 1,
    scenario,
    bugs,
    ...(commit === undefined ? {} : { commit }),
    options,
    schedule: result.schedule,
    violation,
    traceHash: result.traceHash,
    logTail: result.logTail,
    repro: '',
  }
}

/** Writes a failure file; its `repro` line names the file. */
export async function saveFailure(path: string, failure: FailureFile): Promise<void> {
  await writeFile(path, JSON.stringify({ ...failure, repro: `distributex sim replay ${path}` }, null, 1) + '\n')
}

export async function loadFailure(path: string): Promise<FailureFile> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'))
  } catch (error) {
    throw new FailureFileError(`cannot read failure file ${path}: ${(error as Error).message}`)
  }
  const f = parsed as Partial<FailureFile>
  if (f.version !== 1 || typeof f.scenario !== 'string' || !Array.isArray(f.schedule) || typeof f.options?.seed !== 'number' || f.violation === undefined) {
    throw new FailureFileError(`${path} is not a DistributeX failure file`)
  }
  return f as FailureFile
}

/** Runs a failure file again with its exact schedule. */
export function replay(failure: FailureFile): Promise<SimResult> {
  return runNamed(failure.scenario, failure.bugs, { ...failure.options, schedule: failure.schedule })
}

/** Progress of a shrink, for the CLI. */
export type ShrinkProgress = (message: string) => void

/** Shrinks a failure: shorter run, fewer fault actions, same invariant failing. */
export async function shrink(failure: FailureFile, progress: ShrinkProgress = () => {}): Promise<FailureFile> {
  const invariant = failure.violation.invariant
  let runs = 0
  const fails = async (options: Omit<SimOptions, 'schedule'>, schedule: readonly FaultAction[]): Promise<SimResult | undefined> => {
    runs++
    const result = await runNamed(failure.scenario, failure.bugs, { ...options, schedule })
    return result.violations[0]?.invariant === invariant ? result : undefined
  }
  let options = failure.options
  let schedule = [...failure.schedule]
  let best: SimResult | undefined
  if (options.mode === 'safety') {
    const shorter = { ...options, durationMs: Math.min(options.durationMs, Math.ceil(failure.violation.atMs) + 1000) }
    const result = await fails(shorter, schedule)
    if (result !== undefined) {
      options = shorter
      best = result
      schedule = schedule.filter((a) => a.atMs < shorter.durationMs)
      progress(`duration ${failure.options.durationMs} ms -> ${shorter.durationMs} ms`)
    }
  }
  let chunks = 2
  while (schedule.length > 0 && chunks <= schedule.length * 2) {
    const size = Math.ceil(schedule.length / chunks)
    let reduced = false
    for (let start = 0; start < schedule.length; start += size) {
      const candidate = [...schedule.slice(0, start), ...schedule.slice(start + size)]
      const result = await fails(options, candidate)
      if (result !== undefined) {
        schedule = candidate
        best = result
        chunks = Math.max(chunks - 1, 2)
        reduced = true
        progress(`${schedule.length} fault actions left (${runs} runs)`)
        break
      }
    }
    if (!reduced) {
      if (size === 1) break
      chunks = Math.min(chunks * 2, schedule.length)
    }
  }
  best ??= await fails(options, schedule)
  if (best === undefined) throw new FailureFileError('the failure did not reproduce; nothing to shrink')
  progress(`done after ${runs} runs: ${failure.schedule.length} -> ${schedule.length} fault actions`)
  return toFailure(best, failure.scenario, failure.bugs, failure.commit)
}
