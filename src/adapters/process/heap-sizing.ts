/**
 * Sizes V8's heap of a running peer by what it costs: the young generation grows only while the
 * process is busy, and the old one grows less past what is live while it is idle.
 *
 * Young generation: V8 grows it from 2 x 1 MB up to 2 x 16 MB on a 64-bit host whenever enough
 * objects survive scavenges, busy or not, so an idle leader or voter sat at 16.8 MB of it
 * (test/bench/RESULTS.md, "wakeups (issue 16)"), and V8 shrinks it only at a full GC that sees under
 * 1 MB/s of allocation, which an idle leader exceeds. The flag that would cap it
 * (`--max-semi-space-size`) is read only when the process starts, so a peer started as `distributex
 * start` could not have it (a `#!/usr/bin/env -S node ...` line fails where `env` has no `-S`). The
 * growth factor, though, is read at every scavenge: this holds it at 1 (no growth) while garbage
 * collection takes little of the time, lets it grow (V8's factor 2) once GROW_AFTER_WINDOWS windows
 * in a row had GC take GROW_GC_SHARE or more of a busy process's time (one using GROW_CPU_SHARE of
 * a core or more), holds it again after a window that did not, and holds it for good once the young
 * generation reaches `youngCapMb`. A busy peer (jobs) grows it within a few seconds, as before; an
 * idle one keeps V8's initial 2 MB. Measured (test/bench/RESULTS.md, "the young generation capped
 * in-process"): a leader with a million jobs behind it at 222-238 MB with the cap at 16 MB, against
 * 241-272 MB without, at the same jobs/s; kept at 2 MB under load instead, about 10% more CPU per
 * job, which is what the busy windows avoid ("rss80 (issue 16)").
 *
 * Old generation: V8 lets it grow to a multiple of what the last full GC found live before it
 * collects it again (the executable's default, bin.mjs: 2x). An idle peer promotes a trickle (timers,
 * messages held for a round trip), so it sits at the top of that range: a worker of 50 idle peers
 * with 12 MB live held 19.5 MB of old generation. Here the multiple is 1 +
 * IDLE_OLD_GROWTH_PERCENT/100 unless the process is loaded (LOADED_AFTER_WINDOWS windows in a row at
 * LOADED_CPU_SHARE of a core or more), the default's then; V8 reads it at each full GC. 50 idle
 * peers held 1.8 MB less each, time-averaged (test/bench/RESULTS.md, "heap by load").
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

/** The old generation's growth past what is live, in percent, while idle. */
export const IDLE_OLD_GROWTH_PERCENT = 30
/** And otherwise: bin.mjs's default, at which a leader under jobs showed no CPU cost ("failover-history"). */
export const BUSY_OLD_GROWTH_PERCENT = 100
/**
 * Busy, for the old generation: LOADED_AFTER_WINDOWS windows in a row at this share of a core or
 * more; idle from the first window under it. An idle leader of 50 peers uses 3-7%; a follower under
 * 8,000 jobs/s 15-20%, and held to the idle growth it spent 5-50% more CPU per job (two pairs,
 * "heap by load"). Idle until loaded: the growth set at a full GC holds until the next, which an
 * idle peer reaches only after it has grown to the limit set, so a peer that formed a cluster at
 * the busy growth kept its larger limit for its first minutes of idling.
 */
const LOADED_CPU_SHARE = 0.1
const LOADED_AFTER_WINDOWS = 3

/** Size of the young generation (both semi-spaces) in MB. */
export function youngGenerationMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  return space === undefined ? 0 : space.space_size / 1048576
}

/** What else hears the load windows' verdicts, each on a change. */
export interface LoadHooks {
  /** The process turned loaded (false) or idle again (true), as the old generation's growth does. */
  readonly onIdle?: (idle: boolean) => void
  /** The process turned busy (true: GROW_AFTER_WINDOWS windows in a row of GC and CPU, as jobs make) or not (false). */
  readonly onBusy?: (busy: boolean) => void
}

/**
 * Holds the young generation at V8's initial size until GC takes a noticeable share of a busy
 * process's time, stops its growth at `youngCapMb`, and holds the old generation closer to what is
 * live while the process is idle; `hooks` hear the same verdicts. Returns a function that stops
 * watching (the sizes stay as they are).
 */
export function sizeHeapByLoad(youngCapMb: number, hooks: LoadHooks = {}): () => void {
  let youngGrowing = false
  let idle = true
  const setYoungGrowing = (grow: boolean): void => {
    if (grow !== youngGrowing) setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`)
    youngGrowing = grow
  }
  const setIdle = (now: boolean): void => {
    if (now === idle) return
    setFlagsFromString(`--heap-growing-percent=${now ? IDLE_OLD_GROWTH_PERCENT : BUSY_OLD_GROWTH_PERCENT}`)
    idle = now
    hooks.onIdle?.(now)
  }
  let busy = false
  const setBusy = (now: boolean): void => {
    if (now === busy) return
    busy = now
    hooks.onBusy?.(now)
  }
  setFlagsFromString(`--semi-space-growth-factor=1 --heap-growing-percent=${IDLE_OLD_GROWTH_PERCENT}`)
  let windowStart = performance.now()
  let windowCpu = process.cpuUsage()
  let gcMs = 0
  let busyWindows = 0
  let loadedWindows = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration
    if (youngGrowing && youngGenerationMb() >= youngCapMb) setYoungGrowing(false)
    const now = performance.now()
    const elapsedMs = now - windowStart
    if (elapsedMs < WINDOW_MS) return
    const cpu = process.cpuUsage(windowCpu)
    const cpuMs = (cpu.user + cpu.system) / 1000
    busyWindows = gcMs >= GROW_GC_SHARE * elapsedMs && cpuMs >= GROW_CPU_SHARE * elapsedMs ? busyWindows + 1 : 0
    loadedWindows = cpuMs >= LOADED_CPU_SHARE * elapsedMs ? loadedWindows + 1 : 0
    setIdle(loadedWindows < LOADED_AFTER_WINDOWS)
    setBusy(busyWindows >= GROW_AFTER_WINDOWS)
    setYoungGrowing(busy && youngGenerationMb() < youngCapMb)
    windowStart = now
    windowCpu = process.cpuUsage()
    gcMs = 0
  })
  observer.observe({ entryTypes: ['gc'] })
  return () => observer.disconnect()
}
