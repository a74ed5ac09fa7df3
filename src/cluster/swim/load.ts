/**
 * The load figures a worker spreads by SWIM (membership 'swim' of src/cluster/core.ts): the numeric
 * part of NodeMetrics as a short array, rounded so that noise below the rounding sends no delta.
 * Job types and durations are not numbers; they stay in the worker's record.
 */
import type { NodeMetrics } from '../../../protocols/cluster/types.js'

/** capacity, running, queued, eventLoopLagMs, cpu, memoryMb. */
export const LOAD_FIELDS = 6

/** The SWIM load values of `m`. */
export function loadValues(m: NodeMetrics): number[] {
  return [m.capacity, m.running, m.queued, Math.round(m.eventLoopLagMs), Math.round(m.cpu * 100) / 100, Math.round(m.memoryMb)]
}

/**
 * Deadbands of the figures by LOAD_FIELDS position, absolute and relative to the figure held: a
 * figure moves past its band when it differs by more than both. Capacity, running and queued drive
 * placement and have none. Lag, CPU and memory only inform the dashboard and break placement's ties,
 * and on a host crowded by 50 peers they moved at nearly every sample: each sample was a new load
 * version that every member took in and passed on, and rebuilt its view for.
 */
const DEADBAND: ReadonlyArray<readonly [absolute: number, relative: number]> = [
  [0, 0],
  [0, 0],
  [0, 0],
  [10, 0.25],
  [0.025, 0.25],
  [4, 0.05],
]

/** Whether `next` is worth spreading over `held`, the figures members have: a figure moved past its deadband. */
export function loadMoved(held: readonly number[], next: readonly number[]): boolean {
  if (held.length !== next.length) return true
  return next.some((v, i) => {
    const [absolute, relative] = DEADBAND[i] ?? [0, 0]
    const d = Math.abs(v - held[i]!)
    return d > absolute && d > relative * Math.abs(held[i]!)
  })
}

/**
 * `m` with its numeric figures replaced by SWIM load `values`; `m` unchanged when the values are not
 * LOAD_FIELDS finite non-negative numbers (a load is relayed by any member, so it is checked here).
 */
export function withLoad(m: NodeMetrics, values: readonly number[]): NodeMetrics {
  if (values.length !== LOAD_FIELDS || !values.every((v) => Number.isFinite(v) && v >= 0)) return m
  const [capacity, running, queued, eventLoopLagMs, cpu, memoryMb] = values as [number, number, number, number, number, number]
  return { ...m, capacity, running, queued, eventLoopLagMs, cpu, memoryMb }
}
