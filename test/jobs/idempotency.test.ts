// Goal: idempotency keys hold under concurrency and ambiguous failures. In the core: a key is
// reserved from submission, so a concurrent second submission joins the first job; a refused
// submission leaves its key free; replay rebuilds the key index. On whole simulated nodes: two
// nodes submitting one key at once get one job and one run; a resubmission after the first
// submitter's node stopped unacknowledged gets the same job; a submission that times out while the
// log is down says its outcome is unknown, even when its last try only timed out.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/env/prng.js'
import { defineJob } from '../../src/jobs/define.js'
import { idempotentJobId, resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import type { JobRecord } from '../../protocols/jobs/codec.js'
import type { JobLogUnavailableError } from '../../src/storage/errors.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const types = new Set(['t'])
const spec = (id: string, options: JobOptions = {}): JobSpec => ({ id, type: 't', input: { id }, options: resolveJobOptions(options), submittedAt: 0 })
const core = (): SchedulerCore => new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1))

test('the id of a keyed job is a pure function of its key', () => {
  assert.equal(idempotentJobId('order-7'), idempotentJobId('order-7'))
  assert.notEqual(idempotentJobId('order-7'), idempotentJobId('order-8'))
  assert.match(idempotentJobId('order-7'), /^k-[0-9a-f]{32}$/)
})

test('a key is reserved at submission: a concurrent second submission is a duplicate, answered once the first is durable', () => {
  const c = core()
  assert.deepEqual(c.submit([spec('a', { idempotencyKey: 'k' })], types), [{ status: 'pending' }])
  assert.deepEqual(c.submit([spec('b', { idempotencyKey: 'k' })], types), [{ status: 'duplicate', of: 'a', durable: false }])
  const e = c.takeEffects()
  assert.equal(e.append.length, 1, 'one record for the two submissions')
  c.apply(e.append[0]!)
  assert.deepEqual(c.submit([spec('c', { idempotencyKey: 'k' })], types), [{ status: 'duplicate', of: 'a', durable: true }])
  assert.equal(c.inspect('b'), undefined)
  assert.equal(c.backlog, 1)
})

test('a watcher of the duplicate gets the first job’s result', () => {
  const c = core()
  c.submit([spec('a', { idempotencyKey: 'k' })], types)
  const [dup] = c.submit([spec('b', { idempotencyKey: 'k' })], types)
  assert.equal(dup?.status, 'duplicate')
  c.watch((dup as { of: string }).of, 'w2')
  for (const r of c.takeEffects().append) c.apply(r)
  c.dispatch(0, 0, [{ node: 'p', capacity: 1, types, eventLoopLagMs: 0 }])
  const [assigned] = c.takeEffects().assign
  c.attemptFinished('a', assigned!.attemptKey, { ok: true, value: 7 }, 1)
  for (const r of c.takeEffects().append) c.apply(r)
  assert.deepEqual(c.takeEffects().finished, [{ id: 'a', outcome: { ok: true, value: 7 }, idempotencyKey: 'k', watchers: ['w2'] }])
})

test('a refused submission leaves its key free', () => {
  const c = core()
  const [refused] = c.submit([{ ...spec('a', { idempotencyKey: 'k' }), type: 'nope' }], types)
  assert.equal(refused?.status, 'refused')
  assert.deepEqual(c.submit([spec('a', { idempotencyKey: 'k' })], types), [{ status: 'pending' }])
})

test('replay rebuilds the key index, and a resubmission after a lost acknowledgement finds its job', () => {
  const id = idempotentJobId('pay-1')
  const log: JobRecord[] = []
  const old = core()
  old.submit([spec(id, { idempotencyKey: 'pay-1' })], types)
  // The record lands, but the leader dies before anyone hears of it.
  log.push(...old.takeEffects().append)
  const next = new SchedulerCore(2, new LeastLoadedPlacement(), new SeededRandom(2))
  next.beginReplay()
  for (const r of log) next.apply(r)
  next.endReplay()
  assert.deepEqual(next.submit([spec(idempotentJobId('pay-1'), { idempotencyKey: 'pay-1' })], types), [{ status: 'duplicate', of: id, durable: true }])
  assert.deepEqual(next.submit([spec('other', { idempotencyKey: 'pay-1' })], types), [{ status: 'duplicate', of: id, durable: true }])
  assert.equal(next.takeEffects().append.length, 0)
  assert.equal(next.backlog, 1)
})

