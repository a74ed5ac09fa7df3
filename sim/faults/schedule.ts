/**
 * Fault schedules. A run's faults are an explicit, serializable list of timed actions drawn from
 * the seed's fault stream before the run starts; a saved failure carries the list, so replaying
 * it reproduces the run and shrinking removes actions from it while the seed keeps everything
 * else (workload, latencies, node randomness) unchanged.
 *
 * Swarm testing: with `swarm`, each seed also picks which of the requested fault kinds are on and
 * how often they strike, so different seeds explore different mixes.
 */
import type { SeededRandom } from '../../src/env/prng.js'
import { HEALTHY_LINKS } from '../net/network.js'

/** The fault kinds a run can request. */
export const FAULT_KINDS = [
  'partition',
  'crash',
  'pause',
  'skew',
  'loss',
  'duplicate',
  'reorder',
  'clog',
  'slow',
  'log-outage',
  'ambiguous-ack',
  'cache-loss',
  'power-loss',
  'disk-broken',
  'disk-full',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** Partition shapes. */
export const PARTITION_SHAPES = ['halves', 'isolate', 'one-way', 'bridge', 'ring'] as const
export type PartitionShape = (typeof PARTITION_SHAPES)[number]

/** One timed fault action; `atMs` is virtual time. */
export type FaultAction =
  | { atMs: number; kind: 'partition'; shape: PartitionShape; blocked: Array<[string, string]> }
  | { atMs: number; kind: 'heal' }
  | { atMs: number; kind: 'crash'; node: string }
  | { atMs: number; kind: 'restart'; node: string }
  | { atMs: number; kind: 'pause'; node: string; forMs: number }
  | { atMs: number; kind: 'skew'; node: string; offsetMs: number; drift: number }
  | { atMs: number; kind: 'links'; lossRate: number; duplicateRate: number; reorderRate: number }
  | { atMs: number; kind: 'clog'; a: string; b: string; forMs: number }
  /** Every link's latency (a minimum plus an exponential mean) until the next 'slow': an overloaded host. */
  | { atMs: number; kind: 'slow'; latencyMinMs: number; latencyMeanMs: number }
  | { atMs: number; kind: 'log-outage'; forMs: number }
  | { atMs: number; kind: 'ambiguous-ack'; rate: number; forMs: number }
  | { atMs: number; kind: 'cache-loss'; windowMs: number }
  /** A crash that loses the node's unsynced replica-log writes (or leaves a torn prefix of one). */
  | { atMs: number; kind: 'power-loss'; node: string }
  /** The node's replica-log disk fails every call from now until the node restarts. */
  | { atMs: number; kind: 'disk-broken'; node: string }
  /** The node's replica-log disk has no space for `forMs`. */
  | { atMs: number; kind: 'disk-full'; node: string; forMs: number }

/** The fault parameters a seed derived, printed with every run. */
export interface FaultPlan {
  enabled: FaultKind[]
  /** Mean time between strikes, per enabled kind. */
  meanIntervalMs: Partial<Record<FaultKind, number>>
  /** Most nodes down (crashed or paused) at once. */
  maxDown: number
}

/** Default mean intervals between strikes of each kind. */
const MEAN_INTERVAL_MS: Record<FaultKind, number> = {
  partition: 40_000,
  crash: 45_000,
  pause: 60_000,
  skew: 60_000,
  loss: 50_000,
  duplicate: 50_000,
  reorder: 50_000,
  clog: 30_000,
  slow: 60_000,
  'log-outage': 90_000,
  'ambiguous-ack': 60_000,
  'cache-loss': 90_000,
  'power-loss': 60_000,
  'disk-broken': 120_000,
  'disk-full': 90_000,
}

/** Derives the plan: all requested kinds at default rates, or a random subset and rates with swarm. */
export function planFaults(requested: readonly FaultKind[], nodes: number, swarm: boolean, random: SeededRandom): FaultPlan {
  let enabled = [...requested]
  if (swarm && enabled.length > 1) {
    enabled = enabled.filter(() => random.next() < 0.7)
    if (enabled.length === 0) enabled = [requested[random.int(0, requested.length - 1)]!]
  }
  const meanIntervalMs: Partial<Record<FaultKind, number>> = {}
  for (const kind of enabled) meanIntervalMs[kind] = Math.round(MEAN_INTERVAL_MS[kind] * (swarm ? 0.25 + random.next() * 1.75 : 1))
  return { enabled, meanIntervalMs, maxDown: Math.max(1, Math.floor((nodes - 1) / 2)) }
}

/** Draws the explicit action list for faults within [0, untilMs). */
export function drawSchedule(plan: FaultPlan, nodeIds: readonly string[], services: readonly string[], untilMs: number, random: SeededRandom): FaultAction[] {
  const actions: FaultAction[] = []
  const exp = (mean: number): number => -mean * Math.log(1 - random.next())
  const pick = <T>(xs: readonly T[]): T => xs[random.int(0, xs.length - 1)]!
  const downUntil = new Map<string, number>()
  for (const kind of plan.enabled) {
    const mean = plan.meanIntervalMs[kind]!
    for (let at = exp(mean); at < untilMs; at += exp(mean)) {
      const atMs = Math.round(at)
      switch (kind) {
        case 'partition': {
          const shape = pick(PARTITION_SHAPES)
          const forMs = Math.round(2000 + random.next() * 18_000)
          actions.push({ atMs, kind: 'partition', shape, blocked: partitionLinks(shape, [...nodeIds, ...services], random) })
          actions.push({ atMs: atMs + forMs, kind: 'heal' })
          break
        }
        case 'crash':
        case 'power-loss':
        case 'disk-broken':
        case 'pause': {
          const down = [...downUntil.entries()].filter(([, until]) => until > atMs).map(([n]) => n)
          if (down.length >= plan.maxDown) break
          const node = pick(nodeIds.filter((n) => !down.includes(n)))
          const forMs = Math.round(kind === 'pause' ? 500 + random.next() * 8000 : 500 + random.next() * 15_000)
          downUntil.set(node, atMs + forMs)
          if (kind === 'crash' || kind === 'power-loss') {
            actions.push({ atMs, kind, node })
            actions.push({ atMs: atMs + forMs, kind: 'restart', node })
          } else if (kind === 'disk-broken') {
            // The node limps on with a dead disk until an operator restarts it.
            actions.push({ atMs, kind: 'disk-broken', node })
            actions.push({ atMs: atMs + forMs, kind: 'crash', node })
            actions.push({ atMs: atMs + forMs + 500, kind: 'restart', node })
            downUntil.set(node, atMs + forMs + 500)
          } else {
            actions.push({ atMs, kind: 'pause', node, forMs })
          }
          break
        }
        case 'skew':
          actions.push({ atMs, kind: 'skew', node: pick(nodeIds), offsetMs: Math.round((random.next() * 2 - 1) * 5000), drift: (random.next() * 2 - 1) * 0.01 })
          break
        case 'loss':
        case 'duplicate':
        case 'reorder': {
          const rate = 0.01 + random.next() * 0.2
          const forMs = Math.round(2000 + random.next() * 20_000)
          actions.push({ atMs, kind: 'links', lossRate: kind === 'loss' ? rate : 0, duplicateRate: kind === 'duplicate' ? rate : 0, reorderRate: kind === 'reorder' ? rate : 0 })
          actions.push({ atMs: atMs + forMs, kind: 'links', lossRate: 0, duplicateRate: 0, reorderRate: 0 })
          break
        }
        case 'clog': {
          const a = pick(nodeIds)
          const b = pick([...nodeIds, ...services].filter((x) => x !== a))
          actions.push({ atMs, kind: 'clog', a, b, forMs: Math.round(200 + random.next() * 5000) })
          break
        }
        case 'slow': {
          // Round trips from under a lease to past the longest stretched one (src/cluster/core.ts).
          const meanMs = 100 + random.next() * 1900
          const forMs = Math.round(2000 + random.next() * 20_000)
          actions.push({ atMs, kind: 'slow', latencyMinMs: Math.round(meanMs / 2), latencyMeanMs: Math.round(meanMs / 2) })
          actions.push({ atMs: atMs + forMs, kind: 'slow', latencyMinMs: HEALTHY_LINKS.latencyMinMs, latencyMeanMs: HEALTHY_LINKS.latencyMeanMs })
          break
        }
        case 'log-outage':
          actions.push({ atMs, kind: 'log-outage', forMs: Math.round(1000 + random.next() * 10_000) })
          break
        case 'ambiguous-ack':
          actions.push({ atMs, kind: 'ambiguous-ack', rate: 0.05 + random.next() * 0.45, forMs: Math.round(2000 + random.next() * 20_000) })
          break
        case 'cache-loss':
          actions.push({ atMs, kind: 'cache-loss', windowMs: Math.round(100 + random.next() * 5000) })
          break
        case 'disk-full':
          actions.push({ atMs, kind: 'disk-full', node: pick(nodeIds), forMs: Math.round(500 + random.next() * 10_000) })
          break
      }
    }
  }
  return actions.sort((x, y) => x.atMs - y.atMs)
}

/** The directed links a partition of `shape` blocks among `positions`. */
export function partitionLinks(shape: PartitionShape, positions: readonly string[], random: SeededRandom): Array<[string, string]> {
  const shuffled = [...positions]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.int(0, i)
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  const n = shuffled.length
  const blocked: Array<[string, string]> = []
  const cut = (a: readonly string[], b: readonly string[], bothWays: boolean): void => {
    for (const x of a) {
      for (const y of b) {
        blocked.push([x, y])
        if (bothWays) blocked.push([y, x])
      }
    }
  }
  switch (shape) {
    case 'halves': {
      const half = Math.floor(n / 2)
      cut(shuffled.slice(0, half), shuffled.slice(half), true)
      break
    }
    case 'isolate':
      cut(shuffled.slice(0, 1), shuffled.slice(1), true)
      break
    case 'one-way': {
      const k = Math.max(1, Math.floor(n / 3))
      cut(shuffled.slice(0, k), shuffled.slice(k), false)
      break
    }
    case 'bridge': {
      // shuffled[0] is the bridge: it keeps its links to both halves of the others.
      const rest = shuffled.slice(1)
      const half = Math.floor(rest.length / 2)
      cut(rest.slice(0, half), rest.slice(half), true)
      break
    }
    case 'ring': {
      // Each position keeps its k nearest neighbours on each side of a ring: it sees a majority,
      // but no two positions see the same one.
      const k = Math.ceil(Math.floor(n / 2) / 2)
      for (let i = 0; i < n; i++) {
        for (let d = k + 1; d < n - k; d++) blocked.push([shuffled[i]!, shuffled[(i + d) % n]!])
      }
      break
    }
  }
  return blocked
}
