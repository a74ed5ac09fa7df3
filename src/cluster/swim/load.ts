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
 * `m` with its numeric figures replaced by SWIM load `values`; `m` unchanged when the values are not
 * LOAD_FIELDS finite non-negative numbers (a load is relayed by any member, so it is checked here).
 */
export function withLoad(m: NodeMetrics, values: readonly number[]): NodeMetrics {
  if (values.length !== LOAD_FIELDS || !values.every((v) => Number.isFinite(v) && v >= 0)) return m
  const [capacity, running, queued, eventLoopLagMs, cpu, memoryMb] = values as [number, number, number, number, number, number]
  return { ...m, capacity, running, queued, eventLoopLagMs, cpu, memoryMb }
}
