// Goal: liveness seeds of the replicated scenario (the faults of the safety half, healed at 10 s) hold every check and converge after the heal: one agreed leader, every acknowledged job with its recorded outcome.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SEEDS, seeds } from './replicated-seeds.js'

test(`${Math.floor(SEEDS * 0.4)} liveness seeds of the replicated scenario converge after the heal`, async () => {
  const n = Math.floor(SEEDS * 0.4)
  const { acked } = await seeds('liveness', 10_001, n)
  assert.ok(acked > n * 50, `${acked} acknowledged jobs checked`)
})
