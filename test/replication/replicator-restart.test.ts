// Goal: a restarted replicator actor ignores the completions of its previous incarnation's log writes
// (they reach the same mailbox): before, its completion counter started again at 0, took such a
// completion for its own, and failed again on "opDone without an operation under way" (seen in the
// failover-history bench under load, after the replicator failed once).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { replicatorActor } from '../../actors/replicator.js'
import type { ClusterHandle } from '../../src/cluster/handle.js'
import type { Network } from '../../src/net/types.js'
import type { ReplicaEntry, ReplicaLog, ReplicaLogOpener } from '../../src/storage/types.js'
import { gate, manualSystem } from '../helpers/system.js'

test('completions of a previous incarnation are ignored after a restart', async () => {
  const { env, system } = manualSystem()
  const firstWrite = gate()
  let writes = 0
  const opener: ReplicaLogOpener = {
    open: async () =>
      ({
        state: () => ({ clusterId: 'c', start: 0, end: 0, lastEpoch: 0 }),
        epochAt: () => undefined,
        setClusterId: async () => {},
        // The first write (the epoch's no-op, by the first incarnation) lands only when the test says so.
        write: async (_from: number, _entries: readonly ReplicaEntry[]) => {
          if (writes++ === 0) await firstWrite.promise
        },
        read: async () => [],
        compact: async () => {},
        reset: async () => {},
        close: async () => {},
      }) satisfies ReplicaLog,
  }
  const network = { self: 'node-a', handle: () => {}, unhandle: () => {}, send: () => true } as unknown as Network
  let explode = false
  const config = { epoch: 1, counter: 1, members: ['node-a', 'b', 'c'], workers: [] }
  const cluster = {
    clusterId: () => 'c',
    config: () => config,
    leaderEpoch: () => 1,
    leadingEpoch: () => {
      if (explode) {
        explode = false
        throw new Error('boom')
      }
      return 1
    },
    leader: () => ({ nodeId: 'node-a', epoch: 1 }),
    view: () => undefined,
    setLogPosition: () => {},
    setCommitIndex: () => {},
    setLogMatches: () => {},
    resign: () => {},
    onLeadershipChange: () => () => {},
  } as unknown as ClusterHandle
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
