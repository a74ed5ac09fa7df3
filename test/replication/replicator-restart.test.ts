// Goal: a restarted replicator actor ignores the completions of its previous incarnation's log writes
// (they reach the same mailbox): before, its completion counter started again at 0, took such a
// completion for its own, and failed again on "opDone without an operation under way" (seen in the
// failover-history bench under load, after the replicator failed once).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { replicatorActor } from '../../actors/replicator.js'
import { fakeCluster, fakeNetwork, fakeReplicaOpener } from '../helpers/replicator.js'
import { gate, manualSystem } from '../helpers/system.js'

test('completions of a previous incarnation are ignored after a restart', async () => {
  const { env, system } = manualSystem()
  const firstWrite = gate()
  let writes = 0
  // The first write (the epoch's no-op, by the first incarnation) lands only when the test says so.
  const opener = fakeReplicaOpener(async () => {
    if (writes++ === 0) await firstWrite.promise
  })
  const network = fakeNetwork()
  let explode = false
  const cluster = fakeCluster(['node-a', 'b', 'c'], {
    leadingEpoch: () => {
      if (explode) {
        explode = false
        throw new Error('boom')
      }
      return 1
    },
  })
  const ref = system.spawn(replicatorActor({ network, opener, cluster, tickMs: 25, idleTickMs: 25 }))
  await env.advance(10)
  assert.equal(writes, 1, 'the first incarnation leads epoch 1 and writes its no-op')
  explode = true
  await env.advance(5000)
  const restarts = system.stats().restarts
  assert.equal(restarts, 1, 'the replicator failed once and was restarted')
  firstWrite.open()
  await env.advance(5000)
  assert.equal(system.stats().restarts, restarts, "the old write's completion made the new incarnation fail")
  void ref
})
