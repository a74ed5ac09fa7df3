// Goal (issue 16): only a leader reads the cluster's view for its learners. A follower's idle ticks
// built the whole view (every member's failure detector) each second for a list it never used.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { replicatorActor } from '../../actors/replicator.js'
import type { ReplicatedLogRequest } from '../../src/replication/protocol.js'
import type { ClusterHandle } from '../../src/internal.js'
import { fakeCluster, fakeNetwork, fakeReplicaOpener } from '../helpers/replicator.js'
import { manualSystem } from '../helpers/system.js'

/** A replicator on a cluster handle that counts its view reads, leading epoch 1 while `leads()`. */
async function viewsOver(leads: () => boolean, ms: number): Promise<{ before: number; after: number }> {
  const { env, system } = manualSystem()
  let views = 0
  const base = fakeCluster(['node-a', 'node-b', 'node-c'], { leadingEpoch: () => (leads() ? 1 : undefined), leaderEpoch: () => (leads() ? 1 : undefined) })
  const cluster = {
    ...base,
    view: () => {
      views++
      return undefined
    },
  } as unknown as ClusterHandle
  system.spawn<ReplicatedLogRequest>(replicatorActor({ network: fakeNetwork(), opener: fakeReplicaOpener(async () => {}), cluster, tickMs: 25, idleTickMs: 1000 }), {
    name: 'replicator',
  })
  await env.advance(100)
  const before = views
  await env.advance(ms)
  return { before, after: views }
}

test('a follower reads no view for learners on its idle ticks; a leader reads it every 250 ms at most', async () => {
  const follower = await viewsOver(() => false, 10_000)
  assert.equal(follower.after - follower.before, 0, `a follower read the view ${follower.after - follower.before} times in 10 s`)
  const leader = await viewsOver(() => true, 10_000)
  const reads = leader.after - leader.before
  assert.ok(reads >= 9 && reads <= 41, `a leader read the view ${reads} times in 10 s`)
})
