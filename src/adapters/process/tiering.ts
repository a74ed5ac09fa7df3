/**
 * How soon V8 hands a peer's functions to its optimizing compiler (TurboFan), by the peer's load.
 *
 * V8 optimizes a function once it has used up its interrupt budget `--ticks-before-optimization`
 * times (3 by default, more for long bytecode). A peer forming a cluster runs much of its code
 * warm but briefly (handshakes, snapshots, admissions: once per link or member), and every
 * process compiles the same functions for itself: with 50 peers forming on 2 cores, TurboFan took
 * about 15% of the peers' CPU (`perf`, test/bench/RESULTS.md "tiering"). So a process that is
 * not busy asks four times V8's ticks before it optimizes, which code that stays hot (an idle
 * peer's probes and timers) still reaches; a busy one (heap-sizing.ts's busy windows: seconds of
 * GC and CPU in a row, as jobs make, not a joiner's bursts) V8's own, so that a job's path is
 * compiled as soon as before. The executable starts at the quiet value (bin.mjs's default flags),
 * before any module loads.
 */
import { setFlagsFromString } from 'node:v8'

/** Ticks before optimization while the process is not busy; bin.mjs's default flags carry the same. */
export const QUIET_TICKS_BEFORE_OPTIMIZATION = 12
/** And while it is busy: V8's default. */
export const BUSY_TICKS_BEFORE_OPTIMIZATION = 3

/** Sets V8's tier-up threshold for a process that is now busy or not. */
export function tierByLoad(busy: boolean): void {
  setFlagsFromString(`--ticks-before-optimization=${busy ? BUSY_TICKS_BEFORE_OPTIMIZATION : QUIET_TICKS_BEFORE_OPTIMIZATION}`)
}
