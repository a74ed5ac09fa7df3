// Goal: a peer's young generation stops growing at the cap, which V8 cannot be given once the
// process runs (--max-semi-space-size is read at start): the same churn grows it past the cap
// in a process without it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import { capYoungGeneration, youngGenerationMb } from '../../../src/adapters/process/young-generation.js'

/** Short-lived objects with a few survivors, as a busy peer makes; returns the young generation's size. */
const CHURN = `
let keep = []
for (let i = 0; i < 3e6; i++) { const o = { a: i, b: 'x' + i, c: [i, i + 1] }; if (i % 100 === 0) keep.push(o); if (keep.length > 5000) keep = [] }
`

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
  const stop = capYoungGeneration(8)
  try {
    // A peer's work comes in many short tasks; the check runs between them.
    let keep: object[] = []
    for (let task = 0; task < 300; task++) {
      for (let i = 0; i < 10_000; i++) {
        const o = { a: i, b: 'x' + i, c: [i, i + 1] }
        if (i % 100 === 0) keep.push(o)
        if (keep.length > 5000) keep = []
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.ok(youngGenerationMb() <= 8, `with a cap of 8 MB: ${youngGenerationMb()} MB`)
  } finally {
    stop()
  }
})
