// Goal: swarm seeds of the replicated scenario (partitions, crashes, power losses, broken and full disks, loss, pauses, skew) hold every check: one leader per epoch, committed entries stable and on a majority, new leaders holding every committed entry, no acknowledged job lost, one visible result per job. The liveness half is test/sim/replicated-swarm-liveness.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SEEDS, seeds } from './replicated-seeds.js'

test(`${Math.ceil(SEEDS * 0.6)} safety seeds of the replicated scenario hold every check`, async () => {
  const n = Math.ceil(SEEDS * 0.6)
  const { acked, epochs } = await seeds('safety', 1, n)
  assert.ok(acked > n * 50, `${acked} acknowledged jobs checked`)
  assert.ok(epochs >= 2 * n, `leaders changed (${epochs} leader epochs over ${n} seeds)`)
})
