// Goal: a leader whose scheduler cannot run gives up the lead and says why, instead of reporting
// leading: true without a scheduler; after the hold-off it may try again. Method: one assembled node
// on the simulator's virtual time, founding a cluster, with a job log whose fence always fails.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineJob } from '../../src/jobs/define.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { FencedError } from '../../src/storage/errors.js'
import type { JobLogFactory } from '../../src/storage/types.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const noop = defineJob('noop', () => null)

test('a leader whose scheduler stops by itself resigns, shows the reason, and holds off campaigning', async () => {
  let fences = 0
  const world = new World<AssembledNode>(7, 1, (ctx) => {
    const jobLog: JobLogFactory = {
      async open(options) {
        const session = await ctx.jobLog.open(options)
        return Object.assign(Object.create(session) as typeof session, {
          fence: async (epoch: number) => {
            fences++
            throw new FencedError(epoch, epoch + 1)
          },
        })
      },
    }
    return assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog, cache: ctx.cache }, { founder: true, jobs: [noop], cluster: { leaseMs: 1000 } })
  })
  const node = world.node('n0')
  world.start(node)
  const samples: Array<{ atMs: number; leading: boolean; resigned: string | undefined }> = []
  for (let t = 100; t <= 8000; t += 100) {
    await runUntil(world, t)
    const view = node.app!.cluster.view()!
    samples.push({ atMs: t, leading: view.leading, resigned: view.resigned })
  }
  const firstResigned = samples.find((s) => s.resigned !== undefined)
  assert.ok(firstResigned !== undefined, 'the node resigned')
  assert.match(firstResigned.resigned!, /^scheduler of epoch \d+ stopped \(failed: epoch \d+ is fenced by epoch \d+\)$/)
  assert.equal(firstResigned.leading, false)
  const holdOff = samples.filter((s) => s.atMs > firstResigned.atMs && s.atMs < firstResigned.atMs + 2900)
  assert.ok(
    holdOff.every((s) => !s.leading),
    'no lead during the 3-lease hold-off',
  )
  assert.ok(fences >= 2, `it tried again after the hold-off (${fences} fences)`)
  await node.app!.stop({ timeoutMs: 1000 })
})
