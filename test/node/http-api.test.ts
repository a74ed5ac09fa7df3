// Goal: a job submitted over HTTP stops retrying when its client goes away, on the real routes and
// job client (run on the simulator's virtual time, with no leader to take the job).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineJob } from '../../src/jobs/define.js'
import type { Timers } from '../../src/env/types.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { nodeRoutes } from '../../src/node/http-api.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const add = defineJob('add', (input: { a: number; b: number }) => input.a + input.b)

test('POST /jobs and /jobs/batch end their submissions when the client disconnects', async () => {
  let timers: Timers | undefined
  const world = new World<AssembledNode>(3, 3, (ctx) => {
    timers = ctx.env.timers
    return assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: false, jobs: [add] })
  })
  const node = world.node('n2')
  world.start(node)
  await runUntil(world, 1000)
  const routes = nodeRoutes({
    status: () => assert.fail('not used'),
    metrics: () => assert.fail('not used'),
    metricsContentType: 'text/plain',
    jobs: node.app!.jobs,
    timers: timers!,
    removeMember: () => assert.fail('not used'),
  })
  const route = (pattern: string) => routes.find((r) => r.method === 'POST' && r.pattern === pattern)!
  const gone = new AbortController()
  const outcomes: Array<{ done: boolean; value?: unknown; error?: Error }> = []
  const track = (reply: unknown): void => {
    const out: { done: boolean; value?: unknown; error?: Error } = { done: false }
    outcomes.push(out)
    Promise.resolve(reply).then(
      (value) => Object.assign(out, { done: true, value }),
      (error: Error) => Object.assign(out, { done: true, error }),
    )
  }
  const request = { params: {}, query: new URLSearchParams('wait=1&submitTimeoutMs=60000'), signal: gone.signal }
  track(route('/jobs').handle({ ...request, body: { type: 'add', input: { a: 1, b: 2 } } }))
  track(route('/jobs/batch').handle({ ...request, body: { jobs: [{ type: 'add', input: { a: 3, b: 4 } }] } }))
  await runUntil(world, world.nowMs + 2000)
  assert.deepEqual(
    outcomes.map((o) => o.done),
    [false, false],
    'still retrying while no leader takes the jobs',
  )
  gone.abort(new Error('the client went away'))
  await runUntil(world, world.nowMs + 1000)
  assert.equal(outcomes[0]!.error?.name, 'AbortedError')
  const batch = outcomes[1]!.value as { status: number; json: { results: Array<{ error?: { name: string } }> } }
  assert.equal(batch.json.results[0]!.error?.name, 'AbortedError')
})
