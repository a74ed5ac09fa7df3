// Goal (issue 9): a leader whose lease lapses and comes back in the same epoch keeps its
// scheduler: paused through the lapse, no second fence and replay of the job log, and a job
// submitted during the lapse is refused retryably (the client retries) and then runs. A lapse that
// outlasts the check quorum still stops the scheduler, and the next leader replays the log anew.
// Method: three assembled nodes on the simulator's virtual time with the replicated job log; both
// followers' event loops stall (no echo reaches the leader), first for a little over a lease, then
// for much longer. Before the change the first stall alone made the leader replay the log again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineJob } from '../../src/jobs/define.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { World, type SimNode } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const double = defineJob('double', (n: number) => 2 * n)

function cluster(seed: number): World<AssembledNode> {
  return new World<AssembledNode>(seed, 3, (ctx) =>
    assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: 'replicated', replicaLog: ctx.replicaLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [double], cluster: { leaseMs: 1000 } },
    ),
  )
}

/** The node holding a lease once all three are voters. */
async function formed(world: World<AssembledNode>): Promise<SimNode<AssembledNode>> {
  for (let t = 500; t <= 30_000; t += 500) {
    await runUntil(world, t)
    const leader = world.nodes.find((n) => n.app?.cluster.leaderEpoch() !== undefined)
    if (leader !== undefined && leader.app!.cluster.config()?.members.length === 3 && leader.app!.schedulerStats.replays === 1) return leader
  }
  throw new Error('no 3-voter cluster with a running scheduler within 30 s')
}

/** Runs the world until `promise` settles (at most `withinMs` of virtual time). */
async function settle<T>(world: World<AssembledNode>, promise: Promise<T>, withinMs = 20_000): Promise<T> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  const end = world.nowMs + withinMs
  while (!done && world.nowMs < end) await runUntil(world, world.nowMs + 100)
  assert.ok(done, `settled within ${withinMs} ms`)
  return promise
}

const run = (app: AssembledNode, n: number): Promise<number> => app.jobs.submit(double, n).then((h) => h.result())

test('a lease that lapses and comes back keeps the scheduler; a lapse past the check quorum does not', async () => {
  const world = cluster(11)
  for (const node of world.nodes) world.start(node)
  const leader = await formed(world)
  const app = leader.app!
  const epoch = app.cluster.leaderEpoch()!
  assert.equal(await settle(world, run(app, 1)), 2)
  const followers = world.nodes.filter((n) => n !== leader)

  // 1. Followers stall for 1.3 s: the lease (about 0.96 s from the last echoed record) lapses, and
  // comes back before the leader's check quorum (a lease more) steps it down.
  const stallAt = world.nowMs
  for (const f of followers) world.pause(f, 1300)
  let lapsed = false
  let submitted: Promise<number> | undefined
  for (let t = stallAt + 20; t <= stallAt + 3000; t += 20) {
    await runUntil(world, t)
    if (app.cluster.leaderEpoch() === undefined && app.cluster.leadingEpoch() === epoch && !lapsed) {
      lapsed = true
      submitted = run(app, 21)
    }
  }
  assert.ok(lapsed, 'the lease lapsed while the epoch was still led')
  assert.equal(app.cluster.leaderEpoch(), epoch, 'the lease came back in the same epoch')
  assert.deepEqual({ ...app.schedulerStats }, { replays: 1, pauses: 1, resumes: 1 }, 'paused and resumed, with no second replay')
  assert.equal(await settle(world, submitted!), 42, 'the job submitted during the lapse ran once the lease was back')

  // 2. Followers stall for 8 s: the leader steps down; its scheduler stops, and whichever node
  // leads next does so in a newer epoch, with a scheduler that replays the log. (The first stall
  // stretched its lease to about two of its round trips, src/cluster/core.ts "Stretched leases": it
  // may hold it up to 3 leases, then waits the check quorum, a lease and the lag.)
  const longAt = world.nowMs
  for (const f of followers) world.pause(f, 8000)
  await runUntil(world, longAt + 7500)
  assert.equal(app.cluster.leadingEpoch(), undefined, 'the leader stepped down')
  assert.equal(app.schedulerStats.resumes, 1, 'that lapse did not resume')
  let next: SimNode<AssembledNode> | undefined
  for (let t = longAt + 8000; t <= longAt + 24_000 && next === undefined; t += 250) {
    await runUntil(world, t)
    next = world.nodes.find((n) => (n.app?.cluster.leaderEpoch() ?? 0) > epoch && n.app!.schedulerStats.replays > (n === leader ? 1 : 0))
  }
  assert.ok(next !== undefined, 'a newer epoch is led, by a scheduler that replayed the log')
  assert.equal(await settle(world, run(next.app!, 5)), 10)
  for (const node of world.nodes) await node.app?.stop({ timeoutMs: 1000 })
})
