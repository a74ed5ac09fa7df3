// Goal: finished jobs leave the leader's memory after the retention (by count and by age), and
// every structure that holds jobs stays bounded however many jobs run; an expired job is told apart
// from one never seen (in the core, and as a 404 JOB_EXPIRED over HTTP); its idempotency key
// leaves with it; listing pages through the jobs with a cursor, newest first, each job once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { SeededRandom } from '../../src/env/prng.js'
import type { Timers } from '../../src/env/types.js'
import { defineJob } from '../../src/jobs/define.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { ExpiredIds } from '../../src/jobs/expired-ids.js'
import { SchedulerCore, TIMEOUT_GRACE_MS, type Candidate, type Retention } from '../../src/jobs/scheduler-core.js'
import type { JobOptions, JobSpec } from '../../src/jobs/types.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { nodeRoutes } from '../../src/node/http-api.js'
import { World } from '../../sim/world.js'
import { runUntil } from '../sim/helpers.js'

const types = new Set(['t'])
const peers: Candidate[] = [{ node: 'p', capacity: 1000, types, eventLoopLagMs: 0 }]
const spec = (id: string, options: JobOptions = {}): JobSpec => ({ id, type: 't', input: null, options: resolveJobOptions(options), submittedAt: 0 })

function core(retention: Retention, clock = { wall: 0 }): SchedulerCore {
  return new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { retention, wallMs: () => clock.wall })
}

/** Submits `specs`, runs each to completion with value = its id, and makes every record durable. */
function runJobs(c: SchedulerCore, specs: JobSpec[], wallMs = 0): void {
  c.submit(specs, types)
  for (const r of c.takeEffects().append) c.apply(r)
  c.dispatch(0, wallMs, peers)
  const ids = new Set(specs.map((s) => s.id))
  for (const a of c.takeEffects().assign) if (ids.has(a.spec.id)) c.attemptFinished(a.spec.id, a.attemptKey, { ok: true, value: a.spec.id }, 0)
  for (const r of c.takeEffects().append) c.apply(r)
  c.takeEffects()
}

test('many jobs through the core: the structures that hold jobs stay bounded by the retention', () => {
  const c = core({ maxFinished: 100, maxAgeMs: Infinity })
  let peak = { jobs: 0, keys: 0, slots: 0, finishedQueue: 0, expiredBytes: 0, timeouts: 0 }
  for (let round = 0; round < 200; round++) {
    runJobs(
      c,
      Array.from({ length: 50 }, (_, i) => spec(`j${round}-${i}`, { idempotencyKey: `key-${round}-${i}` })),
    )
    const f = c.footprint()
    assert.ok(f.retained <= 100, `retained ${f.retained}`)
    peak = {
      jobs: Math.max(peak.jobs, f.jobs),
      keys: Math.max(peak.keys, f.keys),
      slots: Math.max(peak.slots, f.slots),
      finishedQueue: Math.max(peak.finishedQueue, f.finishedQueue),
      expiredBytes: Math.max(peak.expiredBytes, f.expiredBytes),
      timeouts: Math.max(peak.timeouts, f.timeouts),
    }
  }
  // 10,000 jobs ran; memory holds about the 100 retained ones (plus sweep slack), never the 10,000.
  assert.equal(c.footprint().retained, 100)
  assert.ok(peak.jobs <= 150, `jobs ${peak.jobs}`)
  assert.ok(peak.keys <= 150, `keys ${peak.keys}`)
  assert.ok(peak.slots <= 2 * 1024 + 150, `slots ${peak.slots}`)
  assert.ok(peak.finishedQueue <= 2 * 1024 + 150, `finished queue ${peak.finishedQueue}`)
  assert.equal(peak.expiredBytes, c.footprint().expiredBytes, 'the expired-id filter has a fixed size')
  // Every attempt ended long before its timeout (the clock never moved): their timeouts are swept.
  assert.ok(peak.timeouts <= 1024, `timeouts ${peak.timeouts}`)
  assert.equal(c.footprint().recentlyExpired, 1024, 'the exactly remembered expired ids are capped at max(1024, maxFinished)')
  assert.equal(c.inspect('j199-49')?.outcome?.ok, true, 'the newest are readable')
  assert.equal(c.inspect('j0-0'), undefined)
  // The filter recognises at least the last max(1024, maxFinished) expirations; older ones fade.
  assert.equal(c.isExpired('j197-49'), true)
  assert.equal(c.isExpired('j180-0'), true)
  assert.equal(c.isExpired('never-submitted'), false)
})

