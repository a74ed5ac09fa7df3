/**
 * The job types every `distributex` node registers out of the box, used by the demo and handy for
 * trying a cluster: `noop`, `sleep` (ms), `fib` (n, CPU-bound), and `flaky` (fails now and then,
 * so retries show).
 */
import { defineJob } from '../jobs/define.js'
import { InvalidJobError } from '../jobs/errors.js'

export const noop = defineJob('noop', () => null, { concurrency: 64 })

export const sleep = defineJob(
  'sleep',
  async (input: { ms: number }, ctx) => {
    await ctx.env.timers.sleep(input.ms, { signal: ctx.signal })
    return { slept: input.ms }
  },
  {
    concurrency: 64,
    validate: (input) => {
      const ms = (input as { ms?: unknown } | null)?.ms
      if (typeof ms !== 'number' || ms < 0 || ms > 3_600_000) throw new InvalidJobError('sleep takes {"ms": 0..3600000}')
      return { ms }
    },
  },
)

export const fib = defineJob(
  'fib',
  (input: { n: number }) => {
    let [a, b] = [0, 1]
    for (let i = 0; i < input.n; i++) [a, b] = [b, (a + b) % 1_000_000_007]
    return { n: input.n, fib: a }
  },
  {
    concurrency: 4,
    validate: (input) => {
      const n = (input as { n?: unknown } | null)?.n
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 100_000_000) throw new InvalidJobError('fib takes {"n": 0..100000000}')
      return { n }
    },
  },
)

export const flaky = defineJob(
  'flaky',
  async (input: { failRate?: number }, ctx) => {
    await ctx.env.timers.sleep(ctx.env.random.int(5, 50), { signal: ctx.signal })
    if (ctx.env.random.next() < (input?.failRate ?? 0.2)) throw new Error(`flaky job failed on attempt ${ctx.attempt}`)
    return { attempt: ctx.attempt }
  },
  { concurrency: 32 },
)

/** Every built-in job type. */
export const BUILTIN_JOBS = [noop, sleep, fib, flaky]
