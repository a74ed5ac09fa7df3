// Goal: the job API end to end on three whole nodes (cluster, scheduler, executors, clients) run
// on the simulator's virtual time: typed results, progress, retries, timeouts, cancellation,
// dependencies, idempotency, deadlines, backpressure and typed submission errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineJob } from '../../src/jobs/define.js'
import { PermanentJobError } from '../../src/jobs/errors.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const runs = new Map<string, number>()
const count = (key: string): number => runs.get(key) ?? 0
const bump = (key: string): void => void runs.set(key, count(key) + 1)

const add = defineJob('add', (input: { a: number; b: number }) => input.a + input.b)
const slow = defineJob('slow', async (input: { ms: number; tag: string }, ctx) => {
  bump(`slow:${input.tag}`)
  for (let step = 1; step <= 4; step++) {
    await ctx.env.timers.sleep(input.ms / 4, { signal: ctx.signal })
    ctx.progress(step / 4, `step ${step}`)
  }
  return input.tag
})
const flaky = defineJob('flaky', (input: { tag: string; failures: number }) => {
  bump(`flaky:${input.tag}`)
  if (count(`flaky:${input.tag}`) <= input.failures) throw new Error(`failure ${count(`flaky:${input.tag}`)}`)
  return count(`flaky:${input.tag}`)
})
const fatal = defineJob('fatal', () => {
  throw new PermanentJobError('do not retry me')
})
const hang = defineJob('hang', async (input: { tag: string }, ctx) => {
  bump(`hang:${input.tag}`)
  await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
})

function cluster(maxQueued?: number): World<AssembledNode> {
  const world = new World<AssembledNode>(3, 3, (ctx) =>
    assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [add, slow, flaky, fatal, hang], ...(maxQueued === undefined ? {} : { maxQueued }) },
    ),
  )
  for (const node of world.nodes) world.start(node)
  return world
}

/** Runs the world until `promise` settles (or `limitMs` of virtual time pass). */
async function settle<T>(world: World<AssembledNode>, promise: Promise<T>, limitMs = 60_000): Promise<{ value?: T; error?: Error }> {
  const out: { value?: T; error?: Error; done?: boolean } = {}
  promise.then(
    (v) => Object.assign(out, { value: v, done: true }),
    (e: Error) => Object.assign(out, { error: e, done: true }),
  )
  const end = world.nowMs + limitMs
  while (out.done !== true && world.nowMs < end) await runUntil(world, world.nowMs + 50)
  assert.equal(out.done, true, 'settled in time')
  return out
}

async function ready(): Promise<{ world: World<AssembledNode>; client: AssembledNode['jobs'] }> {
  const world = cluster()
  await runUntil(world, 3000)
  return { world, client: world.node('n2').app!.jobs }
}

test('a submitted job runs somewhere in the cluster and its typed result comes back', async () => {
  const { world, client } = await ready()
  const handle = (await settle(world, client.submit(add, { a: 2, b: 40 }))).value!
  const result = await settle(world, handle.result())
  const sum: number | undefined = result.value
  assert.equal(sum, 42)
  const info = (await settle(world, handle.status())).value!
  assert.equal(info?.status, 'completed')
  assert.equal(info?.attempts, 1)
})

test('progress reports reach the submitter', async () => {
  const { world, client } = await ready()
  const handle = (await settle(world, client.submit(slow, { ms: 400, tag: 'p' }))).value!
  const seen: number[] = []
  handle.onProgress((fraction) => seen.push(fraction))
  assert.equal((await settle(world, handle.result())).value, 'p')
  assert.ok(seen.length >= 2 && seen.every((f, i) => i === 0 || f >= seen[i - 1]!), `progress ${seen.join(',')}`)
})

test('failures are retried with backoff; a permanent error is not; exhausted retries fail the job', async () => {
  const { world, client } = await ready()
  const retried = (await settle(world, client.submit(flaky, { tag: 'r', failures: 2 }, { retries: 3, backoff: { minMs: 10 } }))).value!
  assert.equal((await settle(world, retried.result())).value, 3)
  const permanent = (await settle(world, client.submit(fatal, null, { retries: 5 }))).value!
  const p = await settle(world, permanent.result())
  assert.equal(p.error?.name, 'JobFailedError')
  assert.equal((p.error as unknown as { reason: { name: string } }).reason.name, 'PermanentJobError')
  assert.equal((await settle(world, permanent.status())).value?.attempts, 1)
  const exhausted = (await settle(world, client.submit(flaky, { tag: 'x', failures: 10 }, { retries: 2, backoff: { minMs: 10 } }))).value!
  assert.equal((await settle(world, exhausted.result())).error?.name, 'JobFailedError')
  assert.equal(count('flaky:x'), 3)
})

test('an attempt past its timeout is aborted through its signal and retried, then fails', async () => {
  const { world, client } = await ready()
  const handle = (await settle(world, client.submit(hang, { tag: 't' }, { timeoutMs: 200, retries: 1, backoff: { minMs: 10 } }))).value!
  const result = await settle(world, handle.result())
  assert.equal(result.error?.name, 'JobFailedError')
  assert.equal((result.error as unknown as { reason: { name: string } }).reason.name, 'JobTimeoutError')
  assert.equal(count('hang:t'), 2)
})

