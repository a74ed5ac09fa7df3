/**
 * `distributex sim ...`: run, check, swarm, replay and shrink simulations.
 *
 * Exit codes: 0 pass, 1 an invariant was violated, 2 nondeterminism detected (two runs of one seed
 * differ), 3 harness error (bad arguments, unreadable files, a crash of the simulator itself).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FAULT_KINDS, type FaultKind } from './faults/schedule.js'
import { loadFailure, replay, runNamed, saveFailure, shrink, toFailure } from './failures.js'
import { formatResult, type SimOptions, type SimResult } from './run.js'
import { DEFAULT_SCENARIO, SCENARIOS } from './scenarios/index.js'
import { compare, formatTable, jsonLine } from './placement/compare.js'
import { runRampStudy } from './placement/ramps.js'
import { renderReport } from './placement/report.js'
import { PLACEMENT_SCENARIOS } from './placement/scenarios.js'
import { PLACEMENT_NAMES } from '../src/jobs/placement/index.js'
import { writeFile } from 'node:fs/promises'
import { ProgressBar, showProgress } from '../src/cli/progress.js'

const USAGE = `usage:
  distributex sim run    --seed N [--nodes 7] [--duration 600s] [--faults partition,crash,loss,skew]
                         [--mode safety|liveness] [--swarm] [--scenario mesh] [--bug NAME] [--out FILE] [--verbose]
  distributex sim check  --seed N [same options]      run twice, compare trace hashes
  distributex sim swarm  --seeds 1..500 [same options] [--out DIR] [--jobs 2] [--quiet] [--progress]
                         --quiet prints failures only; --progress draws seeds done on stderr
                         (shown on a terminal with --quiet; one process only, not with --jobs)
  distributex sim compare --scenario S2 [--policies wlc,wlc+steal,eect,eect-pull+rank,eect-pull+cp,...] [--seeds 1..5] [--tasks 20000]
                         [--overcommit N|inf] [--loads 0.5,0.8,0.9] [--report out.html]
                         placement policies on identical seeds (scenarios: ${Object.keys(PLACEMENT_SCENARIOS).join(', ')})
  distributex sim replay FILE
  distributex sim shrink FILE [--out FILE]

run, check and compare draw a progress bar on stderr on a terminal, or with --progress
faults: ${FAULT_KINDS.join(', ')}
exit codes: 0 pass, 1 invariant violated, 2 nondeterminism, 3 harness error
`

/** Thrown for bad command-line input. */
class UsageError extends Error {
  override readonly name = 'UsageError'
}

const RUN_OPTIONS = {
  seed: { type: 'string' },
  seeds: { type: 'string' },
  nodes: { type: 'string', default: '7' },
  duration: { type: 'string', default: '600s' },
  faults: { type: 'string', default: 'partition,crash,loss,skew' },
  mode: { type: 'string', default: 'safety' },
  swarm: { type: 'boolean', default: false },
  scenario: { type: 'string', default: DEFAULT_SCENARIO },
  bug: { type: 'string', multiple: true, default: [] as string[] },
  out: { type: 'string' },
  jobs: { type: 'string', default: '1' },
  verbose: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  progress: { type: 'boolean', default: false },
  policies: { type: 'string' },
  tasks: { type: 'string' },
  overcommit: { type: 'string' },
  loads: { type: 'string' },
  report: { type: 'string' },
} satisfies NonNullable<ParseArgsConfig['options']>

type Values = ReturnType<typeof parseArgs<{ options: typeof RUN_OPTIONS; allowPositionals: true }>>['values']

/** Runs one `sim` subcommand; returns the exit code. */
export async function simMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: RUN_OPTIONS, allowPositionals: true })
    const [command, file] = positionals
    switch (command) {
      case 'run':
        return await cmdRun(values)
      case 'check':
        return await cmdCheck(values)
      case 'swarm':
        return await cmdSwarm(values)
      case 'compare':
        return await cmdCompare(values)
      case 'replay':
        return await cmdReplay(requireFile(file))
      case 'shrink':
        return await cmdShrink(requireFile(file), values.out)
      default:
        process.stdout.write(USAGE)
        return command === undefined || command === 'help' ? 0 : 3
    }
  } catch (error) {
    process.stderr.write(`sim: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`)
    if (!(error instanceof UsageError)) process.stderr.write(`${(error as Error).stack ?? ''}\n`)
    return 3
  }
}

