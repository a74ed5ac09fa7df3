// Goal: a leader whose lease lapses and comes back in the same epoch keeps replicating (issue 9,
// under load): the append under way when the lease lapsed commits instead of failing, no second
// no-op entry opens a new term, and a request made during the lapse is answered "retry" (not fenced).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { replicatorActor } from '../../actors/replicator.js'
import type { ReplicatedLogRequest } from '../../src/replication/protocol.js'
import { FencedError, JobLogUnavailableError } from '../../src/storage/errors.js'
import { fakeCluster, fakeNetwork, fakeReplicaOpener } from '../helpers/replicator.js'
import { gate, manualSystem, outcome } from '../helpers/system.js'
import { appendOffset } from '../../protocols/replication/offsets.js'

test('a lapsed lease that comes back in the same epoch: the append under way commits, no new no-op, a new request is told to retry', async () => {
  const { env, system } = manualSystem()
  const written: number[][] = []
  let hold: ReturnType<typeof gate> | undefined
  const opener = fakeReplicaOpener(async (entries) => {
    written.push(entries.map((e) => e.index))
    if (hold !== undefined) await hold.promise
  })
  const network = fakeNetwork()
  let lease = true
  // A single voter: its own durable write commits.
  const cluster = fakeCluster(['node-a'], { leaderEpoch: () => (lease ? 1 : undefined) })
  const ref = system.spawn<ReplicatedLogRequest>(replicatorActor({ network, opener, cluster, tickMs: 25, idleTickMs: 25 }), { name: 'replicator' })
  await env.advance(10)
  assert.deepEqual(written, [[0]], 'epoch 1 opens with its no-op')
  const fence = outcome(ref.ask({ type: 'fence', epoch: 1 }, { timeoutMs: 10_000 }))
  await env.advance(10)
  assert.ok(fence.settled && fence.error === undefined, 'fenced')

  hold = gate()
  const append = outcome(ref.ask({ type: 'append', epoch: 1, payloads: [new TextEncoder().encode('a')] }, { timeoutMs: 10_000 }))
  await env.advance(10)
  assert.deepEqual(written.at(-1), [1], 'the append is being written')
  lease = false
  await env.advance(100)
  const during = outcome(ref.ask({ type: 'append', epoch: 1, payloads: [new TextEncoder().encode('b')] }, { timeoutMs: 10_000 }))
  await env.advance(10)
  assert.ok(during.error instanceof JobLogUnavailableError && !(during.error instanceof FencedError), `a request in the lapse is told to retry: ${String(during.error)}`)
  hold.open(undefined)
  await env.advance(10)
  assert.ok(append.settled && append.error === undefined, `the append under way commits through the lapse: ${String(append.error)}`)
  assert.equal(append.value, appendOffset(1))
  lease = true
  const after = outcome(ref.ask({ type: 'append', epoch: 1, payloads: [new TextEncoder().encode('c')] }, { timeoutMs: 10_000 }))
  await env.advance(50)
  assert.equal(after.value, appendOffset(2), 'the lease is back: appends go on after the same log, with no second no-op')
  assert.deepEqual(written, [[0], [1], [2]])
})
