/**
 * What a scheduler snapshot costs against the finished jobs the leader retains: the leader's
 * snapshot (state export + encode, on its event loop) and a new leader's restore (decode + load),
 * which sits inside every failover. The retention default is chosen from these figures: a restore
 * must fit well inside the failover bound (2,000 ms), and a snapshot well inside the lease margin.
 * Each size is measured ROUNDS times, alternating sizes (A B A B); medians are reported. Options
 * (environment): SIZES (comma-separated retained counts), ROUNDS.
 */
import { performance } from 'node:perf_hooks'
import { decodeSnapshotState, encodeSnapshotState } from '../../protocols/jobs/codec.js'
import { SeededRandom } from '../../src/env/prng.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import { LeastLoadedPlacement } from '../../src/jobs/placement.js'
import { SchedulerCore } from '../../src/jobs/scheduler-core.js'

const SIZES = (process.env.SIZES ?? '10000,30000,100000').split(',').map(Number)
const ROUNDS = Number(process.env.ROUNDS ?? 3)

function core(): SchedulerCore {
  return new SchedulerCore(1, new LeastLoadedPlacement(), new SeededRandom(1), { retention: { maxFinished: 10_000_000, maxAgeMs: Number.MAX_SAFE_INTEGER } })
}

/** A core that has replayed `n` finished no-op jobs shaped like the jobs bench's. */
function filled(n: number): SchedulerCore {
  const c = core()
  c.beginReplay()
  const options = resolveJobOptions({})
  for (let i = 0; i < n; i++) {
    const id = `j-${i.toString(36).padStart(8, '0')}-${'x'.repeat(12)}`
    c.apply({ kind: 'submitted', spec: { id, type: 'noop', input: { i }, options, submittedAt: 1_700_000_000_000 + i } })
    c.apply({ kind: 'finished', id, attempt: 1, outcome: { ok: true, value: { i } }, at: 1_700_000_000_000 + i })
  }
  c.endReplay()
  return c
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const samples = new Map<number, { snapshot: number[]; restore: number[]; bytes: number; heapMb: number[] }>()
for (let round = 0; round < ROUNDS; round++) {
  for (const n of SIZES) {
    const leader = filled(n)
    global.gc?.()
    const t0 = performance.now()
    const blob = encodeSnapshotState(leader.snapshot())
    const t1 = performance.now()
    const next = core()
    next.beginReplay()
    next.restore(decodeSnapshotState(blob))
    next.endReplay()
    const t2 = performance.now()
    if (next.retained !== n) throw new Error(`restored ${next.retained} of ${n} jobs`)
    const s = samples.get(n) ?? { snapshot: [], restore: [], bytes: blob.length, heapMb: [] }
    s.snapshot.push(t1 - t0)
    s.restore.push(t2 - t1)
    s.heapMb.push(process.memoryUsage().heapUsed / 2 ** 20)
    samples.set(n, s)
  }
}
const rows = SIZES.map((n) => {
  const s = samples.get(n)!
  return {
    retained: n,
    snapshot_ms: Math.round(median(s.snapshot)),
    restore_ms: Math.round(median(s.restore)),
    snapshot_mb: Math.round((s.bytes / 2 ** 20) * 10) / 10,
    restore_us_per_job: Math.round((median(s.restore) * 1000) / n),
  }
})
for (const r of rows) console.log(`${r.retained} retained: snapshot ${r.snapshot_ms} ms, restore ${r.restore_ms} ms (${r.restore_us_per_job} us/job), ${r.snapshot_mb} MB`)
console.log(JSON.stringify({ bench: 'snapshot', rounds: ROUNDS, sizes: rows }))