// ---- whole nodes on the simulator ----------------------------------------------------------------

const runs = new Map<string, number>()
const slow = defineJob('slow-idem', async (input: { ms: number; tag: string }, ctx) => {
  runs.set(input.tag, (runs.get(input.tag) ?? 0) + 1)
  await ctx.env.timers.sleep(input.ms, { signal: ctx.signal })
  return input.tag
})

function cluster(): World<AssembledNode> {
  const world = new World<AssembledNode>(3, 3, (ctx) =>
    assembleNode({ env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache }, { founder: ctx.id === 'n0', jobs: [slow] }),
  )
  for (const node of world.nodes) world.start(node)
  return world
}

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

test('two nodes submitting one key at the same moment get one job, run once, and the same result', async () => {
  const world = cluster()
  await runUntil(world, 3000)
  const a = world.node('n1').app!.jobs.submit(slow, { ms: 200, tag: 'same-a' }, { idempotencyKey: 'once' })
  const b = world.node('n2').app!.jobs.submit(slow, { ms: 200, tag: 'same-b' }, { idempotencyKey: 'once' })
  const [ha, hb] = [(await settle(world, a)).value!, (await settle(world, b)).value!]
  assert.equal(ha.id, hb.id)
  const [ra, rb] = [(await settle(world, ha.result())).value, (await settle(world, hb.result())).value]
  assert.equal(ra, rb)
  assert.equal((runs.get('same-a') ?? 0) + (runs.get('same-b') ?? 0), 1, 'exactly one of the two ran')
})

test('a keyed submission left unacknowledged by a stopping node, resubmitted elsewhere, is the same job', async () => {
  const world = cluster()
  await runUntil(world, 3000)
  // The job log stops answering: the submission is queued at the leader, unacknowledged.
  world.jobLog.down = true
  const first = world.node('n2').app!.jobs.submit(slow, { ms: 100, tag: 'lost-1' }, { idempotencyKey: 'lost' })
  await runUntil(world, world.nowMs + 500)
  const stopped = world.node('n2').app!.stop()
  assert.equal((await settle(world, first, 15_000)).error?.name, 'SystemShutdownError')
  await settle(world, stopped)
  world.jobLog.down = false
  const again = (await settle(world, world.node('n1').app!.jobs.submit(slow, { ms: 100, tag: 'lost-2' }, { idempotencyKey: 'lost' }))).value!
  assert.equal(again.id, idempotentJobId('lost'))
  await settle(world, again.result())
  assert.equal((runs.get('lost-1') ?? 0) + (runs.get('lost-2') ?? 0), 1, 'one job ran, once')
})

test('a submission timing out while the log is down says its outcome is unknown, whatever its last attempt met', async () => {
  const world = cluster()
  await runUntil(world, 3000)
  world.jobLog.down = true
  // The leader answers after its 2 s append timeout: a 1 s submission only ever sees its ask time
  // out. The longer ones hear the leader's word on its log, and some of the sweep (4,350 ms at this
  // seed) end on a last ask cut short by their deadline, which must not hide that word.
  const outcomes = []
  for (const submitTimeoutMs of [1000, ...Array.from({ length: 60 }, (_, i) => 2500 + i * 37)])
    outcomes.push({ submitTimeoutMs, ...(await settle(world, world.node('n2').app!.jobs.submit(slow, { ms: 1, tag: 'down' }, { submitTimeoutMs }))) })
  const [short, ...rest] = outcomes
  assert.equal(short!.error?.name, 'NoLeaderError')
  assert.match(short!.error!.message, /last error: AskTimeoutError: .*; it may still run/)
  for (const o of rest) {
    assert.equal(o.error?.name, 'JobLogUnavailableError', `${o.submitTimeoutMs} ms: ${o.error?.message}`)
    assert.equal((o.error as JobLogUnavailableError).ambiguous, true)
    assert.match(o.error!.message, new RegExp(`within ${o.submitTimeoutMs} ms; the leader last said: JobLogUnavailableError: the job log is failing.*; it may still run`))
  }
  world.jobLog.down = false
  const after = await settle(world, world.node('n2').app!.jobs.submit(slow, { ms: 1, tag: 'up' }))
  assert.ok(after.value !== undefined, 'the cluster accepts work once the log is back')
})