test('the expired-id filter: recent ids always recognised, two generations kept, few false positives, fixed size', () => {
  const f = new ExpiredIds(1000)
  const bytes = f.bytes
  for (let i = 0; i < 3000; i++) f.add(`id-${i}`)
  assert.equal(f.bytes, bytes)
  for (let i = 2000; i < 3000; i++) assert.equal(f.has(`id-${i}`), true)
  let falsePositives = 0
  for (let i = 0; i < 10_000; i++) if (f.has(`other-${i}`)) falsePositives++
  assert.ok(falsePositives < 300, `false positives ${falsePositives} of 10,000`)
  const copy = new ExpiredIds(1000, f.export())
  for (let i = 2000; i < 3000; i++) assert.equal(copy.has(`id-${i}`), true)
  // Restored bits are a copy of their own, not a view of the decoded snapshot (which they would keep alive).
  const [current, previous] = f.export()
  const snapshot = Buffer.alloc(current.bits.length + previous.bits.length + 100)
  snapshot.set(current.bits, 10)
  snapshot.set(previous.bits, 10 + current.bits.length)
  const restored = new ExpiredIds(1000, [
    { bits: snapshot.subarray(10, 10 + current.bits.length), count: current.count },
    { bits: snapshot.subarray(10 + current.bits.length, 10 + current.bits.length + previous.bits.length), count: previous.count },
  ])
  snapshot.fill(0)
  for (let i = 2000; i < 3000; i++) assert.equal(restored.has(`id-${i}`), true)
})

test('an expired job leaves with its idempotency key: a new submission with the key is a new job', () => {
  const c = core({ maxFinished: 1, maxAgeMs: Infinity })
  runJobs(c, [spec('a', { idempotencyKey: 'k' })])
  assert.deepEqual(c.submit([spec('b', { idempotencyKey: 'k' })], types), [{ status: 'duplicate', of: 'a', durable: true }])
  c.takeEffects()
  runJobs(c, [spec('c')])
  assert.equal(c.isExpired('a'), true)
  assert.deepEqual(c.submit([spec('d', { idempotencyKey: 'k' })], types), [{ status: 'pending' }])
})

test('a late duplicate of an expired job’s submission (a retried append, a resent batch) is not a new job', () => {
  const c = core({ maxFinished: 1, maxAgeMs: Infinity })
  runJobs(c, [spec('a')])
  runJobs(c, [spec('b')])
  assert.equal(c.isExpired('a'), true)
  c.apply({ kind: 'submitted', spec: spec('a') })
  assert.equal(c.inspect('a'), undefined)
  assert.equal(c.backlog, 0)
  assert.deepEqual(c.submit([spec('a')], types), [{ status: 'durable' }])
  assert.equal(c.takeEffects().append.length, 0)
})

test('finished jobs older than maxAgeMs leave at the next dispatch; unfinished jobs never do', () => {
  const clock = { wall: 1_000_000 }
  const c = core({ maxFinished: 1000, maxAgeMs: 60_000 }, clock)
  runJobs(c, [spec('old')], clock.wall)
  c.submit([spec('waiting-long')], types)
  for (const r of c.takeEffects().append) c.apply(r)
  clock.wall += 30_000
  runJobs(c, [spec('young')], clock.wall)
  clock.wall += 40_000
  c.dispatch(1, clock.wall, [])
  assert.equal(c.inspect('old'), undefined)
  assert.equal(c.isExpired('old'), true)
  assert.equal(c.inspect('young')?.status, 'completed')
  assert.equal(c.inspect('waiting-long')?.status, 'running')
})

