/**
 * The leader's own account of the work it has placed on each node and not yet seen finish, in
 * predicted milliseconds on that node. A node runs `capacity` attempts at once in arrival order, so
 * the first `capacity` entries are taken as running since they entered that window. A running
 * attempt's remaining work is its expected residual given that it has run so long: its duration is
 * taken as log-normal around the prediction with the prediction's spread, so one that overruns its
 * median still counts (with spread 0 it is the median less the elapsed time, never below zero).
 * Treating an overrunning attempt as done is what sends new work behind the longest jobs. A release
 * removes the oldest entry of the released type. Invariant: entries of a node are in assignment
 * order, and only the first `capacity` of them may have a start time.
 */
import type { NodeId } from '../../net/types.js'

interface Entry {
  readonly type: string
  /** Predicted median duration on the node. */
  readonly workMs: number
  /** Log-normal sigma of that prediction. */
  readonly sigma: number
  startedAt: number | null
}

export class WorkAccounting {
  private readonly nodes = new Map<NodeId, { capacity: number; entries: Entry[] }>()

  /** Records an attempt of `type`, predicted to take `workMs` (median; log-normal `sigma`) on `node`. */
  assigned(node: NodeId, capacity: number, type: string, workMs: number, nowMs: number, sigma = 0): void {
    const n = this.nodes.get(node) ?? { capacity, entries: [] }
    n.capacity = Math.max(1, capacity)
    n.entries.push({ type, workMs, sigma, startedAt: null })
    this.nodes.set(node, n)
    this.promote(n, nowMs)
  }

  /** An attempt of `type` on `node` ended. */
  released(node: NodeId, type: string, nowMs: number): void {
    const n = this.nodes.get(node)
    if (n === undefined) return
    const i = n.entries.findIndex((e) => e.type === type)
    if (i < 0) return
    n.entries.splice(i, 1)
    if (n.entries.length === 0) this.nodes.delete(node)
    else this.promote(n, nowMs)
  }

  /** Expected work still to do on `node` (ms on that node, summed over its attempts). */
  backlogMs(node: NodeId, nowMs: number): number {
    const n = this.nodes.get(node)
    if (n === undefined) return 0
    let total = 0
    for (const e of n.entries) total += e.startedAt === null ? meanOf(e.workMs, e.sigma) : residualMs(e.workMs, e.sigma, nowMs - e.startedAt)
    return total
  }

  /** Forgets everything (a new scheduler's attempts are counted afresh). */
  clear(): void {
    this.nodes.clear()
  }

  private promote(n: { capacity: number; entries: Entry[] }, nowMs: number): void {
    for (let i = 0; i < Math.min(n.capacity, n.entries.length); i++) if (n.entries[i]!.startedAt === null) n.entries[i]!.startedAt = nowMs
  }
}

/** Mean of a log-normal duration with median `medianMs`. */
export function meanOf(medianMs: number, sigma: number): number {
  return medianMs * Math.exp((sigma * sigma) / 2)
}

/**
 * E[D − t | D > t] for D log-normal with median `medianMs` and `sigma`, t = `elapsedMs`:
 * mean · Q((ln t − μ)/σ − σ) / Q((ln t − μ)/σ) − t, with Q the normal upper tail. Far in the tail,
 * where both tails underflow, the log-normal's mean residual life t·σ²/(ln t − μ) is used.
 */
export function residualMs(medianMs: number, sigma: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return meanOf(medianMs, sigma)
  if (!(sigma > 1e-6) || !(medianMs > 0)) return Math.max(0, medianMs - elapsedMs)
  const z = (Math.log(elapsedMs) - Math.log(medianMs)) / sigma
  const tail = upperTail(z)
  if (tail < 1e-12) return (elapsedMs * sigma) / Math.max(z, 1e-9)
  return Math.max(0, (meanOf(medianMs, sigma) * upperTail(z - sigma)) / tail - elapsedMs)
}

/** P(Z > z) for a standard normal Z (erfc by Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function upperTail(z: number): number {
  const x = z / Math.SQRT2
  const ax = Math.abs(x)
  const t = 1 / (1 + 0.5 * ax)
  const erfc =
    t *
    Math.exp(
      -ax * ax -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  return 0.5 * (x >= 0 ? erfc : 2 - erfc)
}
