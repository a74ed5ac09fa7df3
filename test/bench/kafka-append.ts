// Measures the Kafka job log on the test broker: appends of 200-byte records one batch at a time
// (as the scheduler appends: one transaction in flight), concurrent appends sharing transactions
// (group commit), and replay of everything in reads of 5,000.
// Usage: npm run bench -- kafka-append; prints one JSON object on its last line.
import { KafkaJobLog } from '../../src/adapters/kafka/job-log.js'
import { ensureKafka } from '../helpers/services.js'
import { deleteTopics, env, uniqueName } from '../adapters/kafka/kafka-test-env.js'

const RECORD_BYTES = 200
const payloads = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(RECORD_BYTES).fill(7))
const results: Record<string, number> = {}
const bootstrap = await ensureKafka()
const log = new KafkaJobLog({ brokers: [bootstrap], cluster: uniqueName('bench'), topic: uniqueName('dx-bench'), env })
try {
  await log.fence(1)
  for (const batch of [100, 500, 1000, 5000]) {
    const appends = Math.max(10, Math.min(100, 100_000 / batch))
    await log.append(1, payloads(batch))
    const started = performance.now()
    for (let i = 0; i < appends; i++) await log.append(1, payloads(batch))
    const seconds = (performance.now() - started) / 1000
    results[`sequential_batch_${batch}_records_per_s`] = Math.round((appends * batch) / seconds)
    results[`sequential_batch_${batch}_ms_per_append`] = Math.round((seconds * 1000) / appends)
  }
  const concurrent = 8
  const rounds = 20
  const started = performance.now()
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: concurrent }, () => log.append(1, payloads(250))))
  results.concurrent_8x250_records_per_s = Math.round((concurrent * rounds * 250) / ((performance.now() - started) / 1000))
  const end = await log.endOffset()
  const replayStarted = performance.now()
  let read = 0
  for (let offset = 0; offset < end;) {
    const chunk = await log.read(offset, 5000)
    if (chunk.length === 0) break
    read += chunk.length
    offset = chunk[chunk.length - 1]!.offset + 1
  }
  results.replay_records = read
  results.replay_records_per_s = Math.round(read / ((performance.now() - replayStarted) / 1000))
} finally {
  await log.close()
  await deleteTopics(bootstrap, [log.topic])
}
console.log(JSON.stringify({ bench: 'kafka-append', ...results }))