test('stale timeouts are swept out (bounded by the running attempts) and a running attempt still times out', () => {
  const c = core({ maxFinished: 100, maxAgeMs: Infinity })
  c.submit([spec('slow', { timeoutMs: 1000, retries: 0 })], types)
  for (const r of c.takeEffects().append) c.apply(r)
  c.dispatch(0, 0, peers)
  const slow = c.takeEffects().assign[0]!
  let peak = 0
  for (let round = 0; round < 100; round++) {
    runJobs(
      c,
      Array.from({ length: 50 }, (_, i) => spec(`j${round}-${i}`)),
    )
    peak = Math.max(peak, c.footprint().timeouts)
  }
  assert.ok(peak <= 1024, `timeouts ${peak} after 5,000 attempts with one running`)
  c.dispatch(1000 + TIMEOUT_GRACE_MS, 0, peers)
  const effects = c.takeEffects()
  assert.deepEqual(effects.abort, [{ node: 'p', id: 'slow', attemptKey: slow.attemptKey }])
  const final = effects.append.find((r) => r.kind === 'finished' && r.id === 'slow')
  assert.equal(final?.kind === 'finished' ? final.outcome.ok === false && final.outcome.error.code : undefined, 'ERR_JOB_TIMEOUT')
})

test('a job that left memory is not held by any structure of the core (its objects can be collected)', async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // Few enough jobs after them that the finished queue's consumed front is not cut off yet.
  const c = core({ maxFinished: 1000, maxAgeMs: Infinity })
  const first = Array.from({ length: 50 }, (_, i) => spec(`first-${i}`))
  const refs = first.map((s) => new WeakRef(s))
  runJobs(c, first)
  first.length = 0
  for (let round = 0; round < 22; round++)
    runJobs(
      c,
      Array.from({ length: 50 }, (_, i) => spec(`j${round}-${i}`)),
    )
  assert.equal(c.inspect('first-0'), undefined)
  // WeakRefs hold their targets until the current job ends.
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'specs of expired jobs still reachable')
})

test('a new leader replaying the log applies the same retention from the recorded finish times', () => {
  const clock = { wall: 5_000 }
  const old = core({ maxFinished: 10, maxAgeMs: 1000 }, clock)
  const log: Parameters<SchedulerCore['apply']>[0][] = []
  const apply = (c: SchedulerCore): void => {
    for (const r of c.takeEffects().append) {
      log.push(r)
      c.apply(r)
    }
  }
  old.submit([spec('a'), spec('b')], types)
  apply(old)
  old.dispatch(0, clock.wall, peers)
  const assigned = old.takeEffects().assign
  old.attemptFinished('a', assigned.find((x) => x.spec.id === 'a')!.attemptKey, { ok: true, value: 1 }, 0)
  apply(old)
  clock.wall = 5_800
  old.attemptFinished('b', assigned.find((x) => x.spec.id === 'b')!.attemptKey, { ok: true, value: 2 }, 0)
  apply(old)
  const next = core({ maxFinished: 10, maxAgeMs: 1000 }, clock)
  next.beginReplay()
  for (const r of log) next.apply(r)
  next.endReplay()
  next.dispatch(0, 6_500, [])
  assert.equal(next.isExpired('a'), true, 'finished at 5,000, older than 1 s at 6,500')
  assert.equal(next.inspect('b')?.outcome?.ok, true, 'finished at 5,800')
})

test('listing pages newest first with a cursor, each job once, across holes left by expired jobs', () => {
  const c = core({ maxFinished: 150, maxAgeMs: Infinity })
  const ids = Array.from({ length: 300 }, (_, i) => `j${String(i).padStart(3, '0')}`)
  runJobs(
    c,
    ids.map((id) => spec(id)),
  )
  c.submit([spec('w1'), spec('w2')], types)
  for (const r of c.takeEffects().append) c.apply(r)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page = c.list(undefined, 40, cursor)
    assert.ok(page.jobs.length <= 40)
    seen.push(...page.jobs.map((j) => j.id))
    cursor = page.next
    pages++
  } while (cursor !== null)
  assert.deepEqual(seen, ['w2', 'w1', ...ids.slice(150).reverse()])
  assert.equal(pages, 4)
  assert.deepEqual(
    c.list('queued', 10).jobs.map((j) => j.id),
    ['w2', 'w1'],
  )
  assert.throws(() => c.list(undefined, 10, 'nonsense'), { name: 'InvalidJobError' })
})

