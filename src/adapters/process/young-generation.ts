/**
 * Caps V8's young generation of a running peer. V8 grows it from 2 x 1 MB up to 2 x 16 MB on a
 * 64-bit host, and the cap that flag would set (`--max-semi-space-size`) is read only when the
 * process starts, so a peer started as `distributex start` could not have it (a `#!/usr/bin/env -S
 * node ...` line fails where `env` has no `-S`). The growth factor, though, is read at every
 * scavenge: once the young generation has reached `capMb` this sets it to 1, so it grows no
 * further. Measured (test/bench/RESULTS.md, "the young generation capped in-process"): a leader
 * with a million jobs behind it at 222-238 MB with this cap at 16 MB, against 241-272 MB without,
 * at the same jobs/s; kept at 2 MB from the start instead, about 10% more CPU per job.
 *
 * A growth can slip past the check when several scavenges run within one long task (the check runs
 * after each, as a task): the young generation then stays at V8's own size, as without this.
 *
 * Trimming when idle (governYoungGeneration): V8 shrinks the young generation only at a full
 * collection that finds little being allocated, and an idle peer runs only scavenges, so the 16 MB a
 * peer grew to while it formed or worked stayed resident for good (half of an idle 16-peer worker's
 * anonymous memory). Once the event loop has been idle for a whole check period, one full collection
 * lets V8 shrink it (to 2 MB), and the growth factor goes back to V8's own so that work grows it
 * again up to the cap. Only for a small heap, so the collection's pause stays a few milliseconds.
 */
import { performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks'
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Size of the young generation (both semi-spaces) in MB. */
export function youngGenerationMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  return space === undefined ? 0 : space.space_size / 1048576
}

/** Stops the young generation's growth once it reaches `capMb`; returns a function that stops watching. */
export function capYoungGeneration(capMb: number): () => void {
  const observer = new PerformanceObserver(() => {
    if (youngGenerationMb() < capMb) return
    setFlagsFromString('--semi-space-growth-factor=1')
    observer.disconnect()
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}

/** V8's own growth factor of the young generation, restored when a trim lets it grow again. */
const V8_GROWTH_FACTOR = 2

/** Check periods to wait after a trim that did not shrink the young generation (V8 saw too much allocation). */
const FUTILE_TRIM_BACKOFF = 4

/** When a peer's young generation is capped and trimmed. */
export interface YoungGenerationPolicy {
  /** Size it grows to at most, MB. */
  readonly capMb: number
  /** A young generation larger than this (MB) is trimmed once the process has been idle. */
  readonly trimAboveMb: number
  /** Length of the idleness check period, ms. */
  readonly checkEveryMs: number
  /** Share of a period the event loop may have been busy for the process to count as idle. */
  readonly idleUtilization: number
  /** Heap in use (MB) above which no trim is tried: a full collection of it would pause the loop too long. */
  readonly maxHeapMb: number
}

/** Caps the young generation and trims it when idle; returns a function that stops both. */
export function governYoungGeneration(policy: YoungGenerationPolicy): () => void {
  let stopCap = capYoungGeneration(policy.capMb)
  let previous: EventLoopUtilization = performance.eventLoopUtilization()
  let skip = 0
  const check = (): void => {
    const now = performance.eventLoopUtilization()
    const busy = performance.eventLoopUtilization(now, previous).utilization
    previous = now
    if (skip > 0) {
      skip--
      return
    }
    if (busy > policy.idleUtilization || youngGenerationMb() <= policy.trimAboveMb) return
    if (getHeapStatistics().used_heap_size / 1048576 > policy.maxHeapMb) return
    stopCap()
    setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`)
    fullCollection()
    stopCap = capYoungGeneration(policy.capMb)
    if (youngGenerationMb() > policy.trimAboveMb) skip = FUTILE_TRIM_BACKOFF
  }
  const timer = setInterval(check, policy.checkEveryMs).unref()
  return () => {
    clearInterval(timer)
    stopCap()
  }
}

let collector: ((options: { type: 'major' }) => void) | undefined

/** One full garbage collection, through V8's gc extension (enabled on first use; only new contexts see it). */
function fullCollection(): void {
  if (collector === undefined) {
    setFlagsFromString('--expose-gc')
    collector = runInNewContext('gc') as (options: { type: 'major' }) => void
  }
  collector({ type: 'major' })
}
