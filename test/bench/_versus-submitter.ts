/**
 * The versus bench's DistributeX submitter, a process of its own (as BullMQ's producer is): it
 * joins the cluster as a peer without job types and uses the job API as an application would.
 * argv: a JSON object { bootstrap, secretFile, dataDir, jobLog?, cache }.
 */
import { resolveConfig } from '../../src/node/config.js'
import { startNode } from '../../src/node/start.js'
import { lanes, openLoop, serve, TIMER_MS, type Kind } from './_versus-load.js'

const opts = JSON.parse(process.argv[2]!) as { bootstrap: string; secretFile: string; dataDir: string; jobLog?: string; cache: string }
const config = resolveConfig(
  {
    listen: '/ip4/127.0.0.1/tcp/0',
    bootstrap: [opts.bootstrap],
    secretFile: opts.secretFile,
    dataDir: opts.dataDir,
    http: 'off',
    logLevel: 'error',
    ...(opts.jobLog === undefined ? {} : { jobLog: opts.jobLog }),
    cache: opts.cache,
  },
  {},
)
const node = await startNode(config, [])
const deadline = Date.now() + 30_000
while (node.cluster.view()?.leader?.nodeId === undefined) {
  if (Date.now() > deadline) throw new Error('the submitter found no leader in 30 s')
  await new Promise((r) => setTimeout(r, 50))
}

/**
 * How long a submission may keep looking for a leader: far beyond the client's 30 s default, so
 * that on an overloaded machine a slow cluster shows as slow (as BullMQ, which has no such limit,
 * does) rather than as failed jobs.
 */
const SUBMIT_TIMEOUT_MS = 600_000

const JOB: Record<Kind, { job: string; input: unknown }> = {
  noop: { job: 'noop', input: null },
  timer: { job: 'sleep', input: { ms: TIMER_MS } },
  cpu: { job: 'spin', input: null },
}

async function batch(size: number): Promise<number> {
  const handles = await Promise.all(
    node.jobs.submitBatch(
      Array.from({ length: size }, () => ({ job: 'noop', input: null, options: { retries: 1 } })),
      { submitTimeoutMs: SUBMIT_TIMEOUT_MS },
    ),
  )
  const results = await Promise.allSettled(handles.map((h) => h.result()))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed !== undefined) console.error(`a job failed: ${String((failed as PromiseRejectedResult).reason)}`)
  return results.filter((r) => r.status === 'fulfilled').length
}

// A warm-up batch, so that connections and code paths are hot before anything is measured (BullMQ's
// producer and worker do the same).
if ((await batch(1000)) !== 1000) throw new Error('the warm-up batch failed')

serve(
  async (c) => {
    if (c.cmd === 'throughput') {
      const start = performance.now()
      const completed = await lanes(c.jobs, c.batch, c.inFlight, batch)
      return { ok: 'throughput', jobsPerS: completed / ((performance.now() - start) / 1000), completed }
    }
    const { job, input } = JOB[c.kind]
    const result = await openLoop(c.rate, c.seconds, c.warmup, async () => {
      const handle = await node.jobs.submit(job, input, { submitTimeoutMs: SUBMIT_TIMEOUT_MS })
      await handle.result()
    })
    return { ok: 'latency', result }
  },
  () => node.stop(),
)
process.send!({ ok: 'ready' })
