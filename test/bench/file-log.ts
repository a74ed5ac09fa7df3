// Measures the file job log: appends of 200-byte records one batch at a time (as the scheduler
// appends), many concurrent single-record appends (group commit), and replay in reads of 5,000.
// Usage: npm run bench -- file-log; prints one JSON object on its last line.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileJobLog } from '../../src/adapters/file-log/file-job-log.js'

const RECORD_BYTES = 200
const payloads = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(RECORD_BYTES).fill(7))
const results: Record<string, number> = {}
const dir = await mkdtemp(join(tmpdir(), 'dx-bench-file-log-'))
try {
  const log = await FileJobLog.open({ dir })
  for (const batch of [1, 100, 1000]) {
    const appends = Math.max(50, Math.min(500, 100_000 / batch))
    const started = performance.now()
    for (let i = 0; i < appends; i++) await log.append(1, payloads(batch))
    const seconds = (performance.now() - started) / 1000
    results[`sequential_batch_${batch}_records_per_s`] = Math.round((appends * batch) / seconds)
    results[`sequential_batch_${batch}_appends_per_s`] = Math.round(appends / seconds)
  }
  const concurrent = 64
  const rounds = 50
  const started = performance.now()
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: concurrent }, () => log.append(1, payloads(1))))
  results.concurrent_64_single_record_appends_per_s = Math.round((concurrent * rounds) / ((performance.now() - started) / 1000))
  const end = await log.endOffset()
  const replayStarted = performance.now()
  let read = 0
  for (let offset = 0; offset < end;) {
    const chunk = await log.read(offset, 5000)
    read += chunk.length
    offset = chunk[chunk.length - 1]!.offset + 1
  }
  results.replay_records = read
  results.replay_records_per_s = Math.round(read / ((performance.now() - replayStarted) / 1000))
  await log.close()
  const reopenStarted = performance.now()
  await (await FileJobLog.open({ dir })).close()
  results.reopen_ms = Math.round(performance.now() - reopenStarted)
} finally {
  await rm(dir, { recursive: true, force: true })
}
console.log(JSON.stringify({ bench: 'file-log', ...results }))
