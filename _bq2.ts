import { Queue, Worker } from 'bullmq'
const connection = { host: '127.0.0.1', port: 6399 }
const t0 = Date.now()
const w = new Worker('v2', async () => {}, { connection, concurrency: 128 })
let n = 0
w.on('completed', () => { if (++n % 200 === 0) console.log('completed', n, Date.now() - t0) })
w.on('failed', (j, e) => console.log('failed', e))
w.on('error', (e) => console.log('error', e))
await w.waitUntilReady(); console.log('worker ready', Date.now() - t0)
const q = new Queue('v2', { connection })
await q.addBulk(Array.from({ length: 1000 }, (_, i) => ({ name: 'noop', data: { i } })))
console.log('added', Date.now() - t0)
await new Promise((r) => setTimeout(r, 8000))
console.log('done', n); process.exit(0)
