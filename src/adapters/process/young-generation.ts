/**
 * Sizes V8's young generation of a running peer by what it costs. V8 grows it from 2 x 1 MB up to
 * 2 x 16 MB on a 64-bit host whenever enough objects survive scavenges, busy or not, so an idle
 * leader or voter sat at 16.8 MB of young generation (test/bench/RESULTS.md, "wakeups (issue 16)"),
 * and V8 shrinks it only at a full GC that sees under 1 MB/s of allocation, which an idle leader
 * exceeds. The flag that would cap it (`--max-semi-space-size`) is read only when the process
 * starts, so a peer started as `distributex start` could not have it (a `#!/usr/bin/env -S node ...`
 * line fails where `env` has no `-S`). The growth factor, though, is read at every scavenge: this
 * holds it at 1 (no growth) while garbage collection takes little of the time, lets it grow (V8's
 * factor 2) once GROW_AFTER_WINDOWS windows in a row had GC take GROW_GC_SHARE or more of a busy
 * process's time (one using GROW_CPU_SHARE of a core or more), holds it again after a window that
 * did not, and holds it for good once the young generation reaches `capMb`. A busy peer (jobs)
 * grows it within a few seconds, as before; an idle one keeps V8's initial 2 MB. Measured (test/bench/RESULTS.md, "the young generation
 * capped in-process"): a leader with a million jobs behind it at 222-238 MB with the cap at 16 MB,
 * against 241-272 MB without, at the same jobs/s; kept at 2 MB under load instead, about 10% more
 * CPU per job, which is what the busy windows avoid ("rss80 (issue 16)").
 *
 * The checks run on GC events, as tasks, with no timer of their own: a growth can slip past the
 * cap when several scavenges run within one long task.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

/** The shortest stretch of time whose GC share decides whether the young generation may grow. */
const WINDOW_MS = 1000
/**
 * GC time, as a share of a window, from which the young generation grows. An idle peer's scavenges
 * of a 2 MB young generation take well under 1% of its time; under jobs, 10% or more.
 */
const GROW_GC_SHARE = 0.05
/**
 * And the process's CPU time, as a share of the window, from which it grows: GC times are wall
 * times, which a crowded host stretches (a scavenge preempted for 100 ms), while an idle peer uses
 * a few percent of a core however crowded the host is, and a busy one most of a core.
 */
const GROW_CPU_SHARE = 0.25
/**
 * Busy windows in a row before it grows: a peer joining a cluster is busy in bursts of a second or
 * two (handshakes, the snapshot), after which V8 would keep the grown young generation while idle
 * (13 of 16 peers at 16 MB after a 16-peer formation with a one-window rule); jobs keep it busy.
 */
const GROW_AFTER_WINDOWS = 3

/** Size of the young generation (both semi-spaces) in MB. */
export function youngGenerationMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  return space === undefined ? 0 : space.space_size / 1048576
}

/**
 * Keeps the young generation at V8's initial size until GC takes a noticeable share of the time,
 * and stops its growth at `capMb`; returns a function that stops watching (the size stays as it is).
 */
export function capYoungGeneration(capMb: number): () => void {
  let growing = false
  const setGrowing = (grow: boolean): void => {
    if (grow !== growing) setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`)
    growing = grow
  }
  setFlagsFromString('--semi-space-growth-factor=1')
  let windowStart = performance.now()
  let windowCpu = process.cpuUsage()
  let gcMs = 0
  let busyWindows = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration
    if (youngGenerationMb() >= capMb) {
      setGrowing(false)
      observer.disconnect()
      return
    }
    const now = performance.now()
    if (now - windowStart < WINDOW_MS) return
    const cpu = process.cpuUsage(windowCpu)
    const cpuMs = (cpu.user + cpu.system) / 1000
    const busy = gcMs >= GROW_GC_SHARE * (now - windowStart) && cpuMs >= GROW_CPU_SHARE * (now - windowStart)
    busyWindows = busy ? busyWindows + 1 : 0
    setGrowing(busyWindows >= GROW_AFTER_WINDOWS)
    windowStart = now
    windowCpu = process.cpuUsage()
    gcMs = 0
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}
