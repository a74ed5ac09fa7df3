// Goal: `jobOrder: 'critical-path'` reaches the leader's scheduler through the node assembly (as
// --job-order does): on a whole node in virtual time, with one slot and late binding so ready jobs
// wait at the leader, a workflow's long branch runs before its short one; in the default FIFO order
// the short branch, submitted first, runs first.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineJob } from '../../src/jobs/define.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

async function startOrder(jobOrder: 'fifo' | 'critical-path'): Promise<string[]> {
  const started: string[] = []
  const step = defineJob(
    'step',
    async (input: { tag: string; ms: number }, ctx) => {
      started.push(input.tag)
      await ctx.env.timers.sleep(input.ms, { signal: ctx.signal })
      return input.tag
    },
    { concurrency: 1 },
  )
  const world = new World<AssembledNode>(1, 1, (ctx) =>
    assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: true, jobs: [step], placement: 'eect-pull', jobOrder }),
  )
  for (const node of world.nodes) world.start(node)
  await runUntil(world, 3000)
  const client = world.node('n0').app!.jobs
  const submit = async (tag: string, ms: number, dependsOn: string[]): Promise<string> => {
    let id: string | undefined
    void client.submit(step, { tag, ms }, { durationHintMs: ms, dependsOn }).then((h) => (id = h.id))
    for (let i = 0; i < 100 && id === undefined; i++) await runUntil(world, world.nowMs + 10)
    assert.ok(id !== undefined, `${tag} submitted`)
    return id
  }
  // r -> s (short, submitted first), r -> x (long: the critical path); both become ready when r's
  // outcome is durable. r runs long enough for the rest to be submitted.
  const r = await submit('r', 2000, [])
  await submit('s', 50, [r])
  await submit('x', 1000, [r])
  for (let i = 0; i < 200 && started.length < 3; i++) await runUntil(world, world.nowMs + 50)
  await runUntil(world, world.nowMs + 2000)
  return started
}

test('the node runs a workflow in critical-path order when asked, FIFO by default', async () => {
  assert.deepEqual(await startOrder('fifo'), ['r', 's', 'x'])
  assert.deepEqual(await startOrder('critical-path'), ['r', 'x', 's'])
})
