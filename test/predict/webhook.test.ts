// Goal: the alert webhook posts each event as JSON, in order, retries a failing endpoint with
// backoff until it answers, gives up at once on a 4xx it cannot fix, and never holds more than its
// queue bound (the oldest events are dropped and counted). Against a real local HTTP server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebhookSender } from '../../src/adapters/webhook/sender.js'
import { realTimers } from '../../src/env/real.js'
import { SeededRandom } from '../../src/env/prng.js'
import type { Logger } from '../../src/env/types.js'

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

async function server(answer: (n: number) => number) {
  const received: unknown[] = []
  let n = 0
  const s = createServer((req, res) => {
    void body(req).then((b) => {
      const status = answer(n++)
      if (status < 300) received.push(b)
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise<void>((r) => {
        s.closeAllConnections()
        s.close(() => r())
      }),
    count: () => n,
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet }
const env = { timers: realTimers, random: new SeededRandom(1), logger: quiet }
const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('posts in order and retries a 503 until it is accepted', async () => {
  const srv = await server((n) => (n < 2 ? 503 : 200))
  const w = new WebhookSender({ url: srv.url, timers: env.timers, random: env.random, logger: env.logger })
  w.send({ event: 'fired', n: 1 })
  w.send({ event: 'resolved', n: 2 })
  await until(() => w.delivered === 2)
  assert.deepEqual(srv.received, [
    { event: 'fired', n: 1 },
    { event: 'resolved', n: 2 },
  ])
  assert.equal(srv.count(), 4)
  w.stop()
  await srv.close()
})

test('a 400 is not retried; the queue is bounded', async () => {
  const srv = await server(() => 400)
  const w = new WebhookSender({ url: srv.url, timers: env.timers, random: env.random, logger: env.logger, maxQueue: 3 })
  for (let i = 0; i < 10; i++) w.send({ i })
  assert.ok(w.dropped >= 6)
  await until(() => w.failed + w.dropped === 10)
  assert.equal(srv.count(), 10 - w.dropped)
  w.stop()
  await srv.close()
})

test('an unreachable endpoint gives up after its retries', async () => {
  const w = new WebhookSender({ url: 'http://127.0.0.1:9/none', timers: env.timers, random: env.random, logger: env.logger, retries: 2, timeoutMs: 500 })
  w.send({ x: 1 })
  await until(() => w.failed === 1)
  w.stop()
})
