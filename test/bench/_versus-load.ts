/**
 * What both sides of the versus bench share, so that BullMQ and DistributeX are driven by the same
 * code: the job kinds, the throughput pipeline (lanes of batches), the open-loop latency generator
 * (each job measured from its scheduled send time, so a late sender cannot hide queueing), and the
 * messages between the bench and its child processes.
 */
import { performance } from 'node:perf_hooks'

/** The measured job kinds: a no-op, a 10 ms timer (I/O-bound), 2 ms of CPU. */
export type Kind = 'noop' | 'timer' | 'cpu'

export const TIMER_MS = 10
/** A job whose result has not come back after this long counts as failed instead of holding the run. */
export const RESULT_TIMEOUT_MS = 120_000
export const CPU_MS = 2

/** Busy-waits `ms` of wall time on this thread: the CPU-bound job of both sides. */
export function spin(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003
  return x
}

/** A request from the bench to a child (submitter or producer). */
export type Command =
  { cmd: 'throughput'; jobs: number; batch: number; inFlight: number } | { cmd: 'latency'; kind: Kind; rate: number; seconds: number; warmup: number } | { cmd: 'stop' }

export interface LatencyResult {
  p50: number
  p99: number
  /** Jobs measured (after the warm-up). */
  n: number
  /** Jobs that failed (excluded from the percentiles). */
  failed: number
}

export type Reply = { ok: 'ready' } | { ok: 'throughput'; jobsPerS: number; completed: number } | { ok: 'latency'; result: LatencyResult } | { ok: 'error'; message: string }

/**
 * Sends `jobs` jobs in batches of `batch`, `inFlight` batches at a time; `runBatch` resolves with
 * how many of its batch completed once all have (DistributeX) or once they are enqueued (BullMQ,
 * whose worker reports the last completion).
 */
export async function lanes(jobs: number, batch: number, inFlight: number, runBatch: (size: number, first: number) => Promise<number>): Promise<number> {
  let next = 0
  let completed = 0
  const lane = async (): Promise<void> => {
    while (next < jobs) {
      const first = next
      const size = Math.min(batch, jobs - next)
      next += size
      // Not `completed += await ...`: that reads `completed` before the wait and loses the other lanes' counts.
      const done = await runBatch(size, first)
      completed += done
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  if (completed !== jobs) throw new Error(`${completed} of ${jobs} jobs completed`)
  return completed
}

/**
 * Open loop at `rate` jobs/s for warmup + seconds: job k is due at start + k/rate; a timer sleeps
 * until the next due time and a late tick sends every overdue job. `fire` resolves when the job's
 * result is back. Latency counts from the due time.
 */
export async function openLoop(rate: number, seconds: number, warmup: number, fire: (k: number) => Promise<void>): Promise<LatencyResult> {
  const samples: number[] = []
  let failed = 0
  const total = Math.round(rate * (seconds + warmup))
  const skip = Math.round(rate * warmup)
  const pending: Array<Promise<void>> = []
  const started = performance.now()
  let errorShown = false
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no result after ${RESULT_TIMEOUT_MS} ms`)), RESULT_TIMEOUT_MS)))
    pending.push(
      Promise.race([fire(k), timedOut])
        .finally(() => clearTimeout(timer))
        .then(
          () => {
            if (k >= skip) samples.push(performance.now() - due)
          },
          (error: unknown) => {
            if (k >= skip) failed++
            if (!errorShown) console.error(`a job failed: ${String(error)}`)
            errorShown = true
          },
        ),
    )
  }
  await Promise.all(pending)
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), n: samples.length, failed }
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!
}

/** Runs a child's command loop over IPC: each command gets one reply; 'stop' ends the process. */
export function serve(handle: (c: Exclude<Command, { cmd: 'stop' }>) => Promise<Reply>, stop: () => Promise<void>): void {
  process.on('message', (m: Command) => {
    void (async () => {
      if (m.cmd === 'stop') {
        await stop().catch(() => {})
        process.send!({ ok: 'ready' } satisfies Reply, () => process.exit(0))
        return
      }
      let reply: Reply
      try {
        reply = await handle(m)
      } catch (error) {
        reply = { ok: 'error', message: (error as Error).stack ?? String(error) }
      }
      process.send!(reply)
    })()
  })
}
