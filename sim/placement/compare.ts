/**
 * `distributex sim compare`: runs placement policies on identical seeds of one scenario and
 * summarises mean and P99 job completion time, makespan and utilisation per policy, with a 95%
 * confidence interval over seeds (normal approximation), and a JSON line for machines.
 */
import { runPlacement, type PlacementScenario, type PolicyRun } from './engine.js'

export interface PolicySummary {
  readonly policy: string
  readonly seeds: number
  readonly meanJct: number
  readonly meanJctCi: number
  readonly p99Jct: number
  readonly p99JctCi: number
  readonly makespan: number
  readonly utilisation: number
  readonly runs: PolicyRun[]
}

export function summarise(policy: string, runs: PolicyRun[]): PolicySummary {
  const stat = (pick: (r: PolicyRun) => number): [number, number] => {
    const xs = runs.map(pick)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1))
    return [mean, (1.96 * sd) / Math.sqrt(xs.length)]
  }
  const [meanJct, meanJctCi] = stat((r) => r.meanJct)
  const [p99Jct, p99JctCi] = stat((r) => r.p99Jct)
  return { policy, seeds: runs.length, meanJct, meanJctCi, p99Jct, p99JctCi, makespan: stat((r) => r.makespan)[0], utilisation: stat((r) => r.utilisation)[0], runs }
}

/** Runs every policy on every seed; `onRun` after each run (a progress bar counts them). */
export function compare(scenario: PlacementScenario, policies: readonly string[], seeds: readonly number[], onRun: () => void = () => {}): PolicySummary[] {
  return policies.map((p) =>
    summarise(
      p,
      seeds.map((s) => {
        const run = runPlacement(scenario, p, s)
        onRun()
        return run
      }),
    ),
  )
}

/** A text table of the summaries. */
export function formatTable(scenario: PlacementScenario, rows: readonly PolicySummary[]): string {
  const head = `scenario ${scenario.name}: ${scenario.description}; ${scenario.nodes} nodes, ${scenario.jobs} jobs per seed, overcommit ${scenario.overcommit}; times in mean-job units`
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(22) : c.padStart(16))).join('')
  const out = [head, line(['policy', 'mean JCT', 'P99 JCT', 'makespan', 'utilisation'])]
  for (const r of rows)
    out.push(
      line([r.policy, `${r.meanJct.toFixed(2)} ±${r.meanJctCi.toFixed(2)}`, `${r.p99Jct.toFixed(2)} ±${r.p99JctCi.toFixed(2)}`, r.makespan.toFixed(0), r.utilisation.toFixed(3)]),
    )
  return out.join('\n')
}

/** The machine-readable line. */
export function jsonLine(scenario: PlacementScenario, seeds: readonly number[], rows: readonly PolicySummary[]): string {
  return JSON.stringify({
    compare: scenario.name,
    seeds: seeds.length,
    policies: Object.fromEntries(
      rows.map((r) => [
        r.policy,
        {
          mean_jct: round(r.meanJct),
          mean_jct_ci: round(r.meanJctCi),
          p99_jct: round(r.p99Jct),
          p99_jct_ci: round(r.p99JctCi),
          makespan: round(r.makespan),
          utilisation: round(r.utilisation),
        },
      ]),
    ),
  })
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}