/** Default policy matrix of `sim compare`: the baselines, ours, and the oracle reference. */
const COMPARE_POLICIES = ['round-robin', 'random', 'weighted-round-robin', 'least-loaded', 'wlc', 'p2c', 'eect', 'eect-pull', 'oracle']

async function cmdCompare(values: Values): Promise<number> {
  const name = values.scenario === DEFAULT_SCENARIO ? 'S2' : values.scenario
  const base = PLACEMENT_SCENARIOS[name]
  if (base === undefined) throw new UsageError(`unknown placement scenario ${JSON.stringify(name)}; known: ${Object.keys(PLACEMENT_SCENARIOS).join(', ')}`)
  const policies = values.policies === undefined ? COMPARE_POLICIES : values.policies.split(',').map((p) => p.trim())
  for (const p of policies) {
    const [policy, modifier] = p.split('+')
    if (
      (policy !== 'oracle' && !(PLACEMENT_NAMES as readonly string[]).includes(policy!)) ||
      (modifier !== undefined && modifier !== 'rank' && modifier !== 'steal' && modifier !== 'cp')
    )
      throw new UsageError(
        `unknown policy ${JSON.stringify(p)}; known: ${PLACEMENT_NAMES.join(', ')}, oracle, each optionally with +rank (priority = HEFT upward rank) +steal (idle nodes steal queued attempts) or +cp (the leader's queue in critical-path order)`,
      )
  }
  const seeds = values.seeds === undefined ? [1, 2, 3] : parseSeeds(values.seeds)
  const overcommit = values.overcommit === undefined ? base.overcommit : values.overcommit === 'inf' ? Infinity : positiveInt(values.overcommit, '--overcommit')
  const scenario = { ...base, overcommit, ...(values.tasks === undefined ? {} : { jobs: Math.max(100, positiveInt(values.tasks, '--tasks')) }) }
  const bar = progressBar(values, policies.length * seeds.length, 'runs')
  let runs = 0
  const rows = compare(scenario, policies, seeds, () => bar?.update(++runs))
  bar?.finish()
  process.stdout.write(`${formatTable(scenario, rows)}\n`)
  if (values.report !== undefined) {
    const loads = values.loads === undefined ? [] : values.loads.split(',').map((x) => Number(x))
    if (loads.some((x) => !(x > 0 && x < 1))) throw new UsageError('--loads must be numbers between 0 and 1')
    const byLoadBar = progressBar(values, loads.length * policies.length, 'report runs')
    let byLoadRuns = 0
    const byLoad = loads.map((rho) => ({ rho, rows: compare({ ...scenario, rho }, policies, seeds.slice(0, 1), () => byLoadBar?.update(++byLoadRuns)) }))
    byLoadBar?.finish()
    await writeFile(values.report, renderReport({ scenario, seeds, rows, byLoad, ramps: runRampStudy(seeds[0]!, { nodes: 8, hours: 1 }) }))
    process.stdout.write(`report written to ${values.report}\n`)
  }
  process.stdout.write(`${jsonLine(scenario, seeds, rows)}\n`)
  return 0
}

function requireFile(file: string | undefined): string {
  if (file === undefined) throw new UsageError('a failure file is required')
  return file
}

/** Parses `600s`, `10m`, `500ms` or plain seconds into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) throw new UsageError(`invalid duration ${JSON.stringify(text)}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!
  return Math.round(Number(match[1]) * unit)
}

function parseFaults(text: string): FaultKind[] {
  if (text.trim() === '' || text === 'none') return []
  const kinds = text.split(',').map((k) => k.trim())
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown fault ${JSON.stringify(kind)}; known: ${FAULT_KINDS.join(', ')}`)
  }
  return kinds as FaultKind[]
}

function positiveInt(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got ${JSON.stringify(text)}`)
  return n
}

function simOptions(values: Values, seed: number): SimOptions {
  const mode = values.mode
  if (mode !== 'safety' && mode !== 'liveness') throw new UsageError(`--mode must be safety or liveness`)
  if (SCENARIOS[values.scenario] === undefined) throw new UsageError(`unknown scenario ${JSON.stringify(values.scenario)}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  const nodes = positiveInt(values.nodes, '--nodes')
  if (nodes < 1) throw new UsageError('--nodes must be at least 1')
  return { seed, nodes, durationMs: parseDuration(values.duration), faults: parseFaults(values.faults), mode, swarm: values.swarm, verbose: values.verbose }
}

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
  } catch {
    return undefined
  }
}

function print(result: SimResult, scenario: string): void {
  process.stdout.write(formatResult(result, scenario).join('\n') + '\n')
}

/** A progress bar on stderr: on a terminal, or with --progress. */
function progressBar(values: Values, total: number, label: string): ProgressBar | undefined {
  return showProgress(process.stderr, values.progress) ? new ProgressBar(process.stderr, total, label, () => performance.now()) : undefined
}

