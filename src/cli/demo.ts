/**
 * A local demo of the actor runtime: a coordinator fans work out to a pool of supervised workers
 * (one of which crashes now and then and is restarted), shows progress, and prints a summary.
 */
import { parseArgs } from 'node:util'
import { defineActor } from '../actor/define.js'
import { createActorSystem } from '../actor/system.js'
import type { ActorRef, Ask } from '../actor/types.js'
import { realEnvironment } from '../env/real.js'

type Worker = Ask<{ type: 'work'; n: number }, number>

const worker = defineActor<Worker>({
  supervision: { backoff: { minMs: 20, maxMs: 500 } },
  setup(ctx) {
    return {
      async work(msg) {
        await ctx.env.timers.sleep(ctx.env.random.int(1, 5))
        if (ctx.env.random.next() < 0.002) throw new Error(`worker crashed on item ${msg.n}`)
        let x = msg.n
        for (let i = 0; i < 1000; i++) x = (x * 1103515245 + 12345) % 2147483648
        return x
      },
    }
  },
})

/** Runs the demo until `--items` are done or Ctrl-C; returns the exit code. */
export async function runDemo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { items: { type: 'string', default: '20000' }, workers: { type: 'string', default: '16' } } })
  const items = Number(values.items)
  const poolSize = Number(values.workers)
  const env = realEnvironment({ logLevel: 'error' })
  const system = createActorSystem({ env, nodeId: 'demo' })
  const pool: Array<ActorRef<Worker>> = Array.from({ length: poolSize }, (_, i) => system.spawn(worker, { name: `worker-${i}` }))
  const stop = new AbortController()
  const onSignal = (): void => stop.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const started = env.clock.monotonicMs()
  let done = 0
  let failed = 0
  let next = 0
  let progress = env.timers.schedule(200, function report() {
    process.stdout.write(`\r${done}/${items} done, ${failed} failed, ${system.stats().restarts} restarts`)
    progress = env.timers.schedule(200, report)
  })
  const lane = async (ref: ActorRef<Worker>): Promise<void> => {
    while (next < items && !stop.signal.aborted) {
      const n = next++
      try {
        await ref.ask({ type: 'work', n }, { timeoutMs: 5000, signal: stop.signal })
        done++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(pool.flatMap((ref) => [lane(ref), lane(ref)]))
  env.timers.cancel(progress)
  await system.shutdown({ timeoutMs: 2000 })
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  const seconds = (env.clock.monotonicMs() - started) / 1000
  const stats = system.stats()
  process.stdout.write(
    `\r${stop.signal.aborted ? 'interrupted: ' : ''}${done} items done, ${failed} failed (crashes are deliberate), ${stats.restarts} worker restarts, ` +
      `${Math.round(done / seconds)} items/s over ${seconds.toFixed(1)} s; ${stats.processedMessages} messages processed\n`,
  )
  return 0
}
