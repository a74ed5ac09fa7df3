// Goal: no submitter waits for ever for a result. Watchers live only in the leader's memory, so a
// new leader finishes the jobs it replayed with nobody to tell until each submitter watches them
// again; with a retention of 3 finished jobs (the default 10,000 at ~7,000 jobs/s is about 1.4 s of
// work, less than the 2 s rewatch period) those jobs left its memory before the rewatch arrived,
// and their submitters waited for ever (13 of these 30 seeds). The jobs scenario's liveness check
// now requires every living submitter to have its results.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { seeds } from './replicated-seeds.js'

test('with a tiny retention, every living submitter gets every result after leader changes (30 liveness seeds)', async () => {
  const { acked, epochs } = await seeds('liveness', 31_001, 30, 3)
  assert.ok(acked > 30 * 50, `${acked} acknowledged jobs checked`)
  assert.ok(epochs > 30 * 2, `${epochs} leader epochs: leaders changed`)
})
