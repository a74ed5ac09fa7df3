// Goal: a peer's process that is not busy lets a function run about twice as long before V8
// optimizes it as a busy one does (src/adapters/process/tiering.ts: with 50 peers forming on 2 cores, the
// optimizing compiler took about 15% of the peers' CPU), and the executable starts at the quiet value.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { BUSY_TICKS_BEFORE_OPTIMIZATION, QUIET_TICKS_BEFORE_OPTIMIZATION, tierByLoad } from '../../../src/adapters/process/tiering.js'
import { ROOT } from '../../helpers/paths.js'

/**
 * V8's OptimizationStatus bits for a function optimized, or marked to be (the decision; a compile on
 * the background thread lands some calls later, how many depends on that thread).
 */
const OPTIMIZED_OR_MARKED = (1 << 4) | (1 << 8) | (1 << 9) | (1 << 10)

let made = 0

/**
 * Calls of a new function until V8 decides to optimize it: straight-line code (a loop would be
 * optimized on the stack, a function under 81 bytes of bytecode early), its own source so that no
 * feedback is shared.
 */
function callsUntilOptimized(): number {
  made += 1
  const steps = Array.from({ length: 12 }, (_, i) => `s = (s * ${i + 3} + t) % 65521; t = (t ^ (s << ${(i % 5) + 1})) & 0xffff; u = u + s - t;`)
  const f = new Function('a', `let s = a[0] + ${made}, t = a[1], u = a[2]; ${steps.join(' ')} return s + t + u`) as (a: number[]) => number
  const status = new Function('f', 'return %GetOptimizationStatus(f)') as (g: unknown) => number
  const input = [1, 2, 3]
  for (let calls = 1; calls <= 1_000_000; calls++) {
    f(input)
    if ((status(f) & OPTIMIZED_OR_MARKED) !== 0) return calls
  }
  return Infinity
}

test('a quiet process runs a function about twice as long as a busy one before V8 optimizes it', () => {
  setFlagsFromString('--allow-natives-syntax')
  try {
    tierByLoad(true)
    const busy = callsUntilOptimized()
    tierByLoad(false)
    const quiet = callsUntilOptimized()
    assert.ok(Number.isFinite(busy), 'a busy process optimizes a hot function')
    assert.ok(Number.isFinite(quiet), `a quiet one optimizes it too, later (busy: after ${busy} calls)`)
    // Four times the ticks, plus the same allowance for the function's length: 2.27 times the calls here.
    assert.ok(quiet >= 2 * busy, `quiet: optimized after ${quiet} calls; busy: after ${busy}`)
  } finally {
    setFlagsFromString(`--ticks-before-optimization=${BUSY_TICKS_BEFORE_OPTIMIZATION}`)
  }
})

test("the executable's default V8 flags start a process at the quiet value", () => {
  const bin = readFileSync(`${ROOT}/src/cli/bin.mjs`, 'utf8')
  const set = /--ticks-before-optimization=(\d+)/.exec(bin)
  assert.equal(Number(set?.[1]), QUIET_TICKS_BEFORE_OPTIMIZATION)
})
