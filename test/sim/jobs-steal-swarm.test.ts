// Goal: the other 60 swarm seeds of the work-stealing scenario (see jobs-steal.test.ts), in a file of their own so the two halves run in parallel.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { stealSeeds } from './jobs-steal-seeds.js'

test('60 swarm seeds with stealing (second half): no acknowledged job lost, one visible result each', async () => {
  const { acked, released } = await stealSeeds(61, 60)
  assert.ok(acked > 5000, `${acked} acknowledged jobs checked`)
  assert.ok(released > 1000, `${released} attempts stolen`)
})
