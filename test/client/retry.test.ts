// Goal: the client's retry rules, on a scripted fetch: a 503 is tried again (at the next peer, with
// the same idempotency key, so a retry cannot create a second job) until the submit timeout, which
// then reports the last 503 error; a refusal (4xx) is not retried; an event stream split at any
// byte still parses.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterSaturatedError, connect, InvalidJobError, NoLeaderError } from '../../src/client/index.js'
import { readSse } from '../../src/client/sse.js'

interface Call {
  url: string
  body: { type: string; options: { idempotencyKey?: string } } | undefined
}

/** A fetch that answers each call with the next scripted reply (the last one repeats). */
function scripted(replies: Array<() => Response>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = []
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), body: init?.body === undefined ? undefined : (JSON.parse(String(init.body)) as Call['body']) })
    return replies[Math.min(calls.length - 1, replies.length - 1)]!()
  }
  return { fetch: fetch as typeof globalThis.fetch, calls }
}

const json = (status: number, body: unknown) => () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
const wire = (name: string, code: string, message: string) => ({ error: { name, code, message } })

test('a 503 is retried at the next peer with the same idempotency key', { timeout: 10_000 }, async () => {
  const { fetch, calls } = scripted([json(503, wire('NoLeaderError', 'ERR_NO_LEADER', 'no leader is known yet')), json(202, { id: 'a'.repeat(32) })])
  const client = connect({ peers: ['http://a.test:7401', 'http://b.test:7401'], fetch })
  const job = await client.submit('double', { n: 1 })
  assert.equal(job.id, 'a'.repeat(32))
  assert.deepEqual(
    calls.map((c) => new URL(c.url).host),
    ['a.test:7401', 'b.test:7401'],
  )
  const keys = calls.map((c) => c.body?.options.idempotencyKey)
  assert.match(keys[0]!, /^dx-client:[0-9a-f]{32}$/)
  assert.equal(keys[1], keys[0])
  assert.match(calls[0]!.url, /\/jobs\?submitTimeoutMs=\d+$/)
  const mine = await client.submit('double', { n: 1 }, { idempotencyKey: 'mine' })
  assert.equal(mine.id, 'a'.repeat(32))
  assert.equal(calls.at(-1)!.body?.options.idempotencyKey, 'mine')
})

test('503 until the submit timeout: the last 503 error, typed', { timeout: 10_000 }, async () => {
  const { fetch, calls } = scripted([json(503, wire('ClusterSaturatedError', 'ERR_CLUSTER_SATURATED', 'the cluster has 100000 jobs waiting, its limit; retry later'))])
  const client = connect({ peers: ['http://a.test:7401'], fetch, submitTimeoutMs: 600 })
  await assert.rejects(client.submit('double', { n: 1 }), (error: unknown) => error instanceof ClusterSaturatedError && error.queued === 100_000)
  assert.ok(calls.length >= 2 && calls.length < 20, `${calls.length} attempts`)
})

test('a refusal is not retried', { timeout: 10_000 }, async () => {
  const { fetch, calls } = scripted([json(400, wire('InvalidJobError', 'ERR_INVALID_JOB', 'input of double refused: n must be a number'))])
  const client = connect({ peers: ['http://a.test:7401', 'http://b.test:7401'], fetch })
  await assert.rejects(client.submit('double', { n: 'x' }), InvalidJobError)
  assert.equal(calls.length, 1)
  const other = scripted([json(503, wire('NoLeaderError', 'ERR_NO_LEADER', 'none'))])
  await assert.rejects(connect({ peers: ['http://a.test:7401'], fetch: other.fetch, requestTimeoutMs: 300 }).list(), NoLeaderError)
})

test('server-sent events parse whatever the chunking', async () => {
  const text = ': keepalive\n\nevent: progress\ndata: {"fraction":0.5}\n\r\nevent: outcome\ndata: {"ok":true,\ndata: "value":"é"}\n\n'
  const bytes = new TextEncoder().encode(text)
  for (const size of [1, 2, 3, 7, bytes.length]) {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size))
        controller.close()
      },
    })
    const events = []
    for await (const e of readSse(body)) events.push(e)
    assert.deepEqual(
      events,
      [
        { event: 'progress', data: '{"fraction":0.5}' },
        { event: 'outcome', data: '{"ok":true,\n"value":"é"}' },
      ],
      `chunks of ${size}`,
    )
  }
})

test('a broken event stream is reopened at the next peer; the result comes from there', { timeout: 10_000 }, async () => {
  const sse = (text: string) => () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } })
  const id = 'c'.repeat(32)
  const { fetch, calls } = scripted([
    sse(`event: progress\ndata: {"id":"${id}","fraction":0.5,"message":"half"}\n\n`),
    () => {
      throw new TypeError('fetch failed')
    },
    sse(`event: outcome\ndata: {"id":"${id}","ok":false,"error":{"name":"Error","code":"ERR","message":"disk full"}}\n\n`),
  ])
  const client = connect({ peers: ['http://a.test:7401', 'http://b.test:7401'], fetch })
  const events = []
  for await (const e of client.events(id, { timeoutMs: 5000 })) events.push(e)
  assert.deepEqual(events[0], { type: 'progress', id, fraction: 0.5, message: 'half' })
  const last = events[1]
  assert.ok(last?.type === 'result' && !last.ok && last.error.name === 'JobFailedError' && last.error.message.includes('disk full'))
  assert.equal(events.length, 2)
  assert.ok(calls.every((c) => c.url.endsWith(`/jobs/${id}/events`)))
  assert.deepEqual(
    calls.map((c) => new URL(c.url).host),
    ['a.test:7401', 'b.test:7401', 'a.test:7401'],
  )
})
