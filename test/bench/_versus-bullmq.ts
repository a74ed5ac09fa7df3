/**
 * The versus bench's BullMQ side, one process per role as in the baseline (../../../shared/baselines/bullmq.md):
 * argv `worker <port> <concurrency>` runs a Worker that counts completions and reports over IPC
 * when the expected number is reached; argv `producer <port>` adds jobs (addBulk in lanes for
 * throughput, single add() in an open loop for latency, results through QueueEvents).
 */
import { Queue, QueueEvents, Worker } from 'bullmq'
import { CPU_MS, lanes, openLoop, serve, spin, TIMER_MS, type Kind } from './_versus-load.js'

const [role, portText, concurrencyText] = process.argv.slice(2)
const connection = { host: '127.0.0.1', port: Number(portText) }
const QUEUE = 'versus'

if (role === 'worker') {
  let expected = Number.POSITIVE_INFINITY
  let count = 0
  const worker = new Worker(
    QUEUE,
    async (job) => {
      const kind = job.name as Kind
      if (kind === 'timer') await new Promise((r) => setTimeout(r, TIMER_MS))
      else if (kind === 'cpu') spin(CPU_MS)
    },
    { connection, concurrency: Number(concurrencyText) },
  )
  worker.on('completed', () => {
    if (++count === expected) process.send!({ ok: 'done' })
  })
  await worker.waitUntilReady()
  process.on('message', (m: { cmd: 'expect'; n: number } | { cmd: 'stop' }) => {
    if (m.cmd === 'expect') {
      count = 0
      expected = m.n
      process.send!({ ok: 'expecting' })
    } else {
      void worker.close().finally(() => process.send!({ ok: 'ready' }, () => process.exit(0)))
    }
  })
  process.send!({ ok: 'ready' })
} else {
  // The events stream is capped at 10,000 entries by default: a producer that falls behind at
  // 3,000 jobs/s would lose completions to the trim and wait for them forever.
  const queue = new Queue(QUEUE, { connection, streams: { events: { maxLen: 1_000_000 } } })
  const events = new QueueEvents(QUEUE, { connection })
  await queue.waitUntilReady()
  await events.waitUntilReady()
  const waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>()
  events.on('completed', ({ jobId }) => {
    waiters.get(jobId)?.resolve()
    waiters.delete(jobId)
  })
  events.on('failed', ({ jobId, failedReason }) => {
    waiters.get(jobId)?.reject(new Error(failedReason))
    waiters.delete(jobId)
  })
  let run = 0
  serve(
    async (c) => {
      if (c.cmd === 'throughput') {
        const completed = await lanes(c.jobs, c.batch, c.inFlight, async (size, first) => {
          await queue.addBulk(Array.from({ length: size }, (_, i) => ({ name: 'noop', data: { i: first + i } })))
          return size
        })
        return { ok: 'throughput', jobsPerS: Number.NaN, completed }
      }
      const tag = `r${++run}`
      const result = await openLoop(c.rate, c.seconds, c.warmup, (k) => {
        const jobId = `${tag}-${k}`
        const done = new Promise<void>((resolve, reject) => waiters.set(jobId, { resolve, reject }))
        return queue.add(c.kind, { i: k }, { jobId }).then(() => done)
      })
      return { ok: 'latency', result }
    },
    async () => {
      await events.close()
      await queue.close()
    },
  )
  process.send!({ ok: 'ready' })
}