test('cancelling a running job aborts it and its result rejects with JobCancelledError', async () => {
  const { world, client } = await ready()
  const handle = (await settle(world, client.submit(hang, { tag: 'c' }))).value!
  await runUntil(world, world.nowMs + 500)
  assert.equal((await settle(world, handle.status())).value?.status, 'running')
  assert.equal((await settle(world, handle.cancel())).value, true)
  assert.equal((await settle(world, handle.result())).error?.name, 'JobCancelledError')
  assert.equal((await settle(world, handle.status())).value?.status, 'cancelled')
})

test('dependencies: a job starts after its dependency and fails when it fails', async () => {
  const { world, client } = await ready()
  const first = (await settle(world, client.submit(slow, { ms: 400, tag: 'dep' }))).value!
  const second = (await settle(world, client.submit(add, { a: 1, b: 1 }, { dependsOn: [first.id] }))).value!
  await runUntil(world, world.nowMs + 100)
  assert.equal((await settle(world, second.status())).value?.status, 'waiting')
  assert.equal((await settle(world, second.result())).value, 2)
  const broken = (await settle(world, client.submit(fatal, null))).value!
  const orphan = (await settle(world, client.submit(add, { a: 1, b: 1 }, { dependsOn: [broken.id] }))).value!
  const failed = await settle(world, orphan.result())
  assert.equal((failed.error as unknown as { reason: { name: string } }).reason.name, 'DependencyFailedError')
})

test('a repeated idempotency key returns the recorded result without running again', async () => {
  const { world, client } = await ready()
  const first = (await settle(world, client.submit(slow, { ms: 100, tag: 'idem' }, { idempotencyKey: 'order-7' }))).value!
  assert.equal((await settle(world, first.result())).value, 'idem')
  const again = (await settle(world, client.submit(slow, { ms: 100, tag: 'other' }, { idempotencyKey: 'order-7' }))).value!
  assert.equal(again.id, first.id)
  assert.equal((await settle(world, again.result())).value, 'idem')
  assert.equal(count('slow:other'), 0)
})

test('a job that cannot start before its deadline fails with DeadlineExceededError', async () => {
  const { world, client } = await ready()
  const past = world.node('n2').app!.system.env.clock.wallMs() - 1
  const handle = (await settle(world, client.submit(add, { a: 1, b: 2 }, { deadline: past }))).value!
  const result = await settle(world, handle.result())
  assert.equal((result.error as unknown as { reason: { name: string } }).reason.name, 'DeadlineExceededError')
})

test('bad submissions get typed errors at once', async () => {
  const { world, client } = await ready()
  assert.equal((await settle(world, client.submit('no-such-type', {}))).error?.name, 'UnknownJobTypeError')
  assert.equal((await settle(world, client.submit(add, { a: 1, b: 2 }, { retries: -1 }))).error?.name, 'InvalidJobError')
  assert.equal((await settle(world, client.submit(add, { a: () => 1 } as unknown as { a: number; b: number }))).error?.name, 'InvalidJobError')
  assert.equal((await settle(world, client.submit(add, { a: 1, b: 1, pad: 'x'.repeat(300_000) } as { a: number; b: number }))).error?.name, 'PayloadTooLargeError')
  assert.equal((await settle(world, client.submit(add, { a: 1, b: 1 }, { dependsOn: ['unknown-job'] }))).error?.name, 'InvalidJobError')
})

test('backpressure: beyond the queue limit submissions are refused with ClusterSaturatedError', async () => {
  const world = cluster(3)
  await runUntil(world, 3000)
  const client = world.node('n1').app!.jobs
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => settle(world, client.submit(hang, { tag: `b${i}` }), 5000)))
  assert.equal(results.filter((r) => r.value !== undefined).length, 3)
  assert.ok(results.filter((r) => r.error !== undefined).every((r) => r.error!.name === 'ClusterSaturatedError'))
})

test('listing shows recent jobs by status', async () => {
  const { world, client } = await ready()
  const handles = await Promise.all([1, 2, 3].map(async (n) => (await settle(world, client.submit(add, { a: n, b: n }))).value!))
  for (const h of handles) await settle(world, h.result())
  const listed = (await settle(world, client.list({ status: 'completed', limit: 10 }))).value!
  assert.deepEqual(new Set(listed.jobs.map((j) => j.id)), new Set(handles.map((h) => h.id)))
  assert.equal(listed.next, null)
})

test('while no leader takes a submission, a client going away or the node stopping ends its retries at once', async () => {
  const world = new World<AssembledNode>(3, 3, (ctx) =>
    assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: false, jobs: [add] }),
  )
  const node = world.node('n2')
  world.start(node)
  await runUntil(world, 1000)
  const client = node.app!.jobs
  const gone = new AbortController()
  const abandoned = client.submit(add, { a: 1, b: 1 }, { signal: gone.signal })
  const pending = client.submit(add, { a: 2, b: 2 })
  await runUntil(world, world.nowMs + 300)
  gone.abort(new Error('the HTTP client went away'))
  assert.equal((await settle(world, abandoned, 1000)).error?.name, 'AbortedError')
  const stopped = node.app!.stop()
  const failed = await settle(world, pending, 10)
  assert.equal(failed.error?.name, 'SystemShutdownError')
  assert.match(failed.error!.message, /may still run/)
  await settle(world, stopped)
  assert.equal((await settle(world, client.submit(add, { a: 3, b: 3 }), 10)).error?.name, 'SystemShutdownError')
})
