// Goal: a peer's young generation stops growing at the cap, which V8 cannot be given once the
// process runs (--max-semi-space-size is read at start): the same churn grows it past the cap
// in a process without it. And an idle peer's young generation does not grow at all (issue 16:
// an idle leader sat at 16.8 MB of it), while a busy one's still does.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { capYoungGeneration, youngGenerationMb } from '../../../src/adapters/process/young-generation.js'

/** Short-lived objects with a few survivors, as a busy peer makes; returns the young generation's size. */
const CHURN = `
let keep = []
for (let i = 0; i < 3e6; i++) { const o = { a: i, b: 'x' + i, c: [i, i + 1] }; if (i % 100 === 0) keep.push(o); if (keep.length > 5000) keep = [] }
`

/** CHURN's work in many short tasks for `ms`, as a busy peer does it: the checks run between them. */
async function churnFor(ms: number): Promise<void> {
  let keep: object[] = []
  const end = performance.now() + ms
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) {
      const o = { a: i, b: 'x' + i, c: [i, i + 1] }
      if (i % 100 === 0) keep.push(o)
      if (keep.length > 5000) keep = []
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
}

// First: the busy test below grows this process's young generation, and V8 does not shrink it.
test('an idle peer keeps its young generation as it is, though objects survive', async () => {
  const atStart = youngGenerationMb()
  const stop = capYoungGeneration(16)
  try {
    // An idle peer's work: a few hundred objects every 10 ms, a quarter kept for a while. Without
    // the hold, V8 grows the young generation to the cap within these 3 s (survivors are what it grows on).
    let keep: object[] = []
    for (let task = 0; task < 300; task++) {
      for (let i = 0; i < 500; i++) {
        const o = { a: i, b: 'x' + i, c: [i, i + 1] }
        if (i % 4 === 0) keep.push(o)
        if (keep.length > 20_000) keep = keep.slice(10_000)
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.ok(atStart < 16, `the test starts below the cap: ${atStart} MB`)
    // V8 itself may take its young generation from 1 MB to its initial 2 MB; the hold stops it there.
    assert.ok(youngGenerationMb() <= Math.max(atStart, 2), `idle: ${youngGenerationMb()} MB, ${atStart} MB at the start`)
  } finally {
    stop()
  }
})

test('a burst of a second or two (a peer joining) does not grow it', async () => {
  const atStart = youngGenerationMb()
  const stop = capYoungGeneration(16)
  try {
    await churnFor(1800)
    assert.ok(youngGenerationMb() <= Math.max(atStart, 2), `after a burst: ${youngGenerationMb()} MB, ${atStart} MB at the start`)
  } finally {
    stop()
  }
})

test('the young generation grows no further than the cap', async () => {
  const uncapped = Number(
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `${CHURN}\nimport v8 from 'node:v8'\nconsole.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576)`],
      {
        encoding: 'utf8',
      },
    ),
  )
  assert.ok(uncapped > 8, `without the cap V8 grows it to ${uncapped} MB`)
  const atStart = youngGenerationMb()
  const stop = capYoungGeneration(8)
  try {
    // A peer's work comes in many short tasks; the check runs between them. Busy for 6 s: the
    // young generation grows only after three busy windows of 1 s in a row.
    await churnFor(6000)
    assert.ok(youngGenerationMb() <= 8, `with a cap of 8 MB: ${youngGenerationMb()} MB`)
    // Busy work (GC well above GROW_GC_SHARE of the time) still gets a larger young generation.
    assert.ok(youngGenerationMb() > atStart, `busy: ${youngGenerationMb()} MB, ${atStart} MB at the start`)
  } finally {
    stop()
  }
})
