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
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

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
