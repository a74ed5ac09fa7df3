// Goal: `distributex/client` works against a real peer's HTTP API: submit and result with the
// definition's types, typed errors for refusals and failures, failover past a dead address,
// progress from the event stream, cancel, list, and a token.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { connect, InvalidJobError, JobCancelledError, JobFailedError, NodeUnreachableError, RemoteJobError, UnknownJobTypeError, type JobProgress } from '../../src/client/index.js'
import { defineJob } from '../../src/jobs/define.js'
import { resolveConfig } from '../../src/node/config.js'
import { startNode, type RunningNode } from '../../src/node/start.js'
import { freePort, waitFor } from '../helpers/peers.js'

const double = defineJob('double', (input: { n: number }) => ({ doubled: input.n * 2 }), {
  validate: (input) => {
    const n = (input as { n?: unknown } | null)?.n
    if (typeof n !== 'number') throw new Error('n must be a number')
    return { n }
  },
})
const boom = defineJob('boom', (input: { why: string }): number => {
  throw new Error(input.why)
})
/** Reports progress twice, then holds until released (or cancelled). */
let release: (() => void) | undefined
const steps = defineJob('steps', async (_input: null, ctx) => {
  ctx.progress(0.25, 'first')
  await new Promise((resolve) => setTimeout(resolve, 300))
  ctx.progress(0.75, 'second')
  await new Promise<void>((resolve, reject) => {
    release = resolve
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true })
  })
  return 'done'
})

let dir: string
let node: RunningNode
let url: string
const TOKEN = 'test-token-0123456789abcdef'

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dx-client-'))
  await writeFile(join(dir, 'http.token'), `${TOKEN}\n`, { mode: 0o600 })
  const port = await freePort()
  const config = resolveConfig(
    {
      listen: '/ip4/127.0.0.1/tcp/0',
      http: `127.0.0.1:${port}`,
      httpTokenFile: join(dir, 'http.token'),
      dataDir: join(dir, 'p0'),
      jobLog: `file:${join(dir, 'joblog')}`,
      logLevel: 'error',
    },
    {},
  )
  node = await startNode(config, [double, boom, steps])
  url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => node.cluster.view()?.leading,
    (leading) => leading === true,
    30_000,
    'the peer to lead',
  )
})

after(async () => {
  await node?.stop({ timeoutMs: 2000 })
  await rm(dir, { recursive: true, force: true })
})

test('submit by definition and by name; the result has the definition type', { timeout: 30_000 }, async () => {
  const client = connect({ peers: [url], token: TOKEN, jobs: { double } })
  const byDef = await client.submit(double, { n: 21 })
  const value: { doubled: number } = await byDef.result({ timeoutMs: 10_000 })
  assert.deepEqual(value, { doubled: 42 })
  const byName = await client.submit('double', { n: 2 })
  assert.equal((await byName.result()).doubled, 4)
  assert.equal((await client.get(byName.id))?.status, 'completed')
  assert.equal(await client.get('f'.repeat(32)), null)
})

test('refusals are the in-process error classes; a failed job rejects with JobFailedError', { timeout: 30_000 }, async () => {
  const client = connect({ peers: [url], token: TOKEN })
  await assert.rejects(
    client.submit('no-such-type', {}),
    (error: unknown) => error instanceof UnknownJobTypeError && error.jobType === 'no-such-type' && error.code === 'ERR_UNKNOWN_JOB_TYPE',
  )
  await assert.rejects(client.submit('double', { n: 'x' }), (error: unknown) => error instanceof InvalidJobError && /n must be a number/.test(error.message))
  const failing = await client.submit(boom, { why: 'on purpose' }, { retries: 0 })
  await assert.rejects(
    failing.result({ timeoutMs: 10_000 }),
    (error: unknown) => error instanceof JobFailedError && error.reason.message === 'on purpose' && error.jobId === failing.id,
  )
  await assert.rejects(connect({ peers: [url] }).submit(double, { n: 1 }), (error: unknown) => error instanceof RemoteJobError && error.status === 401)
})

test('a dead first address fails over to the next; with none alive, NodeUnreachableError in time', { timeout: 30_000 }, async () => {
  const dead = `http://127.0.0.1:${await freePort()}`
  const client = connect({ peers: [dead, url], token: TOKEN })
  const job = await client.submit(double, { n: 5 })
  assert.deepEqual(await job.result({ timeoutMs: 10_000 }), { doubled: 10 })
  const alone = connect({ peers: [dead], token: TOKEN, submitTimeoutMs: 800 })
  const started = Date.now()
  await assert.rejects(alone.submit(double, { n: 1 }), NodeUnreachableError)
  const took = Date.now() - started
  assert.ok(took >= 700 && took < 5000, `gave up after ${took} ms`)
})

test('progress arrives as an async iterable, cancel ends the job, list shows it', { timeout: 30_000 }, async () => {
  const client = connect({ peers: [url], token: TOKEN })
  const job = await client.submit(steps, null, { retries: 0 })
  const seen: JobProgress[] = []
  for await (const p of job.progress({ timeoutMs: 15_000 })) {
    seen.push(p)
    if (p.fraction === 0.75) break
  }
  assert.deepEqual(seen.map((p) => p.message).slice(-2), ['first', 'second'])
  const running = await client.list({ status: 'running', limit: 10 })
  assert.ok(
    running.jobs.some((j) => j.id === job.id),
    'list shows the running job',
  )
  assert.equal(await job.cancel(), true)
  await assert.rejects(job.result({ timeoutMs: 10_000 }), JobCancelledError)
  assert.equal((await job.get())?.status, 'cancelled')
  assert.equal(await client.cancel('f'.repeat(32)), false)
})

test('events end with the result; results() yields a batch in completion order', { timeout: 30_000 }, async () => {
  const client = connect({ peers: [url], token: TOKEN })
  const job = await client.submit(steps, null)
  const events: string[] = []
  const stream = (async () => {
    for await (const e of job.events({ timeoutMs: 15_000 })) {
      events.push(e.type === 'progress' ? `progress ${e.fraction}` : `result ${JSON.stringify(e.ok ? e.value : e.error.name)}`)
      if (e.type === 'progress' && e.fraction === 0.75) release!()
    }
  })()
  await stream
  assert.equal(events.at(-1), 'result "done"')
  assert.ok(events.includes('progress 0.75'))
  const batch = client.submitBatch([
    { job: double, input: { n: 1 } },
    { job: 'no-such-type', input: null },
    { job: 'boom', input: { why: 'batch' }, options: { retries: 0 } },
  ])
  assert.equal(batch.length, 3)
  await assert.rejects(batch[1]!, UnknownJobTypeError)
  const results = []
  for await (const r of client.results([await batch[0]!, await batch[2]!], { timeoutMs: 10_000 })) results.push(r)
  assert.equal(results.length, 2)
  assert.deepEqual(
    results.filter((r) => r.ok).map((r) => r.ok && r.value),
    [{ doubled: 2 }],
  )
  assert.ok(results.some((r) => !r.ok && r.error instanceof JobFailedError))
})

test('a wait that runs out rejects with AbortedError and leaves the job alone', { timeout: 30_000 }, async () => {
  const client = connect({ peers: [url], token: TOKEN })
  const job = await client.submit(steps, null)
  await assert.rejects(job.result({ timeoutMs: 200 }), (error: unknown) => (error as Error).name === 'AbortedError')
  assert.notEqual((await job.get())?.status, 'cancelled')
  await job.cancel()
})
