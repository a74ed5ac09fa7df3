/**
 * `distributex start`: runs one peer until SIGTERM or SIGINT, on which it leaves the cluster
 * gracefully and exits 0 (a second SIGINT exits at once with 130).
 */
import { resolveConfig, type RawSettings } from '../node/config.js'
import { startNode } from '../node/start.js'
import { BUILTIN_JOBS } from './demo-jobs.js'
import { loadActorModule } from './load-jobs.js'
import type { AnyEntityDef } from '../entities/types.js'
import type { JobDef } from '../jobs/types.js'

/** The options of `distributex start`: each setting under its own name (flags win over DX_* variables and the --config file), and the config file. */
export interface StartOptions extends RawSettings {
  readonly config?: string | undefined
}

export async function runStart(options: StartOptions): Promise<number> {
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
  process.stdout.write('leaving the cluster ...\n')
  await node.stop({ leave: true })
  return 0
}
