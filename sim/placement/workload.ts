/**
 * Synthetic workloads of the placement study (scheduling-anchors §3.2): heterogeneous node speeds
 * from the Google-2019 machine mix, task sizes (exponential, log-normal, recurring types), Poisson
 * or bursty arrivals. Everything is drawn from a seeded Random, so a seed names a run.
 */
import type { Random } from '../../src/env/types.js'

/** Google 2019 normalised CPU of machine configurations, with their share of machines. */
const GOOGLE_2019_MIX: ReadonlyArray<readonly [speed: number, share: number]> = [
  [1.0, 23.3],
  [0.59, 19.3],
  [0.26, 14.7],
  [0.71, 10.5],
  [0.39, 6.8],
  [0.96, 5.8],
  [0.71, 5.6],
]

/** Node speeds drawn from the Google-2019 mix. */
export function googleSpeeds(n: number, random: Random): number[] {
  const total = GOOGLE_2019_MIX.reduce((s, [, w]) => s + w, 0)
  return Array.from({ length: n }, () => {
    let u = random.next() * total
    for (const [speed, share] of GOOGLE_2019_MIX) {
      u -= share
      if (u <= 0) return speed
    }
    return GOOGLE_2019_MIX[0]![0]
  })
}

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  const u = 1 - random.next()
  const v = random.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** An exponential draw with the given mean. */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random.next()) * mean
}

/** Task-size distributions, each of mean 1. */
export type SizeDist = { kind: 'exponential' } | { kind: 'lognormal'; sigma: number } | { kind: 'types'; types: number; sigmaType: number; sigmaWithin: number }

/** Draws task sizes (mean about 1) and, for recurring types, the type of each task. */
export class SizeSampler {
  private readonly typeMu: number[] = []
  private readonly norm: number

  constructor(
    private readonly dist: SizeDist,
    private readonly random: Random,
  ) {
    if (dist.kind === 'types') {
      for (let i = 0; i < dist.types; i++) this.typeMu.push(normal(random) * dist.sigmaType)
      // Scale so the mean size over types is 1.
      const mean = this.typeMu.reduce((s, mu) => s + Math.exp(mu + (dist.sigmaWithin * dist.sigmaWithin) / 2), 0) / dist.types
      this.norm = 1 / mean
    } else this.norm = 1
  }

  draw(): { type: string; size: number } {
    const d = this.dist
    switch (d.kind) {
      case 'exponential':
        return { type: 'job', size: exponential(this.random, 1) }
      case 'lognormal':
        return { type: 'job', size: Math.exp(normal(this.random) * d.sigma - (d.sigma * d.sigma) / 2) }
      case 'types': {
        const t = this.random.int(0, d.types - 1)
        return { type: `type-${t}`, size: this.norm * Math.exp(this.typeMu[t]! + normal(this.random) * d.sigmaWithin) }
      }
    }
  }
}

/**
 * A random workflow DAG (S7, Alibaba-like in shape: mostly short chains with some fan-in): `tasks`
 * tasks in topological order, each after the first depending on one earlier task among the five
 * before it, and with probability 0.3 on a second one.
 */
export function randomDag(random: Random, tasks: number): number[][] {
  const deps: number[][] = [[]]
  for (let i = 1; i < tasks; i++) {
    const from = Math.max(0, i - 5)
    const first = random.int(from, i - 1)
    const second = random.next() < 0.3 ? random.int(from, i - 1) : first
    deps.push(second === first ? [first] : [first, second])
  }
  return deps
}

/** HEFT's upward rank of each task: its own duration plus the longest path through its dependents. */
export function upwardRanks(deps: readonly (readonly number[])[], durations: readonly number[]): number[] {
  const rank = durations.map((d) => d)
  const children: number[][] = deps.map(() => [])
  deps.forEach((ds, i) => ds.forEach((d) => children[d]!.push(i)))
  for (let i = deps.length - 1; i >= 0; i--) for (const c of children[i]!) rank[i] = Math.max(rank[i]!, durations[i]! + rank[c]!)
  return rank
}
