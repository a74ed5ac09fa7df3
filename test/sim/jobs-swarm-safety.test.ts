// Goal: 250 swarm seeds in safety mode: no acknowledged job is missing from the job log, no job has two visible results, nothing runs unsubmitted.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { seeds } from './jobs-seeds.js'

test('250 safety seeds of the jobs scenario hold every history check', async () => {
  const acked = await seeds(1, 'safety')
  assert.ok(acked > 20_000, `${acked} acknowledged jobs checked`)
})