/** Runs one simulation, moving `bar` (in simulated seconds) from `offsetS` on; the bar is left at the run's end. */
function runWithBar(values: Values, options: SimOptions, bar: ProgressBar | undefined, offsetS = 0): Promise<SimResult> {
  return runNamed(values.scenario, values.bug, options, bar === undefined ? undefined : (simMs) => bar.update(offsetS + Math.floor(simMs / 1000)))
}

/** Ends a run's bar: full when the run went the whole way, where it stopped when an invariant broke. */
function finishBar(bar: ProgressBar | undefined, result: SimResult, endS: number): void {
  if (bar === undefined) return
  if (result.violations.length === 0) bar.update(endS)
  bar.finish(result.violations.length === 0 ? '' : 'stopped: an invariant was violated')
}

async function cmdRun(values: Values): Promise<number> {
  if (values.seed === undefined) throw new UsageError('--seed is required')
  const options = simOptions(values, positiveInt(values.seed, '--seed'))
  const seconds = Math.ceil(options.durationMs / 1000)
  const bar = progressBar(values, seconds, 'simulated s')
  const result = await runWithBar(values, options, bar)
  finishBar(bar, result, seconds)
  print(result, values.scenario)
  if (result.violations.length > 0 && values.out !== undefined) {
    await saveFailure(values.out, toFailure(result, values.scenario, values.bug, commit()))
    process.stdout.write(`saved: ${values.out}\n`)
  }
  return result.violations.length > 0 ? 1 : 0
}

async function cmdCheck(values: Values): Promise<number> {
  if (values.seed === undefined) throw new UsageError('--seed is required')
  const options = simOptions(values, positiveInt(values.seed, '--seed'))
  const seconds = Math.ceil(options.durationMs / 1000)
  const bar = progressBar(values, 2 * seconds, 'simulated s, two runs')
  const first = await runWithBar(values, options, bar)
  bar?.update(seconds)
  const second = await runWithBar(values, options, bar, seconds)
  finishBar(bar, second, 2 * seconds)
  print(second, values.scenario)
  if (first.traceHash === second.traceHash && first.events === second.events) {
    process.stdout.write(`deterministic: both runs ${first.traceHash} over ${first.events} events\n`)
    return second.violations.length > 0 ? 1 : 0
  }
  const diverged = first.checkpoints.findIndex((hash, i) => hash !== second.checkpoints[i])
  process.stdout.write(
    `NONDETERMINISM: ${first.traceHash} vs ${second.traceHash}; first diverging window: events ${diverged === -1 ? `after ${Math.min(first.checkpoints.length, second.checkpoints.length) * 10_000}` : `${diverged * 10_000}..${(diverged + 1) * 10_000}`}\n`,
  )
  return 2
}

function parseSeeds(text: string | undefined): number[] {
  if (text === undefined) throw new UsageError('--seeds is required, e.g. --seeds 1..500')
  const range = /^(\d+)\.\.(\d+)$/.exec(text)
  if (range !== null) {
    const from = Number(range[1])
    const to = Number(range[2])
    if (to < from) throw new UsageError('--seeds range is empty')
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  }
  return text.split(',').map((s) => positiveInt(s, '--seeds'))
}

