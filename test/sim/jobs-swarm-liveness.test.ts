// Goal: 250 swarm seeds in liveness mode: after the final heal every acknowledged job gets its one recorded outcome within the bound.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { seeds } from './jobs-seeds.js'

test('250 liveness seeds of the jobs scenario complete every acknowledged job', async () => {
  const acked = await seeds(2, 'liveness')
  assert.ok(acked > 20_000, `${acked} acknowledged jobs checked`)
})
