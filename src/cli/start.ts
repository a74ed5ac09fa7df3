/**
 * `distributex start`: runs one peer until SIGTERM or SIGINT, on which it leaves the cluster
 * gracefully and exits 0 (a second SIGINT exits at once with 130).
 */
import { sizeHeapByLoad } from '../adapters/process/heap-sizing.js'
import { tierByLoad } from '../adapters/process/tiering.js'
import { resolveConfig, type RawSettings } from '../node/config.js'
import { startNode } from '../node/start.js'
import { BUILTIN_JOBS } from './demo-jobs.js'
import { loadActorModule } from './load-jobs.js'
import { Waiting } from './progress.js'
import { realEnvironment } from '../env/real.js'
import type { AnyEntityDef } from '../entities/types.js'
import type { JobDef } from '../jobs/types.js'

/** The options of `distributex start`: each setting under its own name (flags win over DX_* variables and the --config file), and the config file. */
export interface StartOptions extends RawSettings {
  readonly config?: string | undefined
}

/** The young generation a peer grows to at most (two semi-spaces; V8's default on 64 bits is 32 MB). */
const YOUNG_GENERATION_CAP_MB = 16

export async function runStart(options: StartOptions): Promise<number> {
  // The peer's process is ours, as bin.mjs's V8 flags; DX_V8_FLAGS hands the heap's sizing and the tiering to the operator.
  if (process.env['DX_V8_FLAGS'] === undefined) sizeHeapByLoad(YOUNG_GENERATION_CAP_MB, { onBusy: tierByLoad })
  const { config: configFile, ...flags } = options
  const config = resolveConfig(flags, process.env, configFile ?? process.env.DX_CONFIG)
  const jobs: JobDef[] = [...BUILTIN_JOBS]
  const entities: AnyEntityDef[] = []
  for (const module of config.actors) {
    const defs = await loadActorModule(module)
    jobs.push(...defs.jobs)
    entities.push(...defs.entities)
  }
  const node = await startNode(config, jobs, entities)
  process.stdout.write(`distributex node ${node.nodeId}\n${node.addresses.map((a) => `  listening ${a}`).join('\n')}\n${node.http === undefined ? '' : `  http ${node.http}\n`}`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      // A second Ctrl-C means the operator will not wait for the graceful leave.
      process.once('SIGINT', () => process.exit(130))
      process.on('SIGTERM', () => {})
      resolve()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
  // On a terminal the leave (handing over the lead, a majority taking the new configuration)
  // shows the time it takes; piped, one line says it started, as a log reader expects.
  if (process.stdout.isTTY !== true) {
    process.stdout.write('leaving the cluster ...\n')
    await node.stop({ leave: true })
    return 0
  }
  const env = realEnvironment({ logLevel: 'error' })
  const waiting = new Waiting(process.stdout, 'leaving the cluster', env.clock, env.timers)
  try {
    await node.stop({ leave: true })
    waiting.stop('done')
  } finally {
    waiting.stop('failed')
  }
  return 0
}