async function cmdSwarm(values: Values): Promise<number> {
  const seeds = parseSeeds(values.seeds)
  const jobs = Math.max(1, positiveInt(values.jobs, '--jobs'))
  const dir = values.out ?? 'sim-failures'
  if (jobs > 1) return swarmInChildren(seeds, jobs)
  const started = performance.now()
  let failed = 0
  let events = 0
  let simMs = 0
  let done = 0
  const bar = values.progress || (values.quiet && process.stderr.isTTY === true) ? new ProgressBar(process.stderr, seeds.length, 'seeds', () => performance.now()) : undefined
  for (const seed of seeds) {
    const result = await runNamed(values.scenario, values.bug, { ...simOptions(values, seed), swarm: true })
    events += result.events
    simMs += result.simMs
    if (result.violations.length > 0) failed++
    bar?.update(++done, failed === 0 ? '' : `${failed} failed`)
    if (result.violations.length === 0) {
      if (!values.quiet) process.stdout.write(`seed ${seed}: pass ${result.traceHash}\n`)
      continue
    }
    await mkdir(dir, { recursive: true })
    const path = join(dir, `${values.scenario}-seed-${seed}.json`)
    await saveFailure(path, toFailure(result, values.scenario, values.bug, commit()))
    const v = result.violations[0]!
    process.stdout.write(`seed ${seed}: FAIL ${v.invariant} at ${(v.atMs / 1000).toFixed(3)}s: ${v.message}\n  saved: ${path}\n`)
  }
  bar?.finish(failed === 0 ? '' : `${failed} failed`)
  const wall = (performance.now() - started) / 1000
  process.stdout.write(
    `swarm: ${seeds.length} seeds, ${seeds.length - failed} passed, ${failed} failed; ${events} events, ${(simMs / 1000).toFixed(0)} simulated s in ${wall.toFixed(1)} s wall\n`,
  )
  return failed > 0 ? 1 : 0
}

/** Splits the seeds over `jobs` child processes running this same command with --jobs 1. */
async function swarmInChildren(seeds: number[], jobs: number): Promise<number> {
  const argv = process.argv.slice(1)
  const base: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seeds' || argv[i] === '--jobs') i++
    else if (argv[i] === '--progress') continue
    else if (!argv[i]!.startsWith('--seeds=') && !argv[i]!.startsWith('--jobs=')) base.push(argv[i]!)
  }
  const codes = await Promise.all(
    Array.from({ length: jobs }, (_, j) => {
      const mine = seeds.filter((_, i) => i % jobs === j)
      if (mine.length === 0) return Promise.resolve(0)
      return new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, ...base, '--seeds', mine.join(','), '--jobs', '1'], { stdio: 'inherit' })
        child.on('exit', (code) => resolve(code ?? 3))
      })
    }),
  )
  return Math.max(...codes)
}

async function cmdReplay(path: string): Promise<number> {
  const failure = await loadFailure(path)
  const result = await replay(failure)
  print(result, failure.scenario)
  const same = result.traceHash === failure.traceHash
  const v = result.violations[0]
  if (!same) {
    const now = commit()
    if (failure.commit !== undefined && now !== undefined && failure.commit !== now) {
      process.stdout.write(
        `the trace differs from the recording because the code changed (recorded at ${failure.commit}, now ${now}); ${v === undefined ? 'the violation no longer occurs' : `it still fails: ${v.invariant}`}\n`,
      )
      return v === undefined ? 0 : 1
    }
    process.stdout.write(`NONDETERMINISM: recorded trace ${failure.traceHash}, replay ${result.traceHash}\n`)
    return 2
  }
  process.stdout.write(v === undefined ? 'replayed exactly; the recorded violation did not occur\n' : `reproduced exactly: ${v.invariant}\n`)
  return v === undefined ? 0 : 1
}

async function cmdShrink(path: string, out: string | undefined): Promise<number> {
  const failure = await loadFailure(path)
  const shrunk = await shrink(failure, (message) => process.stdout.write(`shrink: ${message}\n`))
  const target = out ?? path.replace(/(\.json)?$/, '.shrunk.json')
  await saveFailure(target, shrunk)
  process.stdout.write(
    `shrunk: ${failure.schedule.length} -> ${shrunk.schedule.length} fault actions, ${failure.options.durationMs / 1000}s -> ${shrunk.options.durationMs / 1000}s; still fails ${shrunk.violation.invariant}\nsaved: ${target}\n`,
  )
  return 1
}