test('over HTTP: GET /jobs/:id is 404 JOB_EXPIRED past the retention, 404 ERR_JOB_NOT_FOUND for a job never seen; GET /jobs pages', async () => {
  const add = defineJob('add-r', (input: { a: number; b: number }) => input.a + input.b)
  let timers: Timers | undefined
  const world = new World<AssembledNode>(3, 3, (ctx) => {
    timers = ctx.env.timers
    return assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: ctx.jobLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [add], retention: { maxFinished: 3, maxAgeMs: 3600_000 } },
    )
  })
  for (const node of world.nodes) world.start(node)
  await runUntil(world, 3000)
  const client = world.node('n1').app!.jobs
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const submitted = client.submit(add, { a: i, b: i })
    let handle
    submitted.then((h) => (handle = h), assert.fail)
    while (handle === undefined) await runUntil(world, world.nowMs + 20)
    ids.push((handle as { id: string }).id)
    let done = false
    void (handle as { result(): Promise<unknown> }).result().then(() => (done = true))
    while (!done) await runUntil(world, world.nowMs + 20)
  }
  const routes = nodeRoutes({
    status: () => assert.fail('not used'),
    metrics: () => assert.fail('not used'),
    metricsContentType: 'text/plain',
    jobs: client,
    timers: timers!,
    removeMember: () => assert.fail('not used'),
  })
  const get = async (pattern: string, params: Record<string, string>, query = ''): Promise<{ status?: number; json?: unknown; error?: { status: number; code: string } }> => {
    const route = routes.find((r) => r.method === 'GET' && r.pattern === pattern)!
    let out: { status?: number; json?: unknown; error?: { status: number; code: string } } | undefined
    Promise.resolve(route.handle({ params, query: new URLSearchParams(query), signal: new AbortController().signal, body: undefined })).then(
      (reply) => (out = reply as { status: number; json: unknown }),
      (error: { status: number; code: string }) => (out = { error }),
    )
    while (out === undefined) await runUntil(world, world.nowMs + 20)
    return out
  }
  const expired = (await get('/jobs/:id', { id: ids[0]! })).error!
  assert.deepEqual({ status: expired.status, code: expired.code }, { status: 404, code: 'JOB_EXPIRED' })
  const never = (await get('/jobs/:id', { id: 'never-was' })).error!
  assert.deepEqual({ status: never.status, code: never.code }, { status: 404, code: 'ERR_JOB_NOT_FOUND' })
  assert.equal(((await get('/jobs/:id', { id: ids[4]! })).json as { status: string }).status, 'completed')
  const first = (await get('/jobs', {}, 'limit=2')).json as { jobs: Array<{ id: string }>; next: string | null }
  assert.deepEqual(
    first.jobs.map((j) => j.id),
    [ids[4], ids[3]],
  )
  assert.notEqual(first.next, null)
  const second = (await get('/jobs', {}, `limit=2&cursor=${first.next}`)).json as { jobs: Array<{ id: string }>; next: string | null }
  assert.deepEqual(
    second.jobs.map((j) => j.id),
    [ids[2]],
  )
  assert.equal(second.next, null)
  assert.equal((await get('/jobs', {}, 'cursor=abc')).error?.status, 400)
})

test('configuration: --retain-jobs and --retain-ms (or DX_RETAIN_*) set the retention, with defaults', async () => {
  const { resolveConfig, DEFAULT_RETAIN_JOBS, DEFAULT_RETAIN_MS } = await import('../../src/node/config.js')
  assert.deepEqual(resolveConfig({}, {}).retention, { maxFinished: DEFAULT_RETAIN_JOBS, maxAgeMs: DEFAULT_RETAIN_MS })
  assert.deepEqual(resolveConfig({ retainJobs: '500', retainMs: '60000' }, {}).retention, { maxFinished: 500, maxAgeMs: 60_000 })
  assert.deepEqual(resolveConfig({}, { DX_RETAIN_JOBS: '7' }).retention.maxFinished, 7)
  assert.throws(() => resolveConfig({ retainJobs: 'many' }, {}), { name: 'ConfigError' })
  assert.throws(() => resolveConfig({ retainMs: '-5' }, {}), { name: 'ConfigError' })
})
